"""The training pad's frame protocol (docs/pinpad.md §3): golden frames, computed by hand, pin both sides.

The host codec (`counter_app.devices.pinpad.frames`) and the pad (`counter_app.emulator.pinpad`) were
written separately; each is checked here against the same hand-computed bytes, the pad through
the raw pty with no host code at all.
"""

from __future__ import annotations

import os
import select
import time
import tty
from collections.abc import Iterator

import pytest

from counter_app.devices.pinpad.frames import Command, FrameDecoder, encode_frame
from counter_app.devices.pinpad.serial_pad import SerialPinPad
from counter_app.emulator.pinpad import IDENTITY, TrainingPinPad

# Every LRC below is the XOR of LEN, CMD, SEQ and DATA, worked out by hand.
HELLO_SEQ0 = bytes.fromhex("02 02 01 00 03 03")  # LRC 02^01^00 = 03
# ENTRY seq 1: prompt 01 (请输入密码), min 06, max 06, timeout 1E (30 s), mask 01 02 03 04 05 06.
# LRC: 0C^10^01^01^06^06^1E^01^02^03^04^05^06 = 05
ENTRY_SEQ1 = bytes.fromhex("02 0C 10 01 01 06 06 1E 01 02 03 04 05 06 05 03")
MASK = bytes.fromhex("01 02 03 04 05 06")
# ENTERED seq 1 for 731946: ASCII 37 33 31 39 34 36 XOR mask = 36 31 32 3D 31 30.
# LRC: 09^A1^01^06^36^31^32^3D^31^30 = A6
ENTERED_731946 = bytes.fromhex("02 09 A1 01 06 36 31 32 3D 31 30 A6 03")
# KEY seq 1, count n: LRC = 03^A0^01^n
KEYS = [bytes.fromhex(f"02 03 A0 01 {n:02X} {0x03 ^ 0xA0 ^ 0x01 ^ n:02X} 03") for n in range(1, 7)]
assert KEYS[0] == bytes.fromhex("02 03 A0 01 01 A3 03")
CANCEL_SEQ1 = bytes.fromhex("02 02 1F 01 1C 03")  # LRC 02^1F^01 = 1C
CANCEL_ACK_SEQ1 = bytes.fromhex("02 02 A4 01 A7 03")  # LRC 02^A4^01 = A7
CITIZEN_CANCELLED_SEQ1 = bytes.fromhex("02 02 A2 01 A1 03")  # LRC 02^A2^01 = A1
PAD_TIMEOUT_SEQ1 = bytes.fromhex("02 02 A3 01 A0 03")  # LRC 02^A3^01 = A0


# --- the host codec --------------------------------------------------------------------------------


def test_the_host_encodes_the_golden_frames() -> None:
    assert encode_frame(Command.HELLO, 0) == HELLO_SEQ0
    assert encode_frame(Command.ENTRY, 1, bytes.fromhex("01 06 06 1E") + MASK) == ENTRY_SEQ1
    assert encode_frame(Command.CANCEL, 1) == CANCEL_SEQ1


def test_the_host_decodes_golden_frames_split_anywhere_and_unmasks_the_digits() -> None:
    stream = KEYS[0] + ENTERED_731946 + CANCEL_ACK_SEQ1
    for cut in range(len(stream) + 1):
        decoder = FrameDecoder()
        frames = list(decoder.feed(stream[:cut])) + list(decoder.feed(stream[cut:]))
        assert [(f.command, f.seq) for f in frames] == [(0xA0, 1), (0xA1, 1), (0xA4, 1)]
        assert bytes(frames[1].data) == bytes.fromhex("06 36 31 32 3D 31 30")
    pin = SerialPinPad._unmask(frames[1].data, bytearray(MASK))
    assert pin.digits == bytearray(b"731946")
    assert b"731946" not in stream  # on the line the digits are masked


def test_the_decoder_skips_noise_bad_checksums_and_bad_end_bytes() -> None:
    broken_lrc = bytearray(ENTERED_731946)
    broken_lrc[-2] ^= 0xFF
    broken_etx = bytearray(KEYS[1])
    broken_etx[-1] = 0x04
    decoder = FrameDecoder()
    frames = list(decoder.feed(b"\x00\xff\x03" + broken_lrc + broken_etx + KEYS[2]))
    assert [(f.command, bytes(f.data)) for f in frames] == [(0xA0, b"\x03")]
    assert decoder.skipped > 0


