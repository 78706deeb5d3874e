"""Every card/PSAM known-answer transcript of card-protocol §5.2 and §5.4–§5.14, byte for byte."""

from __future__ import annotations

import pytest

from counter_app.emulator import TEST_CARDS, EmulatedCard, EmulatedPsam, build_card, build_psam
from counter_app.emulator.issuance import card_image
from counter_app.emulator.keys import TEST_MASTER_KEYS
from tests.emulator.helpers import SELECT_FINANCE, SELECT_PSAM, SELECT_SSSE, authenticate, in_ssse, play, send

FCI_SSSE = "6F19840F7378312E73682EC9E7BBE1B1A3D5CFA5069F0C038601039000"


@pytest.mark.parametrize(
    ("name", "atr"),
    [("card_a", "3B6D00000081454D000000000012345678"), ("card_b", "3B6D00000081454D0000000000A0B1C2D3")],
)
def test_atr_of_cards_a_and_b(name: str, atr: str) -> None:
    assert build_card(name).atr().hex().upper() == atr


def test_psam_atr_and_terminal_number() -> None:
    psam = build_psam()
    assert psam.atr().hex().upper() == "3B6C00000081454D5053414D00000001"
    assert psam.terminal_number == "511100900001"


def test_5_4_external_authenticate_read_key_card_a(card_a: EmulatedCard, psam: EmulatedPsam) -> None:
    card_a.fixed_challenges([bytes.fromhex("1122334455667788")] * 2)
    play(
        [
            ("card", "0084000008", "11223344556677889000"),
            ("PSAM", "801A0A0010511100D15600000512345678ABCDEF01", "9000"),
            ("PSAM", "80FA0000081122334455667788", "6110"),
            ("PSAM", "00C0000010", "09DE477B50DEA199E6650E8E61E652719000"),
            ("card", "0082000A1009DE477B50DEA199E6650E8E61E65271", "9000"),
            ("card", "0084000008", "11223344556677889000"),
            ("card", "0082000A1009DE477B50DEA199E6650E8E61E65270", "63CE"),
        ],
        card_a,
        psam,
    )
    assert card_a.key_tries_left(0x0A) == 14
    assert 0x0A not in card_a.security_state


def test_5_5_external_authenticate_write_key_card_b(card_b: EmulatedCard, psam: EmulatedPsam) -> None:
    card_b.fixed_challenges([bytes.fromhex("0F1E2D3C4B5A6978")])
    play(
        [
            ("card", "0084000008", "0F1E2D3C4B5A69789000"),
            ("PSAM", "801A040010511100D156000005A0B1C2D3E4F50617", "9000"),
            ("PSAM", "80FA0000080F1E2D3C4B5A6978", "6110"),
            ("PSAM", "00C0000010", "D5E0FF5850214F5FD1E84C68A41AF46F9000"),
            ("card", "0082000410D5E0FF5850214F5FD1E84C68A41AF46F", "9000"),
        ],
        card_b,
        psam,
    )
    assert card_b.security_state == {0x04}


def test_5_6_internal_authenticate_card_a(card_a: EmulatedCard, psam: EmulatedPsam) -> None:
    play(
        [
            ("card", "008800081001020304050607080000000000000000", "6110"),
            ("card", "00C0000010", "6AA9AEA31C5B3F5B84EDBB56379DBE559000"),
            ("PSAM", "801A080010511100D15600000512345678ABCDEF01", "9000"),
            ("PSAM", "80FA0000080102030405060708", "6110"),
            ("PSAM", "00C0000010", "6AA9AEA31C5B3F5B84EDBB56379DBE559000"),
        ],
        card_a,
        psam,
    )


def test_5_7_reload_pin_card_a(card_a: EmulatedCard, psam: EmulatedPsam) -> None:
    card_a.fixed_challenges([bytes.fromhex("8877665544332211")])
    play(
        [
            ("card", "0084000008", "88776655443322119000"),
            ("PSAM", "801A060010511100D15600000512345678ABCDEF01", "9000"),
            ("PSAM", "80FA0100108877665544332211805E000007654321", "6104"),
            ("PSAM", "00C0000004", "C6E03A439000"),
            ("card", "805E000007654321C6E03A43", "9000"),
        ],
        card_a,
        psam,
    )
    assert card_a.pin_matches("654321") and card_a.pin_tries_left == 6


