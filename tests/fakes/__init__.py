"""Small in-memory implementations of the ports, for unit tests (never for integration tests)."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from counter_app.clock import SHANGHAI
from counter_app.domain.receipt_code import format_acceptance_number
from counter_app.workflows.ports import (
    CardRemovedError,
    CardTransport,
    CentralUnavailable,
    CommandResult,
    IdCardData,
    KeyPurpose,
    PinEntries,
    PinPadOutcome,
    PinRequest,
    PrintFailed,
    RenderedForm,
    SecretPin,
    SecurePinResult,
    TransactionRecord,
)


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 27, 9, 0, tzinfo=SHANGHAI)
        self._mono = 1000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, delta: timedelta) -> None:
        self._now += delta
        self._mono += delta.total_seconds()


class ScriptedCardTransport:
    """A card that answers from a table of command → response (hex); unknown commands get 6D00."""

    def __init__(self, responses: Mapping[str, str], atr: bytes = bytes.fromhex("3B6800000073C84013009000")):
        self._responses = {k.upper().replace(" ", ""): bytes.fromhex(v) for k, v in responses.items()}
        self._atr = atr
        self.sent: list[bytes] = []
        self.removed = False

    @property
    def reader_name(self) -> str:
        return "Scripted Reader 00 00"

    def atr(self) -> bytes:
        return self._atr

    def transmit(self, command: bytes | bytearray) -> bytes:
        if self.removed:
            raise CardRemovedError("card removed")
        self.sent.append(bytes(command))
        return self._responses.get(command.hex().upper(), bytes.fromhex("6D00"))


class FakeKeyProvider:
    """Not cryptography: derives deterministic bytes so tests can see which inputs were used."""

    def __init__(self, terminal: str = "000000000001") -> None:
        self._terminal = terminal
        self.calls: list[tuple[KeyPurpose, bytes, bytes]] = []

    def cryptogram(self, purpose: KeyPurpose, diversifier: bytes, challenge: bytes) -> bytes:
        self.calls.append((purpose, diversifier, challenge))
        return bytes((a ^ b) for a, b in zip((challenge * 2)[:16], (diversifier * 2)[:16], strict=True))

    def mac(
        self, purpose: KeyPurpose, diversifier: bytes, challenge: bytes, data: bytes | bytearray
    ) -> bytes:
        self.calls.append((purpose, diversifier, challenge))
        return bytes(sum(data[i::4]) % 256 for i in range(4))

    def terminal_id(self) -> str:
        return self._terminal


class ScriptedPinPad:
    """A PIN pad whose citizen types the given entries, or ends with the given outcome."""

    secure = False

    def __init__(self, entries: Sequence[str] = (), outcome: PinPadOutcome = PinPadOutcome.ENTERED):
        self._entries = list(entries)
        self._outcome = outcome
        self.requests: list[PinRequest] = []
        self.handed_out: list[PinEntries] = []
        self.cancelled = False

    def collect(self, request: PinRequest) -> PinEntries:
        self.requests.append(request)
        if self._outcome is not PinPadOutcome.ENTERED:
            result = PinEntries(self._outcome)
        else:
            result = PinEntries(
                PinPadOutcome.ENTERED, [SecretPin(bytearray(e.encode())) for e in self._entries]
            )
        self.handed_out.append(result)
        return result

    def enter_on_card(self, request: PinRequest, transport: CardTransport) -> SecurePinResult:
        raise AssertionError("ScriptedPinPad is not a secure pad: flows must use collect")

    def cancel(self) -> bool:
        self.cancelled = True
        return True


class FakeIdReader:
    def __init__(self, card: IdCardData | None = None) -> None:
        self.card = card

    def read(self, timeout_seconds: float) -> IdCardData | None:
        return self.card


@dataclass
class FakeCentralApi:
    """A central server in a dict. ``down`` makes every call fail like a dead network."""

    persons: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    cards: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    decide: Callable[[str, Mapping[str, Any]], CommandResult] | None = None
    down: bool = False
    applied: dict[str, CommandResult] = field(default_factory=dict)
    commands: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def _check(self) -> None:
        if self.down:
            raise CentralUnavailable("中心服务不可用")

    def find_person(self, id_type: str, id_number: str) -> Mapping[str, Any] | None:
        self._check()
        return self.persons.get((id_type, id_number))

    def find_card(
        self, *, card_number: str | None = None, card_id: str | None = None
    ) -> Mapping[str, Any] | None:
        self._check()
        for card in self.cards.values():
            if card_number is not None and card.get("card_number") == card_number:
                return card
            if card_id is not None and card.get("card_id") == card_id:
                return card
        return None

    def send_command(self, command: str, payload: Mapping[str, Any], idempotency_key: str) -> CommandResult:
        self._check()
        if idempotency_key in self.applied:  # a retry has exactly one effect
            return self.applied[idempotency_key]
        result = self.decide(command, payload) if self.decide else CommandResult(True, {"command": command})
        self.commands.append((command, dict(payload)))
        self.applied[idempotency_key] = result
        return result

    def subsidy_payments(
        self, person_id: str, *, household: bool, period_from: str, period_to: str
    ) -> Sequence[Mapping[str, Any]]:
        self._check()
        rows = self.payments.get(person_id, [])
        return [r for r in rows if period_from <= str(r.get("period", "")) <= period_to]


class InMemoryJournal:
    """The journal port in memory: a transaction, its audit entry and its outbox message together."""

    def __init__(self) -> None:
        self.transactions: dict[str, TransactionRecord] = {}
        self.audit: list[dict[str, Any]] = []
        self.outbox: list[dict[str, Any]] = []
        self.checkpoints: dict[str, dict[str, Any]] = {}
        self._sequences: dict[tuple[str, str, date], itertools.count[int]] = {}
        self.fail_next_record = False

    def next_acceptance_number(self, outlet_code: str, counter_number: str, on: date) -> str:
        seq = self._sequences.setdefault((outlet_code, counter_number, on), itertools.count(1))
        return format_acceptance_number(outlet_code, counter_number, on, next(seq))

    def record(self, transaction: TransactionRecord) -> None:
        if transaction.acceptance_number in self.transactions:
            raise ValueError(f"受理编号重复: {transaction.acceptance_number}")
        if self.fail_next_record:  # a crash before commit: nothing of the three is written
            self.fail_next_record = False
            raise OSError("simulated crash before commit")
        self.transactions[transaction.acceptance_number] = transaction
        self.audit.append({"acceptance_number": transaction.acceptance_number, "result": transaction.result})
        if transaction.server_command:
            self.outbox.append(
                {"acceptance_number": transaction.acceptance_number, "command": transaction.server_command}
            )

    def find(self, acceptance_number: str) -> TransactionRecord | None:
        return self.transactions.get(acceptance_number)

    def save_checkpoint(self, flow_id: str, state: Mapping[str, Any]) -> None:
        self.checkpoints[flow_id] = dict(state)

    def load_checkpoint(self, flow_id: str) -> Mapping[str, Any] | None:
        return self.checkpoints.get(flow_id)

    def discard_checkpoint(self, flow_id: str) -> None:
        self.checkpoints.pop(flow_id, None)

    def holder_ref_for(self, id_type: str, id_number: str) -> str:
        return "h:" + hashlib.sha256(f"{id_type}|{id_number}".encode()).hexdigest()[:32]

    def audit_event(self, acceptance_number: str, event: str, result: str, operator_number: str) -> None:
        if acceptance_number not in self.transactions:
            raise LookupError(f"no transaction {acceptance_number}")
        self.audit.append(
            {
                "acceptance_number": acceptance_number,
                "event": event,
                "result": result,
                "operator": operator_number,
            }
        )


class RecordingRenderer:
    """Renders nothing real: a tiny PDF-shaped blob naming the transaction, and remembers calls."""

    def __init__(self) -> None:
        self.rendered: list[tuple[str, int]] = []

    def render_acceptance_form(self, transaction: TransactionRecord, *, reprint: int = 0) -> RenderedForm:
        self.rendered.append((transaction.acceptance_number, reprint))
        return RenderedForm(pdf=b"%PDF-fake " + transaction.acceptance_number.encode())


class FakePrinter:
    def __init__(self, ready: bool = True) -> None:
        self.ready = ready
        self.jobs: list[tuple[str, bytes]] = []

    def is_ready(self) -> bool:
        return self.ready

    def print_pdf(self, pdf: bytes, *, job_name: str) -> str:
        if not self.ready:
            raise PrintFailed("打印机未就绪，请检查打印机后补打")
        self.jobs.append((job_name, pdf))
        return f"fake-{len(self.jobs)}"
