"""EXTERNAL / INTERNAL AUTHENTICATE and the security state S (card-protocol §2.5, §3.5–§3.7)."""

from __future__ import annotations

import pytest

from counter_app.emulator import EmulatedCard
from counter_app.emulator.crypto import cryptogram, diversify
from counter_app.emulator.keys import TEST_MASTER_KEYS
from tests.emulator.helpers import SELECT_SSSE, authenticate, send

CHALLENGE = bytes.fromhex("1122334455667788")
GOOD_0A = "0082000A1009DE477B50DEA199E6650E8E61E65271"
BAD_0A = "0082000A1009DE477B50DEA199E6650E8E61E65270"


def _challenge(card: EmulatedCard) -> None:
    card.fixed_challenges([CHALLENGE])
    assert send(card, "0084000008") == CHALLENGE.hex().upper() + "9000"


def test_fifteen_tries_then_blocked(card_a: EmulatedCard) -> None:
    answers = []
    for _ in range(15):
        _challenge(card_a)
        answers.append(send(card_a, BAD_0A))
    assert answers == [f"63C{x:X}" for x in range(14, 0, -1)] + ["6983"]
    _challenge(card_a)
    assert send(card_a, GOOD_0A) == "6983"  # blocked even with the right cryptogram
    assert card_a.key_tries_left(0x0A) == 0
    assert card_a.key_tries_left(0x04) == 15  # counters are per key


def test_success_resets_the_key_counter(card_a: EmulatedCard) -> None:
    _challenge(card_a)
    assert send(card_a, BAD_0A) == "63CE"
    _challenge(card_a)
    assert send(card_a, GOOD_0A) == "9000"
    assert card_a.key_tries_left(0x0A) == 15


def test_failed_authentication_removes_the_key_from_s(card_a: EmulatedCard) -> None:
    authenticate(card_a, 0x0A)
    authenticate(card_a, 0x04)
    assert card_a.security_state == {0x0A, 0x04}
    _challenge(card_a)
    assert send(card_a, BAD_0A) == "63CE"
    assert card_a.security_state == {0x04}


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("0082000A0F" + "00" * 15, "6700"),
        ("0082000610" + "00" * 16, "6A88"),  # key 06 authenticates RELOAD by MAC, not here
        ("0082000810" + "00" * 16, "6A88"),
        ("0082000110" + "00" * 16, "6A88"),
    ],
)
def test_external_authenticate_errors(card_a: EmulatedCard, command: str, expected: str) -> None:
    _challenge(card_a)
    assert send(card_a, command) == expected


def test_no_challenge_and_challenge_consumed_by_any_command(card_a: EmulatedCard) -> None:
    assert send(card_a, GOOD_0A) == "6984"
    _challenge(card_a)
    assert send(card_a, "00B2012812").endswith("9000")  # any command consumes it
    assert send(card_a, GOOD_0A) == "6984"
    _challenge(card_a)
    card_a.reset()
    assert send(card_a, SELECT_SSSE) == "611B"
    assert send(card_a, GOOD_0A) == "6984"
    assert card_a.key_tries_left(0x0A) == 15  # 6984 is not counted


def test_the_challenge_is_consumed_by_a_failed_authentication(card_a: EmulatedCard) -> None:
    _challenge(card_a)
    assert send(card_a, BAD_0A) == "63CE"
    assert send(card_a, GOOD_0A) == "6984"


def test_key_counter_survives_reset(card_a: EmulatedCard) -> None:
    _challenge(card_a)
    assert send(card_a, BAD_0A) == "63CE"
    card_a.power_on()
    assert send(card_a, SELECT_SSSE) == "611B"
    assert card_a.key_tries_left(0x0A) == 14
    assert card_a.security_state == frozenset()


def test_another_cards_cryptogram_fails(card_b: EmulatedCard) -> None:
    _challenge(card_b)
    assert send(card_b, GOOD_0A) == "63CE"  # card A's cryptogram: keys are per card


def test_write_key_with_the_psam_diversification(card_b: EmulatedCard) -> None:
    _challenge(card_b)
    crypt = cryptogram(diversify(TEST_MASTER_KEYS[0x04], card_b.card_id), CHALLENGE)
    assert send(card_b, "0082000410" + crypt.hex()) == "9000"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("0088000810" + "00" * 16 + "00", None),  # R2, Le 00
        ("0088000810" + "00" * 16 + "10", None),  # R2, Le = LL
        ("0088000810" + "00" * 16 + "08", "6C10"),
        ("0088000A10" + "00" * 16, "6A88"),
        ("008800080F" + "00" * 15, "6700"),
    ],
)
def test_internal_authenticate_forms(card_a: EmulatedCard, command: str, expected: str | None) -> None:
    key = diversify(TEST_MASTER_KEYS[0x08], card_a.card_id)
    answer = send(card_a, command)
    if expected is None:
        assert answer == cryptogram(key, bytes(8)).hex().upper() + "9000"
    else:
        assert answer == expected
