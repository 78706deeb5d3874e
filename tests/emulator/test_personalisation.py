"""Prefab personalisation: §7.3 APDUs on card B, the §5.11 name split, and what a blank prefab holds."""

from __future__ import annotations

import pytest

from counter_app.emulator import TEST_CARDS, EmulatedCard, EmulatedPsam
from counter_app.emulator.encoding import name_fields
from counter_app.emulator.errors import EncodingError
from counter_app.emulator.issuance import HolderData, IssueData, ef06_values, issue_values
from tests.emulator.helpers import hx, play, send

UPDATES_7_3 = [
    ("00DC0830140812363530313032313938353035303531323358", "00B2083014"),
    ("00DC093020091EC2F2C2F2CCE1BDADA1A4B0A2B2BBB6BCC8C8BACFC2FCA1A4B0ACBACFC2F2", "00B2093020"),
    ("00DC4E30164E14CCE1A1A4CDD0BAF5CCE1FFFFFFFFFFFFFFFFFFFF", "00B24E3016"),
    ("00DC0A30030A0131", "00B20A3003"),
    ("00DC0B30030B0105", "00B20B3003"),
    ("00DC0C30050C03650102", "00B20C3005"),
    ("00DC0D30060D0419850505", "00B20D3006"),
    ("00DC052806050420250615", "00B2052806"),
    ("00DC062806060420350614", "00B2062806"),
    ("00DC07280B0709533131303030303236", "00B207280B"),
]


def _external_auth_5_5(card: EmulatedCard, psam: EmulatedPsam) -> None:
    card.fixed_challenges([bytes.fromhex("0F1E2D3C4B5A6978")])
    play(
        [
            ("card", "0084000008", "0F1E2D3C4B5A69789000"),
            ("PSAM", "801A040010511100D156000005A0B1C2D3E4F50617", "9000"),
            ("PSAM", "80FA0000080F1E2D3C4B5A6978", "6110"),
            ("PSAM", "00C0000010", "D5E0FF5850214F5FD1E84C68A41AF46F9000"),
            ("card", "0082000410D5E0FF5850214F5FD1E84C68A41AF46F", "9000"),
        ],
        card,
        psam,
    )


def test_7_3_card_b_blank_before_personalisation(card_b: EmulatedCard) -> None:
    for tag in (0x05, 0x06, 0x07):
        assert card_b.record(0x05, tag) is None
    assert send(card_b, "00B207280B") == "0709" + "FF" * 9 + "9000"
    assert send(card_b, "00B2032806") == "0304332E30309000"  # a prefab is 3.00
    assert send(card_b, "00B2083014") == "6982"  # EF06 of a prefab needs a key, like 3.00


def test_7_3_card_b_personalisation_transcript(card_b: EmulatedCard, psam: EmulatedPsam) -> None:
    _external_auth_5_5(card_b, psam)
    for update, read_back in UPDATES_7_3:
        assert send(card_b, update) == "9000", update
        assert send(card_b, read_back) == update[10:] + "9000", read_back
    name, extension = card_b.record(0x06, 0x09), card_b.record(0x06, 0x4E)
    assert name is not None and extension is not None
    full = name.rstrip(b"\x00") + extension.rstrip(b"\xff")
    assert full.decode("gbk") == "买买提江·阿不都热合曼·艾合买提·托乎提"


def test_7_3_errors(card_b: EmulatedCard, psam: EmulatedPsam) -> None:
    assert send(card_b, UPDATES_7_3[0][0]) == "6982"  # without §5.5
    _external_auth_5_5(card_b, psam)
    too_long = "00DC093021" + "0922" + "C2F2" * 15 + "41"
    assert send(card_b, too_long) == "6700"
    assert card_b.record(0x06, 0x09) is None  # unchanged
    assert send(card_b, "00DC012812" + "0110" + "00" * 16) == "6985"


def test_7_3_update_data_equal_our_encoding_of_the_intended_holder() -> None:
    target = TEST_CARDS["card_b"].intended_holder
    assert target is not None
    holder = HolderData(
        target.social_security_number,
        target.name,
        target.sex,
        target.ethnicity,
        target.birthplace,
        target.birth_date,
    )
    values = ef06_values(holder, "prefab") | issue_values(
        IssueData(target.card_number, target.issue_date, target.expiry_date)
    )
    for update, _ in UPDATES_7_3:
        data = hx(update)[5:]
        assert values[data[0]] == data[2:]


def test_5_11_long_name_split() -> None:
    fields = name_fields("买买提江·阿不都热合曼·艾合买提·托乎提", has_extension=True)
    assert fields.name == hx("C2F2C2F2CCE1BDADA1A4B0A2B2BBB6BCC8C8BACFC2FCA1A4B0ACBACFC2F2")
    assert fields.extension == hx("CCE1A1A4CDD0BAF5CCE1FFFFFFFFFFFFFFFFFFFF")


def test_5_11_boundary_never_cuts_a_character() -> None:
    fields = name_fields("A一二三四五六七八九十甲乙丙丁戊", has_extension=True)
    assert fields.name == hx("41D2BBB6FEC8FDCBC4CEE5C1F9C6DFB0CBBEC5CAAEBCD7D2D2B1FBB6A100")
    assert fields.extension == hx("CEEC") + b"\xff" * 18


@pytest.mark.parametrize(
    ("name", "has_extension"),
    [
        ("陈𠈌", True),  # outside GBK
        ("买买提江·阿不都热合曼·艾合买提·托乎提", False),  # 40 bytes on a 1.00 card
        ("买" * 26, True),  # 52 bytes > 30 + 20
    ],
)
def test_names_the_chip_cannot_hold_are_refused_not_truncated(name: str, has_extension: bool) -> None:
    with pytest.raises(EncodingError):
        name_fields(name, has_extension=has_extension)
