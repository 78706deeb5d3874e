"""The PIN services at the counter (密码服务): 校验密码, 修改密码, 密码重置, 密码解锁.

`PinService` joins a `PinPad` and the card and keeps the order that PIN hygiene needs:

1. the citizen types on the pad on the *calling* thread (never the GUI thread, never the device
   thread, never inside a PC/SC transaction);
2. only then is the card job submitted to the device thread, with the entries;
3. the entries are wiped as soon as the job returns, whatever happened.

A secure pad (PC/SC Part 10) instead runs inside the card job, because the reader itself sends the
PIN to the card. Outcomes and card refusals come back as a `PinResult` with a Chinese message for
the wizard; device faults (`PinPadError`), a card pulled out (`CardRemovedError`) and reader faults
are raised. The workflow that records the transaction and prints the form builds on this.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from counter_app.card import SocialSecurityCard
from counter_app.card.errors import CardError, PinBlocked
from counter_app.card.kinds import Kind
from counter_app.card.status import error_for
from counter_app.devices.pinpad.errors import PinPadNotCapable
from counter_app.workflows.ports import (
    CardTransport,
    PinEntryKind,
    PinPad,
    PinPadOutcome,
    PinRequest,
    SecurePinResult,
)

__all__ = ["CardRunner", "CardSession", "PinOperation", "PinResult", "PinService"]

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class CardSession:
    """What a card job gets on the device thread: the card application and its transport."""

    card: SocialSecurityCard
    transport: CardTransport


class CardRunner(Protocol):
    """Runs a job with the card in the reader (on the device thread) and returns its result."""

    def __call__(self, job: Callable[[CardSession], T], *, needs_psam: bool = False) -> T: ...


class PinOperation(enum.Enum):
    """The four PIN services (密码业务)."""

    VERIFY = "verify"  # 校验密码
    CHANGE = "change"  # 修改密码
    RELOAD = "reload"  # 密码重置
    UNBLOCK = "unblock"  # 密码解锁

    @property
    def done_message(self) -> str:
        return _DONE[self]


_DONE = {
    PinOperation.VERIFY: "密码校验通过",
    PinOperation.CHANGE: "密码修改成功",
    PinOperation.RELOAD: "密码重置成功",
    PinOperation.UNBLOCK: "密码解锁成功",
}


@dataclass(frozen=True)
class PinResult:
    """How one PIN service ended, in words for the wizard (密码业务结果); never holds a PIN.

    ``outcome`` is how the entry on the pad ended (None when nothing was typed: 解锁, or a locked
    card refused before asking). ``error`` is the card's or the terminal's refusal.
    """

    operation: PinOperation
    done: bool
    message: str
    outcome: PinPadOutcome | None = None
    error: CardError | None = None
    tries_left: int | None = None

    @property
    def interface_code(self) -> int:
        """The national interface's return code: 0, −31 … −36, −51, −52, −(SW) …"""
        if self.done:
            return 0
        if self.error is not None and self.error.interface_code is not None:
            return self.error.interface_code
        if self.outcome is not None and self.outcome.interface_code is not None:
            return self.outcome.interface_code
        return -1


