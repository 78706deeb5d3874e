"""The card's APDU rules: evaluation order (§3.0), T=0 delivery (§1.4), SELECT, READ/UPDATE RECORD forms."""

from __future__ import annotations

import pytest

from counter_app.emulator import EmulatedCard, build_card
from tests.emulator.helpers import SELECT_FINANCE, SELECT_MF, SELECT_SSSE, authenticate, in_ssse, send

FCI = "6F19840F7378312E73682EC9E7BBE1B1A3D5CFA5069F0C03860103"


# --- §3.0 evaluation order ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("", "6700"),
        ("00", "6700"),
        ("00CA", "6D00"),  # step 1 comes before the form
        ("00B0960006", "6D00"),  # a PSAM command is unknown to the card
        ("80B2012812", "6E00"),
        ("00 5E 01 00 07 123456FF654321", "6E00"),  # CHANGE PIN is CLA 80
        ("8024000004 00000000", "6E00"),  # PIN UNBLOCK is CLA 84
        ("00B201", "6700"),
        ("00B2012812 00", "6700"),  # case 3 for a case-2 INS
        ("00A404000F7378", "6700"),  # Lc 0F but 2 data bytes
        ("00A404000F", "6700"),  # 5 bytes for an INS that takes data
        ("00A40400", "6700"),
        ("00B2002812", "6A86"),  # READ RECORD P1 00
        ("00B2012A12", "6A86"),  # P2 bits 3–1 = 010
        ("00B2012B40", "6A86"),  # P2 bits 3–1 = 011
        ("00B2012E40", "6A86"),  # 110
        ("00DC012D03020131", "6A86"),  # UPDATE RECORD has no multi-record form (101)
        ("00DC0A3503" + "0A0131", "6A86"),
        ("00A4010002EF05", "6A86"),
        ("00A4040402EF05", "6A86"),
        ("0084000108", "6A86"),
        ("0020000103123456", "6A86"),
        ("805E020007123456FF654321", "6A86"),
        ("0082010A10" + "00" * 16, "6A86"),
    ],
)
def test_steps_one_to_three(command: str, expected: str) -> None:
    assert send(in_ssse(build_card("card_a")), command) == expected


@pytest.mark.parametrize(
    "command",
    [
        "0020000003123456",
        "00200000",
        "805E010007123456FF654321",
        "805E000007654321C6E03A43",
        "842400000406B4C6E3",
        "0082000A10" + "00" * 16,
        "0088000810" + "00" * 16,
        "00DC0A30030A0131",
    ],
)
@pytest.mark.parametrize("where", ["MF", "金融"])
def test_step_four_ssse_commands_outside_ssse(command: str, where: str) -> None:
    card = build_card("card_a")
    if where == "金融":
        assert send(card, SELECT_FINANCE) == "6118"
    assert send(card, command) == "6985"
    assert card.pin_tries_left == 6


def test_get_challenge_works_in_any_application() -> None:
    card = build_card("card_a")
    assert send(card, "0084000008").endswith("9000")
    assert send(card, SELECT_FINANCE) == "6118"
    assert send(card, "0084000008").endswith("9000")


# --- §1.4 T=0 rules -----------------------------------------------------------------------------


def test_r1_r4_select_fci_pending_then_get_response() -> None:
    card = build_card("card_a")
    assert send(card, SELECT_SSSE) == "611B"
    assert send(card, "00C000001A") == "6C1B"  # wrong Le: pending kept
    assert send(card, "00C0000000") == "6C1B"  # 00 = 256
    assert send(card, "00C00000") == "6C1B"  # Le absent
    assert send(card, "00C000001B") == FCI + "9000"
    assert send(card, "00C000001B") == "6985"  # pending cleared


def test_r2_case_4_select() -> None:
    card = build_card("card_a")
    assert send(card, SELECT_SSSE + "00") == FCI + "9000"
    assert send(card, SELECT_SSSE + "1B") == FCI + "9000"
    assert send(card, "00C000001B") == "6985"  # nothing pending after R2


def test_r2_case_4_wrong_le_selects_nothing() -> None:
    card = build_card("card_a")
    assert send(card, SELECT_SSSE + "10") == "6C1B"
    assert send(card, "00C000001B") == "6985"
    assert send(card, "00200000") == "6985"  # SSSE was not selected


def test_r5_any_other_command_discards_pending() -> None:
    card = build_card("card_a")
    assert send(card, SELECT_SSSE) == "611B"
    assert send(card, "00CA000000") == "6D00"  # even an unknown command
    assert send(card, "00C000001B") == "6985"


