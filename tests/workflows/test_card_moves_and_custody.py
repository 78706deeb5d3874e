"""Part 2 of the flows, Qt-free: the card moves of 即时制卡 told and waited for, a card pulled mid-write
waited for and finished on the same card, 代管代持 (registration, the banner on every page, the
refused custodian offered the registration, the forced-collection warning kept off the form), and
关键信息变更 leading into 换卡 with nothing asked twice."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest

from counter_app.domain.card_lifecycle import SocialStatus
from counter_app.emulator import TEST_CARDS, build_card
from counter_app.workflows.base import Flow, Step, StepKind
from counter_app.workflows.card_moves import ReaderWatch
from counter_app.workflows.custody import CustodyFlow
from counter_app.workflows.open_flows import OpenFlows
from counter_app.workflows.registry import resume, start, start_follow_up
from tests.workflows.faults import Citizen, Crash, CrashingJournal, PullingTransport
from tests.workflows.helpers import (
    ABC_QUICK,
    AGENT_ID,
    HOLDER,
    HR,
    World,
    agent,
    begin,
    by_id,
    card_of,
    drive,
    holder_of,
    retrying,
    until,
)


class Clerk:
    """Does what the flow tells (取出原卡, 插入预制卡, 插回同一张卡) the moment it is told."""

    def __init__(self, world: World, moves: dict[str, Callable[[], None]]) -> None:
        self.world = world
        self.moves = moves
        self.told: list[str] = []

    def __call__(self, text: str) -> None:
        self.told.append(text)
        for cue, move in self.moves.items():
            if cue in text:
                move()
                return


def watched(world: World, flow: Flow, clerk: Clerk) -> Flow:
    flow.ctx.card_wait = ReaderWatch(flow.ctx.card_transport, interval=0.01)
    flow.listener = clerk
    return flow


# --- 补换卡 at the issuing bank's quick outlet: the old card out, the prefab in ------------------------


def test_an_exchange_reads_the_old_card_then_tells_and_waits_for_each_card_move() -> None:
    world = World()
    person = holder_of("card_a", world.city)
    old = card_of("card_a", person, world.city, SocialStatus.ACTIVE)
    world.insert("card_a")
    prefab = build_card("prefab_jingyan")
    world.queued_pad.push(["246810"])
    clerk = Clerk(
        world,
        {
            "取出持卡人的原卡": world.slot.remove,
            "插入同一读卡器": lambda: world.slot.insert(prefab),
        },
    )
    flow = watched(world, begin(world, "replace", ABC_QUICK, variant="instant"), clerk)
    step = until(flow, "replacement")
    assert flow.data["card_read"]["card_number"] == "S11000018"
    step = flow.submit({"reason": "补卡（遗失）"})
    assert step.problem is not None and step.problem.code == "card_in_hand"  # the card is right here
    step = until(flow, "take_out_card", {"replacement": {"reason": "换卡（损坏）"}, "presenter": HOLDER})
    assert step.prompt.startswith("请从读卡器取出持卡人的原卡")
    done = drive(flow)
    assert done.kind is StepKind.DONE and done.outcome is not None, done
    assert clerk.told[:2] == ["请从读卡器取出持卡人的原卡", "请将空白预制卡插入同一读卡器（原卡已取出）"]
    assert world.city.card_rows[old["id"]]["status"] == "replaced"
    new = world.city.card_of(world.read().card_number)
    assert new["status"] == "active" and new["card_identifier"] == TEST_CARDS["prefab_jingyan"].card_id
    assert prefab.pin_matches("246810") and world.cards["card_a"].pin_matches("123456")
    assert [c for c, _ in world.city.commands] == ["replace", "activate"]


def test_the_old_card_put_in_again_instead_of_the_prefab_is_sent_back_out() -> None:
    world = World()
    person = holder_of("card_a", world.city)
    card_of("card_a", person, world.city, SocialStatus.ACTIVE)
    old_card = world.insert("card_a")
    prefab = build_card("prefab_jingyan")
    world.queued_pad.push(["246810"])
    inserts = iter([old_card, prefab])  # the clerk first puts the old card back by mistake
    clerk = Clerk(
        world,
        {
            "不是空白预制卡": world.slot.remove,
            "取出持卡人的原卡": world.slot.remove,
            "预制卡插入": lambda: world.slot.insert(next(inserts)),
        },
    )
    flow = watched(world, begin(world, "replace", ABC_QUICK, variant="instant"), clerk)
    done = drive(flow, {"replacement": {"reason": "换卡（损坏）"}, "presenter": HOLDER})
    assert done.kind is StepKind.DONE, done
    assert any("读卡器中是持卡人的原卡（卡号 S11000018），不是空白预制卡" in t for t in clerk.told)
    assert world.read().card_id == TEST_CARDS["prefab_jingyan"].card_id


def pulled_world(pull_at: int | None) -> tuple[World, Any, Any, PullingTransport]:
    world = World(pad=Citizen("246810"))
    person = holder_of("prefab_jingyan", world.city)
    prefab = world.insert("prefab_jingyan")
    return world, person, prefab, PullingTransport(world.slot, prefab, pull_at=pull_at)


def issue_with_a_waiting_clerk(pull_at: int | None) -> tuple[Step, Clerk, World, PullingTransport]:
    world, person, _, pulling = pulled_world(pull_at)
    clerk = Clerk(world, {"插回读卡器": pulling.reinsert, "插入读卡器": pulling.reinsert})
    flow = begin(world, "apply", ABC_QUICK, variant="instant", transport=pulling)
    watched(world, flow, clerk)
    # steps that do not wait (the PIN being set) report the pull; the wizard retries on reinsertion
    done, _ = retrying(
        flow, world, {"identify": by_id(person), "presenter": HOLDER}, reinsert=pulling.reinsert
    )
    return done, clerk, world, pulling


CLEAN_APDUS = issue_with_a_waiting_clerk(None)[3].apdus


@pytest.mark.parametrize("pull_at", range(1, CLEAN_APDUS + 1))
def test_a_card_pulled_at_any_apdu_is_waited_for_and_issued_once(pull_at: int) -> None:
    done, _clerk, world, pulling = issue_with_a_waiting_clerk(pull_at)
    assert pulling.fired
    assert done.kind is StepKind.DONE and done.outcome is not None, done
    assert world.city.count("instant_issue") == world.city.count("apply") == world.city.count("activate") == 1
    info = world.read()
    assert info.name == "赵雨涵" and world.city.card_of(info.card_number)["status"] == "active"
    assert pulling.card.pin_matches("246810")


def test_a_pull_during_the_write_is_told_as_put_the_same_card_back() -> None:
    told = [c for n in range(1, CLEAN_APDUS + 1) for c in issue_with_a_waiting_clerk(n)[1].told]
    assert any(t.startswith("写卡中断：请将同一张卡插回读卡器") for t in told)


def test_a_flow_left_half_done_by_a_crash_is_listed_to_resume_and_one_that_changed_nothing_is_not() -> None:
    world = World()
    person = holder_of("prefab_jingyan", world.city)
    prefab = world.insert("prefab_jingyan")
    world.queued_pad.push(["246810"])
    index = OpenFlows(world.journal, ABC_QUICK.code, "03")
    untouched = begin(world, "apply", ABC_QUICK, variant="instant", flow_id="untouched")
    index.add(untouched.flow_id, "apply")
    journal = CrashingJournal(world.journal, crash_after=12)
    flow = begin(world, "apply", ABC_QUICK, variant="instant", journal=journal, flow_id="crashed")
    index.add(flow.flow_id, "apply")
    with contextlib.suppress(Crash):
        drive(flow, {"identify": by_id(person), "presenter": HOLDER})
    assert flow.committed
    assert index.resumable() == ["crashed"]
    assert world.journal.load_checkpoint("untouched") is None  # forgotten: it changed nothing
    again = resume("crashed", world.ctx(ABC_QUICK))
    assert again is not None
    world.slot.insert(prefab)
    done = drive(again, {"identify": by_id(person), "presenter": HOLDER})
    assert done.kind is StepKind.DONE
    index.remove("crashed")
    assert index.listed() == [] and world.city.count("instant_issue") == 1


# --- 代管代持 -------------------------------------------------------------------------------------------


CUSTODIAN = {
    "custodian_name": "王志强",
    "custodian_id_type": "resident_id",
    "custodian_id_number": AGENT_ID,
    "custodian_phone": "13800000001",
    "relation": "侄子",
    "reason": "持卡人重度残疾，无法自行保管和使用社会保障卡",
}


def four_groups_holder(world: World, status: SocialStatus = SocialStatus.ACTIVE) -> tuple[Any, Any]:
    person = holder_of("card_a", world.city, vulnerable_group="disability")
    card = card_of("card_a", person, world.city, status)
    return person, card


def test_registering_an_authorisation_needs_a_supervisor_and_then_shows_on_every_page() -> None:
    world = World()
    person, _card = four_groups_holder(world)
    flow = begin(world, "custody_authorisation", HR)
    assert isinstance(flow, CustodyFlow) and flow.step.key == "identify" and flow.step.banner == ""
    step = flow.submit(by_id(person))
    assert step.key == "custodian"
    assert step.banner.startswith("代管代持：此持卡人属于残疾人，尚无有效的代管代持授权")
    step = flow.submit({**CUSTODIAN, "valid_from": "2026-11-27", "valid_until": "2030-01-01"})
    assert step.problem is not None and step.problem.code == "period_invalid"
    step = flow.submit({**CUSTODIAN, "valid_from": "2026-11-27", "valid_until": "2027-11-26"})
    assert step.key == "materials" and all(m.mark == "待确认" for m in step.materials)
    step = until(flow, "supervisor")
    step = flow.submit({"supervisor": "H001"})
    assert step.problem is not None and step.problem.code == "not_supervisor"
    done = drive(flow, {"supervisor": {"supervisor": "H900"}})
    assert done.kind is StepKind.DONE and done.outcome is not None, done
    authorisations = world.city.people_rows[person["id"]]["custody_authorisations"]
    assert [(a["custodian_name"], a["approved_by"], a["valid_until"]) for a in authorisations] == [
        ("王志强", "H900", "2027-11-26")
    ]
    command, payload = world.city.commands[0]
    assert command == "authorise_custody" and payload["requester"] == "custodian"
    form = world.renderer.forms[0]
    assert form.item_code == "custody_authorisation" and form.agent is not None
    assert form.agent.name == "王志强" and form.agent.relation == "侄子"
    assert form.item_details["holder_group"] == "残疾人"
    assert form.item_details["valid_period"] == "2026-11-27 至 2027-11-26"

    # every later flow for this holder shows the authorisation on every page, holder or custodian
    seen: list[Step] = []
    flow = begin(world, "report_loss", HR, variant="temporary")
    step = flow.step
    for _ in range(30):
        if step.kind in (StepKind.DONE, StepKind.REFUSED):
            break
        assert step.problem is None, step
        seen.append(step)
        step = flow.submit(by_id(person)) if step.key == "identify" else _one(flow, step)
    assert step.kind is StepKind.DONE, step
    banners = [s.banner for s in seen if s.key != "identify"]
    assert banners and all("王志强（侄子" in b for b in banners) and "王志强（侄子" in step.banner
    assert world.city.commands[-1][1]["requester"] == "custodian"


def _one(flow: Flow, step: Step) -> Step:
    if step.key == "presenter":
        return flow.submit(agent("王志强", AGENT_ID, relation="侄子"))
    if step.key == "reason":
        return flow.submit({"reason": "遗失"})
    if step.kind is StepKind.MATERIALS:
        return flow.submit({"checked": [m.key for m in step.materials if m.required]})
    if step.kind is StepKind.CONFIRM:
        return flow.submit({"choice": step.options[0].value})
    if step.kind is StepKind.CLERK_INPUT:
        return flow.submit(dict(step.values))
    return flow.submit()


def test_a_custodian_without_an_authorisation_is_refused_and_offered_the_registration() -> None:
    world = World()
    person, _ = four_groups_holder(world)
    refused = drive(
        begin(world, "report_loss", HR, variant="formal"),
        {
            "read_card": {"choice": "absent"},
            "identify": by_id(person),
            "presenter": agent("村干部", requester="custodian"),
        },
    )
    assert refused.refusal is not None and refused.refusal.code == "custody_not_authorised"
    assert refused.banner.startswith("代管代持：此持卡人属于残疾人")
    follow = refused.follow_up
    assert follow is not None and follow.item_code == "custody_authorisation"
    assert world.city.commands == [] and world.written() == (0, 0, 0)

    flow = start_follow_up(follow, world.ctx(HR))
    step = flow.step
    assert step.key == "custodian"  # the holder is known already
    assert step.values["custodian_name"] == "村干部" and step.values["custodian_id_number"] == AGENT_ID

    # a bank outlet does not register authorisations, and offers no registration
    refused = drive(
        begin(world, "report_loss", ABC_QUICK, variant="formal"),
        {"read_card": {"choice": "absent"}, "identify": by_id(person), "presenter": agent("村干部")},
    )
    assert refused.refusal is not None and refused.follow_up is None
    assert start("custody_authorisation", world.ctx(ABC_QUICK)).step.kind is StepKind.REFUSED


def test_someone_not_of_the_four_groups_cannot_get_an_authorisation() -> None:
    world = World()
    person = holder_of("card_a", world.city)
    card_of("card_a", person, world.city, SocialStatus.ACTIVE)
    done = drive(begin(world, "custody_authorisation", HR), {"identify": by_id(person)})
    assert done.refusal is not None and done.refusal.code == "custody_not_eligible"


def test_the_forced_collection_warning_reaches_the_clerk_and_the_journal_not_the_form() -> None:
    world = World()
    for name in ("card_a", "muchuan_v3", "qianwei_v1", "emeishan_v2"):
        person = holder_of(name, world.city)
        card_of(name, person, world.city, SocialStatus.ACTIVE)
        done = drive(
            begin(world, "report_loss", HR, variant="temporary"),
            {
                "read_card": {"choice": "absent"},
                "identify": by_id(person),
                "reason": {"reason": "遗失"},
                "presenter": agent("张大山", AGENT_ID),
            },
        )
        assert done.kind is StepKind.DONE
    assert done.outcome is not None
    assert len(done.alerts) == 1 and "强制代领" in done.alerts[0] and "4 人" in done.alerts[0]
    record = world.memory.transactions[done.outcome.acceptance_number]
    assert record.details["alerts"] == list(done.alerts)
    assert "强制代领" not in world.renderer.forms[-1].remarks


# --- 关键信息变更 → 换卡 -----------------------------------------------------------------------------------


def test_key_information_change_leads_into_exchange_with_the_agent_carried_over() -> None:
    world = World()
    person = holder_of("card_a", world.city)
    card_of("card_a", person, world.city, SocialStatus.ACTIVE)
    relative = agent("张大山", AGENT_ID, documents=("agent_id", "principal_id", "principal_card"))
    done = drive(
        begin(world, "change_key_info", HR),
        {"identify": by_id(person), "presenter": relative, "changes": {"name": "张叁", "evidence": "户口簿"}},
    )
    assert done.outcome is not None and done.outcome.follow_up is not None
    flow = start_follow_up(done.outcome.follow_up, world.ctx(HR))
    assert flow.step.key == "materials" and flow.presenter.agent is not None
    assert flow.presenter.agent.name == "张大山"
    done = drive(flow)
    assert done.kind is StepKind.DONE
    assert world.city.commands[-1][0] == "replace" and world.city.commands[-1][1]["agent"]["name"] == "张大山"


def test_offline_the_banner_says_the_authorisation_cannot_be_checked() -> None:
    world = World()
    person, _ = four_groups_holder(world)
    world.city.authorise_custody(person, "王志强", AGENT_ID)
    world.replica.take()
    flow = begin(world, "query", HR, offline=True)
    step = until(flow, "presenter", {"identify": by_id(person)})
    assert step.banner.startswith("代管代持：此持卡人属于残疾人。离线时无法核对代管代持授权")