def test_5_8_pin_unblock_card_a(card_a: EmulatedCard, psam: EmulatedPsam) -> None:
    card_a.fixed_challenges([bytes.fromhex("A1A2A3A4A5A6A7A8")])
    play(
        [
            ("card", "0084000008", "A1A2A3A4A5A6A7A89000"),
            ("PSAM", "801A070010511100D15600000512345678ABCDEF01", "9000"),
            ("PSAM", "80FA01000DA1A2A3A4A5A6A7A88424000004", "6104"),
            ("PSAM", "00C0000004", "06B4C6E39000"),
            ("card", "842400000406B4C6E3", "9000"),
        ],
        card_a,
        psam,
    )
    assert card_a.pin_matches("123456") and card_a.pin_tries_left == 6


GOLDEN_CARD_ROWS = [
    ("SELECT SSSE", SELECT_SSSE, "611B"),
    ("READ 卡号, Le 00", "00B2072800", "6C0B"),
    ("READ EF06 on 3.00 with S empty", "00B2083014", "6982"),
    ("VERIFY 123456", "0020000003123456", "9000"),
    ("VERIFY wrong (1st)", "0020000003111111", "63C5"),
    ("empty VERIFY", "00200000", "63C6"),
    ("VERIFY 12345 (odd length)", "002000000312345F", "63C5"),
    ("CHANGE PIN 123456→654321", "805E010007123456FF654321", "9000"),
    ("GET CHALLENGE, wrong Le", "0084000000", "6C08"),
    ("unknown INS", "00CA000000", "6D00"),
]


@pytest.mark.parametrize(("purpose", "command", "response"), GOLDEN_CARD_ROWS)
def test_5_9_golden_apdus_on_card_a(purpose: str, command: str, response: str) -> None:
    card = in_ssse(build_card("card_a"))
    assert send(card, command) == response, purpose


def test_5_9_golden_get_response_and_psam_rows(card_a: EmulatedCard) -> None:
    assert send(card_a, "00C000001B") == FCI_SSSE
    psam = build_psam()
    play(
        [
            ("PSAM", SELECT_PSAM, "610A"),
            ("PSAM", "00C000000A", "6F088406D156000005909000"),
            ("PSAM", "00B0960006", "5111009000019000"),
        ],
        card_a,
        psam,
    )


def test_5_9_change_pin_really_changed_it(card_a: EmulatedCard) -> None:
    assert send(card_a, "805E010007123456FF654321") == "9000"
    assert card_a.pin_matches("654321")
    assert not card_a.pin_matches("123456")


CARD_A_RECORDS = [
    ("00B2012812", "0110511100D15600000512345678ABCDEF01"),
    ("00B2022803", "020131"),
    ("00B2032806", "0304332E3030"),
    ("00B204280E", "040C511100000000000000000001"),
    ("00B2052806", "050420250301"),
    ("00B2062806", "060420350228"),
    ("00B207280B", "0709533131303030303138"),
    ("00B2083014", "0812353131313032313939303031303131323339"),
    ("00B2093020", "091ED5C5C8FD" + "00" * 26),
    ("00B24E3016", "4E14" + "FF" * 20),
    ("00B20A3003", "0A0131"),
    ("00B20B3003", "0B0101"),
    ("00B20C3005", "0C03511102"),
    ("00B20D3006", "0D0419900101"),
]


@pytest.mark.parametrize(("command", "data"), CARD_A_RECORDS)
def test_5_10_card_a_record_set(card_a: EmulatedCard, command: str, data: str) -> None:
    authenticate(card_a, 0x0A)  # EF06 on 3.00 needs 0A (or 04) in S
    assert send(card_a, command) == data + "9000"


def test_5_10_card_a_holder_values_via_inspection() -> None:
    card = build_card("card_a")
    assert card.record(0x06, 0x09) == "张三".encode("gbk").ljust(30, b"\x00")
    assert card.record(0x06, 0x4E) is None  # FF×20 reads as blank
    assert card.card_id.hex().upper() == "511100D15600000512345678ABCDEF01"


def _card_a_on_1_00() -> EmulatedCard:
    spec = TEST_CARDS["card_a"]
    image = card_image(
        profile="1.00",
        card_id=spec.card_id,
        master_keys=TEST_MASTER_KEYS,
        pan=spec.pan,
        holder=spec.holder(),
        issue=spec.issue(),
    )
    return in_ssse(EmulatedCard(image))


def test_5_10_one_point_zero_variant_of_card_a() -> None:
    card = _card_a_on_1_00()
    assert send(card, "00B2032806") == "0304312E30309000"
    assert send(card, "00B2033403") == "0A01319000"  # 性别 is record 3 on 1.00, read by number
    assert send(card, "00B24E3016") == "6A83"
    assert send(card, "00B2073406") == "6A83"  # no record 7 in EF06 on 1.00
    assert send(card, "00B20A3003") == "0A01319000"  # by tag: the same on every version
    assert send(card, "00B2083014") == "0812353131313032313939303031303131323339" + "9000"  # free on 1.00


