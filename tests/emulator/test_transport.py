"""InProcessTransport: the emulator's CardTransport (insert / remove / power loss)."""

from __future__ import annotations

import pytest

from counter_app.emulator import InProcessTransport, build_card, build_psam
from counter_app.workflows.ports import CardRemovedError, CardTransport, TransportError
from tests.emulator.helpers import SELECT_PSAM, SELECT_SSSE, hx


def test_it_is_a_card_transport() -> None:
    slot = InProcessTransport("模拟读卡器 0")
    assert isinstance(slot, CardTransport)
    assert slot.reader_name == "模拟读卡器 0"
    assert issubclass(CardRemovedError, TransportError)


def test_empty_slot_raises_card_removed() -> None:
    slot = InProcessTransport("模拟读卡器 0")
    assert not slot.present
    with pytest.raises(CardRemovedError):
        slot.transmit(hx(SELECT_SSSE))
    with pytest.raises(CardRemovedError):
        slot.atr()
    slot.remove()  # removing from an empty slot is fine


def test_insert_powers_on_and_remove_keeps_the_cards_memory() -> None:
    card = build_card("card_a")
    slot = InProcessTransport("模拟读卡器 0", card)
    assert slot.present
    assert slot.atr() == hx("3B6D00000081454D000000000012345678")
    assert slot.transmit(hx(SELECT_SSSE)) == hx("611B")
    assert slot.transmit(bytearray(hx("0020000003111111"))) == hx("63C5")
    slot.remove()
    assert not slot.present
    with pytest.raises(CardRemovedError):
        slot.transmit(hx("00C000001B"))
    slot.insert(card)
    assert slot.transmit(hx("00C000001B")) == hx("6985")  # nothing pending after power-on
    assert slot.transmit(hx("00200000")) == hx("6985")  # MF current: SSSE not selected
    assert card.pin_tries_left == 5  # non-volatile


def test_insert_replaces_a_card_already_in_the_slot() -> None:
    slot = InProcessTransport("模拟读卡器 0", build_card("card_a"))
    slot.insert(build_card("card_b"))
    assert slot.atr() == hx("3B6D00000081454D0000000000A0B1C2D3")


def test_psam_slot() -> None:
    slot = InProcessTransport("模拟读卡器 SAM", build_psam())
    assert slot.atr() == hx("3B6C00000081454D5053414D00000001")
    assert slot.transmit(hx(SELECT_PSAM)) == hx("610A")
    assert slot.transmit(hx("00C000000A")) == hx("6F088406D156000005909000")


def test_pin_command_bytes_are_not_kept() -> None:
    card = build_card("card_a")
    slot = InProcessTransport("模拟读卡器 0", card)
    slot.transmit(hx(SELECT_SSSE))
    command = bytearray(hx("0020000003987654"))
    assert slot.transmit(command) == hx("63C5")
    assert not any(isinstance(v, bytes | bytearray) for v in vars(slot).values())
    state = repr(vars(card))  # the card stores its own PIN, never a received PIN block
    assert "987654" not in state and repr(bytes(hx("987654")))[2:-1] not in state
