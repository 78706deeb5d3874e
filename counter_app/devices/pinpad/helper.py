"""Reference helper of the vendor-pad seam (密码键盘适配程序参考实现), wrapping the serial pad protocol.

    python -m counter_app.devices.pinpad.helper --port /dev/pts/3

It speaks the helper protocol of docs/pinpad.md §4 on stdin/stdout exactly as a vendor's wrapper
around its (often 32-bit) DLL must, and drives a pad with this project's serial frame protocol — in
tests and training, the training pad. Entries run on a worker thread so that a ``cancel`` line is
read while the citizen types. The digits are written straight from a ``bytearray`` to the stdout
descriptor and wiped; nothing is logged (stderr stays silent).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from typing import Any

from counter_app.devices.pinpad.dialogue import Prompt
from counter_app.devices.pinpad.errors import PinPadError, PinPadUnavailable
from counter_app.devices.pinpad.frames import wipe
from counter_app.devices.pinpad.serial_pad import SerialPinPad
from counter_app.devices.pinpad.vendor import PROTOCOL_VERSION
from counter_app.workflows.ports import PinEntryKind, PinPadOutcome, PinRequest

_RESULT_NAMES = {
    PinPadOutcome.CITIZEN_CANCELLED: "citizen_cancelled",
    PinPadOutcome.TIMED_OUT: "timed_out",
    PinPadOutcome.CLERK_CANCELLED: "clerk_cancelled",
}


class Helper:
    """One helper process: a serial pad, a stdout writer, at most one entry at a time."""

    def __init__(self, port: str, out_fd: int = 1) -> None:
        self._out = out_fd
        self._lock = threading.Lock()
        self._current: int | None = None
        self._worker: threading.Thread | None = None
        self._pad = SerialPinPad(port, on_progress=self._progress)

    def _emit(self, message: dict[str, Any], secret: bytearray | None = None) -> None:
        line = bytearray(json.dumps(message).encode("ascii") + b"\n")
        if secret is not None:
            line += secret
            line += b"\n"
        try:
            with self._lock, memoryview(line) as view:
                sent = 0
                while sent < len(view):
                    sent += os.write(self._out, view[sent:])
        finally:
            wipe(line)

    def _progress(self, prompt: Prompt, count: int) -> None:
        if self._current is not None:
            self._emit({"id": self._current, "event": "key", "count": count})

    def hello(self, message_id: int) -> None:
        try:
            model = self._pad.open()
        except PinPadError:
            self._emit({"id": message_id, "ok": False, "code": "not_connected"})
            return
        self._emit(
            {"id": message_id, "ok": True, "protocol": PROTOCOL_VERSION, "model": model,
             "can_cancel": True, "secure": False}
        )  # fmt: skip

    def entry(self, message: dict[str, Any]) -> None:
        message_id = int(message["id"])
        if self._worker is not None and self._worker.is_alive():
            self._emit({"id": message_id, "result": "error", "code": "busy"})
            return
        try:
            prompt = Prompt(int(message["prompt"]))
            request = PinRequest(
                PinEntryKind.VERIFY, int(message["min"]), int(message["max"]), float(message["timeout"])
            )
        except (KeyError, ValueError, TypeError):
            self._emit({"id": message_id, "result": "error", "code": "bad_request"})
            return
        self._current = message_id
        self._pad.clear_cancel()
        self._worker = threading.Thread(
            target=self._run_entry, args=(message_id, prompt, request), daemon=True
        )
        self._worker.start()

    def _run_entry(self, message_id: int, prompt: Prompt, request: PinRequest) -> None:
        try:
            entry = self._pad.enter_one(prompt, request)
        except PinPadUnavailable:
            self._emit({"id": message_id, "result": "error", "code": "not_connected"})
            return
        except PinPadError:
            self._emit({"id": message_id, "result": "error", "code": "pad_fault"})
            return
        finally:
            self._current = None
        if entry.outcome is PinPadOutcome.ENTERED and entry.pin is not None:
            digits = entry.pin.digits
            try:
                self._emit({"id": message_id, "result": "entered", "length": len(digits)}, digits)
            finally:
                entry.wipe()
        else:
            self._emit({"id": message_id, "result": _RESULT_NAMES.get(entry.outcome, "timed_out")})

    def cancel(self, message: dict[str, Any]) -> None:
        if self._current is not None and message.get("entry") == self._current:
            self._pad.cancel()

    def close(self) -> None:
        self._pad.cancel()
        if self._worker is not None:
            self._worker.join(5)
        self._pad.close()


def serve(port: str, stdin: Any = None, out_fd: int = 1) -> int:
    """Answer requests from ``stdin`` until ``bye`` or end of input."""
    helper = Helper(port, out_fd)
    lines = stdin if stdin is not None else sys.stdin.buffer
    try:
        for raw in lines:
            try:
                message = json.loads(raw)
                op, message_id = message.get("op"), message.get("id")
            except (ValueError, AttributeError):
                continue
            if op == "hello":
                helper.hello(int(message_id))
            elif op == "entry":
                helper.entry(message)
            elif op == "cancel":
                helper.cancel(message)
            elif op == "bye":
                break
            else:
                helper._emit({"id": message_id, "result": "error", "code": "unknown_op"})
    finally:
        helper.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m counter_app.devices.pinpad.helper",
        description="密码键盘适配程序（参考实现）：按 docs/pinpad.md §4 的协议驱动串口密码键盘。",
    )
    parser.add_argument("--port", required=True, help="串口设备，如 /dev/ttyUSB0 或 COM3")
    args = parser.parse_args(argv)
    return serve(args.port)


if __name__ == "__main__":
    sys.exit(main())