def test_5_10_record_three_by_number_on_3_00_is_the_extension(card_a: EmulatedCard) -> None:
    authenticate(card_a, 0x0A)
    assert send(card_a, "00B2033416") == "4E14" + "FF" * 20 + "9000"


@pytest.mark.parametrize("name", sorted(TEST_CARDS))
def test_5_12_finance_application_on_every_test_card(name: str) -> None:
    card = build_card(name)
    play(
        [
            ("card", SELECT_FINANCE, "6118"),
            ("card", "00C0000018", "6F168408A000000333010101A50A5008556E696F6E5061799000"),
            ("card", "00B2010C00", "6C0E"),
            ("card", "00B2010C0E", "700C5A0A6230999900000001231F9000"),
            ("card", "00B2020C00", "6A83"),
            ("card", "00B2011400", "6A82"),
        ],
        card,
    )
    assert card.pan == "6230999900000001231"


def test_5_13_read_card_bas_transcript_on_card_a() -> None:
    card = build_card("card_a")
    psam = build_psam()
    card.fixed_challenges([bytes.fromhex("1122334455667788")])
    play(
        [
            ("card", SELECT_SSSE, "611B"),
            ("card", "00C000001B", FCI_SSSE),
            ("card", "00B2012812", "0110511100D15600000512345678ABCDEF019000"),
            ("card", "00B2032806", "0304332E30309000"),
            ("card", "00B2052806", "0504202503019000"),
            ("card", "00B2062806", "0604203502289000"),
            ("card", "00B207280B", "07095331313030303031389000"),
            ("PSAM", SELECT_PSAM, "610A"),
            ("PSAM", "00C000000A", "6F088406D156000005909000"),
            ("PSAM", "00B0960006", "5111009000019000"),
            ("card", "0084000008", "11223344556677889000"),
            ("PSAM", "801A0A0010511100D15600000512345678ABCDEF01", "9000"),
            ("PSAM", "80FA0000081122334455667788", "6110"),
            ("PSAM", "00C0000010", "09DE477B50DEA199E6650E8E61E652719000"),
            ("card", "0082000A1009DE477B50DEA199E6650E8E61E65271", "9000"),
            ("card", "00B2083014", "08123531313130323139393030313031313233399000"),
            ("card", "00B2093020", "091ED5C5C8FD00000000000000000000000000000000000000000000000000009000"),
            ("card", "00B24E3016", "4E14FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF9000"),
        ],
        card,
        psam,
    )


# --- §5.14 multi-record read (§3.3.1) -----------------------------------------------------------------

EF05_ALL = (
    "0110511100D15600000512345678ABCDEF010201310304332E3030040C511100000000000000000001"
    "0504202503010604203502280709533131303030303138"
)
EF06_ALL = (
    "0812353131313032313939303031303131323339091ED5C5C8FD0000000000000000000000000000000000000000"
    "0000000000004E14FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF0A01310B01010C035111020D0419900101"
)
EF06_ALL_1_00 = (
    "0812353131313032313939303031303131323339091ED5C5C8FD0000000000000000000000000000000000000000"
    "0000000000000A01310B01010C035111020D0419900101"
)
CARD_B_EF06_ALL = (  # §5.14, the prefab's blank EF06 as stored
    "0812FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
    "091EFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
    "4E14FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
    "0A01FF0B01FF0C03FFFFFF0D04FFFFFFFF"
)


EF06_BLANK_LAYOUT = (("08", 18), ("09", 30), ("4E", 20), ("0A", 1), ("0B", 1), ("0C", 3), ("0D", 4))


