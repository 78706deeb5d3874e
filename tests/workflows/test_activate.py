"""激活: social at 人社 windows and capable bank outlets, financial at the card's own bank; refusals."""

from __future__ import annotations

from typing import Any

import pytest

from counter_app.domain.card_lifecycle import SocialStatus
from counter_app.workflows.base import StepKind
from counter_app.workflows.ports import PinPadOutcome
from counter_app.workflows.registry import resume, start
from tests.workflows.faults import Crash, CrashingJournal
from tests.workflows.helpers import (
    ABC_PLAIN,
    ABC_QUICK,
    HOLDER,
    HR,
    ICBC,
    World,
    begin,
    card_of,
    drive,
    holder_of,
    until,
)


def world_with(status: SocialStatus, **kw: object) -> tuple[World, dict[str, Any], dict[str, Any]]:
    world = World()
    person = holder_of("card_a", world.city)
    card = card_of("card_a", person, world.city, status, **kw)
    world.insert("card_a")
    return world, person, card


def test_social_activation_at_an_hr_window_sets_the_new_pin_then_activates() -> None:
    world, _, card = world_with(SocialStatus.ISSUED_INACTIVE)
    world.queued_pad.push(["975310"])
    done = drive(begin(world, "activate", HR, variant="social"), {"presenter": HOLDER})
    assert done.kind is StepKind.DONE and done.outcome is not None and done.outcome.result == "已激活社保功能"
    assert world.cards["card_a"].pin_matches("975310")
    assert world.city.card_rows[card["id"]]["status"] == "active"
    assert world.city.commands[0][1]["functions"] == ["social"]
    assert world.renderer.forms[0].item_details == {"pin_set": "持卡人已在密码键盘设置新密码"}


def test_the_initial_pin_may_not_stay_and_a_cancelled_entry_can_be_retried() -> None:
    world, _, _ = world_with(SocialStatus.ISSUED_INACTIVE)
    world.queued_pad.push(["123456"], PinPadOutcome.TIMED_OUT, ["975310"])
    flow = begin(world, "activate", HR, variant="social")
    step = flow.step
    while step.key != "set_pin":
        step = flow.submit(
            {"requester": "holder"}
            if step.key == "presenter"
            else (
                {"checked": [m.key for m in step.materials]}
                if step.materials
                else ({"choice": "confirm"} if step.options else None)
            )
        )
    step = flow.submit()
    assert step.problem is not None and step.problem.code == "initial_pin_refused"
    step = flow.submit()
    assert step.problem is not None and step.problem.code == "pin_pad_timed_out"
    assert drive(flow).kind is StepKind.DONE
    assert world.city.count("activate") == 1


def test_a_card_whose_holder_already_set_a_pin_is_activated_after_checking_that_pin() -> None:
    world = World()
    person = holder_of("qianwei_v1", world.city)  # the chip's PIN is 135790, not the initial one
    card = card_of("qianwei_v1", person, world.city, SocialStatus.ISSUED_INACTIVE)
    world.insert("qianwei_v1")
    world.queued_pad.push(["975310"], ["111111"], ["135790"])
    flow = begin(world, "activate", HR, variant="social")
    until(flow, "set_pin", {"presenter": HOLDER})
    step = flow.submit()
    assert step.key == "set_pin" and step.problem is not None and step.problem.code == "not_initial_pin"
    assert "还可尝试 5 次" in step.problem.message and "自己的密码" in step.prompt
    step = flow.submit()  # a wrong own PIN: the card says so, the step stays
    assert step.problem is not None and step.problem.code == "pin_incorrect"
    done = drive(flow)
    assert done.kind is StepKind.DONE and world.city.card_rows[card["id"]]["status"] == "active"
    emulated = world.cards["qianwei_v1"]
    assert emulated.pin_matches("135790") and emulated.pin_tries_left == 6
    assert world.renderer.forms[0].item_details == {"pin_set": "此卡密码已非初始密码，持卡人核对后保留"}


def test_financial_activation_only_at_the_cards_own_bank() -> None:
    world, _, card = world_with(SocialStatus.ISSUED_INACTIVE)
    refused = begin(world, "activate", HR, variant="financial").step
    assert refused.refusal is not None and refused.refusal.code == "variant_not_offered"
    other_bank = drive(begin(world, "activate", ICBC, variant="financial"))
    assert other_bank.refusal is not None and other_bank.refusal.code == "out_of_scope"
    done = drive(begin(world, "activate", ABC_PLAIN, variant="financial"), {"presenter": HOLDER})
    assert done.kind is StepKind.DONE and world.city.card_rows[card["id"]]["financial_status"] == "active"
    assert world.cards["card_a"].pin_matches("123456")  # the bank's PIN is not ours: nothing typed
    assert world.renderer.forms[-1].item_details == {"bank_account_tail": "1231"}


