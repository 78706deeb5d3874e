"""The PIN dialogue (密码输入流程): which prompts a request needs and what the host makes of them.

A pad that hands entries to the host (serial 密码键盘, the training pad, a vendor pad behind its
helper) only has to implement one entry: show a prompt, let the citizen type, return the digits or
how the entry ended. `run_dialogue` strings entries together per `PinEntryKind` — VERIFY: 请输入密码;
CHANGE: 请输入原密码, 请输入新密码, 请再次输入新密码; RELOAD: 请输入新密码, 请再次输入新密码 —
compares the two new entries in constant time, and wipes every buffer on every way out.
"""

from __future__ import annotations

import enum
import hmac
from collections.abc import Callable
from dataclasses import dataclass

from counter_app.devices.pinpad.errors import PinPadFault
from counter_app.workflows.ports import PinEntries, PinEntryKind, PinPadOutcome, PinRequest, SecretPin

__all__ = ["PROMPTS", "Entry", "EntryFunction", "Prompt", "run_dialogue"]


class Prompt(enum.IntEnum):
    """What the pad shows or says before one entry (密码键盘提示语); the value is the wire code."""

    ENTER_PIN = 1
    ENTER_OLD_PIN = 2
    ENTER_NEW_PIN = 3
    CONFIRM_NEW_PIN = 4

    @property
    def text(self) -> str:
        return _TEXTS[self]


_TEXTS = {
    Prompt.ENTER_PIN: "请输入密码",
    Prompt.ENTER_OLD_PIN: "请输入原密码",
    Prompt.ENTER_NEW_PIN: "请输入新密码",
    Prompt.CONFIRM_NEW_PIN: "请再次输入新密码",
}

#: The prompts of each kind of request, in order.
PROMPTS: dict[PinEntryKind, tuple[Prompt, ...]] = {
    PinEntryKind.VERIFY: (Prompt.ENTER_PIN,),
    PinEntryKind.CHANGE: (Prompt.ENTER_OLD_PIN, Prompt.ENTER_NEW_PIN, Prompt.CONFIRM_NEW_PIN),
    PinEntryKind.RELOAD: (Prompt.ENTER_NEW_PIN, Prompt.CONFIRM_NEW_PIN),
}


@dataclass
class Entry:
    """How one entry ended; ``pin`` holds the digits when ``outcome`` is ENTERED, else None."""

    outcome: PinPadOutcome
    pin: SecretPin | None = None

    def wipe(self) -> None:
        if self.pin is not None:
            self.pin.wipe()


EntryFunction = Callable[[Prompt, PinRequest], Entry]
"""One entry on a pad: show ``prompt``, collect within the request's lengths and timeout."""


def _check(pin: SecretPin, request: PinRequest) -> None:
    digits = pin.digits
    if not request.min_length <= len(digits) <= request.max_length:
        raise PinPadFault(f"返回的密码位数不在 {request.min_length}–{request.max_length} 位之内")
    if any(not 0x30 <= b <= 0x39 for b in digits):
        raise PinPadFault("返回的密码含有非数字字符")


def run_dialogue(request: PinRequest, enter: EntryFunction) -> PinEntries:
    """Run every prompt of ``request``; the result holds VERIFY [pin], CHANGE [old, new], RELOAD [new].

    The first entry that does not end ENTERED ends the dialogue with its outcome and no entries.
    Two different new PINs end it with MISMATCH (两次输入的新密码不一致) and no entries.
    """
    collected: list[SecretPin] = []
    try:
        for prompt in PROMPTS[request.kind]:
            entry = enter(prompt, request)
            if entry.outcome is not PinPadOutcome.ENTERED:
                entry.wipe()
                return _ended(collected, entry.outcome)
            if entry.pin is None:
                raise PinPadFault("报告已输入，却没有返回密码")
            collected.append(entry.pin)
            _check(entry.pin, request)
        if request.kind is not PinEntryKind.VERIFY:
            confirmation = collected.pop()
            same = hmac.compare_digest(collected[-1].digits, confirmation.digits)
            confirmation.wipe()
            if not same:
                return _ended(collected, PinPadOutcome.MISMATCH)
        return PinEntries(PinPadOutcome.ENTERED, collected)
    except BaseException:
        for pin in collected:
            pin.wipe()
        raise


def _ended(collected: list[SecretPin], outcome: PinPadOutcome) -> PinEntries:
    for pin in collected:
        pin.wipe()
    return PinEntries(outcome)
