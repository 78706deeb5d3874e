"""The PIN dialogue: prompts per kind, the confirmation compared and wiped, every buffer wiped on every exit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from counter_app.devices.pinpad import PinPadFault, Prompt, run_dialogue
from counter_app.devices.pinpad.dialogue import Entry
from counter_app.workflows.ports import PinEntryKind, PinPadOutcome, PinRequest, SecretPin


class Typist:
    """One scripted entry per prompt; remembers every buffer it handed out."""

    def __init__(self, *entries: str | PinPadOutcome) -> None:
        self._entries: Iterator[str | PinPadOutcome] = iter(entries)
        self.prompts: list[Prompt] = []
        self.buffers: list[bytearray] = []

    def __call__(self, prompt: Prompt, request: PinRequest) -> Entry:
        self.prompts.append(prompt)
        entry = next(self._entries)
        if isinstance(entry, PinPadOutcome):
            return Entry(entry)
        buffer = bytearray(entry.encode())
        self.buffers.append(buffer)
        return Entry(PinPadOutcome.ENTERED, SecretPin(buffer))

    def all_wiped(self, *, but: int | None = None) -> bool:
        return all(not any(b) for i, b in enumerate(self.buffers) if i != but)


def test_the_prompts_are_the_interfaces_chinese_prompts() -> None:
    texts = [p.text for p in Prompt]
    assert texts == ["请输入密码", "请输入原密码", "请输入新密码", "请再次输入新密码"]


def test_verify_asks_once_and_hands_over_the_entry() -> None:
    typist = Typist("731946")
    with run_dialogue(PinRequest(PinEntryKind.VERIFY), typist) as entries:
        assert entries.outcome is PinPadOutcome.ENTERED
        assert [bytes(p.digits) for p in entries.entries] == [b"731946"]
    assert typist.prompts == [Prompt.ENTER_PIN] and typist.all_wiped()


def test_change_asks_old_new_again_and_keeps_old_and_new_only() -> None:
    typist = Typist("123456", "731946", "731946")
    entries = run_dialogue(PinRequest(PinEntryKind.CHANGE), typist)
    assert typist.prompts == [Prompt.ENTER_OLD_PIN, Prompt.ENTER_NEW_PIN, Prompt.CONFIRM_NEW_PIN]
    assert [bytes(p.digits) for p in entries.entries] == [b"123456", b"731946"]
    assert typist.buffers[2] == bytearray(6)  # the confirmation was wiped at once
    entries.wipe()
    assert typist.all_wiped()


@pytest.mark.parametrize("kind", [PinEntryKind.CHANGE, PinEntryKind.RELOAD])
def test_two_different_new_pins_end_with_mismatch_and_nothing_left(kind: PinEntryKind) -> None:
    typist = Typist(*(["123456"] if kind is PinEntryKind.CHANGE else []), "731946", "731947")
    entries = run_dialogue(PinRequest(kind), typist)
    assert entries.outcome is PinPadOutcome.MISMATCH and entries.entries == []
    assert entries.outcome.message == "两次输入的新密码不一致" and entries.outcome.interface_code == -34
    assert typist.all_wiped()


@pytest.mark.parametrize(
    ("ending", "message", "code"),
    [
        (PinPadOutcome.CITIZEN_CANCELLED, "客户取消输入", -31),
        (PinPadOutcome.TIMED_OUT, "输入超时", -32),
        (PinPadOutcome.CLERK_CANCELLED, "柜员已取消输入", None),
    ],
)
def test_an_entry_that_does_not_end_entered_ends_the_dialogue_and_wipes_earlier_entries(
    ending: PinPadOutcome, message: str, code: int | None
) -> None:
    typist = Typist("123456", "731946", ending)
    entries = run_dialogue(PinRequest(PinEntryKind.CHANGE), typist)
    assert (entries.outcome, entries.entries) == (ending, [])
    assert (ending.message, ending.interface_code) == (message, code)
    assert typist.all_wiped()


@pytest.mark.parametrize("typed", ["73194", "7319460", "73194A"])
def test_a_pad_returning_the_wrong_length_or_a_non_digit_is_a_device_fault(typed: str) -> None:
    typist = Typist("123456", typed, typed)
    with pytest.raises(PinPadFault, match="密码键盘应答异常") as raised:
        run_dialogue(PinRequest(PinEntryKind.CHANGE), typist)
    assert typed not in str(raised.value) and "123456" not in str(raised.value)
    assert typist.all_wiped()


@pytest.mark.parametrize(
    ("low", "high", "timeout"), [(3, 6, 30.0), (6, 17, 30.0), (8, 6, 30.0), (6, 6, 0.0), (6, 6, 256.0)]
)
def test_a_request_outside_4_to_16_digits_or_1_to_255_seconds_is_refused(
    low: int, high: int, timeout: float
) -> None:
    with pytest.raises(ValueError, match="PIN"):
        PinRequest(PinEntryKind.VERIFY, low, high, timeout)


def test_the_default_request_is_six_digits_and_4_to_16_is_allowed() -> None:
    request = PinRequest(PinEntryKind.VERIFY)
    assert (request.min_length, request.max_length) == (6, 6)
    assert PinRequest(PinEntryKind.RELOAD, 4, 16).max_length == 16