def test_a_bank_outlet_without_the_flag_cannot_activate_the_social_function() -> None:
    world, _, _ = world_with(SocialStatus.ISSUED_INACTIVE)
    refused = begin(world, "activate", ABC_PLAIN, variant="social").step
    assert refused.refusal is not None and refused.refusal.code == "capability_missing"
    world.queued_pad.push(["975310"])
    assert (
        drive(begin(world, "activate", ABC_QUICK, variant="social"), {"presenter": HOLDER}).kind
        is StepKind.DONE
    )


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (SocialStatus.CANCELLED, "final_state"),
        (SocialStatus.ACTIVE, "already_active"),
        (SocialStatus.TEMP_LOSS, "card_in_loss"),
    ],
)
def test_activation_is_refused_by_the_life_cycle_and_changes_nothing(status: SocialStatus, code: str) -> None:
    kw = {"state_before_loss": SocialStatus.ACTIVE} if status is SocialStatus.TEMP_LOSS else {}
    world, _, _ = world_with(status, **kw)
    done = drive(begin(world, "activate", HR, variant="social"))
    assert done.refusal is not None and done.refusal.code == code
    assert world.city.commands == [] and world.written() == (0, 0, 0)
    assert world.cards["card_a"].pin_matches("123456")


def test_a_crash_between_the_new_pin_and_the_server_asks_the_holder_once_to_confirm() -> None:
    world, _, card = world_with(SocialStatus.ISSUED_INACTIVE)
    world.queued_pad.push(["975310"])
    flow_id = "act-1"
    journal = CrashingJournal(world.journal)
    flow = start("activate", world.ctx(HR, journal=journal), variant="social", flow_id=flow_id)
    step = flow.step
    while step.key != "set_pin":
        step = flow.submit(
            {"requester": "holder"}
            if step.key == "presenter"
            else (
                {"checked": [m.key for m in step.materials]}
                if step.materials
                else ({"choice": "confirm"} if step.options else None)
            )
        )
    saves_before_pin = journal.saves
    journal.crash_after = saves_before_pin + 2  # commit, then "started" saved: the card is untouched
    with pytest.raises(Crash):
        flow.submit()
    world.slot.insert(world.cards["card_a"])
    world.queued_pad.push(["975310"], ["975310"])  # the pad asks to confirm, then to set again
    resumed = resume(flow_id, world.ctx(HR))
    assert resumed is not None and resumed.step.key == "set_pin" and "中断" in resumed.step.prompt
    step = resumed.submit()
    assert step.problem is not None and step.problem.code == "pin_set_again"
    assert drive(resumed).kind is StepKind.DONE
    assert world.cards["card_a"].pin_matches("975310")
    assert world.city.count("activate") == 1 and world.city.card_rows[card["id"]]["status"] == "active"


class DiesAfterChangePin:
    """The PC dies right after the card answered CHANGE PIN (the new PIN is on the card)."""

    def __init__(self, world: World) -> None:
        self.slot = world.slot

    @property
    def reader_name(self) -> str:
        return self.slot.reader_name

    def atr(self) -> bytes:
        return self.slot.atr()

    def transmit(self, command: bytes | bytearray) -> bytes:
        answer = self.slot.transmit(command)
        if command[1] == 0x5E and answer[-2:] == b"\x90\x00":
            raise Crash("after CHANGE PIN")
        return answer


def test_a_crash_after_the_card_took_the_new_pin_is_confirmed_by_one_verify() -> None:
    world, _, card = world_with(SocialStatus.ISSUED_INACTIVE)
    world.queued_pad.push(["975310"])
    flow = start(
        "activate", world.ctx(HR, transport=DiesAfterChangePin(world)), variant="social", flow_id="act-2"
    )
    with pytest.raises(Crash):
        drive(flow, {"presenter": HOLDER})
    assert world.cards["card_a"].pin_matches("975310")
    world.slot.insert(world.cards["card_a"])
    world.queued_pad.push(["975310"])  # asked once, to confirm
    resumed = resume("act-2", world.ctx(HR))
    assert resumed is not None
    assert drive(resumed).kind is StepKind.DONE
    assert world.queued_pad.queue == [] and world.queued_pad.requests[-1].kind.value == "verify"
    assert world.city.count("activate") == 1 and world.city.card_rows[card["id"]]["status"] == "active"
    assert world.cards["card_a"].pin_tries_left == 6


def test_financial_activation_of_a_card_whose_social_function_is_already_active() -> None:
    world, _, card = world_with(SocialStatus.ACTIVE)
    done = drive(begin(world, "activate", ABC_PLAIN, variant="financial"), {"presenter": HOLDER})
    assert done.kind is StepKind.DONE and world.city.card_rows[card["id"]]["financial_status"] == "active"
    refused = drive(begin(world, "activate", HR, variant="social"))
    assert refused.refusal is not None and refused.refusal.code == "already_active"
