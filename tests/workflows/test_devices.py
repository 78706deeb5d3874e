"""Flows with a secure (Part 10) PIN pad and with the 二代证 reader."""

from __future__ import annotations

from datetime import date

from counter_app.domain.card_lifecycle import SocialStatus
from counter_app.workflows.base import StepKind
from counter_app.workflows.ports import (
    CardTransport,
    IdCardData,
    PinEntries,
    PinEntryKind,
    PinPadOutcome,
    PinRequest,
    SecurePinResult,
)
from counter_app.workflows.registry import start
from tests.fakes import FakeIdReader
from tests.workflows.helpers import HOLDER, HR, World, begin, by_id, card_of, drive, holder_of, until


def cn(pin: str) -> bytes:
    digits = pin + ("F" if len(pin) % 2 else "")
    return bytes.fromhex(digits)


class SecurePad:
    """A Part 10 pad: the citizen's digits go from the pad to the card, never to the host."""

    secure = True

    def __init__(self, *typed: list[str]) -> None:
        self.typed = list(typed)
        self.kinds: list[PinEntryKind] = []

    def collect(self, request: PinRequest) -> PinEntries:
        raise AssertionError("a secure pad never hands PINs to the host")

    def enter_on_card(self, request: PinRequest, transport: CardTransport) -> SecurePinResult:
        self.kinds.append(request.kind)
        typed = self.typed.pop(0)
        if request.kind is PinEntryKind.VERIFY:
            body = cn(typed[0])
            apdu = bytes((0x00, 0x20, 0x00, 0x00, len(body))) + body
        else:
            body = cn(typed[0]) + b"\xff" + cn(typed[1])
            apdu = bytes((0x80, 0x5E, 0x01, 0x00, len(body))) + body
        answer = transport.transmit(apdu)
        return SecurePinResult(PinPadOutcome.ENTERED, int.from_bytes(answer[-2:], "big"))

    def cancel(self) -> bool:
        return False


def test_activation_on_a_secure_pad_has_the_citizen_type_the_initial_pin_too() -> None:
    pad = SecurePad(["123456", "975310"])
    world = World(pad=pad)
    person = holder_of("card_a", world.city)
    card = card_of("card_a", person, world.city, SocialStatus.ISSUED_INACTIVE)
    emulated = world.insert("card_a")
    done = drive(begin(world, "activate", HR, variant="social"), {"presenter": HOLDER})
    assert done.kind is StepKind.DONE and pad.kinds == [PinEntryKind.CHANGE]
    assert emulated.pin_matches("975310") and world.city.card_rows[card["id"]]["status"] == "active"


def test_pin_change_on_a_secure_pad_and_a_wrong_old_pin() -> None:
    pad = SecurePad(["111111", "852741"], ["147258", "852741"])
    world = World(pad=pad)
    person = holder_of("muchuan_v3", world.city)
    card_of("muchuan_v3", person, world.city, SocialStatus.ACTIVE)
    emulated = world.insert("muchuan_v3")
    flow = begin(world, "pin_change", HR)
    until(flow, "change_pin")
    step = flow.submit()
    assert step.problem is not None and step.problem.code == "pin_incorrect"
    assert drive(flow).kind is StepKind.DONE and emulated.pin_matches("852741")


def test_pin_reset_is_refused_before_anything_changes_on_a_secure_pad() -> None:
    world = World(pad=SecurePad())
    person = holder_of("locked", world.city)
    card_of("locked", person, world.city, SocialStatus.ACTIVE)
    world.insert("locked")
    done = drive(begin(world, "pin_reset", HR, variant="reset"), {"presenter": HOLDER})
    assert done.refusal is not None and done.refusal.code == "secure_pad_cannot_reload"
    assert world.city.commands == [] and world.written() == (0, 0, 0)
    done = drive(begin(world, "pin_reset", HR, variant="unblock"), {"presenter": HOLDER})
    assert done.kind is StepKind.DONE  # 解锁 needs no PIN


def test_the_holder_is_found_by_the_id_card_reader() -> None:
    world = World()
    person = holder_of("card_a", world.city)
    card_of("card_a", person, world.city, SocialStatus.ACTIVE)
    ctx = world.ctx(HR)
    ctx.id_reader = FakeIdReader(
        IdCardData(
            person["id_number"],
            "张三",
            "1",
            "01",
            date(1990, 1, 1),
            "乐山市市中区",
            "乐山市公安局市中区分局",
            date(2020, 1, 1),
            None,
        )
    )
    flow = start("report_loss", ctx, variant="formal")
    assert [o.value for o in flow.step.options] == ["use_id_reader"]
    step = flow.submit({"choice": "use_id_reader"})
    assert step.key == "presenter" and flow.state["data"]["person"]["name"] == "张三"
    ctx.id_reader = FakeIdReader(None)
    flow = start("report_loss", ctx, variant="formal")
    step = flow.submit({"use_id_reader": True})
    assert step.problem is not None and step.problem.code == "no_id_card"
    assert drive(flow, {"identify": by_id(person), "presenter": HOLDER}).kind is StepKind.DONE
