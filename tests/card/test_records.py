"""EF05/EF06 codecs: card A's records (§5.10), the long name and the boundary rule (§5.11)."""

from __future__ import annotations

from datetime import date

import pytest

from counter_app.card.errors import InvalidWriteData, NameNotWritable, RecordFormatError
from counter_app.card.records import (
    Field,
    decode,
    decode_name,
    encode,
    encode_date,
    encode_name,
    has_name_extension,
    parse_record,
    record_data,
)

# §5.10: item, text, READ response data
CARD_A = [
    (Field.CARD_ID, "511100D15600000512345678ABCDEF01", "0110511100D15600000512345678ABCDEF01"),
    (Field.CARD_TYPE, "1", "020131"),
    (Field.SPEC_VERSION, "3.00", "0304332E3030"),
    (Field.INIT_ORG, "511100000000000000000001", "040C511100000000000000000001"),
    (Field.ISSUE_DATE, "20250301", "050420250301"),
    (Field.EXPIRY_DATE, "20350228", "060420350228"),
    (Field.CARD_NUMBER, "S11000018", "0709533131303030303138"),
    (Field.SSN, "511102199001011239", "0812353131313032313939303031303131323339"),
    (Field.SEX, "1", "0A0131"),
    (Field.ETHNICITY, "01", "0B0101"),
    (Field.BIRTHPLACE, "511102", "0C03511102"),
    (Field.BIRTH_DATE, "19900101", "0D0419900101"),
]


@pytest.mark.parametrize(("item", "text", "response"), CARD_A)
def test_card_a_records_decode_and_encode(item: Field, text: str, response: str) -> None:
    data = bytes.fromhex(response)
    assert decode(item, parse_record(item, data)) == text
    assert record_data(item, encode(item, text)) == data


def test_card_a_name_and_dates() -> None:
    name, extension = encode_name("张三")
    assert record_data(Field.NAME, name).hex().upper() == "091ED5C5C8FD" + "00" * 26
    assert record_data(Field.NAME_EXTENSION, extension).hex().upper() == "4E14" + "FF" * 20
    assert decode_name(name, extension) == ("张三", True)
    assert encode_date(Field.BIRTH_DATE, date(1990, 1, 1)) == bytes.fromhex("19900101")


def test_long_name_card_b_splits_on_a_character_boundary() -> None:
    name, extension = encode_name("买买提江·阿不都热合曼·艾合买提·托乎提")
    assert record_data(Field.NAME, name).hex().upper() == (
        "091EC2F2C2F2CCE1BDADA1A4B0A2B2BBB6BCC8C8BACFC2FCA1A4B0ACBACFC2F2"
    )
    assert record_data(Field.NAME_EXTENSION, extension).hex().upper() == (
        "4E14CCE1A1A4CDD0BAF5CCE1" + "FF" * 10
    )
    assert decode_name(name, extension) == ("买买提江·阿不都热合曼·艾合买提·托乎提", True)


def test_boundary_name_never_cuts_a_character() -> None:
    name, extension = encode_name("A一二三四五六七八九十甲乙丙丁戊")
    assert name.hex().upper() == "41D2BBB6FEC8FDCBC4CEE5C1F9C6DFB0CBBEC5CAAEBCD7D2D2B1FBB6A100"
    assert extension.hex().upper() == "CEEC" + "FF" * 18


def test_name_too_long_for_a_1_00_card_is_refused() -> None:
    with pytest.raises(NameNotWritable, match="姓名过长"):
        encode_name("买买提江·阿不都热合曼·艾合买提·托乎提", has_extension=False)
    assert not has_name_extension("1.00") and has_name_extension("2.00") and has_name_extension("3.00")


def test_name_too_long_for_both_fields_is_refused() -> None:
    with pytest.raises(NameNotWritable, match="姓名过长"):
        encode_name("一" * 26)


def test_name_outside_gbk_is_refused_never_substituted() -> None:
    with pytest.raises(NameNotWritable) as caught:
        encode_name("李𬌗")
    assert caught.value.unwritable == ("𬌗",)


def test_record_numbers_on_1_00_cards() -> None:
    assert Field.SEX.record_number("1.00") == 3 and Field.SEX.record_number("3.00") == 4
    assert Field.NAME_EXTENSION.record_number("1.00") is None
    assert Field.BIRTH_DATE.record_number("1.00") == 6


@pytest.mark.parametrize(
    ("item", "value", "text"),
    [
        (Field.CARD_NUMBER, "FF" * 9, ""),  # blank prefab
        (Field.ISSUE_DATE, "FFFFFFFF", ""),
        (Field.SSN, "4142" + "00" * 16, "AB"),  # short an, 00-padded
        (Field.SSN, "4142" + "FF" * 16, "AB"),  # FF-padded tolerated
        (Field.BIRTHPLACE, "5111FF", "5111"),  # cn stops at the first F
    ],
)
def test_decoding_tolerates_padding(item: Field, value: str, text: str) -> None:
    assert decode(item, bytes.fromhex(value)) == text


def test_blank_names_and_bad_gbk() -> None:
    assert decode_name(b"\xff" * 30, b"\xff" * 20) == ("", True)
    text, ok = decode_name(b"\xd5\xc5\x80\x00", b"")
    assert not ok and "\ufffd" in text


@pytest.mark.parametrize(
    ("item", "data", "fragment"),
    [
        (Field.CARD_NUMBER, "08095331313030303031", "标签"),
        (Field.CARD_NUMBER, "070953", "长度字节"),
        (Field.CARD_NUMBER, "0708" + "31" * 8, "应为 9 字节"),
        (Field.CARD_NUMBER, "07", "不足"),
        (Field.ETHNICITY, "0B01A1", "BCD"),
        (Field.CARD_NUMBER, "0709" + "E5" * 9, "ASCII"),
    ],
)
def test_malformed_records(item: Field, data: str, fragment: str) -> None:
    with pytest.raises(RecordFormatError, match=fragment):
        decode(item, parse_record(item, bytes.fromhex(data)))


@pytest.mark.parametrize(
    ("item", "text"),
    [
        (Field.CARD_NUMBER, "S110000181"),
        (Field.CARD_NUMBER, ""),
        (Field.CARD_NUMBER, "S11 00018"),
        (Field.ETHNICITY, "1"),
        (Field.BIRTH_DATE, "1990010"),
        (Field.CARD_ID, "XYZ"),
        (Field.NAME, "张三"),
    ],
)
def test_encoding_refuses_what_does_not_fit(item: Field, text: str) -> None:
    with pytest.raises(InvalidWriteData):
        encode(item, text)


def test_field_lookup_by_tag() -> None:
    assert Field.by_tag(0x06, 0x4E) is Field.NAME_EXTENSION
    with pytest.raises(KeyError):
        Field.by_tag(0x05, 0x4E)