def test_malformed_get_response_keeps_pending() -> None:
    card = build_card("card_a")
    assert send(card, SELECT_SSSE) == "611B"
    assert send(card, "00C001001B") == "6A86"
    assert send(card, "00C000001B") == FCI + "9000"


@pytest.mark.parametrize("le", ["", "00", "11", "FF"])
def test_r3_read_record_wrong_le(card_a: EmulatedCard, le: str) -> None:
    assert send(card_a, "00B20128" + le) == "6C12"


def test_get_challenge_le_rules(card_a: EmulatedCard) -> None:
    card_a.fixed_challenges([bytes(8), bytes.fromhex("0102030405060708")])
    assert send(card_a, "00840000") == "6C08"
    assert send(card_a, "0084000010") == "6C08"
    assert send(card_a, "0084000008") == "00" * 8 + "9000"  # the 6C answers made no challenge
    assert send(card_a, "0084000008") == "01020304050607089000"


def test_random_challenges_differ_after_the_fixed_ones_run_out(card_a: EmulatedCard) -> None:
    card_a.fixed_challenges([bytes(8)])
    assert send(card_a, "0084000008") == "00" * 8 + "9000"
    answers = {send(card_a, "0084000008") for _ in range(4)}
    assert len(answers) == 4


def test_fixed_challenges_must_be_8_bytes(card_a: EmulatedCard) -> None:
    with pytest.raises(ValueError, match="8 bytes"):
        card_a.fixed_challenges([bytes(7)])


# --- §3.1 SELECT ----------------------------------------------------------------------------------


def test_select_with_p2_0c_returns_no_fci() -> None:
    card = build_card("card_a")
    assert send(card, "00A4040C0F7378312E73682EC9E7BBE1B1A3D5CF") == "9000"
    assert send(card, "00200000") == "63C6"


def test_select_is_exact_match_only() -> None:
    card = build_card("card_a")
    assert send(card, "00A404000E7378312E73682EC9E7BBE1B1A3D5") == "6A82"  # partial AID
    assert send(card, "00A4040007A0000003330101") == "6A82"
    assert send(card, "00A404000E315041592E5359532E4444463031") == "6A82"  # PSE, not emulated


def test_unknown_select_changes_nothing(card_a: EmulatedCard) -> None:
    authenticate(card_a, 0x0A)
    assert send(card_a, "00A4040005A000000001") == "6A82"
    assert send(card_a, "00A4020002EF07") == "6A82"
    assert card_a.security_state == {0x0A}
    assert send(card_a, "00B2093020").endswith("9000")


def test_select_by_aid_or_mf_empties_s_select_ef_keeps_it(card_a: EmulatedCard) -> None:
    authenticate(card_a, 0x0A)
    assert send(card_a, "00A4020002EF06") == "9000"
    assert card_a.security_state == {0x0A}
    assert send(card_a, SELECT_SSSE) == "611B"  # SSSE again
    assert card_a.security_state == frozenset()
    authenticate(card_a, 0x0A)
    assert send(card_a, SELECT_MF) == "9000"
    assert card_a.security_state == frozenset()
    assert send(card_a, SELECT_SSSE) == "611B"
    authenticate(card_a, 0x04)
    assert send(card_a, SELECT_FINANCE) == "6118"
    assert card_a.security_state == frozenset()


def test_select_ef_only_inside_ssse() -> None:
    card = build_card("card_a")
    assert send(card, "00A4020002EF05") == "6A82"
    assert send(card, SELECT_FINANCE) == "6118"
    assert send(card, "00A4000002EF05") == "6A82"
    in_ssse(card)
    assert send(card, "00A4000002EF05") == "9000"  # P1 00 accepted too


def test_selecting_the_finance_application_clears_the_verified_flag(card_a: EmulatedCard) -> None:
    assert send(card_a, "0020000003123456") == "9000"
    assert card_a.pin_verified
    assert send(card_a, SELECT_FINANCE) == "6118"
    assert not card_a.pin_verified


def test_fci_without_9f0c() -> None:
    card = build_card("card_a", algorithm_id=None)
    assert send(card, SELECT_SSSE) == "6113"
    assert send(card, "00C0000013") == "6F11840F7378312E73682EC9E7BBE1B1A3D5CF9000"


def test_fci_with_another_algorithm() -> None:
    card = build_card("card_a", algorithm_id=0x01)
    assert send(card, SELECT_SSSE + "00") == FCI[:-2] + "01" + "9000"


# --- §3.2–§3.3 READ RECORD ------------------------------------------------------------------------


