"""密码修改 (offline too, holder only) and 密码重置 / 解锁 as two outcomes, with who may ask for them."""

from __future__ import annotations

from datetime import date
from typing import Any

from counter_app.card import PrefabData, PsamKeyProvider, SocialSecurityCard
from counter_app.domain.card_lifecycle import SocialStatus
from counter_app.emulator import TEST_CARDS
from counter_app.workflows.base import StepKind
from tests.workflows.helpers import (
    ABC_QUICK,
    AGENT_ID,
    HOLDER,
    HR,
    ICBC,
    MINOR_ID,
    World,
    agent,
    begin,
    card_of,
    drive,
    holder_of,
    until,
)

# --- 密码修改 -------------------------------------------------------------------------------------


def pin_world(
    name: str = "muchuan_v3", status: SocialStatus = SocialStatus.ACTIVE
) -> tuple[World, dict[str, Any], dict[str, Any]]:
    world = World()
    person = holder_of(name, world.city)
    card = card_of(name, person, world.city, status)
    world.insert(name)
    return world, person, card


def test_pin_change_by_the_holder_on_the_pad_is_queued_for_the_server_without_the_pin() -> None:
    world, _, card = pin_world()
    world.queued_pad.push(["147258", "852741"])
    done = drive(begin(world, "pin_change", ABC_QUICK))
    assert done.kind is StepKind.DONE and done.outcome is not None and done.outcome.result == "密码已修改"
    assert world.cards["muchuan_v3"].pin_matches("852741")
    assert world.city.commands == [] and world.written() == (1, 1, 1)  # the 业务流水 goes by the outbox
    record = world.memory.transactions[done.outcome.acceptance_number]
    assert record.server_command == "pin_change"
    assert record.server_payload["card"] == {"card_id": card["id"]}
    assert "147258" not in repr(record) and "852741" not in repr(record)
    assert all(
        e.entries == [] or all(not any(p.digits) for p in e.entries) for e in world.queued_pad.handed_out
    )


def test_pin_change_works_offline() -> None:
    world, _, _ = pin_world()
    world.queued_pad.push(["147258", "852741"])
    done = drive(begin(world, "pin_change", HR, offline=True))
    assert done.kind is StepKind.DONE and world.cards["muchuan_v3"].pin_matches("852741")
    assert world.renderer.forms[0].remarks == "离线办理，联网后上传中心"


def test_pin_change_offline_at_a_bank_outlet_needs_the_replica_to_know_the_bank() -> None:
    world, _, _ = pin_world()
    refused = drive(begin(world, "pin_change", ABC_QUICK, offline=True))
    assert refused.refusal is not None and refused.refusal.code == "out_of_scope"
    world.replica.take()
    world.queued_pad.push(["147258", "852741"])
    assert drive(begin(world, "pin_change", ABC_QUICK, offline=True)).kind is StepKind.DONE


def test_a_wrong_old_pin_shows_the_tries_left_and_may_be_retried() -> None:
    world, _, _ = pin_world()
    world.queued_pad.push(["111111", "852741"], ["147258", "852741"])
    flow = begin(world, "pin_change", HR)
    until(flow, "change_pin")
    step = flow.submit()
    assert step.problem is not None and step.problem.code == "pin_incorrect" and "5" in step.problem.message
    assert drive(flow).kind is StepKind.DONE


def test_a_locked_pin_refuses_pin_change_and_writes_nothing() -> None:
    world, _, _ = pin_world("locked")
    world.queued_pad.push(["112233", "852741"])
    done = drive(begin(world, "pin_change", HR))
    assert done.refusal is not None and done.refusal.code == "pin_blocked"
    assert world.written() == (0, 0, 0)


def test_pin_change_has_no_proxy_step_and_a_replaced_card_is_refused() -> None:
    world, _, _ = pin_world(status=SocialStatus.REPLACED)
    flow = begin(world, "pin_change", HR)
    done = drive(flow)
    assert done.refusal is not None and done.refusal.code == "card_not_valid"


# --- 密码重置 / 解锁 ---------------------------------------------------------------------------------


def test_reset_by_the_holder_reloads_a_new_pin_and_clears_the_lock() -> None:
    world, _, card = pin_world("locked")
    world.queued_pad.push(["864209"])
    done = drive(begin(world, "pin_reset", HR, variant="reset"), {"presenter": HOLDER})
    assert done.kind is StepKind.DONE and done.outcome is not None and done.outcome.result == "密码已重置"
    emulated = world.cards["locked"]
    assert emulated.pin_matches("864209") and emulated.pin_tries_left == 6
    assert world.city.card_rows[card["id"]]["pin_resets"] == 1
    assert world.renderer.forms[0].item_details == {"requester": "持卡人本人"}


def test_unblock_keeps_the_pin_and_only_resets_the_counter() -> None:
    world, _, card = pin_world("locked")
    done = drive(begin(world, "pin_reset", HR, variant="unblock"), {"presenter": HOLDER})
    assert (
        done.kind is StepKind.DONE
        and done.outcome is not None
        and done.outcome.result == "已解锁（密码未变）"
    )
    emulated = world.cards["locked"]
    assert emulated.pin_matches("112233") and emulated.pin_tries_left == 6
    assert world.city.card_rows[card["id"]]["pin_unblocks"] == 1 and world.queued_pad.requests == []


def test_unblock_of_a_card_that_is_not_locked_is_refused() -> None:
    world, _, _ = pin_world()
    done = drive(begin(world, "pin_reset", HR, variant="unblock"))
    assert done.refusal is not None and done.refusal.code == "pin_not_locked"
    assert world.city.commands == [] and world.written() == (0, 0, 0)


