"""APDUs (应用协议数据单元): command building, response parsing, the T=0 exchange loop, the trace.

`Channel.exchange` implements the terminal rules of card-protocol §1.4 over a `CardTransport`:
T1 (``61xx`` → GET RESPONSE, at most 16 times), T2 (``6Cxx`` → resend with Le = xx, once), and
accepts a card that answers data ‖ ``9000`` directly. `Channel.command` also turns any status other
than ``9000`` into a typed error (`status.error_for`).

The APDU trace goes to logger ``counter_app.apdu`` at DEBUG, formatted only when that level is on.
The data field of a secret command (VERIFY, CHANGE PIN, RELOAD PIN, PIN UNBLOCK, the PSAM MAC over
a new PIN) never reaches the trace: only its header and length do. A secret command is encoded into a
``bytearray`` that is wiped as soon as the exchange ends.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field

from counter_app.card.errors import ProtocolError
from counter_app.card.kinds import Kind
from counter_app.card.status import error_for
from counter_app.workflows.ports import CardTransport

__all__ = [
    "APDU_LOGGER",
    "SW_OK",
    "Channel",
    "Command",
    "Response",
    "wipe",
]

APDU_LOGGER = "counter_app.apdu"
SW_OK = 0x9000
MAX_GET_RESPONSE = 16

_trace = logging.getLogger(APDU_LOGGER)


def wipe(buffer: bytearray) -> None:
    """Overwrite a buffer with zeros (and keep its length)."""
    for i in range(len(buffer)):
        buffer[i] = 0


@dataclass(frozen=True)
class Command:
    """One command APDU, short form only (§1.1): ``CLA INS P1 P2 [Lc data] [Le]``.

    ``le`` None = no Le byte; 0 means ``00`` (256). ``secret`` forces redaction of the data
    even when ``kind`` is not secret (the PSAM MAC over RELOAD data carries the new PIN).
    """

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes | bytearray = field(default=b"", repr=False)  # may carry a PIN: never in a repr
    le: int | None = None
    kind: Kind = Kind.SELECT
    secret: bool = False

    def __post_init__(self) -> None:
        if not (
            0 <= self.cla <= 0xFF and 0 <= self.ins <= 0xFF and 0 <= self.p1 <= 0xFF and 0 <= self.p2 <= 0xFF
        ):
            for name in ("cla", "ins", "p1", "p2"):  # name the first byte out of range
                if not 0 <= getattr(self, name) <= 0xFF:
                    raise ValueError(f"{name} out of range")
        if len(self.data) > 255:
            raise ValueError("data longer than 255 bytes (no extended APDUs)")
        if self.le is not None and not 0 <= self.le <= 0xFF:
            raise ValueError("Le out of range")

    @property
    def redacted(self) -> bool:
        return self.secret or self.kind.secret

    @property
    def header(self) -> bytes:
        return bytes((self.cla, self.ins, self.p1, self.p2))

    def with_le(self, le: int) -> Command:
        """The identical command with Le replaced (or appended), for a ``6Cxx`` answer (T2)."""
        return Command(self.cla, self.ins, self.p1, self.p2, self.data, le, self.kind, self.secret)

    def encode(self) -> bytearray:
        """The command bytes in a new ``bytearray`` (wipe it after sending a secret command)."""
        out = bytearray((self.cla, self.ins, self.p1, self.p2))
        if self.data:
            out.append(len(self.data))
            out += self.data
        if self.le is not None:
            out.append(self.le)
        return out


@dataclass(frozen=True)
class Response:
    """A response APDU: data ‖ SW1 SW2 (after GET RESPONSE, the concatenated data)."""

    data: bytes
    sw: int

    @property
    def sw1(self) -> int:
        return self.sw >> 8

    @property
    def sw2(self) -> int:
        return self.sw & 0xFF

    @property
    def ok(self) -> bool:
        return self.sw == SW_OK

    @classmethod
    def parse(cls, raw: bytes) -> Response:
        if len(raw) < 2:
            raise ProtocolError(f"应答只有 {len(raw)} 字节，缺少状态字")
        return cls(bytes(raw[:-2]), (raw[-2] << 8) | raw[-1])


class _TraceCommand:
    """Formats a command for the trace when (and only when) the record is emitted."""

    __slots__ = ("_text",)

    def __init__(self, command: Command, raw: bytes | bytearray) -> None:
        # Computed now (the buffer is wiped later), but only when DEBUG is on (see Channel._send).
        if command.redacted and command.data:
            lc = len(command.data)
            self._text = f"{command.header.hex().upper()}{lc:02X} <{lc} 字节已隐去>"
            if command.le is not None:
                self._text += f" {command.le:02X}"
        else:
            self._text = bytes(raw).hex().upper()

    def __str__(self) -> str:
        return self._text


class _TraceBytes:
    __slots__ = ("_raw",)

    def __init__(self, raw: bytes) -> None:
        self._raw = raw

    def __str__(self) -> str:
        return self._raw.hex().upper()


@functools.lru_cache(maxsize=256)
def _get_response(le: int) -> Command:
    """GET RESPONSE for ``61xx`` (T1); Commands are immutable, so each Le is built once."""
    return Command(0x00, 0xC0, 0x00, 0x00, le=le, kind=Kind.GET_RESPONSE)


class Channel:
    """The exchange with one card or PSAM over a `CardTransport` (卡片通道)."""

    def __init__(self, transport: CardTransport, device: str = "card") -> None:
        self._transport = transport
        self._device = device

    def _send(self, command: Command) -> Response:
        raw = command.encode()
        tracing = _trace.isEnabledFor(logging.DEBUG)  # asked once per APDU
        try:
            if tracing:
                _trace.debug("%s > %s", self._device, _TraceCommand(command, raw))
            answer = self._transport.transmit(raw)
        finally:
            if command.redacted:
                wipe(raw)
        if tracing:
            _trace.debug("%s < %s", self._device, _TraceBytes(answer))
        return Response.parse(answer)

    def _send_le(self, command: Command) -> Response:
        response = self._send(command)
        if response.sw1 == 0x6C:  # T2: resend with Le = SW2, once
            response = self._send(command.with_le(response.sw2))
            if response.sw1 == 0x6C:
                raise ProtocolError(f"重发后仍要求更正长度（{response.sw:04X}）")
        return response

    def exchange(self, command: Command) -> Response:
        """Send ``command`` and collect the whole answer (T1, T2); any status word is returned."""
        response = self._send_le(command)
        data = response.data
        rounds = 0
        while response.sw1 == 0x61:  # T1: GET RESPONSE while 61xx
            rounds += 1
            if rounds > MAX_GET_RESPONSE:
                raise ProtocolError(f"连续 {MAX_GET_RESPONSE} 次取响应后仍有数据待取")
            response = self._send_le(_get_response(response.sw2))
            data += response.data
        return Response(data, response.sw) if rounds else response

    def command(self, command: Command) -> bytes:
        """`exchange`, then return the data on ``9000`` or raise the typed error of the status."""
        response = self.exchange(command)
        if not response.ok:
            raise error_for(response.sw, command.kind)
        return response.data
