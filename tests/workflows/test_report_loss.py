"""挂失: 临时 and 正式, refused when already lost or outside the outlet's scope."""

from __future__ import annotations

from counter_app.domain.card_lifecycle import SocialStatus
from counter_app.workflows.base import StepKind
from tests.workflows.helpers import ABC_QUICK, HOLDER, ICBC, World, begin, by_id, card_of, drive, holder_of


def test_temporary_loss_by_the_holder_is_reported_once_and_recorded() -> None:
    world = World()
    person = holder_of("card_a", world.city)
    card = card_of("card_a", person, world.city, SocialStatus.ACTIVE)
    flow = begin(world, "report_loss", variant="temporary")
    done = drive(flow, {"identify": by_id(person), "presenter": HOLDER, "reason": {"reason": "遗失"}})
    assert done.kind is StepKind.DONE, done.refusal
    assert world.city.card_rows[card["id"]]["status"] == "temp_loss"
    assert world.city.count("report_loss") == 1
    assert world.written() == (1, 1, 0)
    form = world.renderer.forms[0]
    assert form.item_details["loss_until"] == "2026-12-04 09:00" and form.variant == "temporary"
    assert world.printer.jobs and done.outcome and done.outcome.printed


def test_already_lost_card_is_refused_before_asking_the_server() -> None:
    world = World()
    person = holder_of("card_a", world.city)
    card_of("card_a", person, world.city, SocialStatus.FORMAL_LOSS, state_before_loss=SocialStatus.ACTIVE)
    flow = begin(world, "report_loss", variant="formal")
    done = drive(flow, {"identify": by_id(person)})
    assert done.kind is StepKind.REFUSED and done.refusal is not None and done.refusal.code == "already_lost"
    assert world.city.commands == [] and world.written() == (0, 0, 0)


def test_bank_outlet_may_not_report_another_banks_card() -> None:
    world = World()
    person = holder_of("card_a", world.city)
    card_of("card_a", person, world.city, SocialStatus.ACTIVE, bank="农业银行")
    done = drive(begin(world, "report_loss", ICBC, variant="formal"), {"identify": by_id(person)})
    assert done.refusal is not None and done.refusal.code == "out_of_scope"
    assert world.city.commands == [] and world.written() == (0, 0, 0)
    ok = drive(
        begin(world, "report_loss", ABC_QUICK, variant="formal"),
        {"identify": by_id(person), "presenter": HOLDER},
    )
    assert ok.kind is StepKind.DONE
