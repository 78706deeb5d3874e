"""关键信息变更 → 换卡, 非关键信息变更 (queued), 参保地变更 and 注销."""

from __future__ import annotations

from datetime import date

from counter_app.domain.card_lifecycle import SocialStatus
from counter_app.workflows.base import StepKind
from counter_app.workflows.registry import start_follow_up
from tests.workflows.city import resident_id
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
    until,
)

# --- 关键信息变更 --------------------------------------------------------------------------------------


def test_key_information_change_leads_into_an_exchange() -> None:
    world = World()
    person = holder_of("card_a", world.city)
    old = card_of("card_a", person, world.city, SocialStatus.ACTIVE)
    done = drive(
        begin(world, "change_key_info", HR),
        {"identify": by_id(person), "presenter": HOLDER, "changes": {"name": "张叁", "evidence": "户口簿"}},
    )
    assert done.kind is StepKind.DONE and done.outcome is not None
    assert world.city.people_rows[person["id"]]["name"] == "张叁"
    form = world.renderer.forms[0]
    assert [(c.label, c.old, c.new) for c in form.changes] == [("姓名", "张三", "张叁")]
    follow = done.outcome.follow_up
    assert follow is not None and follow.item_code == "replace"

    # 换卡 follows with nothing asked again: the 人社 window's batch 换卡, the holder and the presenter
    # as verified, the reason 卡面信息变更; the clerk starts at the materials
    assert follow.variant == "standard" and follow.prefill["identified"]
    flow = start_follow_up(follow, world.ctx(HR))
    step = flow.step
    assert step.key == "materials", step
    assert flow.data["reason"] == "换卡（卡面信息变更）" and flow.presenter.is_holder
    done = drive(flow)
    assert done.kind is StepKind.DONE and done.outcome is not None
    assert done.outcome.result == "已受理补换卡，制卡完成后领卡"
    assert world.city.card_rows[old["id"]]["status"] == "active"  # 换: until the new card is collected
    assert (
        world.city.commands[-1][1]["kind"] == "exchange"
        and world.city.commands[-1][1]["reason"] == "卡面信息变更"
    )


def test_key_information_change_checks_the_new_id_number_against_sex_and_birth() -> None:
    world = World()
    person = holder_of("card_a", world.city)
    card_of("card_a", person, world.city, SocialStatus.ACTIVE)
    flow = begin(world, "change_key_info", HR)
    until(flow, "changes", {"identify": by_id(person), "presenter": HOLDER})
    female = resident_id("511102", date(1990, 1, 1), "122")
    step = flow.submit({"new_id_number": female, "evidence": "公安证明"})
    assert step.problem is not None and step.problem.code == "id_number_invalid"
    step = flow.submit({"evidence": "户口簿"})
    assert step.problem is not None and step.problem.code == "no_change"
    assert world.city.commands == []


def test_bank_outlets_do_not_change_key_information() -> None:
    world = World()
    step = begin(world, "change_key_info", ABC_QUICK).step
    assert step.refusal is not None and step.refusal.code in ("item_not_offered", "role_not_allowed")


# --- 非关键信息变更 -------------------------------------------------------------------------------------


def test_contact_change_is_queued_and_printed_as_accepted_pending_upload() -> None:
    world = World()
    person = holder_of("card_a", world.city)
    card_of("card_a", person, world.city, SocialStatus.ACTIVE)
    done = drive(
        begin(world, "change_contact", HR),
        {"identify": by_id(person), "presenter": HOLDER, "contact": {"phone": "139 0833 1234"}},
    )
    assert done.kind is StepKind.DONE and done.outcome is not None and done.outcome.queued
    assert done.outcome.result == "已受理，待上传确认"
    assert world.city.commands == []  # the relay sends it
    assert world.written() == (1, 1, 1)
    record = world.memory.transactions[done.outcome.acceptance_number]
    assert record.server_command == "change_contact" and record.server_payload["phone"] == "13908331234"
    assert record.server_payload["acceptance_number"] == done.outcome.acceptance_number
    form = world.renderer.forms[0]
    assert form.offline and [(c.label, c.kind) for c in form.changes] == [("联系电话", "phone")]


def test_contact_change_offline_from_the_replica_or_typed_in() -> None:
    world = World()
    person = holder_of("card_a", world.city)
    world.replica.take()
    done = drive(
        begin(world, "change_contact", HR, offline=True),
        {"identify": by_id(person), "presenter": HOLDER, "contact": {"address": "乐山市市中区嘉定北路1号"}},
    )
    assert done.kind is StepKind.DONE and done.outcome is not None
    assert any("数据截至 2026-11-27 09:00" in n for n in done.outcome.notices)

    stranger = resident_id("511102", date(1970, 2, 2), "033")
    flow = begin(world, "change_contact", HR, offline=True)
    step = until(
        flow, "contact", {"identify": {"id_type": "resident_id", "id_number": stranger}, "presenter": HOLDER}
    )
    assert next(f.key for f in step.fields) == "name"
    step = flow.submit({"phone": "12345"})
    assert step.problem is not None and step.problem.code == "phone_invalid"
    done = drive(flow, {"contact": {"name": "离线客", "phone": "0833-2101916"}})
    assert done.kind is StepKind.DONE and world.written() == (2, 2, 2)


