"""即时制卡 survives a crash at every checkpoint, a lost server answer and a pulled card at every APDU.

The invariants after any fault and the resumption (DESIGN: "exactly one card issued, the server
told once, the journal consistent"):

- the server saw ``apply``, ``instant_issue`` (with this prefab's 卡识别码) and ``activate`` once
  each, and exactly one card carries the prefab's 卡识别码;
- the chip holds exactly what the server issued (卡号, dates, holder) and the holder's new PIN;
- the journal holds one transaction of the flow with one audit entry and no outbox message, its
  受理编号 the one the commands carried, and no checkpoint left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from counter_app.domain.card_lifecycle import SocialStatus
from counter_app.domain.operators import Outlet
from counter_app.emulator import TEST_CARDS, EmulatedCard
from counter_app.workflows.base import Step, StepKind
from counter_app.workflows.registry import resume, start
from tests.workflows.faults import Citizen, Crash, CrashingJournal, LosingCentral, PullingTransport
from tests.workflows.helpers import (
    ABC_QUICK,
    HOLDER,
    World,
    answer_step,
    by_id,
    card_of,
    drive,
    holder_of,
    retrying,
)

NEW_PIN = "246810"
FLOW_ID = "flow-instant-1"


@dataclass
class Case:
    """One instant-issuance scenario: 申领 on a prefab, or 补卡 on a prefab at the issuing bank."""

    name: str
    outlet: Outlet
    item: str
    variant: str
    prefab: str
    holder: str
    setup: Callable[[World, dict[str, Any]], None]

    def world(self) -> tuple[World, EmulatedCard, dict[str, Any]]:
        world = World(pad=Citizen(NEW_PIN))
        person = holder_of(self.holder, world.city)
        self.setup(world, person)
        prefab = world.insert(self.prefab)
        return world, prefab, person

    def answers(self, person: dict[str, Any]) -> dict[str, Any]:
        return {"identify": by_id(person), "presenter": HOLDER, "replacement": {"reason": "补卡（遗失）"}}


def _nothing(world: World, person: dict[str, Any]) -> None:
    return None


def _lost_card(world: World, person: dict[str, Any]) -> None:
    card_of("card_a", person, world.city, SocialStatus.FORMAL_LOSS, state_before_loss=SocialStatus.ACTIVE)


CASES = [
    Case("apply", ABC_QUICK, "apply", "instant", "prefab_jingyan", "prefab_jingyan", _nothing),
    Case("reissue", ABC_QUICK, "replace", "instant", "prefab_jingyan", "card_a", _lost_card),
]


def assert_issued_once(world: World, prefab: EmulatedCard, person: dict[str, Any], case: Case) -> None:
    city = world.city
    identifier = TEST_CARDS[case.prefab].card_id
    issuing = "apply" if case.item == "apply" else "replace"
    assert city.count(issuing) == 1
    if case.item == "apply":
        assert city.count("instant_issue") == 1
    assert city.count("activate") == 1
    reported = [p for c, p in city.commands if p.get("card_identifier_read") is not None]
    assert [p["card_identifier_read"] for p in reported] == [identifier]
    cards = [c for c in city.card_rows.values() if c["card_identifier"] == identifier]
    assert len(cards) == 1 and cards[0]["status"] == "active" and cards[0]["person_id"] == person["id"]
    info = world.read()
    assert (info.card_id, info.card_number, info.ssn, info.name) == (
        identifier,
        cards[0]["card_number"],
        person["social_security_number"],
        person["name"],
    )
    assert (info.issue_date, info.expiry_date) == (
        cards[0]["issued_on"].replace("-", ""),
        cards[0]["expires_on"].replace("-", ""),
    )
    assert prefab.pin_matches(NEW_PIN)
    journal = world.memory
    mine = [t for t in journal.transactions.values() if t.details.get("flow_id") == FLOW_ID]
    assert len(mine) == 1 and world.written() == (1, 1, 0)
    # one 业务流水 per command on the server: the flow's own 受理编号 first, the others as journaled
    numbers = [p["acceptance_number"] for _, p in city.commands]
    later = mine[0].details.get("command_numbers") or {}
    assert numbers[0] == mine[0].acceptance_number and len(set(numbers)) == len(numbers)
    assert set(numbers[1:]) == set(later.values())
    assert mine[0].item_code == case.item and mine[0].result.startswith("已当场制卡")
    assert FLOW_ID not in journal.checkpoints
    if case.item == "replace":
        old = [
            c for c in city.person_cards(person["id"]) if c["card_identifier"] == TEST_CARDS["card_a"].card_id
        ]
        assert old[0]["status"] == "replaced"


def finish(world: World, case: Case, person: dict[str, Any], prefab: EmulatedCard) -> Step:
    """Restart after a crash: the card power-cycles, the flow comes back from the journal."""
    if world.slot.present:
        world.slot.insert(prefab)
    ctx = world.ctx(case.outlet)
    flow = resume(FLOW_ID, ctx)
    if flow is None:  # the crash came after the flow ended
        return Step("done", StepKind.DONE, "")
    return retrying(flow, world, case.answers(person), reinsert=lambda: world.slot.insert(prefab))[0]


def run_from_start(ctx: Any, case: Case, person: dict[str, Any]) -> Step:
    return drive(start(case.item, ctx, variant=case.variant, flow_id=FLOW_ID), case.answers(person))


def saves_in_a_clean_run(case: Case) -> int:
    world, prefab, person = case.world()
    journal = CrashingJournal(world.journal)
    flow = start(case.item, world.ctx(case.outlet, journal=journal), variant=case.variant, flow_id=FLOW_ID)
    done = drive(flow, case.answers(person))
    assert done.kind is StepKind.DONE, done.refusal
    assert_issued_once(world, prefab, person, case)
    return journal.saves


SAVES = {case.name: saves_in_a_clean_run(case) for case in CASES}
CRASH_POINTS = [(case, n) for case in CASES for n in range(1, SAVES[case.name] + 1)]


@pytest.mark.parametrize(
    ("case", "crash_after"), CRASH_POINTS, ids=[f"{c.name}-save{n}" for c, n in CRASH_POINTS]
)
def test_a_crash_after_any_checkpoint_resumes_to_exactly_one_issued_card(
    case: Case, crash_after: int
) -> None:
    world, prefab, person = case.world()
    journal = CrashingJournal(world.journal, crash_after=crash_after)
    with pytest.raises(Crash):
        run_from_start(world.ctx(case.outlet, journal=journal), case, person)
    assert finish(world, case, person, prefab).kind is StepKind.DONE
    assert_issued_once(world, prefab, person, case)


#: 申领 sends apply, instant_issue, activate; 补卡 sends replace, activate.
LOSSES = [(CASES[0], n) for n in (1, 2, 3)] + [(CASES[1], n) for n in (1, 2)]


@pytest.mark.parametrize(("case", "lost"), LOSSES, ids=[f"{c.name}-command{n}" for c, n in LOSSES])
def test_a_server_answer_lost_in_a_crash_is_not_applied_twice(case: Case, lost: int) -> None:
    world, prefab, person = case.world()
    central = LosingCentral(world.city, lost)
    flow = start(case.item, world.ctx(case.outlet, central=central), variant=case.variant, flow_id=FLOW_ID)
    with pytest.raises(Crash):
        drive(flow, case.answers(person))
    assert finish(world, case, person, prefab).kind is StepKind.DONE
    assert_issued_once(world, prefab, person, case)


def test_a_crash_right_after_the_journal_committed_records_once() -> None:
    case = CASES[0]
    world, prefab, person = case.world()
    journal = CrashingJournal(world.journal, crash_after_record=True)
    flow = start(case.item, world.ctx(case.outlet, journal=journal), variant=case.variant, flow_id=FLOW_ID)
    with pytest.raises(Crash):
        drive(flow, case.answers(person))
    assert finish(world, case, person, prefab).kind is StepKind.DONE
    assert_issued_once(world, prefab, person, case)
    assert len(world.printer.jobs) == 1


def test_a_crash_inside_the_journal_before_commit_records_once() -> None:
    case = CASES[0]
    world, prefab, person = case.world()
    flow = start(case.item, world.ctx(case.outlet), variant=case.variant, flow_id=FLOW_ID)
    world.memory.fail_next_record = True
    with pytest.raises(OSError, match="simulated crash"):
        drive(flow, case.answers(person))
    assert world.written() == (0, 0, 0)
    assert finish(world, case, person, prefab).kind is StepKind.DONE
    assert_issued_once(world, prefab, person, case)


# --- the card leaves the reader ---------------------------------------------------------------------


def drive_pulled(
    world: World, case: Case, person: dict[str, Any], transport: PullingTransport
) -> tuple[Step, list[str]]:
    """Drive to the end; whenever a step reports the card gone or the write unconfirmed, put the
    card back and retry (what the clerk does)."""
    flow = start(
        case.item, world.ctx(case.outlet, transport=transport), variant=case.variant, flow_id=FLOW_ID
    )
    return retrying(flow, world, case.answers(person), reinsert=transport.reinsert)


def apdus_in_a_clean_run(case: Case) -> tuple[int, int]:
    world, prefab, person = case.world()
    transport = PullingTransport(world.slot, prefab)
    done, problems = drive_pulled(world, case, person, transport)
    assert done.kind is StepKind.DONE and not problems
    return transport.apdus, transport.updates


CLEAN = {case.name: apdus_in_a_clean_run(case) for case in CASES}
PULLS = [(case, n) for case in CASES for n in range(1, CLEAN[case.name][0] + 1)]
POWER_LOSSES = [
    (case, n, mode)
    for case in CASES
    for n in range(1, CLEAN[case.name][1] + 1)
    for mode in ("before_commit", "after_commit")
]


@pytest.mark.parametrize(("case", "pull_at"), PULLS, ids=[f"{c.name}-apdu{n}" for c, n in PULLS])
def test_a_card_pulled_before_any_apdu_is_put_back_and_issued_once(case: Case, pull_at: int) -> None:
    world, prefab, person = case.world()
    transport = PullingTransport(world.slot, prefab, pull_at=pull_at)
    done, problems = drive_pulled(world, case, person, transport)
    assert done.kind is StepKind.DONE, done.refusal
    assert problems  # the pull was noticed and reported
    assert_issued_once(world, prefab, person, case)


@pytest.mark.parametrize(
    ("case", "update", "mode"), POWER_LOSSES, ids=[f"{c.name}-update{n}-{m}" for c, n, m in POWER_LOSSES]
)
def test_power_lost_at_any_update_resolves_on_the_same_card(case: Case, update: int, mode: str) -> None:
    world, prefab, person = case.world()
    transport = PullingTransport(world.slot, prefab, power_loss_at=update, mode=mode)
    done, problems = drive_pulled(world, case, person, transport)
    assert done.kind is StepKind.DONE, done.refusal
    assert "write_uncertain" in problems
    assert_issued_once(world, prefab, person, case)


def test_another_card_put_back_after_a_pull_is_refused_until_the_right_one_returns() -> None:
    case = CASES[0]
    world, prefab, person = case.world()
    transport = PullingTransport(world.slot, prefab, power_loss_at=4)
    flow = start(
        case.item, world.ctx(case.outlet, transport=transport), variant=case.variant, flow_id=FLOW_ID
    )
    step = flow.step
    while step.key != "write_card" or step.problem is None:
        step = answer_step(flow, step, case.answers(person))
    assert step.problem is not None and step.problem.code == "write_uncertain"
    world.insert("card_b")  # another blank prefab
    step = flow.submit()
    assert step.problem is not None and step.problem.code == "card_mismatch"
    assert world.read().is_blank  # nothing was written to the other card
    world.slot.insert(prefab)
    flow.submit()
    done, _ = retrying(flow, world, case.answers(person), reinsert=transport.reinsert)
    assert done.kind is StepKind.DONE
    assert_issued_once(world, prefab, person, case)
