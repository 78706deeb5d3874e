"""Faults for the crash and card-pull tests: a process that dies, a card that leaves the reader.

A crash is `Crash`, a ``BaseException`` no flow catches: raised right *after* a checkpoint was saved
(the flow object is then dropped and the flow resumed from the journal), right after the server
applied a command (its answer is lost), or right after the journal committed the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from counter_app.emulator import EmulatedCard, InProcessTransport
from counter_app.workflows.ports import (
    CardTransport,
    CentralApi,
    CommandResult,
    Journal,
    PinEntries,
    PinEntryKind,
    PinPadOutcome,
    PinRequest,
    SecretPin,
    SecurePinResult,
    TransactionRecord,
)


class Crash(BaseException):
    """The counter PC died here."""


class CrashingJournal:
    """A journal that dies after its ``crash_after``-th checkpoint save, or right after a record."""

    def __init__(
        self, inner: Journal, *, crash_after: int | None = None, crash_after_record: bool = False
    ) -> None:
        self.inner = inner
        self.crash_after = crash_after
        self.crash_after_record = crash_after_record
        self.saves = 0

    def next_acceptance_number(self, outlet_code: str, counter_number: str, on: Any) -> str:
        return self.inner.next_acceptance_number(outlet_code, counter_number, on)

    def record(self, transaction: TransactionRecord) -> None:
        self.inner.record(transaction)
        if self.crash_after_record:
            raise Crash("after record")

    def find(self, acceptance_number: str) -> TransactionRecord | None:
        return self.inner.find(acceptance_number)

    def save_checkpoint(self, flow_id: str, state: Mapping[str, Any]) -> None:
        self.inner.save_checkpoint(flow_id, state)
        self.saves += 1
        if self.crash_after is not None and self.saves == self.crash_after:
            raise Crash(f"after checkpoint {self.saves}")

    def load_checkpoint(self, flow_id: str) -> Mapping[str, Any] | None:
        return self.inner.load_checkpoint(flow_id)

    def discard_checkpoint(self, flow_id: str) -> None:
        self.inner.discard_checkpoint(flow_id)

    def holder_ref_for(self, id_type: str, id_number: str) -> str:
        return self.inner.holder_ref_for(id_type, id_number)

    def audit_event(self, acceptance_number: str, event: str, result: str, operator_number: str) -> None:
        self.inner.audit_event(acceptance_number, event, result, operator_number)


class LosingCentral:
    """The server applies the ``lose``-th command but its answer never arrives (the PC dies)."""

    def __init__(self, inner: CentralApi, lose: int) -> None:
        self.inner = inner
        self.lose = lose
        self.sent = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def send_command(self, command: str, payload: Mapping[str, Any], idempotency_key: str) -> CommandResult:
        result = self.inner.send_command(command, payload, idempotency_key)
        self.sent += 1
        if self.sent == self.lose:
            raise Crash(f"answer to {command} lost")
        return result


class PullingTransport:
    """The citizen's card slot; pulls the card before the ``pull_at``-th APDU, or makes the
    ``power_loss_at``-th UPDATE RECORD lose power (before or after its commit)."""

    def __init__(
        self,
        slot: InProcessTransport,
        card: EmulatedCard,
        *,
        pull_at: int | None = None,
        power_loss_at: int | None = None,
        mode: str = "before_commit",
    ) -> None:
        self.slot = slot
        self.card = card
        self.pull_at = pull_at
        self.power_loss_at = power_loss_at
        self.mode = mode
        self.apdus = 0
        self.updates = 0
        self.fired = False

    @property
    def reader_name(self) -> str:
        return self.slot.reader_name

    def atr(self) -> bytes:
        return self.slot.atr()

    def transmit(self, command: bytes | bytearray) -> bytes:
        self.apdus += 1
        if self.pull_at is not None and self.apdus == self.pull_at and not self.fired:
            self.fired = True
            self.slot.remove()
        if len(command) > 1 and command[1] == 0xDC:
            self.updates += 1
            if self.power_loss_at is not None and self.updates == self.power_loss_at and not self.fired:
                self.fired = True
                self.card.power_loss_on_next_update(self.mode)  # type: ignore[arg-type]
        return self.slot.transmit(command)

    def reinsert(self) -> None:
        self.slot.insert(self.card)


class Citizen:
    """A citizen at the pad who knows the new PIN they chose and types what the pad asks for."""

    secure = False

    def __init__(self, new_pin: str, old_pin: str = "123456") -> None:
        self.new_pin = new_pin
        self.old_pin = old_pin
        self.asked: list[PinEntryKind] = []

    def collect(self, request: PinRequest) -> PinEntries:
        self.asked.append(request.kind)
        typed = [self.old_pin, self.new_pin] if request.kind is PinEntryKind.CHANGE else [self.new_pin]
        return PinEntries(PinPadOutcome.ENTERED, [SecretPin(bytearray(p.encode())) for p in typed])

    def enter_on_card(self, request: PinRequest, transport: CardTransport) -> SecurePinResult:
        raise NotImplementedError

    def cancel(self) -> bool:
        return True