# --- 参保地变更 ---------------------------------------------------------------------------------------


def test_transfer_within_sichuan_at_an_hr_window() -> None:
    world = World()
    person = holder_of("card_a", world.city)
    card_of("card_a", person, world.city, SocialStatus.ACTIVE)
    done = drive(
        begin(world, "transfer_region", HR),
        {
            "identify": by_id(person),
            "presenter": HOLDER,
            "transfer": {"to_region": "511181", "certificate_number": "川社转〔2026〕0001"},
        },
    )
    assert done.kind is StepKind.DONE
    assert world.city.people_rows[person["id"]]["insured_region"] == "511181"
    assert world.renderer.forms[0].item_details["to_region"] == "峨眉山市（511181）"


def test_a_bank_clerk_attempting_a_region_transfer_is_refused_at_once() -> None:
    world = World()
    step = begin(world, "transfer_region", ABC_QUICK).step
    assert step.kind is StepKind.REFUSED and step.refusal is not None
    assert world.memory.checkpoints == {} and world.written() == (0, 0, 0)


def test_transfer_out_of_sichuan_or_with_another_provinces_card_is_refused() -> None:
    world = World()
    person = holder_of("card_a", world.city)
    card_of("card_a", person, world.city, SocialStatus.ACTIVE)
    done = drive(
        begin(world, "transfer_region", HR),
        {
            "identify": by_id(person),
            "presenter": HOLDER,
            "transfer": {"to_region": "110101", "certificate_number": "X1"},
        },
    )
    assert done.refusal is not None and done.refusal.code == "outside_sichuan"
    outsider = holder_of("long_name", world.city)
    world.city.add_card(
        outsider,
        SocialStatus.ACTIVE,
        card_number="S11000077",
        card_identifier="650100D1560000051102030000000007",
    )
    done = drive(begin(world, "transfer_region", HR), {"identify": by_id(outsider)})
    assert done.refusal is not None and done.refusal.code == "card_from_other_province"
    assert world.city.commands == []


# --- 注销 ---------------------------------------------------------------------------------------------


def test_cancellation_after_death_by_a_relative_with_a_supervisor() -> None:
    world = World()
    person = holder_of("card_a", world.city)
    card = card_of("card_a", person, world.city, SocialStatus.ACTIVE)
    flow = begin(world, "cancel_card", HR)
    step = until(
        flow,
        "presenter",
        {"read_card": {"choice": "absent"}, "identify": by_id(person), "reason": {"reason": "death"}},
    )
    step = flow.submit(HOLDER)
    assert step.problem is not None and step.problem.code == "agent_required"
    relative = agent("张小三", AGENT_ID, relation="子女")
    step = until(flow, "materials", {"presenter": relative})
    assert [m.required for m in step.materials] == [True, True, False]
    step = until(flow, "supervisor")
    step = flow.submit({"supervisor": "H001"})
    assert step.problem is not None and step.problem.code == "not_supervisor"
    done = drive(flow, {"supervisor": {"supervisor": "H900"}})
    assert done.kind is StepKind.DONE
    assert world.city.card_rows[card["id"]]["status"] == "cancelled"
    form = world.renderer.forms[0]
    assert form.item_details["cancel_reason"] == "持卡人死亡" and form.item_details["supervisor"] == "H900"
    assert world.city.commands[0][1]["confirmer_number"] == "H900"


def test_cancelling_a_cancelled_card_is_refused() -> None:
    world = World()
    person = holder_of("card_a", world.city)
    card_of("card_a", person, world.city, SocialStatus.CANCELLED)
    done = drive(
        begin(world, "cancel_card", HR), {"read_card": {"choice": "absent"}, "identify": by_id(person)}
    )
    assert done.refusal is not None and done.refusal.code == "no_card"
    world.insert("card_a")
    done = drive(begin(world, "cancel_card", HR))
    assert done.refusal is not None and done.refusal.code == "final_state"
    assert world.city.commands == [] and world.written() == (0, 0, 0)


def test_key_information_change_of_sex_and_ethnicity_prints_names_not_codes() -> None:
    world = World()
    person = holder_of("yi_mabian", world.city)
    done = drive(
        begin(world, "change_key_info", HR),
        {
            "identify": by_id(person),
            "presenter": HOLDER,
            "changes": {"ethnicity": "01", "evidence": "公安机关证明"},
        },
    )
    assert (
        done.kind is StepKind.DONE and done.outcome is not None and done.outcome.follow_up is None
    )  # no card
    assert [(c.label, c.old, c.new) for c in world.renderer.forms[0].changes] == [("民族", "彝族", "汉族")]
    assert world.city.commands[0][1]["ethnicity"] == "01"