def test_a_card_locked_elsewhere_in_the_province_is_refused_by_the_server_and_left_alone() -> None:
    world, _, card = pin_world("locked")
    world.city.locked_elsewhere.add(card["id"])
    done = drive(begin(world, "pin_reset", HR, variant="unblock"), {"presenter": HOLDER})
    assert done.refusal is not None and done.refusal.code == "locked_elsewhere"
    assert world.cards["locked"].pin_tries_left == 0 and world.written() == (0, 0, 0)


def test_reset_for_an_adult_by_someone_else_is_refused() -> None:
    world, _, _ = pin_world("locked")
    guardian = agent(
        "刘父", requester="guardian", documents=["agent_id", "principal_id", "principal_card", "guardianship"]
    )
    done = drive(begin(world, "pin_reset", HR, variant="reset"), {"presenter": guardian})
    assert done.refusal is not None and done.refusal.code == "pin_reset_holder_only"
    other = agent("刘友", documents=["agent_id", "principal_id", "principal_card"])
    done = drive(begin(world, "pin_reset", HR, variant="reset"), {"presenter": other})
    assert done.refusal is not None and done.refusal.code == "pin_reset_holder_only"
    assert world.city.commands == [] and world.written() == (0, 0, 0)


def test_a_card_whose_chip_holder_differs_from_the_record_is_refused() -> None:
    world = World()
    minor = world.city.add_person("刘小宝", MINOR_ID, sex="1", birth_date=date(2014, 5, 1))
    world.city.add_card(
        minor,
        SocialStatus.ACTIVE,
        card_number="S11000085",
        card_identifier="511100D1560000051112030000000008",
    )
    world.insert("locked")  # the chip says 刘德明
    done = drive(begin(world, "pin_reset", HR, variant="reset"))
    assert done.refusal is not None and done.refusal.code == "card_holder_mismatch"
    assert world.written() == (0, 0, 0)


def minor_card(world: World) -> dict[str, Any]:
    """A minor's card: the prefab personalised for 刘小宝 (born 2014) before the test."""
    minor = world.city.add_person("刘小宝", MINOR_ID, sex="1", birth_date=date(2014, 5, 1))
    world.insert("prefab_jingyan")
    data = PrefabData(
        "S11000093",
        date(2025, 1, 1),
        date(2035, 1, 1),
        MINOR_ID,
        "刘小宝",
        "1",
        "01",
        "511102",
        date(2014, 5, 1),
    )
    assert (
        SocialSecurityCard(world.slot, PsamKeyProvider(world.psam_slot))
        .personalise_prefab(None, data)
        .confirmed
    )
    card = TEST_CARDS["prefab_jingyan"]
    world.city.add_card(minor, SocialStatus.ACTIVE, card_number="S11000093", card_identifier=card.card_id)
    return minor


def test_a_minors_guardian_may_reset_with_a_supervisors_confirmation() -> None:
    world = World()
    minor_card(world)
    guardian = agent(
        "刘父",
        requester="guardian",
        relation="父子",
        documents=["agent_id", "principal_id", "principal_card"],
    )
    refused = drive(begin(world, "pin_reset", HR, variant="reset"), {"presenter": guardian})
    assert refused.refusal is not None and refused.refusal.code == "guardianship_proof_missing"

    guardian["documents"].append("guardianship")
    world.queued_pad.push(["864209"])
    flow = begin(world, "pin_reset", HR, variant="reset")
    step = until(flow, "supervisor", {"presenter": guardian})
    step = flow.submit({"supervisor": "H001"})  # the clerk cannot confirm their own case
    assert step.problem is not None and step.problem.code == "not_supervisor"
    done = drive(flow, {"supervisor": {"supervisor": "H900"}})
    assert done.kind is StepKind.DONE and world.cards["prefab_jingyan"].pin_matches("864209")
    assert world.renderer.forms[0].item_details == {"requester": "未成年人监护人", "supervisor": "H900"}
    assert world.city.commands[0][1]["requester"] == "guardian"


def test_a_custodian_of_one_of_the_four_groups_needs_the_authorisation_and_a_supervisor() -> None:
    world = World()
    person = holder_of("locked", world.city, vulnerable_group="低保户")
    card_of("locked", person, world.city, SocialStatus.ACTIVE)
    world.insert("locked")
    custodian = agent(
        "村干部",
        AGENT_ID,
        requester="custodian",
        relation="代管人",
        documents=["agent_id", "principal_id", "principal_card", "custody"],
    )
    refused = drive(begin(world, "pin_reset", HR, variant="unblock"), {"presenter": custodian})
    assert refused.refusal is not None and refused.refusal.code == "custody_not_authorised"
    assert world.written() == (0, 0, 0)

    world.city.authorise_custody(person, "村干部", AGENT_ID)
    flow = begin(world, "pin_reset", HR, variant="unblock")
    step = until(flow, "supervisor", {"presenter": custodian})
    assert any("代管代持授权" in n for n in step.notices)
    step = flow.submit({"supervisor": "H001"})
    assert step.problem is not None and step.problem.code == "not_supervisor"
    step = flow.submit({"supervisor": "A900"})
    assert step.problem is not None and step.problem.code in ("role_outlet_mismatch", "other_outlet")
    done = drive(flow, {"supervisor": {"supervisor": "H900"}})
    assert done.kind is StepKind.DONE
    payload = world.city.commands[0][1]
    assert payload["requester"] == "custodian" and payload["confirmer_number"] == "H900"
    assert world.renderer.forms[0].item_details == {"requester": "授权代管人", "supervisor": "H900"}


def test_bank_outlet_resets_only_its_own_banks_cards() -> None:
    world, _, _ = pin_world("locked")
    done = drive(begin(world, "pin_reset", ICBC, variant="unblock"))
    assert done.refusal is not None and done.refusal.code == "out_of_scope"