class PinService:
    """PIN services with one pad and the card in the reader (柜面密码业务)."""

    def __init__(
        self,
        pad: PinPad,
        on_card: CardRunner,
        *,
        pin_lengths: tuple[int, int] = (6, 6),
        timeout_seconds: float = 30.0,
    ) -> None:
        self._pad = pad
        self._on_card = on_card
        self._lengths = pin_lengths
        self._timeout = timeout_seconds

    @property
    def can_reload(self) -> bool:
        """False for a secure pad: RELOAD needs the PSAM's MAC over a PIN the host never sees."""
        return not self._pad.secure

    def cancel(self) -> bool:
        """柜员取消 of the entry in progress; False when the pad cannot be cancelled from here."""
        return self._pad.cancel()

    def _request(self, kind: PinEntryKind) -> PinRequest:
        return PinRequest(kind, self._lengths[0], self._lengths[1], self._timeout)

    # -- the services ---------------------------------------------------------------------------

    def verify(self) -> PinResult:
        """校验密码: VERIFY with the PIN the citizen types."""
        return self._with_pin(PinOperation.VERIFY, PinEntryKind.VERIFY)

    def change(self) -> PinResult:
        """修改密码: old PIN, new PIN, new PIN again; CHANGE PIN. The new PIN may not be 123456."""
        return self._with_pin(PinOperation.CHANGE, PinEntryKind.CHANGE)

    def reload(self) -> PinResult:
        """密码重置: new PIN twice; RELOAD PIN with the PSAM's MAC. Works on a locked card."""
        if not self.can_reload:
            raise PinPadNotCapable("密码重置需要 PSAM 对新密码计算 MAC，读卡器密码键盘不能办理")
        request = self._request(PinEntryKind.RELOAD)
        with self._pad.collect(request) as entries:  # on this thread, before any card job
            if entries.outcome is not PinPadOutcome.ENTERED:
                return self._ended(PinOperation.RELOAD, entries.outcome)
            new = entries.entries[0]
            return self._card_step(
                PinOperation.RELOAD, lambda s: s.card.reload_pin(new), needs_psam=True, tries_after=True
            )

    def unblock(self) -> PinResult:
        """密码解锁: reset the try counter with the PSAM's MAC; the PIN stays what it was."""
        return self._card_step(
            PinOperation.UNBLOCK, lambda s: s.card.unblock_pin(), needs_psam=True, tries_after=True
        )

    def tries_left(self) -> int | None:
        """Remaining tries as the card reports them (0 = 已锁定)."""
        return self._on_card(lambda s: s.card.pin_tries_left())

    # -- steps ----------------------------------------------------------------------------------

    def _with_pin(self, operation: PinOperation, kind: PinEntryKind) -> PinResult:
        request = self._request(kind)
        if self._pad.secure:
            return self._secure(operation, request)
        if self.tries_left() == 0:
            return self._refused(operation, PinBlocked(), None)
        with self._pad.collect(request) as entries:  # on this thread, before any card job
            if entries.outcome is not PinPadOutcome.ENTERED:
                return self._ended(operation, entries.outcome)
            if kind is PinEntryKind.VERIFY:
                pin = entries.entries[0]
                return self._card_step(operation, lambda s: s.card.verify_pin(pin))
            old, new = entries.entries
            return self._card_step(operation, lambda s: s.card.change_pin(old, new))

    def _secure(self, operation: PinOperation, request: PinRequest) -> PinResult:
        def job(session: CardSession) -> SecurePinResult | None:
            if session.card.pin_tries_left() == 0:  # also selects SSSE for the reader's APDU
                return None
            return self._pad.enter_on_card(request, session.transport)

        secure = self._on_card(job)
        if secure is None:
            return self._refused(operation, PinBlocked(), None)
        if secure.outcome is not PinPadOutcome.ENTERED:
            return self._ended(operation, secure.outcome)
        if secure.sw == 0x9000:
            return PinResult(operation, True, operation.done_message, PinPadOutcome.ENTERED)
        kind = Kind.VERIFY if request.kind is PinEntryKind.VERIFY else Kind.CHANGE_PIN
        return self._refused(operation, error_for(secure.sw or 0x6F00, kind), PinPadOutcome.ENTERED)

    def _card_step(
        self,
        operation: PinOperation,
        step: Callable[[CardSession], None],
        *,
        needs_psam: bool = False,
        tries_after: bool = False,
    ) -> PinResult:
        outcome = None if operation is PinOperation.UNBLOCK else PinPadOutcome.ENTERED

        def job(session: CardSession) -> int | None:
            step(session)
            return session.card.pin_tries_left() if tries_after else None

        try:
            tries = self._on_card(job, needs_psam=needs_psam)
        except CardError as error:
            return self._refused(operation, error, outcome)
        log.info("%s", operation.done_message)
        return PinResult(operation, True, operation.done_message, outcome, tries_left=tries)

    @staticmethod
    def _ended(operation: PinOperation, outcome: PinPadOutcome) -> PinResult:
        log.info("密码业务 %s 未完成：%s", operation.value, outcome.message)
        return PinResult(operation, False, outcome.message, outcome)

    @staticmethod
    def _refused(operation: PinOperation, error: CardError, outcome: PinPadOutcome | None) -> PinResult:
        log.info("密码业务 %s 被拒绝：%s（%s）", operation.value, error.message, error.code)
        tries = getattr(error, "tries_left", None)
        if isinstance(error, PinBlocked):
            tries = 0
        return PinResult(
            operation, False, error.message, outcome, error, tries if isinstance(tries, int) else None
        )