def test_5_14_vectors_are_the_5_10_records_concatenated() -> None:
    ef05 = "".join(data for command, data in CARD_A_RECORDS if command[6:8] == "28")
    ef06 = "".join(data for command, data in CARD_A_RECORDS if command[6:8] == "30")
    assert (ef05, ef06) == (EF05_ALL, EF06_ALL)
    assert (len(EF05_ALL) // 2, len(EF06_ALL) // 2, len(EF06_ALL_1_00) // 2) == (0x40, 0x5B, 0x45)
    assert EF06_ALL.replace("4E14" + "FF" * 20, "") == EF06_ALL_1_00
    blank = "".join(f"{tag}{length:02X}" + "FF" * length for tag, length in EF06_BLANK_LAYOUT)
    assert blank == CARD_B_EF06_ALL and len(CARD_B_EF06_ALL) // 2 == 0x5B


def test_5_14_full_read_transcript_on_card_a() -> None:
    card = build_card("card_a")
    psam = build_psam()
    card.fixed_challenges([bytes.fromhex("1122334455667788")])
    play(
        [
            ("card", SELECT_SSSE, "611B"),
            ("card", "00C000001B", FCI_SSSE),
            ("card", "00B2012D40", EF05_ALL + "9000"),
            ("PSAM", SELECT_PSAM, "610A"),
            ("PSAM", "00C000000A", "6F088406D156000005909000"),
            ("PSAM", "00B0960006", "5111009000019000"),
            ("card", "0084000008", "11223344556677889000"),
            ("PSAM", "801A0A0010511100D15600000512345678ABCDEF01", "9000"),
            ("PSAM", "80FA0000081122334455667788", "6110"),
            ("PSAM", "00C0000010", "09DE477B50DEA199E6650E8E61E652719000"),
            ("card", "0082000A1009DE477B50DEA199E6650E8E61E65271", "9000"),
            ("card", "00B201355B", EF06_ALL + "9000"),
        ],
        card,
        psam,
    )


MULTI_READ_ROWS_CARD_A = [
    ("EF05, Le 00", "00B2012D00", "6C40"),
    ("EF05, no Le", "00B2012D", "6C40"),
    ("EF05, Le too short", "00B2012D12", "6C40"),
    ("EF06 on 3.00 with S empty", "00B201355B", "6982"),
    ("EF05 from record 7 (the last)", "00B2072D0B", "07095331313030303031389000"),
    ("EF05 from record 8 (none)", "00B2082D00", "6A83"),
    ("P1 00", "00B2002D40", "6A86"),
    ("UPDATE RECORD, bits 101", "00DC012D03020131", "6A86"),
    ("SFI 01 inside SSSE", "00B2010D00", "6A82"),
]


@pytest.mark.parametrize(("purpose", "command", "response"), MULTI_READ_ROWS_CARD_A)
def test_5_14_more_rows_on_card_a(purpose: str, command: str, response: str) -> None:
    card = in_ssse(build_card("card_a"))
    assert send(card, command) == response, purpose


def test_5_14_le_00_then_the_exact_le(card_a: EmulatedCard) -> None:
    assert send(card_a, "00B2012D00") == "6C40"
    assert send(card_a, "00B2012D40") == EF05_ALL + "9000"


def test_5_14_card_b_blank_records_as_stored(card_b: EmulatedCard, psam: EmulatedPsam) -> None:
    card_b.fixed_challenges([bytes.fromhex("0F1E2D3C4B5A6978")])
    play(
        [
            ("card", "0084000008", "0F1E2D3C4B5A69789000"),
            ("PSAM", "801A040010511100D156000005A0B1C2D3E4F50617", "9000"),
            ("PSAM", "80FA0000080F1E2D3C4B5A6978", "6110"),
            ("PSAM", "00C0000010", "D5E0FF5850214F5FD1E84C68A41AF46F9000"),
            ("card", "0082000410D5E0FF5850214F5FD1E84C68A41AF46F", "9000"),
            ("card", "00B201355B", CARD_B_EF06_ALL + "9000"),
        ],
        card_b,
        psam,
    )


def test_5_14_one_point_zero_variant_of_card_a() -> None:
    card = _card_a_on_1_00()
    assert send(card, "00B2012D40") == EF05_ALL.replace("0304332E3030", "0304312E3030") + "9000"
    play(
        [
            ("card", "00B201355B", "6C45"),
            ("card", "00B2013545", EF06_ALL_1_00 + "9000"),
            ("card", "00B2033511", "0A01310B01010C035111020D04199001019000"),
            ("card", "00B2073500", "6A83"),
        ],
        card,
    )


def test_5_14_a_card_that_refuses_the_multi_record_read() -> None:
    card = build_card("card_a", multi_record_read=False)
    assert not card.multi_record_read
    card.fixed_challenges([bytes.fromhex("1122334455667788")])
    play(
        [
            ("card", SELECT_SSSE, "611B"),
            ("card", "00C000001B", FCI_SSSE),
            ("card", "00B2012D40", "6A86"),
            *[("card", command, data + "9000") for command, data in CARD_A_RECORDS[:7]],
            ("card", "0084000008", "11223344556677889000"),
            ("card", "0082000A1009DE477B50DEA199E6650E8E61E65271", "9000"),
            *[("card", command, data + "9000") for command, data in CARD_A_RECORDS[7:]],
            ("card", "00B201355B", "6A86"),  # the hook refuses on every file, after authentication too
        ],
        card,
    )
