"""The counter world of the flow tests: outlets, operators, the city, the emulator card and a driver."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from counter_app.card import PsamKeyProvider, ReadScope, SocialSecurityCard
from counter_app.domain.card_lifecycle import SocialStatus
from counter_app.domain.catalog import load_catalog
from counter_app.domain.operators import Operator, Outlet, OutletCapabilities, OutletType, Role
from counter_app.emulator import TEST_CARDS, EmulatedCard, InProcessTransport, build_card, build_psam
from counter_app.receipts import sections
from counter_app.workflows.base import Flow, Step, StepKind
from counter_app.workflows.context import Context, ReplicaSnapshot
from counter_app.workflows.ports import (
    AcceptanceForm,
    CardTransport,
    CentralApi,
    Journal,
    PinEntries,
    PinPad,
    PinPadOutcome,
    PinRequest,
    RenderedForm,
    SecretPin,
    SecurePinResult,
    TransactionRecord,
)
from counter_app.workflows.registry import start
from tests.fakes import FakeClock, FakePrinter, InMemoryJournal, RecordingRenderer
from tests.workflows.city import FakeCity, resident_id

HR = Outlet(
    "511102001",
    "乐山市人力资源和社会保障中心",
    OutletType.HR_WINDOW,
    OutletCapabilities(can_activate_social=True),
)
HR_NO_INSTANT = HR
HR_INSTANT = Outlet(
    "511102002",
    "市中区社保卡服务窗口（快速制卡）",
    OutletType.HR_WINDOW,
    OutletCapabilities(can_activate_social=True, instant_issuance=True),
)
ABC_QUICK = Outlet(
    "B1030001",
    "农业银行乐山分行营业部（快速制卡网点）",
    OutletType.BANK_OUTLET,
    OutletCapabilities(can_activate_social=True, instant_issuance=True, bank="农业银行"),
)
ABC_PLAIN = Outlet(
    "B1030002",
    "农业银行乐山嘉定支行",
    OutletType.BANK_OUTLET,
    OutletCapabilities(can_activate_social=False, instant_issuance=False, bank="农业银行"),
)
ICBC = Outlet(
    "B1020001",
    "工商银行乐山分行",
    OutletType.BANK_OUTLET,
    OutletCapabilities(can_activate_social=True, instant_issuance=True, bank="工商银行"),
)

OPERATORS = {
    op.number: op
    for op in (
        Operator("H001", "王经办", Role.HR_CLERK, HR.code),
        Operator("H900", "李复核", Role.HR_SUPERVISOR, HR.code),
        Operator("H002", "周经办", Role.HR_CLERK, HR_INSTANT.code),
        Operator("H902", "吴复核", Role.HR_SUPERVISOR, HR_INSTANT.code),
        Operator("A001", "赵柜员", Role.BANK_CLERK, ABC_QUICK.code),
        Operator("A900", "钱主管", Role.BANK_SUPERVISOR, ABC_QUICK.code),
        Operator("A002", "孙柜员", Role.BANK_CLERK, ABC_PLAIN.code),
        Operator("I001", "郑柜员", Role.BANK_CLERK, ICBC.code),
    )
}
CLERK_AT = {
    HR.code: "H001",
    HR_INSTANT.code: "H002",
    ABC_QUICK.code: "A001",
    ABC_PLAIN.code: "A002",
    ICBC.code: "I001",
}


class Directory:
    def find(self, number: str) -> Operator | None:
        return OPERATORS.get(number)


class QueuedPinPad:
    """A host PIN pad whose citizen types what the test queued, one dialogue at a time.

    Each queued item is a list of PIN strings (ENTERED; RELOAD → [new], CHANGE → [old, new],
    VERIFY → [pin], as the port says) or a `PinPadOutcome` that ends the dialogue without entries.
    """

    secure = False

    def __init__(self, *dialogues: Sequence[str] | PinPadOutcome) -> None:
        self.queue: list[Sequence[str] | PinPadOutcome] = list(dialogues)
        self.requests: list[PinRequest] = []
        self.handed_out: list[PinEntries] = []

    def push(self, *dialogues: Sequence[str] | PinPadOutcome) -> None:
        self.queue.extend(dialogues)

    def collect(self, request: PinRequest) -> PinEntries:
        self.requests.append(request)
        if not self.queue:
            raise AssertionError(f"the citizen was asked for a PIN ({request.kind}) nobody queued")
        item = self.queue.pop(0)
        if isinstance(item, PinPadOutcome):
            entries = PinEntries(item)
        else:
            entries = PinEntries(PinPadOutcome.ENTERED, [SecretPin(bytearray(p.encode())) for p in item])
        self.handed_out.append(entries)
        return entries

    def enter_on_card(self, request: PinRequest, transport: CardTransport) -> SecurePinResult:
        raise NotImplementedError("not a secure pad")

    def cancel(self) -> bool:
        return True


class CheckingRenderer(RecordingRenderer):
    """Records renders and checks the form data as the real renderer would (keys, choices, variant)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[AcceptanceForm] = []

    def render_acceptance_form(self, transaction: TransactionRecord, *, reprint: int = 0) -> RenderedForm:
        form = AcceptanceForm.from_transaction(transaction)
        sections.check_details(form.item_code, form.item_details)
        if form.variant:
            load_catalog().by_code(form.item_code).variant(form.variant)
        self.forms.append(form)
        return super().render_acceptance_form(transaction, reprint=reprint)


