"""Frames of the training pad's serial protocol (培训密码键盘串口协议), host side; docs/pinpad.md §3.

    STX 02 | LEN | CMD | SEQ | DATA (LEN − 2 bytes) | LRC | ETX 03

LEN counts CMD, SEQ and DATA (2–64); LRC is the XOR of LEN, CMD, SEQ and DATA. The data of an
ENTERED frame is masked PIN digits, so the decoder never hunts for ETX inside a frame: it trusts LEN,
checks LRC and ETX, and on a bad frame drops the STX and looks for the next one. An STX followed by
a LEN outside 2–64 is noise, which keeps a stray 02 byte from swallowing the frames after it. Frames are built in
and parsed into ``bytearray`` buffers the caller wipes.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = [
    "ETX",
    "MAX_DATA",
    "MAX_LEN",
    "STX",
    "Command",
    "Frame",
    "FrameDecoder",
    "PadError",
    "encode_frame",
    "wipe",
]

STX = 0x02
ETX = 0x03
MAX_LEN = 64
MAX_DATA = MAX_LEN - 2


class Command(enum.IntEnum):
    """Frame commands: host → pad below 0x80, pad → host from 0x80 (帧命令字)."""

    HELLO = 0x01  # who are you
    ENTRY = 0x10  # prompt(1) min(1) max(1) timeout_s(1) mask(max)
    CANCEL = 0x1F  # clerk cancel of entry SEQ
    HELLO_REPLY = 0x81  # ASCII identity
    KEY = 0xA0  # count(1): digits typed so far (never which)
    ENTERED = 0xA1  # n(1) ‖ n digits, each ASCII XOR mask[i]
    CITIZEN_CANCELLED = 0xA2  # 取消 key
    PAD_TIMEOUT = 0xA3  # the pad's own timer ran out
    CANCEL_ACK = 0xA4  # entry SEQ ended by the host's CANCEL
    ERROR = 0xEE  # code(1), see PadError


class PadError(enum.IntEnum):
    """Error codes in an ERROR frame (键盘错误码)."""

    BAD_FRAME = 0x01
    UNKNOWN_COMMAND = 0x02
    BAD_PARAMETERS = 0x03


def wipe(buffer: bytearray | memoryview) -> None:
    """Overwrite ``buffer`` with zeros (keeps its length)."""
    for i in range(len(buffer)):
        buffer[i] = 0


def encode_frame(command: int, seq: int, data: bytes | bytearray = b"") -> bytearray:
    """One frame in a new ``bytearray`` (wipe it after writing when ``data`` was secret)."""
    if len(data) > MAX_DATA:
        raise ValueError(f"frame data longer than {MAX_DATA} bytes")
    if not (0 <= command <= 0xFF and 0 <= seq <= 0xFF):
        raise ValueError("command and seq are single bytes")
    frame = bytearray((STX, len(data) + 2, command, seq))
    frame += data
    lrc = 0
    for i in range(1, len(frame)):
        lrc ^= frame[i]
    frame.append(lrc)
    frame.append(ETX)
    return frame


@dataclass
class Frame:
    """A decoded frame; ``data`` may hold masked PIN digits: wipe it when done."""

    command: int
    seq: int
    data: bytearray = field(repr=False)

    def wipe(self) -> None:
        wipe(self.data)


class FrameDecoder:
    """Collects received bytes and yields whole, checked frames; counts what it had to skip."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.skipped = 0

    def feed(self, chunk: bytes | bytearray) -> Iterator[Frame]:
        self._buffer += chunk
        while True:
            frame = self._next()
            if frame is None:
                return
            yield frame

    def clear(self) -> None:
        wipe(self._buffer)
        self._buffer.clear()

    def _drop(self, count: int) -> None:
        with memoryview(self._buffer) as view:
            wipe(view[:count])
        del self._buffer[:count]

    def _next(self) -> Frame | None:
        buf = self._buffer
        while buf:
            start = buf.find(STX)
            if start < 0:
                self.skipped += len(buf)
                self._drop(len(buf))
                return None
            if start:
                self.skipped += start
                self._drop(start)
            if len(buf) < 2:
                return None
            length = buf[1]
            if not 2 <= length <= MAX_LEN:
                self.skipped += 1
                self._drop(1)
                continue
            total = length + 4
            if len(buf) < total:
                return None
            lrc = 0
            for i in range(1, 2 + length):
                lrc ^= buf[i]
            if lrc != buf[2 + length] or buf[3 + length] != ETX:
                self.skipped += 1
                self._drop(1)
                continue
            with memoryview(buf) as view:
                frame = Frame(buf[2], buf[3], bytearray(view[4 : 2 + length]))
            self._drop(total)
            return frame
        return None
