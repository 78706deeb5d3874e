"""The emulated PSAM (card-protocol §2.8, §3.13)."""

from __future__ import annotations

import pytest

from counter_app.emulator import EmulatedPsam, build_psam
from counter_app.emulator.crypto import cryptogram, diversify, mac
from counter_app.emulator.keys import TEST_MASTER_KEYS
from tests.emulator.helpers import SELECT_PSAM, hx, send

CARD_A = "511100D15600000512345678ABCDEF01"


@pytest.mark.parametrize(
    "command",
    ["00B0960006", "801A0A0010" + CARD_A, "80FA0000081122334455667788", "80FA010008" + "00" * 8],
)
def test_nothing_but_select_before_the_application_is_selected(command: str) -> None:
    assert send(build_psam(), command) == "6985"


def test_get_response_with_nothing_pending() -> None:
    assert send(build_psam(), "00C000000A") == "6985"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("00", "6700"),
        ("00CA000000", "6D00"),
        ("0084000008", "6D00"),  # a card command
        ("80A4040006D15600000590", "6E00"),
        ("001A0A0010" + CARD_A, "6E00"),
        ("00A4040C06D15600000590", "6A86"),
        ("00B0970006", "6A86"),
        ("00B0960106", "6A86"),
        ("801A0A0110" + CARD_A, "6A86"),
        ("80FA020008" + "00" * 8, "6A86"),
        ("00A4040006D15600000591", "6A82"),
        ("00A4040005D156000005", "6700"),  # Lc not 06 (§3.13: Lc is checked before the AID)
        ("00A4040006", "6700"),
    ],
)
def test_psam_evaluation_order(command: str, expected: str) -> None:
    assert send(build_psam(), command) == expected


def test_read_binary_le_rules(psam: EmulatedPsam) -> None:
    assert send(psam, "00B0960006") == "5111009000019000"
    assert send(psam, "00B09600") == "6C06"
    assert send(psam, "00B0960000") == "6C06"
    assert send(psam, "00B0960008") == "6C06"


def test_cipher_data_needs_a_session_key_and_init_checks(psam: EmulatedPsam) -> None:
    assert send(psam, "80FA0000081122334455667788") == "6985"
    assert send(psam, "801A0A000F" + CARD_A[:30]) == "6700"
    assert send(psam, "801A0B0010" + CARD_A) == "6A88"
    assert send(psam, "801A0A0010" + CARD_A) == "9000"
    assert send(psam, "80FA0000071122334455667788"[:-2]) == "6700"  # Lc 07
    assert send(psam, "80FA000009112233445566778899") == "6700"  # Lc 09 for encrypt
    assert send(psam, "80FA010007" + "00" * 7) == "6700"


def test_session_key_stays_for_further_cipher_data_and_is_cleared(psam: EmulatedPsam) -> None:
    key = diversify(TEST_MASTER_KEYS[0x0A], hx(CARD_A))
    assert send(psam, "801A0A0010" + CARD_A) == "9000"
    for challenge in ("1122334455667788", "0102030405060708"):
        assert send(psam, "80FA000008" + challenge) == "6110"
        assert send(psam, "00C0000010") == cryptogram(key, hx(challenge)).hex().upper() + "9000"
    assert send(psam, "801A0B0010" + CARD_A) == "6A88"  # a failed INIT drops the old session key
    assert send(psam, "80FA0000081122334455667788") == "6985"
    assert send(psam, "801A0A0010" + CARD_A) == "9000"
    assert send(psam, SELECT_PSAM) == "610A"  # SELECT clears it
    assert send(psam, "80FA0000081122334455667788") == "6985"
    assert send(psam, "801A0A0010" + CARD_A) == "9000"
    psam.reset()
    assert send(psam, "80FA0000081122334455667788") == "6985"  # reset: not even selected


def test_cipher_data_case_4_and_mac_of_an_empty_message(psam: EmulatedPsam) -> None:
    key = diversify(TEST_MASTER_KEYS[0x07], hx(CARD_A))
    assert send(psam, "801A070010" + CARD_A) == "9000"
    assert (
        send(psam, "80FA0100080102030405060708" + "00")
        == mac(key, hx("0102030405060708"), b"").hex().upper() + "9000"
    )
    assert send(psam, "80FA0100080102030405060708" + "05") == "6C04"
    long_message = "AB" * 247
    assert send(psam, "80FA0100FF0102030405060708" + long_message) == "6104"
    assert (
        send(psam, "00C0000004") == mac(key, hx("0102030405060708"), hx(long_message)).hex().upper() + "9000"
    )


def test_get_response_pending_rules(psam: EmulatedPsam) -> None:
    assert send(psam, "801A0A0010" + CARD_A) == "9000"
    assert send(psam, "80FA0000081122334455667788") == "6110"
    assert send(psam, "00C0000008") == "6C10"
    assert send(psam, "00C0000010") == "09DE477B50DEA199E6650E8E61E652719000"
    assert send(psam, "00C0000010") == "6985"
    assert send(psam, "80FA0000081122334455667788") == "6110"
    assert send(psam, "00B0960006").endswith("9000")  # R5: discards the pending data
    assert send(psam, "00C0000010") == "6985"


def test_custom_master_keys_and_terminal_number() -> None:
    psam = EmulatedPsam({0x0A: bytes(16)}, terminal_number="511102000042")
    assert psam.terminal_number == "511102000042"
    assert send(psam, SELECT_PSAM + "00") == "6F088406D156000005909000"
    assert send(psam, "00B0960006") == "5111020000429000"
    assert send(psam, "801A040010" + CARD_A) == "6A88"
