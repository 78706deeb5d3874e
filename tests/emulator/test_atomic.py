"""Atomic UPDATE RECORD: a power loss leaves the complete old or the complete new record (§3.4, §7.2)."""

from __future__ import annotations

import pytest

from counter_app.emulator import InProcessTransport, PowerLoss, build_card
from counter_app.workflows.ports import CardRemovedError
from tests.emulator.helpers import SELECT_SSSE, authenticate, hx, in_ssse, send

NAME_UPDATE = "00DC093020091EC2F2C2F2CCE1BDADA1A4B0A2B2BBB6BCC8C8BACFC2FCA1A4B0ACBACFC2F2"
NEW_NAME = hx(NAME_UPDATE)[7:]


@pytest.mark.parametrize(("mode", "expected"), [("before_commit", None), ("after_commit", NEW_NAME)])
def test_power_loss_through_the_transport(mode: str, expected: bytes | None) -> None:
    card = build_card("card_b")
    slot = InProcessTransport("模拟读卡器 0", card)
    assert slot.transmit(hx(SELECT_SSSE)) == hx("611B")
    authenticate(card, 0x04)
    card.power_loss_on_next_update(mode)  # type: ignore[arg-type]
    with pytest.raises(CardRemovedError):
        slot.transmit(hx(NAME_UPDATE))
    assert not slot.present
    assert card.record(0x06, 0x09) == expected  # old (blank) or new, never a mix
    with pytest.raises(CardRemovedError):
        slot.transmit(hx("00B2093020"))
    slot.insert(card)
    assert card.security_state == frozenset()  # power lost: S, challenge, selection are gone
    assert slot.transmit(hx("00B2093020")) == hx("6A82")  # MF is current again
    assert slot.transmit(hx(SELECT_SSSE)) == hx("611B")
    authenticate(card, 0x04)
    assert slot.transmit(hx(NAME_UPDATE)) == hx("9000")  # rewriting is idempotent
    assert card.record(0x06, 0x09) == NEW_NAME


def test_power_loss_directly_raises_power_loss_and_resets_the_session() -> None:
    card = in_ssse(build_card("card_a"))
    authenticate(card, 0x04)
    card.power_loss_on_next_update("after_commit")
    with pytest.raises(PowerLoss):
        card.process(hx("00DC0B30030B0107"))
    assert card.record(0x06, 0x0B) == b"\x07"
    assert card.security_state == frozenset()


def test_hook_stays_armed_until_an_update_reaches_its_commit() -> None:
    card = in_ssse(build_card("card_a"))
    card.power_loss_on_next_update("before_commit")
    assert send(card, "00DC0B30030B0107") == "6982"  # refused before the commit point
    assert send(card, "0020000003123456") == "9000"  # other writes are not affected
    authenticate(card, 0x04)
    with pytest.raises(PowerLoss):
        card.process(hx("00DC0B30030B0107"))
    assert card.record(0x06, 0x0B) == b"\x01"
    card.power_on()
    assert send(card, SELECT_SSSE) == "611B"
    authenticate(card, 0x04)
    assert send(card, "00DC0B30030B0107") == "9000"  # fires once only


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="mode"):
        build_card("card_a").power_loss_on_next_update("during")  # type: ignore[arg-type]


def test_other_records_are_untouched_by_a_lost_update() -> None:
    card = in_ssse(build_card("card_a"))
    authenticate(card, 0x04)
    before = {tag: card.record(0x06, tag) for tag in (0x08, 0x09, 0x0A, 0x0C, 0x0D)}
    card.power_loss_on_next_update("after_commit")
    with pytest.raises(PowerLoss):
        card.process(hx("00DC0B30030B0107"))
    assert {tag: card.record(0x06, tag) for tag in before} == before
