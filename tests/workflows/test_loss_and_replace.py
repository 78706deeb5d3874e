"""解挂 and 补换卡: the old card's status per DOMAIN §3, the issuing bank's scope, the prefab path."""

from __future__ import annotations

from typing import Any

from counter_app.domain.card_lifecycle import SocialStatus
from counter_app.emulator import TEST_CARDS
from counter_app.workflows.base import StepKind
from tests.workflows.helpers import (
    ABC_PLAIN,
    ABC_QUICK,
    HOLDER,
    HR,
    ICBC,
    World,
    begin,
    by_id,
    card_of,
    drive,
    holder_of,
    until,
)

# --- 解挂 --------------------------------------------------------------------------------------------


def test_cancel_loss_with_the_found_card_in_the_reader() -> None:
    world = World()
    person = holder_of("card_a", world.city)
    card = card_of(
        "card_a", person, world.city, SocialStatus.TEMP_LOSS, state_before_loss=SocialStatus.ACTIVE
    )
    world.city.card_rows[card["id"]]["loss_reported_at"] = "2026-11-25T10:00:00+08:00"
    world.insert("card_a")
    flow = begin(world, "cancel_loss", ABC_QUICK)
    step = until(flow, "materials", {"presenter": HOLDER})
    assert all(m.required for m in step.materials)  # the found card is one of them
    done = drive(flow)
    assert done.kind is StepKind.DONE
    assert world.city.card_rows[card["id"]]["status"] == "active"
    assert world.renderer.forms[0].item_details == {"loss_kind": "临时挂失", "loss_date": "2026-11-25"}


def test_cancel_loss_without_the_card_by_id() -> None:
    world = World()
    person = holder_of("card_a", world.city)
    card = card_of(
        "card_a", person, world.city, SocialStatus.FORMAL_LOSS, state_before_loss=SocialStatus.ISSUED_INACTIVE
    )
    done = drive(
        begin(world, "cancel_loss", HR),
        {"read_card": {"choice": "absent"}, "identify": by_id(person), "presenter": HOLDER},
    )
    assert done.kind is StepKind.DONE
    assert world.city.card_rows[card["id"]]["status"] == "issued_inactive"


def test_cancel_loss_after_a_replacement_was_applied_for_is_refused_and_changes_nothing() -> None:
    world = World()
    person = holder_of("card_a", world.city)
    card = card_of(
        "card_a",
        person,
        world.city,
        SocialStatus.FORMAL_LOSS,
        state_before_loss=SocialStatus.ACTIVE,
        replacement_applied=True,
    )
    done = drive(
        begin(world, "cancel_loss", HR), {"read_card": {"choice": "absent"}, "identify": by_id(person)}
    )
    assert done.refusal is not None and done.refusal.code == "replacement_applied"
    assert world.city.card_rows[card["id"]]["status"] == "formal_loss"
    assert world.city.commands == [] and world.written() == (0, 0, 0)


def test_cancel_loss_of_a_card_that_is_not_lost_is_refused() -> None:
    world = World()
    person = holder_of("card_a", world.city)
    card_of("card_a", person, world.city, SocialStatus.ACTIVE)
    done = drive(
        begin(world, "cancel_loss", HR), {"read_card": {"choice": "absent"}, "identify": by_id(person)}
    )
    assert done.refusal is not None and done.refusal.code == "not_lost"


# --- 补换卡 ------------------------------------------------------------------------------------------


def lost_card_world(**kw: object) -> tuple[World, dict[str, Any], dict[str, Any]]:
    world = World()
    person = holder_of("card_a", world.city)
    card = card_of(
        "card_a", person, world.city, SocialStatus.FORMAL_LOSS, state_before_loss=SocialStatus.ACTIVE, **kw
    )
    return world, person, card


