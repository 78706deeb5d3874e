"""PIN dialogues on the citizen's pad (密码键盘) for the flows: verify, change, set, reload.

Serial and training pads hand the entries to the host (`PinPad.collect`): the card layer turns them
into an APDU and every buffer is wiped when the ``with`` block ends. Secure pads (PC/SC Part 10)
send VERIFY / CHANGE PIN to the card themselves (`PinPad.enter_on_card`) and the PIN never reaches
the host; RELOAD (密码重置) needs the PSAM's MAC over the new PIN and so cannot run on them.
The citizen types first, then the card is spoken to: no PC/SC transaction waits on a human.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from counter_app.card import SocialSecurityCard
from counter_app.card.kinds import Kind
from counter_app.card.status import error_for
from counter_app.workflows.base import StepFailed
from counter_app.workflows.context import Context
from counter_app.workflows.ports import (
    PinEntries,
    PinEntryKind,
    PinPadOutcome,
    PinRequest,
    SecretPin,
    SecurePinResult,
)


def _request(ctx: Context, kind: PinEntryKind) -> PinRequest:
    low, high = ctx.card_settings.new_pin_lengths
    if kind is PinEntryKind.VERIFY:
        low, high = min(low, 6), max(high, 6)
    return PinRequest(kind, min_length=low, max_length=high)


def _entries(ctx: Context, kind: PinEntryKind, count: int) -> PinEntries:
    entries = ctx.pin_pad.collect(_request(ctx, kind))
    if entries.outcome is not PinPadOutcome.ENTERED:
        entries.wipe()
        raise StepFailed(
            f"pin_pad_{entries.outcome.value}", f"密码键盘：{entries.outcome.message}", "请持卡人重新输入"
        )
    if len(entries.entries) < count:
        entries.wipe()
        raise StepFailed("pin_pad_incomplete", "密码键盘未返回完整的输入", "请持卡人重新输入")
    return entries


def _check_secure(result: SecurePinResult, kind: Kind) -> None:
    if result.outcome is not PinPadOutcome.ENTERED:
        raise StepFailed(
            f"pin_pad_{result.outcome.value}", f"密码键盘：{result.outcome.message}", "请持卡人重新输入"
        )
    if result.sw is not None and result.sw != 0x9000:
        raise error_for(result.sw, kind)


def verify(ctx: Context, card: SocialSecurityCard) -> None:
    """校验密码: the citizen types the current PIN."""
    if ctx.pin_pad.secure:
        card.pin_tries_left()  # selects SSSE for the pad
        _check_secure(
            ctx.pin_pad.enter_on_card(_request(ctx, PinEntryKind.VERIFY), ctx.card_transport), Kind.VERIFY
        )
        return
    with _entries(ctx, PinEntryKind.VERIFY, 1) as entries:
        card.verify_pin(entries.entries[0])


def _nothing() -> None:
    return None


def change(ctx: Context, card: SocialSecurityCard, *, before_card: Callable[[], None] = _nothing) -> None:
    """修改密码: the citizen types the old PIN and the new one (twice, compared by the pad).

    ``before_card`` is called once the entries are in, right before the card may change.
    """
    if ctx.pin_pad.secure:
        card.pin_tries_left()
        before_card()
        _check_secure(
            ctx.pin_pad.enter_on_card(_request(ctx, PinEntryKind.CHANGE), ctx.card_transport), Kind.CHANGE_PIN
        )
        return
    with _entries(ctx, PinEntryKind.CHANGE, 2) as entries:
        _same_when_three(entries)
        before_card()
        card.change_pin(entries.entries[0], entries.entries[1])


def replace_initial(
    ctx: Context, card: SocialSecurityCard, *, before_card: Callable[[], None] = _nothing
) -> None:
    """激活时设置密码: the new PIN replaces the initial one (初始密码 123456 may not stay).

    On a host pad the citizen types the new PIN (twice) and the host supplies the initial PIN; on a
    secure pad the citizen types the initial PIN too (CHANGE PIN on the pad).
    """
    if ctx.pin_pad.secure:
        change(ctx, card, before_card=before_card)
        return
    with _entries(ctx, PinEntryKind.RELOAD, 1) as entries:
        _same_when_two(entries)
        initial = SecretPin(bytearray(ctx.initial_pin))
        before_card()
        try:
            card.change_pin(initial, entries.entries[0])
        finally:
            initial.wipe()


def reload(ctx: Context, card: SocialSecurityCard, *, before_card: Callable[[], None] = _nothing) -> None:
    """密码重置 (RELOAD PIN): the citizen types the new PIN twice; the PSAM MACs it."""
    if ctx.pin_pad.secure:
        raise StepFailed(
            "secure_pad_cannot_reload",
            "安全密码键盘不向主机提供密码，不能办理密码重置（重置须由 PSAM 对新密码计算 MAC）",
            "请使用支持主机输入的密码键盘，或联系信息科",
        )
    with _entries(ctx, PinEntryKind.RELOAD, 1) as entries:
        _same_when_two(entries)
        before_card()
        card.reload_pin(entries.entries[0])


def _same(a: SecretPin, b: SecretPin) -> None:
    if not hmac.compare_digest(a.digits, b.digits):
        raise StepFailed("pin_mismatch", "两次输入的新密码不一致", "请持卡人重新输入")


def _same_when_two(entries: PinEntries) -> None:
    """A pad that also hands over the confirmation entry: [new, new again]."""
    if len(entries.entries) >= 2:
        _same(entries.entries[0], entries.entries[1])


def _same_when_three(entries: PinEntries) -> None:
    """A pad that also hands over the confirmation entry: [old, new, new again]."""
    if len(entries.entries) >= 3:
        _same(entries.entries[1], entries.entries[2])
