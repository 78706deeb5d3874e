"""PIN commands and the 6-try counter (card-protocol §3.8–§3.12)."""

from __future__ import annotations

import pytest

from counter_app.emulator import EmulatedCard, build_card
from counter_app.emulator.crypto import diversify, mac
from counter_app.emulator.keys import TEST_MASTER_KEYS
from tests.emulator.helpers import SELECT_SSSE, hx, in_ssse, send

CHALLENGE = bytes.fromhex("0102030405060708")


def _reload(card: EmulatedCard, pin_block: str, *, challenge: bytes = CHALLENGE) -> str:
    """RELOAD PIN with a correct MAC over header ‖ Lc ‖ PIN block."""
    card.fixed_challenges([challenge])
    assert send(card, "0084000008") == challenge.hex().upper() + "9000"
    header = hx(f"805E0000{len(hx(pin_block)) + 4:02X}") + hx(pin_block)
    key = diversify(TEST_MASTER_KEYS[0x06], card.card_id)
    return send(card, header.hex() + mac(key, challenge, header).hex())


def _unblock(card: EmulatedCard) -> str:
    card.fixed_challenges([CHALLENGE])
    assert send(card, "0084000008").endswith("9000")
    key = diversify(TEST_MASTER_KEYS[0x07], card.card_id)
    return send(card, "8424000004" + mac(key, CHALLENGE, hx("8424000004")).hex())


def test_counter_sequence_63c5_to_6983_then_locked_even_for_the_right_pin(card_a: EmulatedCard) -> None:
    answers = [send(card_a, "0020000003111111") for _ in range(6)]
    assert answers == ["63C5", "63C4", "63C3", "63C2", "63C1", "6983"]
    assert card_a.pin_tries_left == 0
    assert send(card_a, "0020000003123456") == "6983"
    assert send(card_a, "00200000") == "6983"
    assert send(card_a, "805E010007123456FF654321") == "6983"
    assert card_a.pin_matches("123456")


def test_right_pin_resets_the_counter(card_a: EmulatedCard) -> None:
    assert send(card_a, "0020000003111111") == "63C5"
    assert send(card_a, "0020000003111111") == "63C4"
    assert send(card_a, "0020000003123456") == "9000"
    assert card_a.pin_tries_left == 6
    assert send(card_a, "00200000") == "63C6"


@pytest.mark.parametrize("command", ["00200000", "0020000000", "002000000000"])
def test_empty_verify_forms_do_not_count(card_a: EmulatedCard, command: str) -> None:
    assert send(card_a, "0020000003111111") == "63C5"
    assert send(card_a, command) == "63C5"
    assert card_a.pin_tries_left == 5


def test_the_counter_survives_a_reset(card_a: EmulatedCard) -> None:
    assert send(card_a, "0020000003111111") == "63C5"
    card_a.reset()
    assert send(card_a, SELECT_SSSE) == "611B"
    assert send(card_a, "00200000") == "63C5"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("002000000112", "6700"),  # Lc 01
        ("0020000009123456789012345678", "6700"),  # Lc 09
        ("0020000003", "6700"),  # Lc 03, no data
        ("002000000312345A", "6A80"),
        ("0020000003F23456", "6A80"),
        ("002000000212FF", "6A80"),  # two F nibbles
        ("0020000002123F", "6A80"),  # 3 digits: fewer than 4 (emulator decision, §3.8)
    ],
)
def test_verify_length_and_format_errors_are_not_counted(
    card_a: EmulatedCard, command: str, expected: str
) -> None:
    assert send(card_a, command) == expected
    assert card_a.pin_tries_left == 6


def test_pin_lengths_4_to_16_digits() -> None:
    card = in_ssse(build_card("card_a"))
    assert send(card, "805E01000D123456FF123456789012345678") == "6A80"  # 9-byte new part
    assert send(card, "805E01000C123456FF1234567890123456") == "9000"  # 16 digits
    assert card.pin_matches("1234567890123456")
    assert send(card, "00200000081234567890123456") == "9000"
    assert send(card, "805E01000C1234567890123456FF12345F") == "9000"  # 5 digits, F-padded
    assert card.pin_matches("12345")
    assert send(card, "805E01000612345FFF2468") == "9000"  # 4 digits
    assert card.pin_matches("2468")