def test_reissue_on_the_spot_at_the_issuing_banks_quick_outlet() -> None:
    world, person, old = lost_card_world()
    prefab = world.insert("prefab_jingyan")
    world.queued_pad.push(["246810"])
    done = drive(
        begin(world, "replace", ABC_QUICK, variant="instant"),
        {"identify": by_id(person), "replacement": {"reason": "补卡（遗失）"}, "presenter": HOLDER},
    )
    assert done.kind is StepKind.DONE and done.outcome is not None
    assert world.city.card_rows[old["id"]]["status"] == "replaced"
    info = world.read()
    new = world.city.card_of(info.card_number)
    assert new["status"] == "active" and new["replaces_card_id"] == old["id"]
    assert info.name == "张三" and prefab.pin_matches("246810")
    form = world.renderer.forms[0]
    assert (
        form.item_details["replace_reason"] == "补卡（遗失）"
        and form.item_details["old_card_number"] == "S11000018"
    )
    assert "原卡即时停用" in form.remarks


def test_replacement_at_another_banks_outlet_is_refused() -> None:
    world, person, _ = lost_card_world()
    world.insert("prefab_jingyan")
    done = drive(begin(world, "replace", ICBC, variant="instant"), {"identify": by_id(person)})
    assert done.refusal is not None and done.refusal.code == "out_of_scope"
    assert world.city.commands == [] and world.written() == (0, 0, 0) and world.read().is_blank


def test_reissue_needs_a_formal_loss_first() -> None:
    world = World()
    person = holder_of("card_a", world.city)
    card_of("card_a", person, world.city, SocialStatus.TEMP_LOSS, state_before_loss=SocialStatus.ACTIVE)
    done = drive(
        begin(world, "replace", ABC_QUICK, variant="instant"),
        {"identify": by_id(person), "replacement": {"reason": "补卡（遗失）"}},
    )
    assert done.refusal is not None and done.refusal.code == "make_loss_formal_first"
    assert world.city.commands == []


def test_exchange_with_a_prefab_handed_over_then_personalised_at_the_hr_window() -> None:
    world = World()
    person = holder_of("card_a", world.city)
    old = card_of("card_a", person, world.city, SocialStatus.ACTIVE)
    flow = begin(world, "replace", ABC_PLAIN, variant="prefab_handout")
    materials = until(
        flow,
        "materials",
        {"identify": by_id(person), "replacement": {"reason": "换卡（损坏）"}, "presenter": HOLDER},
    )
    assert all(m.required for m in materials.materials)  # 交回原卡 applies to 换
    done = drive(flow)
    assert done.kind is StepKind.DONE and done.outcome is not None
    assert done.outcome.result == "已受理补换卡，已发放预制卡"
    assert world.city.card_rows[old["id"]]["status"] == "active"  # 换: usable until the new card is issued
    assert world.city.card_rows[old["id"]]["replacement_applied"] is True
    assert "可继续使用" in world.renderer.forms[0].remarks

    prefab = world.insert("prefab_jingyan")
    world.queued_pad.push(["246810"])
    done = drive(
        begin(world, "replace", HR, variant="prefab_personalise"),
        {"identify": by_id(person), "presenter": HOLDER},
    )
    assert done.kind is StepKind.DONE, done.refusal
    assert world.city.card_rows[old["id"]]["status"] == "replaced"
    new = world.city.card_of(world.read().card_number)
    assert new["status"] == "active" and new["card_identifier"] == TEST_CARDS["prefab_jingyan"].card_id
    assert prefab.pin_matches("246810")
    assert [c for c, _ in world.city.commands] == ["replace", "instant_issue", "activate"]


def test_personalising_a_prefab_without_a_pending_replacement_is_refused() -> None:
    world = World()
    person = holder_of("card_a", world.city)
    card_of("card_a", person, world.city, SocialStatus.ACTIVE)
    world.insert("prefab_jingyan")
    done = drive(begin(world, "replace", HR, variant="prefab_personalise"), {"identify": by_id(person)})
    assert done.refusal is not None and done.refusal.code == "no_pending_replacement"


def test_a_bank_outlet_cannot_pick_the_hr_only_paths() -> None:
    world = World()
    refused = begin(world, "replace", ABC_QUICK, variant="prefab_personalise").step
    assert refused.refusal is not None and refused.refusal.code == "variant_not_offered"
    refused = begin(world, "replace", ABC_QUICK, variant="standard").step
    assert refused.refusal is not None and refused.refusal.code == "variant_not_offered"
