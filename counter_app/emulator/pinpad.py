"""客户密码键盘（培训用）— the TRAINING PIN pad on a pseudo-terminal. Not a driver for real hardware.

The pad side of the frame protocol of docs/pinpad.md §3, written from that document alone (it shares
no code with ``counter_app.devices.pinpad``, the host side). It runs in a thread on the master end of
``pty.openpty()``; the host opens `TrainingPinPad.port` (the slave end) with pyserial as if it were a
COM port. Keys come from an API — `press`, `type_digits`, `press_enter`, `press_cancel`,
`press_clear`, or a `script` consumed one item per prompt — so tests, and later the "客户密码键盘"
training window, drive it.

Pad rules: digits beyond the maximum length are ignored; 确认 with fewer than the minimum is
ignored; 更正 removes the last digit; 取消 ends the entry (客户取消输入); the pad's own timer ends it
(输入超时). The digits travel XORed with the mask the host sent (docs/pinpad.md §3.4): over a local
pty that is hygiene, not security — a real 密码键盘 encrypts its PIN block with a working key.

Script notation (one string per prompt): ``0``–``9`` digits, ``#`` 确认, ``*`` 取消, ``<`` 更正,
``.`` wait 0.1 s. An item without ``#`` or ``*`` leaves the entry open (the host or the timer ends it).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pty
import queue
import select
import threading
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

__all__ = ["IDENTITY", "PROMPT_TEXTS", "PadEvent", "ShownPrompt", "TrainingPinPad"]

IDENTITY = b"LSSB-TRAINING-PAD/1"

_STX, _ETX = 0x02, 0x03
# host → pad
_HELLO, _ENTRY, _CANCEL = 0x01, 0x10, 0x1F
# pad → host
_HELLO_REPLY, _KEY, _ENTERED, _CITIZEN_CANCEL, _TIMEOUT, _CANCEL_ACK, _ERROR = (
    0x81, 0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xEE,
)  # fmt: skip
_ERR_FRAME, _ERR_COMMAND, _ERR_PARAMETERS = 0x01, 0x02, 0x03
_MAX_LEN = 64  # LEN outside 2–64 after an STX: that STX was noise

#: What the pad shows (and, on a real pad, says) for each prompt code.
PROMPT_TEXTS = {1: "请输入密码", 2: "请输入原密码", 3: "请输入新密码", 4: "请再次输入新密码"}

ENTER, CANCEL, CLEAR, PAUSE = "#", "*", "<", "."


@dataclass(frozen=True)
class ShownPrompt:
    """A prompt the pad is showing: its code and text, the allowed lengths and its timer."""

    seq: int
    code: int
    text: str
    min_length: int
    max_length: int
    timeout_seconds: int


@dataclass(frozen=True)
class PadEvent:
    """What the training window needs to draw: ``kind`` is prompt / key / ended; never a digit."""

    kind: str
    prompt: ShownPrompt
    typed: int = 0
    ending: str = ""  # entered / citizen_cancelled / timed_out / host_cancelled


@dataclass
class _Active:
    prompt: ShownPrompt
    mask: bytearray
    digits: bytearray
    deadline: float


def _wipe(buffer: bytearray) -> None:
    for i in range(len(buffer)):
        buffer[i] = 0


class TrainingPinPad:
    """The training pad (培训用客户密码键盘) on a pty; `port` is the device path for the host."""

    def __init__(
        self,
        *,
        on_event: Callable[[PadEvent], None] | None = None,
        own_timer: bool = True,
    ) -> None:
        self._on_event = on_event
        self.own_timer = own_timer
        self.responsive = True  # False: ignore every request (a hung pad, for host deadlines)
        self._master, self._slave = pty.openpty()
        tty.setraw(self._master)
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self._keys: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._script: list[str] = []
        self._script_lock = threading.Lock()
        self._active: _Active | None = None
        self._inbox = bytearray()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="training-pinpad", daemon=True)
        self._shown: queue.SimpleQueue[ShownPrompt] = queue.SimpleQueue()
        self.prompts_shown: list[ShownPrompt] = []
        self.host_cancels = 0
        self.bad_frames = 0

    # -- life cycle -----------------------------------------------------------------------------

    def start(self) -> TrainingPinPad:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the pad and close both ends of the pty (the host then sees the pad unplugged)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self._active is not None:
            self._finish()

    def __enter__(self) -> TrainingPinPad:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- keys -------------------------------------------------------------------------------------

    def press(self, key: str) -> None:
        """One key: ``0``–``9``, ``#`` 确认, ``*`` 取消, ``<`` 更正 (ignored when no prompt is shown)."""
        if key not in "0123456789#*<" or len(key) != 1:
            raise ValueError(f"no such key on the pad: {key!r}")
        self._keys.put(key)

    def type_digits(self, digits: str) -> None:
        for key in digits:
            self.press(key)

    def press_enter(self) -> None:
        self.press(ENTER)

    def press_cancel(self) -> None:
        self.press(CANCEL)

    def press_clear(self) -> None:
        self.press(CLEAR)

    def script(self, *per_prompt: str) -> None:
        """Queue key sequences; each prompt shown takes the next one (see the module notation)."""
        for item in per_prompt:
            if any(k not in "0123456789#*<." for k in item):
                raise ValueError(f"bad script item {item!r}")
        with self._script_lock:
            self._script.extend(per_prompt)

    @property
    def script_left(self) -> int:
        with self._script_lock:
            return len(self._script)

    def wait_for_prompt(self, timeout: float = 5.0) -> ShownPrompt:
        """The next prompt the pad shows (for a test or window that types after seeing it)."""
        try:
            return self._shown.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError("the host asked for no PIN entry") from None

    @property
    def showing(self) -> ShownPrompt | None:
        active = self._active
        return active.prompt if active is not None else None

    # -- the pad thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                readable, _, _ = select.select([self._master], [], [], 0.01)
                if readable:
                    chunk = os.read(self._master, 512)
                    if self.responsive:
                        self._inbox += chunk
                        self._parse()
                self._keys_and_timer()
            except OSError as error:  # the pty was closed under us
                if not self._stop.is_set():
                    log.warning("培训密码键盘停止：%s", error)
                return

    def _parse(self) -> None:
        buf = self._inbox
        while buf:
            if buf[0] != _STX:
                del buf[0]
                continue
            if len(buf) < 2:
                return
            n = buf[1]
            if not 2 <= n <= _MAX_LEN:
                del buf[0]
                continue
            if len(buf) < n + 4:
                return
            body = bytes(buf[2 : 2 + n])
            check = n
            for b in body:
                check ^= b
            ok = buf[2 + n] == check and buf[3 + n] == _ETX
            if not ok:
                del buf[0]
                self.bad_frames += 1
                self._send(_ERROR, 0, bytes([_ERR_FRAME]))
                continue
            del buf[: n + 4]
            self._command(body[0], body[1], body[2:])

    def _command(self, command: int, seq: int, data: bytes) -> None:
        if command == _HELLO:
            self._send(_HELLO_REPLY, seq, IDENTITY)
        elif command == _ENTRY:
            self._start_entry(seq, data)
        elif command == _CANCEL:
            active = self._active
            if active is not None and active.prompt.seq == seq:
                self.host_cancels += 1
                self._end(_CANCEL_ACK, "host_cancelled")
            else:
                self._send(_CANCEL_ACK, seq)
        else:
            self._send(_ERROR, seq, bytes([_ERR_COMMAND]))

    def _start_entry(self, seq: int, data: bytes) -> None:
        if len(data) < 4:
            self._send(_ERROR, seq, bytes([_ERR_PARAMETERS]))
            return
        code, low, high, seconds = data[0], data[1], data[2], data[3]
        if code not in PROMPT_TEXTS or not 4 <= low <= high <= 16 or seconds == 0 or len(data) != 4 + high:
            self._send(_ERROR, seq, bytes([_ERR_PARAMETERS]))
            return
        if self._active is not None:  # a new request replaces a forgotten one
            self._finish()
        prompt = ShownPrompt(seq, code, PROMPT_TEXTS[code], low, high, seconds)
        self._active = _Active(prompt, bytearray(data[4:]), bytearray(), time.monotonic() + seconds)
        self.prompts_shown.append(prompt)
        self._shown.put(prompt)
        self._emit(PadEvent("prompt", prompt))
        with self._script_lock:
            keys = self._script.pop(0) if self._script else None
        if keys is not None:
            threading.Thread(target=self._play, args=(keys,), daemon=True).start()

    def _play(self, keys: str) -> None:
        for key in keys:
            if key == PAUSE:
                time.sleep(0.1)
            else:
                self._keys.put(key)

    def _keys_and_timer(self) -> None:
        while True:
            try:
                key = self._keys.get_nowait()
            except queue.Empty:
                break
            self._key(key)
        active = self._active
        if active is not None and self.own_timer and time.monotonic() >= active.deadline:
            self._end(_TIMEOUT, "timed_out")

    def _key(self, key: str) -> None:
        active = self._active
        if active is None:
            return  # a real pad ignores keys when it shows no prompt
        prompt, digits = active.prompt, active.digits
        if key.isdigit():
            if len(digits) >= prompt.max_length:
                return
            digits.append(ord(key))
            self._send(_KEY, prompt.seq, bytes([len(digits)]))
            self._emit(PadEvent("key", prompt, len(digits)))
        elif key == CLEAR:
            if digits:
                digits[-1] = 0
                del digits[-1]
                self._send(_KEY, prompt.seq, bytes([len(digits)]))
                self._emit(PadEvent("key", prompt, len(digits)))
        elif key == CANCEL:
            self._end(_CITIZEN_CANCEL, "citizen_cancelled")
        elif key == ENTER and len(digits) >= prompt.min_length:
            payload = bytearray([len(digits)])
            for i, digit in enumerate(digits):
                payload.append(digit ^ active.mask[i])
            self._end(_ENTERED, "entered", payload)
            _wipe(payload)

    def _end(self, command: int, ending: str, payload: bytes | bytearray = b"") -> None:
        active, self._active = self._active, None  # the prompt is gone before the host hears why
        if active is None:
            return
        try:
            self._send(command, active.prompt.seq, payload)
            self._emit(PadEvent("ended", active.prompt, len(active.digits), ending))
        finally:
            _wipe(active.digits)
            _wipe(active.mask)

    def _finish(self) -> None:
        active, self._active = self._active, None
        if active is not None:
            _wipe(active.digits)
            _wipe(active.mask)

    def _send(self, command: int, seq: int, data: bytes | bytearray = b"") -> None:
        frame = bytearray([_STX, len(data) + 2, command, seq])
        frame += data
        check = 0
        for b in frame[1:]:
            check ^= b
        frame += bytes([check, _ETX])
        try:
            os.write(self._master, frame)
        finally:
            _wipe(frame)

    def _emit(self, event: PadEvent) -> None:
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:
                log.exception("培训密码键盘事件处理失败")
