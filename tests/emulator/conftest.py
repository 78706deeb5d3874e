"""Fixtures for the emulator tests: the document's cards A and B and the test PSAM."""

from __future__ import annotations

import pytest

from counter_app.emulator import EmulatedCard, EmulatedPsam, build_card, build_psam
from tests.emulator.helpers import SELECT_PSAM, in_ssse, send


@pytest.fixture
def card_a() -> EmulatedCard:
    """Card A of card-protocol §5.2 (张三, 3.00), SSSE selected."""
    return in_ssse(build_card("card_a"))


@pytest.fixture
def card_b() -> EmulatedCard:
    """Card B of §5.2 (blank prefab), SSSE selected."""
    return in_ssse(build_card("card_b"))


@pytest.fixture
def psam() -> EmulatedPsam:
    """The test PSAM with its application selected."""
    device = build_psam()
    assert send(device, SELECT_PSAM) == "610A"
    assert send(device, "00C000000A") == "6F088406D156000005909000"
    return device
