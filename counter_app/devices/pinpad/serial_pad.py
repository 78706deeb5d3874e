"""The serial PIN pad, host side (串口密码键盘), speaking the training pad's frame protocol.

Opens the port with pyserial and never touches DTR/RTS/CTS (a pseudo-terminal, and many USB-serial
pads, answer those ioctls with an error). Every entry carries a fresh random mask; the pad sends
the digits XORed with it, so the immutable ``bytes`` that pyserial hands back never hold the clear
PIN: the digits are unmasked straight into the `SecretPin`'s ``bytearray``. Frames go out with
``os.write`` from a ``bytearray`` where the port has a file descriptor, so the mask is never copied
into ``bytes`` either (pyserial's ``write`` would). The mask is hygiene against stray copies in
this process, not protection of the line: whoever reads the line sees both halves (docs/pinpad.md).

Timeouts: the pad runs its own timer (输入超时 frame); the host keeps a deadline a little later and
cancels the entry itself when the pad stays silent. `cancel` (柜员取消) may be called from any thread.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import secrets
import select
import threading
import time
from collections.abc import Callable

import serial

from counter_app.devices.pinpad.dialogue import Entry, Prompt, run_dialogue
from counter_app.devices.pinpad.errors import PinPadError, PinPadFault, PinPadNotCapable, PinPadUnavailable
from counter_app.devices.pinpad.frames import Command, Frame, FrameDecoder, PadError, encode_frame, wipe
from counter_app.threads import assert_not_gui_thread
from counter_app.workflows.ports import (
    CardTransport,
    PinEntries,
    PinPadOutcome,
    PinRequest,
    SecretPin,
    SecurePinResult,
)

__all__ = ["ProgressCallback", "SerialPinPad"]

log = logging.getLogger(__name__)

ProgressCallback = Callable[[Prompt, int], None]
"""Called with the prompt and how many digits the citizen has typed (never which), pad thread."""

POLL_SECONDS = 0.05
HELLO_SECONDS = 2.0
CANCEL_ACK_SECONDS = 1.0
_ENDINGS: dict[int, PinPadOutcome] = {
    Command.CITIZEN_CANCELLED: PinPadOutcome.CITIZEN_CANCELLED,
    Command.PAD_TIMEOUT: PinPadOutcome.TIMED_OUT,
    Command.CANCEL_ACK: PinPadOutcome.CLERK_CANCELLED,
}


def _random_mask(size: int) -> bytearray:
    mask = bytearray(size)
    for i in range(size):
        mask[i] = secrets.randbits(8)
    return mask


class SerialPinPad:
    """`PinPad` over a serial port (串口密码键盘); the training pad is its counterpart in tests."""

    secure = False

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 9600,
        grace_seconds: float = 2.0,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        self._port_name = port
        self._baudrate = baudrate
        self._grace = grace_seconds
        self._on_progress = on_progress
        self._serial: serial.Serial | None = None
        self._decoder = FrameDecoder()
        self._seq = 0
        self._busy = threading.Lock()
        self._cancel = threading.Event()
        self.identity = ""

    # -- connection ---------------------------------------------------------------------------

    def open(self) -> str:
        """Open the port and ask the pad who it is; returns its identity string."""
        assert_not_gui_thread("PIN pad")
        if self._serial is not None:
            return self.identity
        try:
            port = serial.Serial(
                port=None, baudrate=self._baudrate, timeout=POLL_SECONDS, write_timeout=1.0,
                xonxoff=False, rtscts=False, dsrdtr=False,
            )  # fmt: skip
            port.port = self._port_name
            port.open()
        except (serial.SerialException, OSError, ValueError) as error:
            raise PinPadUnavailable(f"无法打开端口 {self._port_name}（{error}）") from error
        self._serial = port
        self._decoder.clear()
        try:
            port.reset_input_buffer()
            self._write(encode_frame(Command.HELLO, 0))
            reply = self._wait_for(
                lambda f: f.command == Command.HELLO_REPLY, time.monotonic() + HELLO_SECONDS
            )
        except PinPadError:
            self.close()
            raise
        if reply is None:
            self.close()
            raise PinPadUnavailable(f"端口 {self._port_name} 上的密码键盘无应答")
        self.identity = reply.data.decode("ascii", "replace")
        log.info("密码键盘已连接：%s（%s）", self.identity, self._port_name)
        return self.identity

    def close(self) -> None:
        port, self._serial = self._serial, None
        self._decoder.clear()
        if port is not None:
            with contextlib.suppress(Exception):
                port.close()

    def __enter__(self) -> SerialPinPad:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- PinPad ---------------------------------------------------------------------------------

    def collect(self, request: PinRequest) -> PinEntries:
        """Run the whole dialogue of ``request`` on the pad (blocks; not on the GUI or device thread)."""
        assert_not_gui_thread("PIN pad")
        if not self._busy.acquire(blocking=False):
            raise PinPadError("pinpad_busy", "密码键盘正在使用中", "请等待当前输入结束")
        try:
            self._cancel.clear()
            self.open()
            entries = run_dialogue(request, self.enter_one)
            log.info("密码键盘输入结束：%s（%s）", entries.outcome.message, request.kind.value)
            return entries
        finally:
            self._busy.release()

    def enter_on_card(self, request: PinRequest, transport: CardTransport) -> SecurePinResult:
        raise PinPadNotCapable("串口密码键盘把密码交给主机，由主机发给卡片")

    def cancel(self) -> bool:
        """柜员取消: the entry in progress ends with CLERK_CANCELLED (within about 50 ms)."""
        self._cancel.set()
        return True

    def clear_cancel(self) -> None:
        """Forget a cancel that came before the next entry (`collect` does this itself)."""
        self._cancel.clear()

    # -- one entry ------------------------------------------------------------------------------

    def enter_one(self, prompt: Prompt, request: PinRequest) -> Entry:
        """Show ``prompt`` and collect one entry (used by `collect` and by the vendor helper)."""
        self.open()
        self._seq = self._seq % 255 + 1
        seq = self._seq
        timeout = min(255, max(1, math.ceil(request.timeout_seconds)))
        mask = _random_mask(request.max_length)
        frame = bytearray((int(prompt), request.min_length, request.max_length, timeout))
        frame += mask
        try:
            request_frame = encode_frame(Command.ENTRY, seq, frame)
            wipe(frame)
            self._write(request_frame)
            wipe(request_frame)
            return self._await_end(prompt, seq, mask, time.monotonic() + timeout + self._grace)
        finally:
            wipe(mask)
            wipe(frame)

    def _await_end(self, prompt: Prompt, seq: int, mask: bytearray, deadline: float) -> Entry:
        while True:
            if self._cancel.is_set():
                self._cancel.clear()
                self._end_from_host(seq)
                return Entry(PinPadOutcome.CLERK_CANCELLED)
            if time.monotonic() >= deadline:
                log.warning("密码键盘在超时后仍无应答，由主机结束输入")
                self._end_from_host(seq)
                return Entry(PinPadOutcome.TIMED_OUT)
            for frame in self._receive():
                try:
                    entry = self._handle(frame, prompt, seq, mask)
                finally:
                    frame.wipe()
                if entry is not None:
                    return entry

    def _handle(self, frame: Frame, prompt: Prompt, seq: int, mask: bytearray) -> Entry | None:
        if frame.command == Command.ERROR:
            code = frame.data[0] if frame.data else 0
            if frame.seq in (seq, 0):
                raise PinPadFault(f"密码键盘报告错误（{_error_name(code)}）")
            return None
        if frame.seq != seq:
            log.debug("忽略过期的密码键盘帧 %02X（序号 %d）", frame.command, frame.seq)
            return None
        if frame.command == Command.KEY:
            if self._on_progress is not None and frame.data:
                self._on_progress(prompt, frame.data[0])
            return None
        if frame.command == Command.ENTERED:
            return Entry(PinPadOutcome.ENTERED, self._unmask(frame.data, mask))
        ending = _ENDINGS.get(frame.command)
        if ending is not None:
            return Entry(ending)
        raise PinPadFault(f"未知的应答帧 {frame.command:02X}")

    @staticmethod
    def _unmask(data: bytearray, mask: bytearray) -> SecretPin:
        if not data or data[0] != len(data) - 1 or data[0] > len(mask):
            raise PinPadFault("密码帧长度不符")
        digits = bytearray(data[0])
        for i in range(len(digits)):
            digits[i] = data[1 + i] ^ mask[i]
        return SecretPin(digits)

    def _end_from_host(self, seq: int) -> None:
        """Send CANCEL for ``seq`` and wait briefly for the pad to confirm; late entries are wiped."""
        try:
            self._write(encode_frame(Command.CANCEL, seq))
            last = self._wait_for(
                lambda f: f.seq == seq and f.command != Command.KEY, time.monotonic() + CANCEL_ACK_SECONDS
            )
            if last is not None:  # the ack, or an entry that crossed the cancel: dropped either way
                last.wipe()
        except PinPadUnavailable:
            log.warning("取消输入时密码键盘连接中断")

    # -- I/O ------------------------------------------------------------------------------------

    def _port(self) -> serial.Serial:
        if self._serial is None:
            raise PinPadUnavailable("端口未打开")
        return self._serial

    def _write(self, frame: bytearray) -> None:
        port = self._port()
        try:
            fd = port.fileno()
        except (OSError, ValueError):  # no descriptor (Windows): pyserial copies the frame into bytes
            fd = None
        try:
            if fd is None:
                port.write(frame)
                return
            with memoryview(frame) as view:
                sent = 0
                while sent < len(view):
                    try:
                        sent += os.write(fd, view[sent:])
                    except BlockingIOError:
                        select.select([], [fd], [], POLL_SECONDS)
        except (serial.SerialException, OSError) as error:
            self.close()
            raise PinPadUnavailable(f"写入失败，连接中断（{error}）") from error

    def _receive(self) -> list[Frame]:
        port = self._port()
        try:
            chunk = port.read(port.in_waiting or 1)
        except (serial.SerialException, OSError) as error:
            self.close()
            raise PinPadUnavailable(f"读取失败，连接中断（{error}）") from error
        return list(self._decoder.feed(chunk)) if chunk else []

    def _wait_for(self, wanted: Callable[[Frame], bool], deadline: float) -> Frame | None:
        """The first frame ``wanted`` accepts before ``deadline``; every other frame is wiped."""
        found: Frame | None = None
        while found is None and time.monotonic() < deadline:
            for frame in self._receive():
                if found is None and wanted(frame):
                    found = frame
                else:
                    frame.wipe()
        return found


def _error_name(code: int) -> str:
    try:
        return PadError(code).name
    except ValueError:
        return f"{code:02X}"