def test_read_record_four_forms(card_a: EmulatedCard) -> None:
    assert send(card_a, "00B2032806") == "0304332E30309000"  # tag, SFI
    assert send(card_a, "00B2032C06") == "0304332E30309000"  # record number, SFI
    assert send(card_a, "00B2070400") == "6C0B"  # current EF is EF05 now
    assert send(card_a, "00B207040B") == "07095331313030303031389000"  # record number, current EF
    assert send(card_a, "00B2070007") == "6C0B"
    assert send(card_a, "00B207000B") == "07095331313030303031389000"  # tag, current EF


def test_current_ef_by_select_ef_and_its_absence(card_a: EmulatedCard) -> None:
    assert send(card_a, "00B2090020") == "6986"
    assert send(card_a, "00A4020002EF06") == "9000"
    assert send(card_a, "00B2090020") == "6982"  # EF06 on 3.00 without a key
    authenticate(card_a, 0x04)  # 04 also grants read
    assert send(card_a, "00B2090020").startswith("091ED5C5C8FD")


def test_read_record_file_and_record_errors(card_a: EmulatedCard) -> None:
    assert send(card_a, "00B2013C12") == "6A82"  # SFI 7 not in SSSE
    assert send(card_a, "00B2010C12") == "6A82"  # SFI 1 is the 金融 file
    assert send(card_a, "00B2082812") == "6A83"  # tag 08 is not in EF05
    assert send(card_a, "00B2082C12") == "6A83"  # no record 8 in EF05
    assert send(card_a, "00B2FF2C12") == "6A83"


def test_read_record_in_mf_finds_no_file() -> None:
    card = build_card("card_a")
    assert send(card, "00B2012812") == "6A82"
    assert send(card, "00B2010012") == "6986"


def test_a_6c_answer_does_not_set_the_current_ef(card_a: EmulatedCard) -> None:
    assert send(card_a, "00B2072800") == "6C0B"
    assert send(card_a, "00B2070007") == "6986"


@pytest.mark.parametrize("name", ["emeishan_v2", "qianwei_v1"])
def test_ef06_is_free_to_read_on_1_00_and_2_00(name: str) -> None:
    card = in_ssse(build_card(name))
    assert send(card, "00B2083014").endswith("9000")


@pytest.mark.parametrize("name", ["card_a", "card_b", "muchuan_v3"])
def test_ef06_needs_0a_or_04_on_3_00_and_prefab(name: str) -> None:
    card = in_ssse(build_card(name))
    assert send(card, "00B2083014") == "6982"
    authenticate(card, 0x0A)
    assert send(card, "00B2083014").endswith("9000")


def test_finance_read_by_tag_is_record_not_found() -> None:
    card = build_card("card_a")
    assert send(card, SELECT_FINANCE) == "6118"
    assert send(card, "00B25A080C") == "6A83"


# --- §3.3.1 READ RECORD, all records from P1 ----------------------------------------------------------

EF05_ALL = (
    "0110511100D15600000512345678ABCDEF010201310304332E3030040C511100000000000000000001"
    "0504202503010604203502280709533131303030303138"
)


@pytest.mark.parametrize(("command", "expected"), [("00B2012D40", "9000"), ("00B2012D00", "6C40")])
def test_multi_record_read_passes_step_three(card_a: EmulatedCard, command: str, expected: str) -> None:
    assert send(card_a, command).endswith(expected)


def test_multi_record_read_from_a_later_record(card_a: EmulatedCard) -> None:
    assert send(card_a, "00B2052D00") == "6C17"  # records 5–7: 6 + 6 + 11 bytes
    assert send(card_a, "00B2052D17") == "05042025030106042035022807095331313030303031389000"


def test_multi_record_read_on_the_current_ef(card_a: EmulatedCard) -> None:
    assert send(card_a, "00B2010540") == "6986"  # no current EF yet
    assert send(card_a, "00A4020002EF05") == "9000"
    assert send(card_a, "00B2010540") == EF05_ALL + "9000"


def test_multi_record_read_sets_the_current_ef_only_on_success(card_a: EmulatedCard) -> None:
    assert send(card_a, "00B2012D00") == "6C40"  # R3: no side effect
    assert send(card_a, "00B207000B") == "6986"
    assert send(card_a, "00B2012D40") == EF05_ALL + "9000"
    assert send(card_a, "00B207000B") == "07095331313030303031389000"


def test_multi_record_read_of_ef06_with_the_write_key(card_a: EmulatedCard) -> None:
    authenticate(card_a, 0x04)  # 04 also grants read (§2.5)
    assert send(card_a, "00B201355B").startswith("0812353131313032313939303031303131323339091E")


