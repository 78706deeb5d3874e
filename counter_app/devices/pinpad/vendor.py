"""Vendor PIN pads behind a helper process (厂商密码键盘适配程序): the seam for 32-bit vendor DLLs.

Chinese counters mostly drive their serial 密码键盘 through a vendor library, often a 32-bit Windows
DLL that a 64-bit Python cannot load. `VendorPadClient` therefore never loads vendor code: it starts
the helper executable named in the counter's configuration and talks JSON lines over its stdin and
stdout (docs/pinpad.md §4). A helper may crash or hang; the client notices, reports the pad as
unavailable and starts a new helper for the next entry.

The digits of an entry follow their JSON header as raw bytes and are read with ``readinto`` into a
``bytearray``: they never become a ``str`` or ``bytes`` in this process. The helper's stderr is
discarded (a vendor library's chatter must not land in our logs).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import queue
import re
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from counter_app.devices.pinpad.dialogue import Entry, Prompt, run_dialogue
from counter_app.devices.pinpad.errors import PinPadError, PinPadFault, PinPadNotCapable, PinPadUnavailable
from counter_app.devices.pinpad.frames import wipe
from counter_app.devices.pinpad.serial_pad import ProgressCallback
from counter_app.threads import assert_not_gui_thread
from counter_app.workflows.ports import (
    CardTransport,
    PinEntries,
    PinPadOutcome,
    PinRequest,
    SecretPin,
    SecurePinResult,
)

__all__ = ["PROTOCOL_VERSION", "VendorPadClient"]

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
MAX_HEADER = 4096
CANCEL_ANSWER_SECONDS = 1.0
_RESULTS = {
    "citizen_cancelled": PinPadOutcome.CITIZEN_CANCELLED,
    "timed_out": PinPadOutcome.TIMED_OUT,
    "clerk_cancelled": PinPadOutcome.CLERK_CANCELLED,
}
_CODE = re.compile(r"[a-z0-9_]{1,40}")


@dataclass
class _Message:
    header: dict[str, Any]
    secret: bytearray | None = None

    def wipe(self) -> None:
        if self.secret is not None:
            wipe(self.secret)


class _Reader(threading.Thread):
    """Reads the helper's stdout: JSON header lines, each ``entered`` followed by raw digits."""

    def __init__(self, stream: io.RawIOBase, inbox: queue.SimpleQueue[_Message | None]) -> None:
        super().__init__(name="pinpad-helper-reader", daemon=True)
        self._stream = stream
        self._inbox = inbox
        self._buffer = bytearray()

    def run(self) -> None:
        try:
            while self._read_more():
                while self._take():
                    pass
        except (OSError, ValueError) as error:
            log.warning("密码键盘适配程序输出无法解析：%s", type(error).__name__)
        finally:
            wipe(self._buffer)
            self._inbox.put(None)

    def _read_more(self) -> bool:
        chunk = bytearray(4096)
        try:
            count = self._stream.readinto(chunk) or 0
            with memoryview(chunk) as view:
                self._buffer += view[:count]
        finally:
            wipe(chunk)
        return count > 0

    def _take(self) -> bool:
        buf = self._buffer
        end = buf.find(b"\n")
        if end < 0:
            if len(buf) > MAX_HEADER:
                raise ValueError("header line too long")
            return False
        header = json.loads(bytes(buf[:end]))
        if not isinstance(header, dict):
            raise ValueError("header is not an object")
        secret: bytearray | None = None
        consumed = end + 1
        if header.get("result") == "entered":
            length = header.get("length")
            if not isinstance(length, int) or not 0 < length <= 16:
                raise ValueError("bad entry length")
            if len(buf) < consumed + length + 1:
                return False  # the digits are still on their way
            secret = bytearray(length)
            for i in range(length):
                secret[i] = buf[consumed + i]
            if buf[consumed + length] != 0x0A:
                wipe(secret)
                raise ValueError("digits not followed by a newline")
            consumed += length + 1
        with memoryview(buf) as view:
            wipe(view[:consumed])
        del buf[:consumed]
        self._inbox.put(_Message(header, secret))
        return True


