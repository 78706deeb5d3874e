"""Tests for counter_app.domain.identity (证件号码, 卡号, 卡识别码, 银行卡号, 民族, 行政区划, 姓名写卡)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import luhn
from stdnum.cn import ric

from counter_app.domain.identity import (
    CheckResult,
    DocumentType,
    FailureCode,
    NameFitStatus,
    Sex,
    check_bank_card,
    check_card_identifier,
    check_card_number,
    check_document,
    chip_name_fit,
    ethnicities,
    ethnicity_code,
    ethnicity_name,
    region_name,
)
from counter_app.resources import load_toml

TODAY = date(2025, 6, 30)
ID = DocumentType.RESIDENT_ID
ID_CHARS = "0123456789X"
# Any digit or X in a check-character message could be read as a suggestion.
SUGGESTION = re.compile(r"[0-9Xx]")

_REGIONS = load_toml("identity", "regions.toml")
ID_REGION_CODES = sorted(
    {*_REGIONS["codes"], *_REGIONS["historic"]} - {"830000"}
    | {f"{p}0000" for p in _REGIONS["provinces"] if p not in ("81", "82")}
)


def make_id(region: str, birth: date, sequence: int) -> str:
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")


VALID_IDS = [
    make_id("511102", date(1990, 1, 1), 123),
    make_id("511132", date(1956, 12, 31), 7),
    make_id("511133", date(2000, 2, 29), 998),
    make_id("110101", date(1900, 1, 1), 1),
    "360426199101010071",  # python-stdnum's doc example
]
# Make sure one of them ends in X, so the check character X is exercised.
VALID_IDS.append(next(v for s in range(1000) if (v := make_id("511181", date(1985, 5, 5), s))[-1] == "X"))


# --- 居民身份证 ----------------------------------------------------------------------------------


@given(
    region=st.sampled_from(ID_REGION_CODES),
    birth=st.dates(min_value=date(1900, 1, 1), max_value=TODAY),
    sequence=st.integers(min_value=0, max_value=999),
)
def test_generated_resident_ids_pass(region: str, birth: date, sequence: int) -> None:
    number = make_id(region, birth, sequence)
    result = check_document(ID, number, today=TODAY)
    assert result.ok, result.failures
    assert result.value == number
    assert result.region == region
    assert result.birth_date == birth
    assert result.sex is (Sex.MALE if sequence % 2 else Sex.FEMALE)


@pytest.mark.parametrize("number", VALID_IDS)
def test_every_single_substitution_fails(number: str) -> None:
    assert check_document(ID, number, today=TODAY).ok
    for i, original in enumerate(number):
        for char in ID_CHARS:
            if char != original:
                changed = number[:i] + char + number[i + 1 :]
                assert not check_document(ID, changed, today=TODAY).ok, changed


@pytest.mark.parametrize("number", VALID_IDS)
def test_every_adjacent_transposition_fails(number: str) -> None:
    for i in range(len(number) - 1):
        swapped = number[:i] + number[i + 1] + number[i] + number[i + 2 :]
        if swapped != number:
            assert not check_document(ID, swapped, today=TODAY).ok, swapped


@pytest.mark.parametrize("number", VALID_IDS)
def test_wrong_check_character_names_the_rule_and_suggests_nothing(number: str) -> None:
    for char in ID_CHARS:
        if char == number[-1]:
            continue
        result = check_document(ID, number[:-1] + char, today=TODAY)
        assert result.codes == (FailureCode.CHECK_CHARACTER,)
        for failure in result.failures:
            assert not SUGGESTION.search(failure.message), failure.message
            assert number[-1] not in failure.message


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("51110219900101123", FailureCode.LENGTH),
        ("5111021990010112345", FailureCode.LENGTH),
        ("511102900101123", FailureCode.LENGTH),  # first-generation 15-digit number
        ("51110219900101A23X", FailureCode.CHARACTERS),
        (make_id("511102", date(1990, 1, 1), 1)[:-1] + "Y", FailureCode.CHARACTERS),
        ("", FailureCode.LENGTH),
    ],
)
def test_format_failures(number: str, code: FailureCode) -> None:
    result = check_document(ID, number, today=TODAY)
    assert code in result.codes
    assert result.blocking


@pytest.mark.parametrize(
    "digits",
    ["19900230", "19901301", "18991231", "20250701"],  # not a date, not a date, before 1900, future
)
def test_birth_date_rules(digits: str) -> None:
    body = f"511102{digits}123"
    result = check_document(ID, body + ric.calc_check_digit(body + "0"), today=TODAY)
    assert result.codes == (FailureCode.BIRTH_DATE,)


def test_birth_date_today_is_allowed() -> None:
    assert check_document(ID, make_id("511102", TODAY, 2), today=TODAY).ok


def test_sex_digit_must_match_given_sex() -> None:
    male = make_id("511102", date(1990, 1, 1), 123)
    assert check_document(ID, male, sex=Sex.MALE, today=TODAY).ok
    assert check_document(ID, male, sex=Sex.UNSPECIFIED, today=TODAY).ok
    assert check_document(ID, male, sex=Sex.FEMALE, today=TODAY).codes == (FailureCode.SEX_MISMATCH,)
    female = make_id("511102", date(1990, 1, 1), 124)
    assert check_document(ID, female, sex=Sex.FEMALE, today=TODAY).ok
    assert check_document(ID, female, sex=Sex.MALE, today=TODAY).codes == (FailureCode.SEX_MISMATCH,)


def test_region_rules() -> None:
    unknown_province = check_document(ID, make_id("991102", date(1990, 1, 1), 1), today=TODAY)
    assert unknown_province.codes == (FailureCode.REGION,)
    hmt_code = check_document(ID, make_id("810000", date(1990, 1, 1), 1), today=TODAY)
    assert hmt_code.codes == (FailureCode.REGION,)
    # Not in our table, but under a known province: accepted (we do not ship the national table).
    assert check_document(ID, make_id("510122", date(1980, 1, 1), 1), today=TODAY).ok
    historic = check_document(ID, make_id("511121", date(1980, 1, 1), 1), today=TODAY)
    assert historic.ok
    assert any("511121" in n and "仁寿县" in n for n in historic.notices)


# --- normalisation -------------------------------------------------------------------------------


def test_full_width_digits_are_normalised_with_notice() -> None:
    number = make_id("511102", date(1990, 1, 1), 123)
    full_width = number.translate({ord(d): 0xFF10 + int(d) for d in "0123456789"})
    result = check_document(ID, full_width, today=TODAY)
    assert result.ok
    assert result.value == number
    assert "已将全角数字转换为半角" in result.notices


def test_lower_case_x_is_normalised_with_notice() -> None:
    number = next(v for v in VALID_IDS if v.endswith("X"))
    result = check_document(ID, number.lower(), today=TODAY)
    assert result.ok
    assert result.value == number
    assert "已将小写 x 转换为大写 X" in result.notices


def test_spaces_are_removed_with_notice() -> None:
    number = make_id("511102", date(1990, 1, 1), 123)
    result = check_document(ID, f" {number[:6]} {number[6:14]}\u3000{number[14:]}\t", today=TODAY)
    assert result.ok
    assert result.value == number
    assert "已去除空格" in result.notices


def test_clean_input_has_no_notices() -> None:
    assert check_document(ID, VALID_IDS[0], today=TODAY).notices == ()


# --- other documents -----------------------------------------------------------------------------


@pytest.mark.parametrize("region", ["810000", "820000", "830000"])
def test_hmt_residence_permit(region: str) -> None:
    number = make_id(region, date(1995, 7, 1), 31)
    result = check_document(DocumentType.HMT_RESIDENCE_PERMIT, number, today=TODAY)
    assert result.ok
    assert result.region == region


def test_hmt_residence_permit_rejects_mainland_region() -> None:
    number = make_id("511102", date(1995, 7, 1), 31)
    result = check_document(DocumentType.HMT_RESIDENCE_PERMIT, number, today=TODAY)
    assert result.codes == (FailureCode.REGION,)


def test_foreign_permanent_resident_id() -> None:
    new = make_id("951840", date(1980, 3, 4), 15)  # 9 + 受理地 51 + 国籍 840 (2023 form)
    kind = DocumentType.FOREIGN_PERMANENT_RESIDENT_ID
    assert check_document(kind, new, sex=Sex.MALE, today=TODAY).ok
    wrong_check = new[:-1] + ("0" if new[-1] != "0" else "1")
    assert check_document(kind, wrong_check, today=TODAY).codes == (FailureCode.CHECK_CHARACTER,)
    not_nine = make_id("511102", date(1980, 3, 4), 15)
    assert check_document(kind, not_nine, today=TODAY).codes == (FailureCode.FORMAT,)
    old = check_document(kind, "usa510101001234", today=TODAY)
    assert old.ok
    assert old.value == "USA510101001234"
    assert any("旧版" in n for n in old.notices)
    assert check_document(kind, "US1510101001234", today=TODAY).codes == (FailureCode.CHARACTERS,)


def test_resident_id_hint_for_foreign_number() -> None:
    new = make_id("951840", date(1980, 3, 4), 15)
    result = check_document(ID, new, today=TODAY)
    assert result.codes == (FailureCode.REGION,)
    assert "外国人永久居留身份证" in result.failures[0].message


@pytest.mark.parametrize(
    ("number", "codes"),
    [
        ("E12345678", ()),
        ("g1234567", ()),
        ("1234", (FailureCode.LENGTH,)),
        ("A" * 21, (FailureCode.LENGTH,)),
        ("E1234-5678", (FailureCode.CHARACTERS,)),
    ],
)
def test_passport(number: str, codes: tuple[FailureCode, ...]) -> None:
    assert check_document(DocumentType.PASSPORT, number).codes == codes


# --- 卡号, 卡识别码, bank card ----------------------------------------------------------------------


@pytest.mark.parametrize("number", ["X00000019", "B7K334774", "188347080", "A02796279", "B07541184"])
def test_card_numbers_accepted(number: str) -> None:
    result = check_card_number(number)
    assert result.ok
    assert result.value == number


def test_card_number_wrong_check_character_warns_only() -> None:
    result = check_card_number("W49158758")
    assert result.codes == (FailureCode.CHECK_CHARACTER,)
    assert not result.blocking
    assert not SUGGESTION.search(result.failures[0].message)


@pytest.mark.parametrize(
    ("number", "code"),
    [("X0000001", FailureCode.LENGTH), ("X0000001-", FailureCode.CHARACTERS)],
)
def test_card_number_format_blocks(number: str, code: FailureCode) -> None:
    result = check_card_number(number)
    assert code in result.codes
    assert result.blocking


def test_card_number_normalised() -> None:
    result = check_card_number("b7k 334774")
    assert result.ok
    assert result.value == "B7K334774"
    assert "已去除空格" in result.notices


def test_card_identifier() -> None:
    result = check_card_identifier("511100d15600000586000000ab12cd34")
    assert result.ok
    assert result.value == "511100D15600000586000000AB12CD34"
    assert result.region == "511100"
    assert region_name(result.region) == "乐山市"
    assert check_card_identifier("519900D156000005FFFFFFFFFFFFFFFF").ok


@pytest.mark.parametrize(
    ("identifier", "code"),
    [
        ("511100D156000005", FailureCode.LENGTH),
        ("511100D15600000586000000AB12CD3G", FailureCode.CHARACTERS),
        ("511100D15600000686000000AB12CD34", FailureCode.FORMAT),
        ("991100D15600000586000000AB12CD34", FailureCode.REGION),
        ("5111A0D15600000586000000AB12CD34", FailureCode.REGION),
    ],
)
def test_card_identifier_failures(identifier: str, code: FailureCode) -> None:
    assert code in check_card_identifier(identifier).codes


def test_bank_card_luhn() -> None:
    body = "621226020012345678"
    good = body + luhn.calc_check_digit(body)
    assert check_bank_card(good).ok
    assert check_bank_card("4111 1111 1111 1111").ok
    bad = body + str((int(good[-1]) + 1) % 10)
    result = check_bank_card(bad)
    assert result.codes == (FailureCode.CHECK_CHARACTER,)
    assert not SUGGESTION.search(result.failures[0].message)
    assert check_bank_card("411111111111111").codes == (FailureCode.LENGTH,)
    assert FailureCode.CHARACTERS in check_bank_card("4111-1111-1111-1111").codes


# --- robustness ----------------------------------------------------------------------------------


@given(text=st.text())
def test_arbitrary_text_never_raises(text: str) -> None:
    for kind in DocumentType:
        for sex in (None, Sex.MALE, Sex.FEMALE):
            assert isinstance(check_document(kind, text, sex=sex, today=TODAY), CheckResult)
    for check in (check_card_number, check_card_identifier, check_bank_card):
        result = check(text)
        assert isinstance(result, CheckResult)
        assert result.ok or result.failures
    for has_extension in (True, False):
        chip_name_fit(text, has_extension=has_extension)
    region_name(text)
    ethnicity_name(text)
    ethnicity_code(text)


@given(text=st.text(alphabet=st.sampled_from(ID_CHARS + "x０１２３４５ "), max_size=25))
def test_id_like_text_never_raises(text: str) -> None:
    for kind in DocumentType:
        assert isinstance(check_document(kind, text, today=TODAY), CheckResult)


# --- lookups -------------------------------------------------------------------------------------


LESHAN = {
    "511100": "乐山市",
    "511102": "市中区",
    "511111": "沙湾区",
    "511112": "五通桥区",
    "511113": "金口河区",
    "511123": "犍为县",
    "511124": "井研县",
    "511126": "夹江县",
    "511129": "沐川县",
    "511132": "峨边彝族自治县",
    "511133": "马边彝族自治县",
    "511181": "峨眉山市",
}


def test_region_lookup() -> None:
    for code, name in LESHAN.items():
        assert region_name(code) == name
    assert region_name("510000") == "四川省"
    assert region_name("511121") == "仁寿县"
    assert region_name("810000") == "香港特别行政区"
    assert region_name("999999") is None
    assert len(_REGIONS["provinces"]) == 34


def test_ethnicity_lookup() -> None:
    assert ethnicity_name("07") == "彝族"
    assert ethnicity_name("01") == "汉族"
    assert ethnicity_name("98") == "外国血统中国籍人士"
    assert ethnicity_name("99") is None
    assert ethnicity_code("彝族") == "07"
    assert ethnicity_code("彝") == "07"
    assert ethnicity_code("其他") == "97"
    assert ethnicity_code("火星族") is None
    table = ethnicities()
    assert len(table) == 58
    assert all(ethnicity_code(name) == code for code, name in table.items())


def test_sex_codes() -> None:
    assert [(s.value, s.label) for s in Sex] == [("0", "未知"), ("1", "男"), ("2", "女"), ("9", "未说明")]


# --- 姓名 on the chip ----------------------------------------------------------------------------


def test_short_name_fits() -> None:
    fit = chip_name_fit("李明")
    assert fit.fits
    assert fit.name_field == "李明".encode("gbk")
    assert fit.extension_field == b""


def test_long_yi_name_needs_extension() -> None:
    name = "阿说木呷·吉克拉则·沙马阿依·曲比日哈"  # 19 characters, 38 GBK bytes
    fit = chip_name_fit(name, has_extension=True)
    assert fit.fits
    assert fit.name_field is not None
    assert fit.extension_field is not None
    assert len(fit.name_field) == 30
    assert fit.name_field.decode("gbk") + fit.extension_field.decode("gbk") == name
    on_v1_card = chip_name_fit(name, has_extension=False)
    assert on_v1_card.status is NameFitStatus.TOO_LONG
    assert on_v1_card.excess_bytes == 8
    assert on_v1_card.name_field is None


@pytest.mark.parametrize("rare", ["𠈌", "䶮"])
def test_character_outside_gbk_is_listed(rare: str) -> None:
    with pytest.raises(UnicodeEncodeError):
        rare.encode("gbk")
    fit = chip_name_fit(f"刘{rare}")
    assert fit.status is NameFitStatus.UNWRITABLE_CHARACTERS
    assert fit.unwritable == (rare,)
    assert rare in fit.message
    assert fit.name_field is None


def test_name_too_long_even_with_extension() -> None:
    fit = chip_name_fit("张" * 26)  # 52 bytes > 30 + 20
    assert fit.status is NameFitStatus.TOO_LONG
    assert fit.excess_bytes == 2
    assert "2 字节" in fit.message


def test_split_never_breaks_a_two_byte_character() -> None:
    fit = chip_name_fit("A" + "张" * 15)  # 31 bytes: the 15th 张 would straddle byte 30
    assert fit.fits
    assert fit.name_field == b"A" + "张".encode("gbk") * 14
    assert fit.extension_field == "张".encode("gbk")


@given(name=st.text(alphabet=st.sampled_from("张王李阿依木呷·ABCxyz 堃喆"), max_size=30))
def test_split_is_lossless_and_within_limits(name: str) -> None:
    fit = chip_name_fit(name)
    if fit.fits:
        assert fit.name_field is not None
        assert fit.extension_field is not None
        assert len(fit.name_field) <= 30
        assert len(fit.extension_field) <= 20
        assert fit.name_field.decode("gbk") + fit.extension_field.decode("gbk") == name
    else:
        assert fit.status is NameFitStatus.TOO_LONG
        assert len(name.encode("gbk")) > 30
