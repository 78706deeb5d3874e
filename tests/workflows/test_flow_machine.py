"""The step machine: pages, back, cancel, checkpoints and resume, server and printer faults, 代办 rules."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from counter_app.domain.card_lifecycle import SocialStatus
from counter_app.domain.operators import Operator, Role
from counter_app.workflows.base import FieldKind, FlowError, StepKind
from counter_app.workflows.common import ServiceFlow
from counter_app.workflows.registry import FLOWS, resume, start
from tests.fakes import InMemoryJournal
from tests.workflows.helpers import (
    ABC_QUICK,
    AGENT_ID,
    HOLDER,
    HR,
    OPERATORS,
    World,
    agent,
    begin,
    by_id,
    card_of,
    drive,
    holder_of,
    until,
)


def loss_world(**person_kw: Any) -> tuple[World, dict[str, Any], dict[str, Any]]:
    world = World()
    person = holder_of("card_a", world.city, **person_kw)
    card = card_of("card_a", person, world.city, SocialStatus.ACTIVE)
    return world, person, card


def test_all_twelve_items_have_a_flow() -> None:
    from counter_app.domain.catalog import load_catalog

    assert set(FLOWS) == set(load_catalog().codes) and len(FLOWS) == 12
    with pytest.raises(KeyError):
        start("nothing", World().ctx())


def test_pages_carry_typed_fields_and_the_materials_marks() -> None:
    world, person, _ = loss_world()
    flow = begin(world, "report_loss")
    step = flow.step
    assert step.key == "variant" and step.kind is StepKind.CLERK_INPUT
    assert step.fields[0].kind is FieldKind.CHOICE and [c.value for c in step.fields[0].choices] == [
        "temporary",
        "formal",
    ]
    assert not step.can_go_back
    step = until(flow, "presenter", {"variant": {"variant": "formal"}, "identify": by_id(person)})
    agent_fields = [f for f in step.fields if f.show_if is not None]
    assert agent_fields and all(f.show_if and f.show_if[0] == "requester" for f in agent_fields)
    step = flow.submit(HOLDER)
    assert step.kind is StepKind.MATERIALS and step.materials[0].mark == "待确认"


def test_bad_input_keeps_the_step_and_back_returns_with_the_answers_kept() -> None:
    world, person, _ = loss_world()
    flow = begin(world, "report_loss", variant="formal")
    step = flow.submit({"id_type": "resident_id", "id_number": "511102199001011230"})  # wrong check character
    assert step.key == "identify" and step.problem is not None and step.problem.code == "id_number_invalid"
    assert "校验" in step.problem.message and "应为" not in step.problem.message  # never suggests one
    step = flow.submit(by_id(person))
    assert step.key == "presenter" and step.can_go_back
    step = flow.back()
    assert step.key == "identify" and step.values["id_number"] == person["id_number"]
    checkpoint = world.memory.checkpoints[flow.flow_id]
    assert checkpoint["current"] == "identify" and checkpoint["item_code"] == "report_loss"


def test_cancel_before_any_change_writes_nothing_and_forgets_the_checkpoint() -> None:
    world, person, _ = loss_world()
    flow = begin(world, "report_loss", variant="formal")
    until(flow, "confirm", {"identify": by_id(person), "presenter": HOLDER})
    step = flow.cancel()
    assert step.kind is StepKind.REFUSED and step.key == "cancelled"
    assert world.city.commands == [] and world.written() == (0, 0, 0) and world.memory.checkpoints == {}
    with pytest.raises(FlowError):
        flow.submit()


def test_cancel_after_a_change_records_what_was_done() -> None:
    world = World()
    person = holder_of("prefab_jingyan", world.city)
    world.insert("prefab_jingyan")
    flow = begin(world, "apply", ABC_QUICK, variant="instant")
    until(flow, "write_card", {"identify": by_id(person), "presenter": HOLDER})
    world.slot.remove()
    step = flow.submit()
    assert step.problem is not None and step.problem.code == "card_removed"
    assert not step.can_go_back and step.cancel_records
    with pytest.raises(FlowError):
        flow.back()
    step = flow.cancel()
    assert step.key == "finish"
    done = flow.submit()
    assert done.kind is StepKind.DONE and done.outcome is not None and not done.outcome.complete
    record = world.memory.transactions[done.outcome.acceptance_number]
    assert record.result.startswith("未办结") and set(record.details["commands"]) == {
        "apply",
        f"instant_issue:{world.cards['prefab_jingyan'].card_id.hex().upper()}",
    }


def test_a_print_failure_keeps_the_transaction_and_offers_reprint() -> None:
    world, person, _ = loss_world()
    world.printer.ready = False
    flow = begin(world, "report_loss", variant="formal")
    done = drive(flow, {"identify": by_id(person), "presenter": HOLDER})
    assert done.kind is StepKind.DONE and done.outcome is not None
    assert not done.outcome.printed and done.outcome.print_problem is not None
    assert done.outcome.print_problem.hint == "业务已记录，请检查打印机后补打"
    assert world.written() == (1, 1, 0) and world.printer.jobs == []
    number = done.outcome.acceptance_number
    world.printer.ready = True
    assert isinstance(flow, ServiceFlow)
    again = flow.reprint()
    assert again.printed and world.renderer.rendered[-1] == (number, 0)  # a retry, not a 补打
    flow.reprint()
    assert world.renderer.rendered[-1] == (number, 1)  # 补打 1
    assert world.written() == (1, 1, 0)


def test_the_server_down_mid_flow_is_retried_with_one_effect() -> None:
    world, person, card = loss_world()
    flow = begin(world, "report_loss", variant="formal")
    until(flow, "report_loss", {"identify": by_id(person), "presenter": HOLDER})
    world.city.down = True
    step = flow.submit()
    assert step.problem is not None and step.problem.code == "central_unavailable"
    assert not step.can_go_back and step.cancel_records  # it may have reached the server
    world.city.down = False
    assert drive(flow).kind is StepKind.DONE
    assert (
        world.city.count("report_loss") == 1 and world.city.card_rows[card["id"]]["status"] == "formal_loss"
    )


def test_online_only_items_refuse_offline_and_a_refused_start_leaves_nothing() -> None:
    world, _, _ = loss_world()
    step = begin(world, "report_loss", offline=True).step
    assert (
        step.refusal is not None
        and step.refusal.code == "offline_not_allowed"
        and "离线" in step.refusal.message
    )
    assert world.memory.checkpoints == {}


def test_operators_work_only_at_their_own_outlet_and_admin_does_no_items() -> None:
    world, _, _ = loss_world()
    step = begin(world, "report_loss", HR, operator="A001").step
    assert step.refusal is not None and step.refusal.code == "role_outlet_mismatch"
    OPERATORS["ADM"] = Operator("ADM", "管理员", Role.ADMIN, None)
    try:
        step = begin(world, "report_loss", HR, operator="ADM").step
        assert step.refusal is not None and step.refusal.code == "role_not_allowed"
    finally:
        del OPERATORS["ADM"]
    step = begin(world, "report_loss", HR, operator="H002").step
    assert step.refusal is not None and step.refusal.code == "other_outlet"


class KeepingJournal(InMemoryJournal):
    """Keeps every checkpoint ever saved."""

    def __init__(self) -> None:
        super().__init__()
        self.history: list[Mapping[str, Any]] = []

    def save_checkpoint(self, flow_id: str, state: Mapping[str, Any]) -> None:
        self.history.append(json.loads(json.dumps(state)))
        super().save_checkpoint(flow_id, state)


def test_checkpoints_are_json_and_never_hold_a_pin() -> None:
    world = World(journal=KeepingJournal())
    person = holder_of("prefab_jingyan", world.city)
    world.insert("prefab_jingyan")
    world.queued_pad.push(["975310"])
    assert (
        drive(
            begin(world, "apply", ABC_QUICK, variant="instant"),
            {"identify": by_id(person), "presenter": HOLDER},
        ).kind
        is StepKind.DONE
    )
    assert isinstance(world.journal, KeepingJournal)
    dumped = json.dumps(world.journal.history, ensure_ascii=False)
    for pin in ("975310", "123456"):
        assert pin not in dumped.replace("13812345678", ""), dumped[
            dumped.find(pin) - 300 : dumped.find(pin) + 30
        ]
    assert len(world.journal.history) > 20


def test_resume_picks_up_a_flow_where_its_checkpoint_left_it() -> None:
    world, person, _ = loss_world()
    flow = begin(world, "report_loss", variant="formal", flow_id="f-42")
    until(flow, "materials", {"identify": by_id(person), "presenter": HOLDER})
    del flow
    again = resume("f-42", world.ctx(HR))
    assert again is not None and again.step.key == "materials"
    assert drive(again).kind is StepKind.DONE
    assert resume("f-42", world.ctx(HR)) is None and resume("nope", world.ctx(HR)) is None


# --- 代办 and 代管代持 -----------------------------------------------------------------------------------


def test_an_agent_must_show_their_own_id_and_the_principals() -> None:
    world, person, _ = loss_world()
    flow = begin(world, "report_loss", variant="formal")
    until(flow, "presenter", {"identify": by_id(person)})
    step = flow.submit({"requester": "other", "agent_name": "张大山"})
    assert step.problem is not None and step.problem.code == "agent_required"
    step = flow.submit(agent("张大山", "511102196503093112"))
    assert step.problem is not None and step.problem.code == "agent_id_invalid"
    step = flow.submit(agent("张三", person["id_number"]))
    assert step.problem is not None and step.problem.code == "agent_is_holder"
    done = drive(flow, {"presenter": agent("张大山", documents=["agent_id"])})
    assert done.refusal is not None and done.refusal.code == "agent_documents_missing"
    assert world.written() == (0, 0, 0)


def test_an_ordinary_agent_is_recorded_apart_from_the_holder() -> None:
    world, person, _ = loss_world()
    done = drive(
        begin(world, "report_loss", variant="formal"),
        {"identify": by_id(person), "presenter": agent("张大山")},
    )
    assert done.kind is StepKind.DONE
    form = world.renderer.forms[0]
    assert form.holder.name == "张三" and form.agent is not None and form.agent.name == "张大山"
    assert form.agent.documents == (
        "代办人本人社保卡或身份证等有效身份证件原件",
        "被代办人身份证等有效身份证件原件",
    )
    payload = world.city.commands[0][1]
    assert payload["requester"] == "other" and payload["agent"]["id_number"] == AGENT_ID


def test_custody_trigger_for_the_four_groups_requires_and_shows_the_authorisation() -> None:
    world, person, _ = loss_world(vulnerable_group="特困群众")
    refused = drive(
        begin(world, "report_loss", variant="formal"),
        {"identify": by_id(person), "presenter": agent("村干部")},
    )
    assert refused.refusal is not None and refused.refusal.code == "custody_not_authorised"
    assert "四类人" not in refused.refusal.message and "特困群众" in refused.refusal.message
    assert world.city.commands == [] and world.written() == (0, 0, 0)

    world.city.authorise_custody(person, "村干部", AGENT_ID)
    flow = begin(world, "report_loss", variant="formal")
    step = until(flow, "materials", {"identify": by_id(person), "presenter": agent("村干部")})
    assert any(n.startswith("代管代持授权：代管人 村干部") for n in step.notices)
    assert drive(flow).kind is StepKind.DONE
    assert world.city.commands[0][1]["requester"] == "custodian"
    holder_done = drive(
        begin(world, "report_loss", variant="temporary"), {"identify": by_id(person), "presenter": HOLDER}
    )
    assert holder_done.refusal is not None  # already lost; the holder themself needs no authorisation
    assert holder_done.refusal.code == "already_lost"