class MemoryReplica:
    def __init__(self, city: FakeCity, clock: FakeClock) -> None:
        self.snapshots: dict[tuple[str, str], ReplicaSnapshot] = {}
        self.city = city
        self.clock = clock

    def take(self) -> None:
        """Copy the city's persons as they stand now."""
        for person in self.city.people_rows.values():
            view = self.city._view(person)  # the replica holds the same shape
            self.snapshots[(person["id_type"], person["id_number"])] = ReplicaSnapshot(view, self.clock.now())

    def person_snapshot(self, id_type: str, id_number: str) -> ReplicaSnapshot | None:
        return self.snapshots.get((id_type, id_number))


def holder_of(name: str, city: FakeCity, **kw: Any) -> dict[str, Any]:
    """A city person for emulator test card ``name`` (its holder, or a prefab's intended holder)."""
    card = TEST_CARDS[name]
    if card.intended_holder is not None:
        h = card.intended_holder
        return city.add_person(
            h.name,
            h.social_security_number,
            sex=h.sex,
            birth_date=h.birth_date,
            ethnicity=h.ethnicity,
            birthplace=h.birthplace,
            **kw,
        )
    assert card.holder_name and card.social_security_number and card.sex and card.birth_date
    return city.add_person(
        card.holder_name,
        card.social_security_number,
        sex=card.sex,
        birth_date=card.birth_date,
        ethnicity=card.ethnicity or "01",
        birthplace=card.birthplace,
        **kw,
    )


def card_of(
    name: str, person: Mapping[str, Any], city: FakeCity, status: SocialStatus, **kw: Any
) -> dict[str, Any]:
    """The city's record of emulator test card ``name``."""
    card = TEST_CARDS[name]
    return city.add_card(person, status, card_number=card.card_number, card_identifier=card.card_id, **kw)


@dataclass
class World:
    """One counter with its ports; ``ctx()`` makes a context for an operator at an outlet."""

    clock: FakeClock = field(default_factory=FakeClock)
    journal: Journal = field(default_factory=InMemoryJournal)
    renderer: CheckingRenderer = field(default_factory=CheckingRenderer)
    printer: FakePrinter = field(default_factory=FakePrinter)
    pad: PinPad = field(default_factory=QueuedPinPad)
    slot: InProcessTransport = field(default_factory=lambda: InProcessTransport("模拟读卡器 0"))
    psam_slot: InProcessTransport = field(
        default_factory=lambda: InProcessTransport("模拟 PSAM 卡座 0", build_psam())
    )
    city: FakeCity = field(init=False)
    replica: MemoryReplica = field(init=False)
    cards: dict[str, EmulatedCard] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.city = FakeCity(clock=self.clock)
        self.replica = MemoryReplica(self.city, self.clock)

    @property
    def queued_pad(self) -> QueuedPinPad:
        assert isinstance(self.pad, QueuedPinPad)
        return self.pad

    @property
    def memory(self) -> InMemoryJournal:
        assert isinstance(self.journal, InMemoryJournal)
        return self.journal

    def ctx(
        self,
        outlet: Outlet = HR,
        *,
        operator: str | None = None,
        offline: bool = False,
        transport: CardTransport | None = None,
        journal: Journal | None = None,
        central: CentralApi | None = None,
    ) -> Context:
        return Context(
            operator=OPERATORS[operator or CLERK_AT[outlet.code]],
            outlet=outlet,
            counter_number="03",
            central=central or self.city,
            journal=journal or self.journal,
            renderer=self.renderer,
            printer=self.printer,
            clock=self.clock,
            pin_pad=self.pad,
            card_transport=transport or self.slot,
            key_provider=PsamKeyProvider(self.psam_slot),
            operators=Directory(),
            verification_code=lambda number: "ABCDEFGHIJKLMNOP",
            offline=offline,
            replica=self.replica,
        )

    def insert(self, name: str) -> EmulatedCard:
        """Put emulator test card ``name`` in the reader (the same object each time)."""
        card = self.cards.get(name) or build_card(name)
        self.cards[name] = card
        self.slot.insert(card)
        return card

    def read(self) -> Any:
        return SocialSecurityCard(self.slot, PsamKeyProvider(self.psam_slot)).read_basic_info(ReadScope.FULL)

    def written(self) -> tuple[int, int, int]:
        """(transactions, audit entries, outbox messages) in the in-memory journal."""
        j = self.memory
        return len(j.transactions), len(j.audit), len(j.outbox)


Answer = Mapping[str, Any] | None | Callable[[Step], Mapping[str, Any] | None]