def test_a_frame_carries_at_most_62_data_bytes_and_a_long_len_is_noise() -> None:
    encode_frame(Command.HELLO_REPLY, 1, bytes(62))
    with pytest.raises(ValueError, match="62"):
        encode_frame(Command.HELLO_REPLY, 1, bytes(63))
    decoder = FrameDecoder()  # 02 41: LEN 65 cannot start a frame, so KEYS[0] is found at once
    assert [f.command for f in decoder.feed(b"\x02\x41" + KEYS[0])] == [0xA0]


# --- the training pad, through the raw pty (no host code) ------------------------------------------


@pytest.fixture
def raw_line() -> Iterator[tuple[TrainingPinPad, int]]:
    pad = TrainingPinPad().start()
    fd = os.open(pad.port, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)
    yield pad, fd
    os.close(fd)
    pad.stop()


def read_exactly(fd: int, size: int, timeout: float = 3.0) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while len(data) < size:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise AssertionError(f"pad sent {data.hex(' ')} then nothing (wanted {size} bytes)")
        data += os.read(fd, size - len(data))
    return data


def test_the_pad_answers_hello_with_its_training_identity(raw_line: tuple[TrainingPinPad, int]) -> None:
    _, fd = raw_line
    os.write(fd, HELLO_SEQ0)
    reply = read_exactly(fd, 4 + 2 + len(IDENTITY))
    assert reply[:4] == bytes((0x02, 2 + len(IDENTITY), 0x81, 0x00)) and reply[-1] == 0x03
    assert reply[4:-2] == IDENTITY == b"LSSB-TRAINING-PAD/1"


def test_the_pad_sends_golden_key_and_entered_frames(raw_line: tuple[TrainingPinPad, int]) -> None:
    pad, fd = raw_line
    os.write(fd, ENTRY_SEQ1)
    shown = pad.wait_for_prompt()
    assert (shown.code, shown.text, shown.min_length, shown.max_length) == (1, "请输入密码", 6, 6)
    pad.type_digits("7319465")  # the seventh digit is beyond the maximum: ignored
    pad.press_enter()
    assert read_exactly(fd, 7 * 6 + len(ENTERED_731946)) == b"".join(KEYS) + ENTERED_731946


def test_the_pad_ends_entries_with_golden_cancel_timeout_and_ack_frames(
    raw_line: tuple[TrainingPinPad, int],
) -> None:
    pad, fd = raw_line
    os.write(fd, ENTRY_SEQ1)
    pad.wait_for_prompt()
    pad.press_cancel()
    assert read_exactly(fd, 6) == CITIZEN_CANCELLED_SEQ1
    os.write(fd, ENTRY_SEQ1)
    pad.wait_for_prompt()
    os.write(fd, CANCEL_SEQ1)
    assert read_exactly(fd, 6) == CANCEL_ACK_SEQ1
    os.write(
        fd, bytes.fromhex("02 0C 10 01 01 06 06 01 01 02 03 04 05 06") + bytes((0x05 ^ 0x1E ^ 0x01, 0x03))
    )
    pad.wait_for_prompt()  # same entry with a 1 s timer (LRC adjusted for the timeout byte)
    assert read_exactly(fd, 6, timeout=3) == PAD_TIMEOUT_SEQ1


def test_the_pad_rejects_bad_frames_and_bad_requests(raw_line: tuple[TrainingPinPad, int]) -> None:
    pad, fd = raw_line
    os.write(fd, bytes.fromhex("02 02 01 00 00 03"))  # wrong LRC
    assert read_exactly(fd, 7) == bytes.fromhex("02 03 EE 00 01 EC 03")  # ERROR 01; LRC 03^EE^00^01 = EC
    os.write(fd, bytes.fromhex("02 03 10 05 01 17 03"))  # ENTRY without lengths; LRC 03^10^05^01 = 17
    assert read_exactly(fd, 7) == bytes.fromhex("02 03 EE 05 03 EB 03")  # ERROR 03; LRC 03^EE^05^03 = EB
    assert pad.bad_frames == 1 and pad.showing is None  # its LEN byte 02 was then skipped as noise