@pytest.mark.parametrize("name", ["emeishan_v2", "qianwei_v1"])
def test_multi_record_read_of_ef06_is_free_on_1_00_and_2_00(name: str) -> None:
    card = in_ssse(build_card(name))
    length = 0x45 if name == "qianwei_v1" else 0x5B
    assert send(card, "00B2013500") == f"6C{length:02X}"
    answer = send(card, f"00B20135{length:02X}")
    assert answer.endswith("9000") and len(answer) // 2 == length + 2


def test_multi_record_read_in_the_finance_application_equals_the_single_read() -> None:
    card = build_card("card_a")
    assert send(card, SELECT_FINANCE) == "6118"
    assert send(card, "00B2010D00") == "6C0E"
    assert send(card, "00B2010D0E") == "700C5A0A6230999900000001231F9000"
    assert send(card, "00B2020D00") == "6A83"


@pytest.mark.parametrize("command", ["00B2012D40", "00B201355B", "00B2010540", "00B2002D40", "00B2012D"])
def test_hook_multi_record_read_off_answers_6a86(command: str) -> None:
    card = in_ssse(build_card("card_a", multi_record_read=False))
    authenticate(card, 0x0A)
    assert send(card, command) == "6A86"
    assert send(card, "00B2012812") == "0110511100D15600000512345678ABCDEF019000"  # single reads unchanged
    assert send(card, "00B2033416") == "4E14" + "FF" * 20 + "9000"


def test_hook_multi_record_read_off_in_the_finance_application_and_mf() -> None:
    card = build_card("card_a", multi_record_read=False)
    assert send(card, "00B2012D40") == "6A86"  # step 3 comes before the file check
    assert send(card, SELECT_FINANCE) == "6118"
    assert send(card, "00B2010D0E") == "6A86"
    assert send(card, "00B2010C0E") == "700C5A0A6230999900000001231F9000"


# --- §3.4 UPDATE RECORD ---------------------------------------------------------------------------


def test_update_record_order_of_checks(card_a: EmulatedCard) -> None:
    assert send(card_a, "00DC0B30030B0107") == "6982"  # no 04 in S
    authenticate(card_a, 0x0A)
    assert send(card_a, "00DC0B30030B0107") == "6982"  # 0A does not grant UPDATE
    authenticate(card_a, 0x04)
    assert send(card_a, "00DC0B3C030B0107") == "6A82"  # SFI 7
    assert send(card_a, "00DC0B00030B0107") == "6986"  # no current EF (SELECT reset it)
    assert send(card_a, "00DC5530035501FF") == "6A83"
    assert send(card_a, "00DC022803020132") == "6985"  # EF05 01–04 never
    assert send(card_a, "00DC0B30030C0107") == "6A80"  # data tag ≠ record tag
    assert send(card_a, "00DC0B30040B020107") == "6700"  # L ≠ 1
    assert send(card_a, "00DC0B30040B010700") == "6700"  # Lc ≠ L + 2
    assert send(card_a, "00DC0B30020B01") == "6700"
    assert send(card_a, "00DC0B30010B") == "6700"
    assert card_a.record(0x06, 0x0B) == b"\x01"
    assert send(card_a, "00DC0B30030B0107") == "9000"
    assert card_a.record(0x06, 0x0B) == b"\x07"


def test_update_by_record_number_and_current_ef(card_a: EmulatedCard) -> None:
    authenticate(card_a, 0x04)
    assert send(card_a, "00DC053403" + "0B0107") == "9000"  # EF06 record 5 is 0B on 3.00
    assert send(card_a, "00DC0C00050C03511181") == "9000"  # current EF = EF06 now
    assert card_a.record(0x06, 0x0C) == bytes.fromhex("511181")
    assert send(card_a, "00DC01340312") == "6700"  # record 1 (08) with a short value


def test_update_with_trailing_le_is_accepted(card_a: EmulatedCard) -> None:
    authenticate(card_a, 0x04)
    assert send(card_a, "00DC0B30030B010700") == "9000"


def test_update_in_the_finance_application_is_refused() -> None:
    card = build_card("card_a")
    assert send(card, SELECT_FINANCE) == "6118"
    assert send(card, "00DC010C0E700C5A0A6230999900000001231F") == "6985"


def test_update_does_not_check_content(card_a: EmulatedCard) -> None:
    authenticate(card_a, 0x04)
    assert send(card_a, "00DC0A30030A01FF") == "9000"
    assert card_a.record(0x06, 0x0A) is None  # FF reads as blank