def drive(flow: Flow, answers: Mapping[str, Answer] | None = None, *, limit: int = 60) -> Step:
    """Answer every step until DONE or REFUSED; fail on a step problem or an unanswered input step.

    Port steps are submitted with no answer unless ``answers`` has one. A step whose answer is a
    callable gets the current `Step`. Each state is checked to be JSON-able on the way.
    """
    answers = answers or {}
    step = flow.step
    for turn in range(limit):
        if step.kind in (StepKind.DONE, StepKind.REFUSED):
            return step
        if step.problem is not None and turn:  # a problem the caller saw before is retried
            raise AssertionError(f"step {step.key}: {step.problem}")
        json.dumps(flow.state)
        if step.key in answers:
            answer = answers[step.key]
            step = flow.submit(answer(step) if callable(answer) else answer)
        elif step.kind is StepKind.PORT:
            step = flow.submit()
        elif step.kind is StepKind.CONFIRM and step.options:
            step = flow.submit({"choice": step.options[0].value})
        elif step.kind is StepKind.MATERIALS:
            step = flow.submit({"checked": [m.key for m in step.materials if m.required]})
        elif step.kind is StepKind.CLERK_INPUT:
            step = flow.submit(dict(step.values))  # what the page shows filled in
        else:
            raise AssertionError(f"no answer for step {step.key!r} ({step.kind})")
    raise AssertionError("the flow did not end")


def until(flow: Flow, key: str, answers: Mapping[str, Answer] | None = None) -> Step:
    """Drive the flow until it stands on step ``key`` (without submitting it)."""
    answers = answers or {}
    step = flow.step
    for turn in range(60):
        if step.key == key:
            return step
        if step.kind in (StepKind.DONE, StepKind.REFUSED):
            raise AssertionError(f"the flow ended ({step.kind}) before {key}: {step.refusal}")
        if step.problem is not None and turn:
            raise AssertionError(f"step {step.key}: {step.problem}")
        answer = answers.get(step.key)
        if step.key in answers:
            step = flow.submit(answer(step) if callable(answer) else answer)
        elif step.kind is StepKind.PORT:
            step = flow.submit()
        elif step.kind is StepKind.CONFIRM and step.options:
            step = flow.submit({"choice": step.options[0].value})
        elif step.kind is StepKind.MATERIALS:
            step = flow.submit({"checked": [m.key for m in step.materials if m.required]})
        elif step.kind is StepKind.CLERK_INPUT:
            step = flow.submit(dict(step.values))  # what the page shows filled in
        else:
            raise AssertionError(f"no answer for step {step.key!r} ({step.kind})")
    raise AssertionError(f"never reached {key}")


def by_id(person: Mapping[str, Any]) -> dict[str, Any]:
    return {"id_type": person["id_type"], "id_number": person["id_number"]}


HOLDER = {"requester": "holder"}


def agent(
    name: str = "张大山",
    id_number: str | None = None,
    *,
    requester: str = "other",
    relation: str = "父子",
    documents: Sequence[str] = ("agent_id", "principal_id"),
    **extra: Any,
) -> dict[str, Any]:
    return {
        "requester": requester,
        "agent_name": name,
        "agent_id_type": "resident_id",
        "agent_id_number": id_number or AGENT_ID,
        "relation": relation,
        "documents": list(documents),
        **extra,
    }


AGENT_ID = resident_id("511102", date(1965, 3, 9), "311")
MINOR_ID = resident_id("511102", date(2014, 5, 1), "122")


def begin(world: World, item: str, outlet: Outlet = HR, **kw: Any) -> Flow:
    ctx_kw = {k: kw.pop(k) for k in ("operator", "offline", "transport", "journal", "central") if k in kw}
    return start(item, world.ctx(outlet, **ctx_kw), **kw)


#: Problems the clerk answers by putting the card back (or having the PIN typed again) and retrying.
RETRYABLE = {"card_removed", "write_uncertain", "pin_set_again", "reader_fault"}


def answer_step(flow: Flow, step: Step, answers: dict[str, Any]) -> Step:
    if step.key in answers and step.kind is not StepKind.PORT:
        return flow.submit(answers[step.key])
    if step.kind is StepKind.CONFIRM:
        return flow.submit({"choice": step.options[0].value})
    if step.kind is StepKind.MATERIALS:
        return flow.submit({"checked": [m.key for m in step.materials if m.required]})
    if step.kind is StepKind.CLERK_INPUT:
        return flow.submit(dict(step.values))
    return flow.submit()


def retrying(
    flow: Flow, world: World, answers: dict[str, Any], *, reinsert: Callable[[], None]
) -> tuple[Step, list[str]]:
    """Drive to the end; whenever a step reports the card gone, the write unconfirmed or the PIN
    to set again, put the card back and retry (what the clerk does)."""
    problems: list[str] = []
    step = flow.step
    for _ in range(80):
        if step.kind in (StepKind.DONE, StepKind.REFUSED):
            return step, problems
        if step.problem is not None:
            assert step.problem.code in RETRYABLE, step.problem
            problems.append(step.problem.code)
            if not world.slot.present:
                reinsert()
            step = flow.submit()
            continue
        step = answer_step(flow, step, answers)
    raise AssertionError("the flow did not end")