def test_locked_test_card_answers_6983_but_accepts_reload() -> None:
    card = in_ssse(build_card("locked"))
    assert send(card, "00200000") == "6983"
    assert send(card, "0020000003112233") == "6983"
    assert _reload(card, "246810") == "9000"
    assert card.pin_tries_left == 6
    assert card.pin_matches("246810")
    assert send(card, "0020000003246810") == "9000"


def test_change_pin_errors(card_a: EmulatedCard) -> None:
    assert send(card_a, "805E010006123456654321") == "6A80"  # no FF
    assert send(card_a, "805E01000412FF3456") == "6A80"  # old part too short
    assert send(card_a, "805E010007123456FF65432A") == "6A80"
    assert send(card_a, "805E010008123456FF654321FF") == "6A80"  # FF inside the new part
    assert card_a.pin_tries_left == 6
    assert send(card_a, "805E010007111111FF654321") == "63C5"  # counted as a wrong VERIFY
    assert card_a.pin_matches("123456")
    assert send(card_a, "805E010007123456FF654321") == "9000"
    assert card_a.pin_tries_left == 6


def test_change_pin_5_bytes_is_a_form_error(card_a: EmulatedCard) -> None:
    assert send(card_a, "805E010007") == "6700"


def test_reload_checks(card_a: EmulatedCard) -> None:
    assert send(card_a, "805E000007654321C6E03A43") == "6984"  # no challenge
    assert send(card_a, "805E00000512C6E03A43") == "6700"  # Lc 05
    assert send(card_a, "805E00000D" + "11" * 13) == "6700"  # Lc 0D
    card_a.fixed_challenges([CHALLENGE])
    assert send(card_a, "0084000008").endswith("9000")
    assert send(card_a, "805E000007654321C6E03A43") == "6988"  # MAC of another challenge
    assert send(card_a, "805E000007654321C6E03A43") == "6984"  # the challenge was consumed
    assert _reload(card_a, "65432A") == "6A80"  # MAC right, format wrong
    assert card_a.pin_matches("123456")
    assert card_a.pin_tries_left == 6


def test_mac_failures_do_not_touch_the_counter(card_a: EmulatedCard) -> None:
    assert send(card_a, "0020000003111111") == "63C5"
    card_a.fixed_challenges([CHALLENGE])
    send(card_a, "0084000008")
    assert send(card_a, "842400000400000000") == "6988"
    assert card_a.pin_tries_left == 5


def test_unblock_resets_the_counter_and_keeps_the_pin() -> None:
    card = in_ssse(build_card("locked"))
    assert _unblock(card) == "9000"
    assert card.pin_tries_left == 6
    assert card.pin_matches("112233")
    assert send(card, "0020000003112233") == "9000"


def test_unblock_checks(card_a: EmulatedCard) -> None:
    assert send(card_a, "842400000406B4C6E3") == "6984"
    assert send(card_a, "842400000306B4C6") == "6700"
    assert _unblock(card_a) == "9000"  # also when not locked


def test_reload_also_unlocks_and_a_challenge_is_consumed_by_any_command(card_a: EmulatedCard) -> None:
    for _ in range(6):
        send(card_a, "0020000003111111")
    card_a.fixed_challenges([CHALLENGE])
    assert send(card_a, "0084000008").endswith("9000")
    assert send(card_a, "00200000") == "6983"  # consumes the challenge
    key = diversify(TEST_MASTER_KEYS[0x06], card_a.card_id)
    header = hx("805E000007654321")
    assert send(card_a, header.hex() + mac(key, CHALLENGE, header).hex()) == "6984"
    assert _reload(card_a, "654321") == "9000"
    assert send(card_a, "0020000003654321") == "9000"
