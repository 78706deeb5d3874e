"""TLV, FCI, ATR, iReadCardBas and PIN encoding; hypothesis: parsers raise only their own error."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from counter_app.card import readcardbas, tlv
from counter_app.card.atr import historical_bytes
from counter_app.card.cardinfo import CardInfo
from counter_app.card.errors import (
    InitialPinRefused,
    PinFormatError,
    ReadCardBasFormatError,
    RecordFormatError,
    TlvFormatError,
)
from counter_app.card.pin import check_new_pin, encode_pin, is_initial_pin
from counter_app.card.records import Field, decode, decode_name, parse_record
from counter_app.card.ssse import algorithm_of
from counter_app.workflows.ports import SecretPin
from tests.card.helpers import CARD_A_ATR, FCI_SSSE, PSAM_ATR

# --- TLV and the FCI ------------------------------------------------------------------------------


def test_fci_of_ssse_gives_algorithm_03() -> None:
    assert algorithm_of(bytes.fromhex(FCI_SSSE)) == 0x03
    items = tlv.parse(bytes.fromhex(FCI_SSSE))
    found = tlv.find(items, 0x84)
    assert found is not None and found.value == bytes.fromhex("7378312E73682EC9E7BBE1B1A3D5CF")


def test_fci_without_9f0c_means_algorithm_01() -> None:
    assert algorithm_of(bytes.fromhex("6F11840F7378312E73682EC9E7BBE1B1A3D5CF")) == 0x01


def test_financial_record_template() -> None:
    found = tlv.find(tlv.parse(bytes.fromhex("700C5A0A6230999900000001231F")), 0x5A)
    assert found is not None and found.value.hex().upper() == "6230999900000001231F"


def test_long_lengths_and_multibyte_tags() -> None:
    data = bytes.fromhex("9F0C8103860105") + bytes.fromhex("DF81010100")
    items = tlv.parse(data)
    assert [i.tag for i in items] == [0x9F0C, 0xDF8101]


@pytest.mark.parametrize("data", ["6F05840F", "9F", "5A83010000", "70"])
def test_malformed_tlv(data: str) -> None:
    with pytest.raises(TlvFormatError):
        tlv.parse(bytes.fromhex(data))


# --- ATR ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("atr", "history"),
    [
        (CARD_A_ATR.hex(), "0081454D000000000012345678"),
        (PSAM_ATR.hex(), "0081454D5053414D00000001"),
        ("3B6800000073C84013009000", "0073C84013009000"),
        ("3BBE9600004103000000000000000000000290", "4103000000000000000000000290"),  # TA1 TB1 TD1
        ("3B8F8001804F0CA000000306030001000000006A", "804F0CA00000030603000100000000"),  # TD1 TD2, TCK
        ("3B", ""),
    ],
)
def test_historical_bytes(atr: str, history: str) -> None:
    assert historical_bytes(bytes.fromhex(atr)).hex().upper() == history.upper()


@given(st.binary(max_size=40))
def test_historical_bytes_never_raise(atr: bytes) -> None:
    assert len(historical_bytes(atr)) <= 15


# --- iReadCardBas -----------------------------------------------------------------------------------


def test_parse_spec_example_with_extras() -> None:
    text = (
        "511100|511102199001011239|S11000018|511100D15600000512345678ABCDEF01|张三|"
        "0081454D000000000012345678|3.00|20250301|20350228|511100900001|00010100202500000001|PSAMCHIP01|ABC|"
    )
    parsed = readcardbas.parse(text)
    assert parsed.name == "张三" and parsed.terminal_device_number == "00010100202500000001"
    assert parsed.extras == ("PSAMCHIP01", "ABC")
    assert readcardbas.build(parsed) == text
    assert readcardbas.parse(text.encode("gbk")) == parsed


def test_parse_nine_fields_of_a_3_0_driver_without_psam() -> None:
    parsed = readcardbas.parse("411600|||411600D156000005AA||008C|3.00|20211203|20311202|")
    assert parsed.ssn == "" and parsed.terminal_id == "" and parsed.terminal_device_number == ""
    assert parsed.expiry_date == "20311202" and parsed.extras == ()


def test_parse_spec_reference_example() -> None:
    parsed = readcardbas.parse(
        "639900|111111198101011110|X00000019|639900D15600000500BF7C7A48FB4966|张三|"
        "00814E43238697159900BF7C7A|1.00|20101001|20201001|<终端机编号>|<终端设备号>|"
    )
    assert parsed.card_number == "X00000019" and parsed.terminal_id == "<终端机编号>"


@pytest.mark.parametrize("text", ["", "a|b|c|", "1|2|3|4|5|6|7|8|"])
def test_too_few_fields(text: str) -> None:
    with pytest.raises(ReadCardBasFormatError):
        readcardbas.parse(text)


def test_build_refuses_a_separator_inside_a_field() -> None:
    value = readcardbas.parse("1|2|3|4|5|6|7|8|9|")
    with pytest.raises(ReadCardBasFormatError):
        readcardbas.build(readcardbas.ReadCardBas(*("x|y",) * 9))
    assert readcardbas.build(value) == "1|2|3|4|5|6|7|8|9|||"


def test_from_card_info_takes_the_first_nine_characters_of_the_card_number() -> None:
    info = CardInfo(
        atr=CARD_A_ATR,
        historical_bytes=historical_bytes(CARD_A_ATR),
        algorithm=3,
        card_id="511100D15600000512345678ABCDEF01",
        card_type="1",
        spec_version="3.00",
        init_org="",
        issue_date="20250301",
        expiry_date="20350228",
        card_number="S11000018",
        ssn="",
        name="",
        sex="",
        ethnicity="",
        birthplace="",
        birth_date="",
    )
    value = readcardbas.from_card_info(info)
    assert value.historical_bytes == "0081454D000000000012345678" and value.region == "511100"
    assert info.issue_date_value is not None and info.issue_date_value.year == 2025 and info.generation == 3


# --- PIN encoding ----------------------------------------------------------------------------------


def pin(text: str) -> SecretPin:
    return SecretPin(bytearray(text.encode()))


@pytest.mark.parametrize(
    ("digits", "encoded"),
    [("123456", "123456"), ("12345", "12345F"), ("1234", "1234"), ("1234567890123456", "1234567890123456")],
)
def test_pin_encoding(digits: str, encoded: str) -> None:
    result = encode_pin(pin(digits))
    assert isinstance(result, bytearray) and result.hex().upper() == encoded


@pytest.mark.parametrize("digits", ["123", "12345678901234567", "12a456", "12 456", ""])
def test_pin_format_refused_without_showing_digits(digits: str) -> None:
    with pytest.raises(PinFormatError) as caught:
        encode_pin(pin(digits))
    assert caught.value.interface_code == -33
    assert not any(
        c.isdigit() for c in caught.value.message.replace("4", "").replace("16", "").replace("6", "")
    )


def test_new_pin_rules() -> None:
    with pytest.raises(InitialPinRefused) as caught:
        check_new_pin(pin("123456"), (6, 6))
    assert caught.value.interface_code == -36 and caught.value.message == "新密码不能是初始密码"
    with pytest.raises(PinFormatError, match="6 位"):
        check_new_pin(pin("1234"), (6, 6))
    check_new_pin(pin("1234"), (4, 16))
    assert is_initial_pin(pin("123456")) and not is_initial_pin(pin("1234567"))


# --- hypothesis: each parser raises only its own typed error -----------------------------------------


@given(st.binary(max_size=64), st.sampled_from(list(Field)))
def test_record_parser_raises_only_record_format_error(data: bytes, item: Field) -> None:
    with contextlib.suppress(RecordFormatError):
        decode(item, parse_record(item, data))


@given(st.binary(max_size=40), st.binary(max_size=30))
def test_name_decoding_never_raises(name: bytes, extension: bytes) -> None:
    text, _ = decode_name(name, extension)
    assert isinstance(text, str)


@given(st.binary(max_size=300))
def test_tlv_parser_raises_only_tlv_format_error(data: bytes) -> None:
    with contextlib.suppress(TlvFormatError):
        tlv.find(tlv.parse(data), 0x5A)


@given(st.binary(max_size=300))
def test_algorithm_of_raises_only_tlv_format_error(data: bytes) -> None:
    with contextlib.suppress(TlvFormatError):
        algorithm_of(data)


@given(st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_readcardbas_parser_raises_only_its_own_error(raw: bytes | str) -> None:
    try:
        parsed = readcardbas.parse(raw)
    except ReadCardBasFormatError:
        return
    assert len(parsed.fields()) >= 11


@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_characters="|\x00\r\n"), max_size=12),
        min_size=9,
        max_size=14,
    )
)
def test_readcardbas_round_trip(fields: list[str]) -> None:
    text = "".join(f + "|" for f in fields)
    parsed = readcardbas.parse(text)
    padded = fields + [""] * (11 - len(fields))
    assert parsed.fields()[: len(padded)] == tuple(padded)
