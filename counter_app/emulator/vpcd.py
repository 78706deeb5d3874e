"""Serve an emulated card to the vsmartcard-vpcd virtual reader (training and tests only).

vpcd (the pcscd driver) listens on TCP; the card connects to it: connecting is inserting, closing
is removing. Every message either way is a 2-byte big-endian length and that many bytes. A 1-byte
message from vpcd is a control byte (00 power off, 01 power on, 02 reset, 04 get ATR — answered
with the framed ATR, and also pcscd's presence poll); anything longer is a command APDU, answered
with one response APDU.

``TCP_QUICKACK`` is set again after every length header: vpcd sends header and payload in two
``send`` calls, and without the quick ACK each APDU costs about 44 ms instead of about 0.1 ms.

vpcd listens on every network interface, so this bridge is for tests and development machines
only; a counter never has vsmartcard-vpcd installed.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import threading
from typing import Protocol

from counter_app.emulator.errors import PowerLoss

log = logging.getLogger(__name__)

POWER_OFF, POWER_ON, RESET, GET_ATR = 0x00, 0x01, 0x02, 0x04


class ServedCard(Protocol):
    """What the bridge needs of an emulated card or PSAM."""

    def process(self, command: bytes) -> bytes: ...

    def atr(self) -> bytes: ...

    def power_on(self) -> None: ...

    def reset(self) -> None: ...


def _quickack(sock: socket.socket) -> None:
    with contextlib.suppress(OSError, AttributeError):  # TCP_QUICKACK is Linux-only
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


def _read_exact(sock: socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


class VpcdSlot:
    """One vpcd reader slot with (at most) one emulated card in it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0x8C7B):
        self.host, self.port = host, port
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.card: ServedCard | None = None
        self.apdus = 0

    @property
    def inserted(self) -> bool:
        return self._sock is not None

    def insert(self, card: ServedCard, timeout: float = 5.0) -> None:
        """Connect ``card`` to the slot (pcscd notices within its ~0.4 s poll)."""
        with self._lock:
            if self._sock is not None:
                raise RuntimeError("a card is already in this slot; remove it first")
            sock = socket.create_connection((self.host, self.port), timeout=timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(None)
            self._sock, self.card = sock, card
            self._thread = threading.Thread(
                target=self._serve, args=(sock, card), name=f"vpcd-{self.port}", daemon=True
            )
            self._thread.start()

    def remove(self) -> None:
        """Pull the card out (close the connection)."""
        with self._lock:
            sock, thread = self._sock, self._thread
            self._sock = self._thread = None
            self.card = None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)

    def _send(self, sock: socket.socket, payload: bytes) -> None:
        sock.sendall(struct.pack(">H", len(payload)) + payload)

    def _serve(self, sock: socket.socket, card: ServedCard) -> None:
        try:
            while True:
                header = _read_exact(sock, 2)
                _quickack(sock)
                if header is None:
                    break
                (length,) = struct.unpack(">H", header)
                message = _read_exact(sock, length)
                _quickack(sock)
                if message is None:
                    break
                if length == 1:
                    control = message[0]
                    if control == GET_ATR:
                        self._send(sock, card.atr())
                    elif control == POWER_ON:
                        card.power_on()
                    elif control in (POWER_OFF, RESET):
                        card.reset()
                    continue
                try:
                    response = card.process(message)
                except PowerLoss:  # the fault hook: the card loses power mid-command, as if pulled
                    log.info("emulated card pulled mid-command on port %s", self.port)
                    break
                self.apdus += 1
                self._send(sock, response)
        except OSError:
            pass  # removed by the other side or by remove()
        finally:
            with self._lock:
                if self._sock is sock:
                    self._sock, self._thread, self.card = None, None, None
            with contextlib.suppress(OSError):
                sock.close()
