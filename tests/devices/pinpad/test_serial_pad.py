"""The serial pad host (`SerialPinPad`) against the training pad on a real pseudo-terminal, via pyserial."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import serial

from counter_app.devices.pinpad import PinPadFault, PinPadNotCapable, PinPadUnavailable, Prompt, SerialPinPad
from counter_app.emulator.pinpad import PadEvent, TrainingPinPad
from counter_app.workflows.ports import PinEntryKind, PinPadOutcome, PinRequest


@pytest.fixture
def pad() -> Iterator[TrainingPinPad]:
    with TrainingPinPad() as training:
        yield training


@pytest.fixture
def host(pad: TrainingPinPad) -> Iterator[SerialPinPad]:
    serial_pad = SerialPinPad(pad.port, grace_seconds=0.5)
    yield serial_pad
    serial_pad.close()


def digits(entries: list[bytearray]) -> list[bytes]:
    return [bytes(e) for e in entries]


def test_the_port_is_a_pty_whose_modem_lines_raise_and_the_host_never_needs_them(pad: TrainingPinPad) -> None:
    with serial.Serial(pad.port, 9600, timeout=0.1) as raw, pytest.raises(OSError, match="ioctl"):
        raw.dtr = True  # what a naive driver would do: fails on a pty (pcsc-stack.md §6)
    with SerialPinPad(pad.port) as host:
        assert host.identity == "LSSB-TRAINING-PAD/1"


def test_verify_change_and_reload_collect_the_right_entries(pad: TrainingPinPad, host: SerialPinPad) -> None:
    pad.script("731946#")
    with host.collect(PinRequest(PinEntryKind.VERIFY)) as entries:
        assert entries.outcome is PinPadOutcome.ENTERED
        assert digits([p.digits for p in entries.entries]) == [b"731946"]
        kept = entries.entries[0].digits
    assert kept == bytearray(6)  # the very buffer was zeroed when the with block ended
    pad.script("123456#", "731946#", "731946#")
    with host.collect(PinRequest(PinEntryKind.CHANGE)) as entries:
        assert digits([p.digits for p in entries.entries]) == [b"123456", b"731946"]
    pad.script("7319468#", "7319468#")
    with host.collect(PinRequest(PinEntryKind.RELOAD, 4, 16)) as entries:
        assert digits([p.digits for p in entries.entries]) == [b"7319468"]
    assert [p.text for p in pad.prompts_shown] == [
        "请输入密码", "请输入原密码", "请输入新密码", "请再次输入新密码", "请输入新密码", "请再次输入新密码",
    ]  # fmt: skip


def test_the_pad_enforces_the_lengths_and_the_clear_key(pad: TrainingPinPad, host: SerialPinPad) -> None:
    pad.script("12345#6<7#")  # 确认 after five digits is ignored; 更正 takes back the 6
    with host.collect(PinRequest(PinEntryKind.VERIFY)) as entries:
        assert digits([p.digits for p in entries.entries]) == [b"123457"]


def test_mismatched_new_entries_end_with_mismatch(pad: TrainingPinPad, host: SerialPinPad) -> None:
    pad.script("731946#", "731947#")
    entries = host.collect(PinRequest(PinEntryKind.RELOAD))
    assert (entries.outcome, entries.entries) == (PinPadOutcome.MISMATCH, [])


def test_progress_reports_counts_never_digits(pad: TrainingPinPad) -> None:
    seen: list[tuple[Prompt, int]] = []
    with SerialPinPad(pad.port, on_progress=lambda p, n: seen.append((p, n))) as host:
        pad.script("73<19")
        entries = host.collect(PinRequest(PinEntryKind.VERIFY, 4, 6, timeout_seconds=1))
    assert entries.outcome is PinPadOutcome.TIMED_OUT
    assert seen == [(Prompt.ENTER_PIN, n) for n in (1, 2, 1, 2, 3)]


def test_citizen_cancel_pad_timeout_and_clerk_cancel_are_distinct_outcomes(
    pad: TrainingPinPad, host: SerialPinPad
) -> None:
    pad.script("73*")
    assert host.collect(PinRequest(PinEntryKind.VERIFY)).outcome is PinPadOutcome.CITIZEN_CANCELLED
    pad.script("73")
    assert host.collect(PinRequest(PinEntryKind.VERIFY, timeout_seconds=1)).outcome is PinPadOutcome.TIMED_OUT
    assert pad.host_cancels == 0  # the pad's own timer ended it, not the host's later deadline
    pad.script("73")
    threading.Timer(0.3, host.cancel).start()
    assert host.collect(PinRequest(PinEntryKind.CHANGE)).outcome is PinPadOutcome.CLERK_CANCELLED
    assert pad.host_cancels == 1 and pad.showing is None


def test_a_silent_pad_is_timed_out_by_the_host_deadline(pad: TrainingPinPad, host: SerialPinPad) -> None:
    host.open()
    pad.own_timer = False
    pad.script("7")
    started = time.monotonic()
    assert host.collect(PinRequest(PinEntryKind.VERIFY, timeout_seconds=1)).outcome is PinPadOutcome.TIMED_OUT
    assert 1.4 <= time.monotonic() - started < 6  # timeout + grace (0.5 s), generous under load
    assert pad.host_cancels == 1  # the host ended the entry on the pad too


def test_a_late_answer_to_an_older_entry_is_ignored(pad: TrainingPinPad, host: SerialPinPad) -> None:
    host.open()
    pad.responsive = False  # the pad hangs: the host gives up on entry 1
    assert host.collect(PinRequest(PinEntryKind.VERIFY, timeout_seconds=1)).outcome is PinPadOutcome.TIMED_OUT
    pad.responsive = True
    pad.script("731946#")
    with host.collect(PinRequest(PinEntryKind.VERIFY)) as entries:
        assert digits([p.digits for p in entries.entries]) == [b"731946"]


def test_a_pad_that_is_not_there_or_unplugged_is_unavailable(pad: TrainingPinPad) -> None:
    with pytest.raises(PinPadUnavailable, match="无法打开端口"):
        SerialPinPad("/dev/does-not-exist").open()
    pad.responsive = False
    with pytest.raises(PinPadUnavailable, match="无应答"):
        SerialPinPad(pad.port).open()
    pad.responsive = True
    host = SerialPinPad(pad.port)
    host.open()
    pad.stop()  # unplugged
    with pytest.raises(PinPadUnavailable, match="连接中断"):
        host.collect(PinRequest(PinEntryKind.VERIFY))


def test_an_error_frame_from_the_pad_is_a_fault_and_secure_entry_is_not_offered(
    pad: TrainingPinPad, host: SerialPinPad
) -> None:
    host.open()
    failure: list[BaseException] = []

    def collect() -> None:
        try:
            host.collect(PinRequest(PinEntryKind.VERIFY))
        except PinPadFault as error:
            failure.append(error)

    thread = threading.Thread(target=collect)
    thread.start()
    shown = pad.wait_for_prompt()
    pad._send(0xEE, shown.seq, bytes([0x03]))  # the pad reports BAD_PARAMETERS for this entry
    thread.join(5)
    assert len(failure) == 1 and "BAD_PARAMETERS" in str(failure[0])
    with pytest.raises(PinPadNotCapable):
        host.enter_on_card(PinRequest(PinEntryKind.VERIFY), object())  # type: ignore[arg-type]


def test_the_training_window_sees_prompts_keys_and_endings_without_digits() -> None:
    events: list[PadEvent] = []
    with TrainingPinPad(on_event=events.append) as pad, SerialPinPad(pad.port) as host:
        pad.script("731946#")
        host.collect(PinRequest(PinEntryKind.VERIFY)).wipe()
    assert [e.kind for e in events] == ["prompt"] + ["key"] * 6 + ["ended"]
    assert events[-1].ending == "entered" and events[0].prompt.text == "请输入密码"
    assert "731946" not in repr(events)