class VendorPadClient:
    """`PinPad` through a helper process (厂商密码键盘): ``command`` is the helper and its arguments."""

    secure = False

    def __init__(
        self,
        command: Sequence[str],
        *,
        grace_seconds: float = 2.0,
        start_seconds: float = 10.0,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        if not command:
            raise ValueError("the helper command is empty")
        self._command = list(command)
        self._grace = grace_seconds
        self._start_seconds = start_seconds
        self._on_progress = on_progress
        self._process: subprocess.Popen[bytes] | None = None
        self._inbox: queue.SimpleQueue[_Message | None] = queue.SimpleQueue()
        self._write_lock = threading.Lock()
        self._busy = threading.Lock()
        self._cancel = threading.Event()
        self._next_id = 0
        self.model = ""
        self.can_cancel = False

    # -- helper process -------------------------------------------------------------------------

    def start(self) -> str:
        """Start the helper (if not running) and say hello; returns the pad model it reports."""
        if self._process is not None and self._process.poll() is None:
            return self.model
        self.stop()
        try:
            process = subprocess.Popen(
                self._command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, bufsize=0,
            )  # fmt: skip
        except OSError as error:
            raise PinPadUnavailable(f"无法启动密码键盘适配程序（{error.strerror or error}）") from error
        assert process.stdout is not None
        self._process = process
        self._inbox = queue.SimpleQueue()
        _Reader(process.stdout, self._inbox).start()  # type: ignore[arg-type]
        hello_id = self._send({"op": "hello", "protocol": PROTOCOL_VERSION})
        answer = self._answer(hello_id, time.monotonic() + self._start_seconds)
        if answer is None or answer.header.get("ok") is not True:
            self.stop()
            raise PinPadUnavailable("密码键盘适配程序没有正确应答")
        if answer.header.get("protocol") != PROTOCOL_VERSION:
            self.stop()
            raise PinPadUnavailable(f"密码键盘适配程序的协议版本不符（应为 {PROTOCOL_VERSION}）")
        self.model = str(answer.header.get("model", ""))[:80]
        self.can_cancel = answer.header.get("can_cancel") is True
        log.info("密码键盘适配程序已启动：%s", self.model)
        return self.model

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(Exception):
            self._write(process, {"op": "bye"})
        with contextlib.suppress(Exception):
            assert process.stdin is not None
            process.stdin.close()
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        self._drain()

    def __enter__(self) -> VendorPadClient:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- PinPad ---------------------------------------------------------------------------------

    def collect(self, request: PinRequest) -> PinEntries:
        assert_not_gui_thread("PIN pad")
        if not self._busy.acquire(blocking=False):
            raise PinPadError("pinpad_busy", "密码键盘正在使用中", "请等待当前输入结束")
        try:
            self._cancel.clear()
            self.start()
            entries = run_dialogue(request, self._enter)
            log.info("密码键盘输入结束：%s（%s）", entries.outcome.message, request.kind.value)
            return entries
        finally:
            self._busy.release()

    def enter_on_card(self, request: PinRequest, transport: CardTransport) -> SecurePinResult:
        raise PinPadNotCapable("此密码键盘把密码交给主机，由主机发给卡片")

    def cancel(self) -> bool:
        """柜员取消, when the helper said it can (``can_cancel``)."""
        if not self.can_cancel:
            return False
        self._cancel.set()
        return True

    # -- one entry ------------------------------------------------------------------------------

    def _enter(self, prompt: Prompt, request: PinRequest) -> Entry:
        entry_id = self._send(
            {
                "op": "entry", "prompt": int(prompt), "text": prompt.text, "min": request.min_length,
                "max": request.max_length, "timeout": request.timeout_seconds,
            }
        )  # fmt: skip
        deadline = time.monotonic() + request.timeout_seconds + self._grace
        cancel_sent = False
        while True:
            if self._cancel.is_set() and not cancel_sent:
                self._send({"op": "cancel", "entry": entry_id})
                cancel_sent, deadline = True, time.monotonic() + CANCEL_ANSWER_SECONDS
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return self._hung(cancel_sent)
            message = self._next(min(remaining, 0.05))
            if message is None or message.header.get("id") != entry_id:
                if message is not None:
                    message.wipe()
                continue
            entry = self._ending(message, prompt)
            if entry is not None:
                if cancel_sent:  # the clerk's cancel wins over anything that crossed it
                    entry.wipe()
                    self._cancel.clear()
                    return Entry(PinPadOutcome.CLERK_CANCELLED)
                return entry

    def _ending(self, message: _Message, prompt: Prompt) -> Entry | None:
        header = message.header
        if header.get("event") == "key":
            count = header.get("count")
            if self._on_progress is not None and isinstance(count, int):
                self._on_progress(prompt, count)
            return None
        result = header.get("result")
        if result == "entered":
            if message.secret is None:
                raise PinPadFault("适配程序报告已输入，却没有送来密码")
            return Entry(PinPadOutcome.ENTERED, SecretPin(message.secret))
        if isinstance(result, str) and result in _RESULTS:
            return Entry(_RESULTS[result])
        if result == "error":
            code = header.get("code")
            code = code if isinstance(code, str) and _CODE.fullmatch(code) else "unknown"
            if code == "not_connected":
                raise PinPadUnavailable("适配程序报告密码键盘未连接")
            raise PinPadFault(f"适配程序报告错误 {code}")
        return None

    def _hung(self, cancel_sent: bool) -> Entry:
        log.warning("密码键盘适配程序在期限内没有结束输入，重新启动它")
        self.stop()
        self._cancel.clear()
        return Entry(PinPadOutcome.CLERK_CANCELLED if cancel_sent else PinPadOutcome.TIMED_OUT)

    # -- messages -------------------------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> int:
        process = self._process
        if process is None:
            raise PinPadUnavailable("密码键盘适配程序未运行")
        self._next_id += 1
        self._write(process, {"id": self._next_id, **message})
        return self._next_id

    def _write(self, process: subprocess.Popen[bytes], message: dict[str, Any]) -> None:
        line = json.dumps(message, ensure_ascii=False).encode("utf-8") + b"\n"
        try:
            with self._write_lock:
                assert process.stdin is not None
                process.stdin.write(line)
        except (OSError, ValueError) as error:
            raise PinPadUnavailable("密码键盘适配程序已退出") from error

    def _next(self, timeout: float) -> _Message | None:
        try:
            message = self._inbox.get(timeout=timeout)
        except queue.Empty:
            return None
        if message is None:
            self._inbox.put(None)  # keep the end visible to later reads
            self.stop()
            raise PinPadUnavailable("密码键盘适配程序已退出")
        return message

    def _answer(self, message_id: int, deadline: float) -> _Message | None:
        while (remaining := deadline - time.monotonic()) > 0:
            message = self._next(min(remaining, 0.05))
            if message is not None and message.header.get("id") == message_id:
                return message
            if message is not None:
                message.wipe()
        return None

    def _drain(self) -> None:
        while True:
            try:
                message = self._inbox.get_nowait()
            except queue.Empty:
                return
            if message is not None:
                message.wipe()
