"""The multi-record READ RECORD of a whole EF (card-protocol §3.3.1, §3.15, vectors §5.14).

Cards and PSAM are exact scripts, the expected bytes copied from the document: the 信息查询 (FULL)
read tries ``00 B2 01 2D 40`` / ``00 B2 01 35 Le`` once per EF, falls back to reads by tag on
``6A86``/``6A81``/``6D00``/``6A83`` (remembered for the card), and treats a malformed concatenation as
记录格式错误. The basic (iReadCardBas) read is unchanged: §5.13, tested in test_vectors.py.
"""

from __future__ import annotations

import logging

import pytest

from counter_app.card import PsamKeyProvider, ReadScope, SocialSecurityCard
from counter_app.card.apdu import APDU_LOGGER
from counter_app.card.errors import RecordFormatError, SecurityNotSatisfied, StatusError
from counter_app.card.records import EF05, EF06, Field, file_items, file_length, split_records
from counter_app.workflows.ports import KeyPurpose
from tests.card.helpers import (
    CARD_A_ATR,
    CARD_A_ID,
    CARD_B_ATR,
    CARD_B_ID,
    FCI_SSSE,
    PSAM_ATR,
    SELECT_SSSE,
    ScriptedSequence,
    SoftKeyProvider,
    h,
)

SELECT = [(SELECT_SSSE, "611B"), ("00C000001B", FCI_SSSE + "9000")]
PSAM_OPEN = [
    ("00A4040006D15600000590", "610A"),
    ("00C000000A", "6F088406D156000005909000"),
    ("00B0960006", "5111009000019000"),
]
AUTH_A = [
    ("0084000008", "11223344556677889000"),
    ("0082000A1009DE477B50DEA199E6650E8E61E65271", "9000"),
]

# §5.14 (the §5.10 answers concatenated)
EF05_ALL = (
    "0110511100D15600000512345678ABCDEF01"
    "020131"
    "0304332E3030"
    "040C511100000000000000000001"
    "050420250301"
    "060420350228"
    "0709533131303030303138"
)
SSN_A = "0812353131313032313939303031303131323339"
NAME_A = "091ED5C5C8FD" + "00" * 26
EXT_BLANK = "4E14" + "FF" * 20
DETAIL_A = "0A0131" + "0B0101" + "0C03511102" + "0D0419900101"
EF06_ALL = SSN_A + NAME_A + EXT_BLANK + DETAIL_A
EF06_ALL_1_00 = SSN_A + NAME_A + DETAIL_A


def version(text: str) -> str:
    """EF05 with 规范版本 ``text`` (card A otherwise)."""
    return EF05_ALL.replace("0304332E3030", "0304" + text.encode().hex().upper())


def test_lengths_and_layouts_of_3_3_1() -> None:
    assert (file_length(EF05, ""), file_length(EF05, "1.00"), file_length(EF05, "3.00")) == (0x40, 0x40, 0x40)
    assert (file_length(EF06, "2.00"), file_length(EF06, "3.00"), file_length(EF06, "1.00")) == (
        0x5B,
        0x5B,
        0x45,
    )
    assert [f.tag for f in file_items(EF06, "1.00")] == [0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D]
    assert [f.tag for f in file_items(EF06, "2.00")] == [0x08, 0x09, 0x4E, 0x0A, 0x0B, 0x0C, 0x0D]
    assert len(h(EF05_ALL)) == 0x40 and len(h(EF06_ALL)) == 0x5B and len(h(EF06_ALL_1_00)) == 0x45


# --- §5.14 vectors ------------------------------------------------------------------------------------


def test_5_14_full_read_of_card_a_with_the_psam() -> None:
    card = ScriptedSequence(
        [
            *SELECT,
            ("00B2012D40", EF05_ALL + "9000"),
            *AUTH_A,
            ("00B201355B", EF06_ALL + "9000"),
        ],
        atr=CARD_A_ATR,
    )
    psam = ScriptedSequence(
        [
            *PSAM_OPEN,
            ("801A0A0010511100D15600000512345678ABCDEF01", "9000"),
            ("80FA0000081122334455667788", "6110"),
            ("00C0000010", "09DE477B50DEA199E6650E8E61E652719000"),
        ],
        atr=PSAM_ATR,
    )
    info = SocialSecurityCard(card, PsamKeyProvider(psam)).read_basic_info(ReadScope.FULL)
    assert card.done and psam.done and len(card.sent) == 6
    assert (info.card_id, info.card_type, info.spec_version, info.init_org) == (
        CARD_A_ID,
        "1",
        "3.00",
        "511100000000000000000001",
    )
    assert (info.issue_date, info.expiry_date, info.card_number) == ("20250301", "20350228", "S11000018")
    assert (info.ssn, info.name, info.sex, info.ethnicity, info.birthplace, info.birth_date) == (
        "511102199001011239",
        "张三",
        "1",
        "01",
        "511102",
        "19900101",
    )
    assert info.scope is ReadScope.FULL and info.name_encoding_ok


def test_a_2_00_card_is_read_in_4_card_apdus() -> None:
    card = ScriptedSequence(
        [*SELECT, ("00B2012D40", version("2.00") + "9000"), ("00B201355B", EF06_ALL + "9000")]
    )
    info = SocialSecurityCard(card).read_basic_info()
    assert card.done and len(card.sent) == 4
    assert (info.spec_version, info.name, info.sex, info.birth_date) == ("2.00", "张三", "1", "19900101")


def test_1_00_variant_asks_for_69_bytes_and_has_no_extension() -> None:
    card = ScriptedSequence(
        [*SELECT, ("00B2012D40", version("1.00") + "9000"), ("00B2013545", EF06_ALL_1_00 + "9000")]
    )
    info = SocialSecurityCard(card, SoftKeyProvider()).read_basic_info(ReadScope.FULL)
    assert card.done and (info.spec_version, info.name, info.sex) == ("1.00", "张三", "1")


def test_le_00_style_answer_6cxx_is_resent_with_the_exact_length() -> None:
    """A 2.00 card whose EF06 has no 4E: ``6C45`` → resend → 4E missing reads as empty."""
    card = ScriptedSequence(
        [
            *SELECT,
            ("00B2012D40", version("2.00") + "9000"),
            ("00B201355B", "6C45"),
            ("00B2013545", EF06_ALL_1_00 + "9000"),
        ]
    )
    info = SocialSecurityCard(card).read_basic_info()
    assert card.done and info.name == "张三" and info.birthplace == "511102"


def test_blank_prefab_card_b_full_read() -> None:
    keys = SoftKeyProvider()
    cryptogram = keys.cryptogram(KeyPurpose.READ_AUTH, h(CARD_B_ID), h("0102030405060708")).hex().upper()
    ef05 = "0110" + CARD_B_ID + "020131" + "0304332E3030" + "040C511100000000000000000001"
    ef05 += "0504FFFFFFFF" + "0604FFFFFFFF" + "0709" + "FF" * 9
    ef06 = "0812" + "FF" * 18 + "091E" + "FF" * 30 + "4E14" + "FF" * 20 + "0A01FF0B01FF0C03FFFFFF0D04FFFFFFFF"
    card = ScriptedSequence(
        [
            *SELECT,
            ("00B2012D40", ef05 + "9000"),
            ("0084000008", "01020304050607089000"),
            ("0082000A10" + cryptogram, "9000"),
            ("00B201355B", ef06 + "9000"),
        ],
        atr=CARD_B_ATR,
    )
    info = SocialSecurityCard(card, keys).read_basic_info()
    assert card.done and info.is_blank
    assert (info.ssn, info.name, info.sex, info.ethnicity, info.birthplace, info.birth_date) == ("",) * 6


# --- fallback (refusal SWs) ------------------------------------------------------------------------


EF05_BY_TAG_2_00 = [
    ("00B2012812", "0110" + CARD_A_ID + "9000"),
    ("00B2022803", "0201319000"),
    ("00B2032806", "0304322E30309000"),
    ("00B204280E", "040C5111000000000000000000019000"),
    ("00B2052806", "0504202503019000"),
    ("00B2062806", "0604203502289000"),
    ("00B207280B", "07095331313030303031389000"),
]
EF06_BY_TAG = [
    ("00B2083014", SSN_A + "9000"),
    ("00B2093020", NAME_A + "9000"),
    ("00B24E3016", EXT_BLANK + "9000"),
    ("00B20A3003", "0A01319000"),
    ("00B20B3003", "0B01019000"),
    ("00B20C3005", "0C035111029000"),
    ("00B20D3006", "0D04199001019000"),
]


@pytest.mark.parametrize("refusal", ["6A86", "6A81", "6D00", "6A83"])
def test_refused_multi_read_falls_back_to_reads_by_tag(refusal: str) -> None:
    card = ScriptedSequence([*SELECT, ("00B2012D40", refusal), *EF05_BY_TAG_2_00, *EF06_BY_TAG])
    info = SocialSecurityCard(card).read_basic_info(ReadScope.FULL)
    assert card.done and len(card.sent) == 17  # the refused read + 7 + 7; EF06 is not tried
    assert (info.spec_version, info.card_type, info.init_org[:6], info.name, info.sex) == (
        "2.00",
        "1",
        "511100",
        "张三",
        "1",
    )


def test_refusal_on_ef06_only_falls_back_for_ef06() -> None:
    card = ScriptedSequence(
        [*SELECT, ("00B2012D40", version("2.00") + "9000"), ("00B201355B", "6A86"), *EF06_BY_TAG]
    )
    info = SocialSecurityCard(card).read_basic_info()
    assert card.done and info.birth_date == "19900101"


class Slot:
    """One reader slot whose card can be swapped between reads (a `CardTransport`)."""

    def __init__(self, card: ScriptedSequence) -> None:
        self.card = card

    @property
    def reader_name(self) -> str:
        return "slot"

    def atr(self) -> bytes:
        return self.card.atr()

    def transmit(self, command: bytes | bytearray) -> bytes:
        return self.card.transmit(command)


def test_the_refusal_is_remembered_for_the_card_but_not_for_another_card() -> None:
    slot = Slot(ScriptedSequence([*SELECT, ("00B2012D40", "6A86"), *EF05_BY_TAG_2_00, *EF06_BY_TAG]))
    sscard = SocialSecurityCard(slot)
    first = sscard.read_basic_info()
    assert slot.card.done
    slot.card = ScriptedSequence([*SELECT, *EF05_BY_TAG_2_00, *EF06_BY_TAG])  # same ATR: not asked again
    assert sscard.read_basic_info() == first and slot.card.done
    slot.card = ScriptedSequence(  # another ATR is another card: asked again
        [*SELECT, ("00B2012D40", version("2.00") + "9000"), ("00B201355B", EF06_ALL + "9000")], atr=CARD_B_ATR
    )
    assert sscard.read_basic_info().name == "张三" and slot.card.done


def test_other_status_words_are_errors_not_refusals() -> None:
    card = ScriptedSequence([*SELECT, ("00B2012D40", version("2.00") + "9000"), ("00B201355B", "6982")])
    with pytest.raises(SecurityNotSatisfied):
        SocialSecurityCard(card).read_basic_info()
    assert card.done  # reported, not retried one record at a time
    card = ScriptedSequence([*SELECT, ("00B2012D40", "6F00")])
    with pytest.raises(StatusError) as caught:
        SocialSecurityCard(card).read_basic_info()
    assert caught.value.sw == 0x6F00 and card.done


def test_basic_scope_never_sends_the_multi_read() -> None:
    card = ScriptedSequence(
        [
            *SELECT,
            ("00B2012812", "0110" + CARD_A_ID + "9000"),
            ("00B2032806", "0304322E30309000"),
            ("00B2052806", "0504202503019000"),
            ("00B2062806", "0604203502289000"),
            ("00B207280B", "07095331313030303031389000"),
            ("00B2083014", SSN_A + "9000"),
            ("00B2093020", NAME_A + "9000"),
            ("00B24E3016", EXT_BLANK + "9000"),
        ]
    )
    info = SocialSecurityCard(card).read_basic_info(ReadScope.BASIC)
    assert card.done and info.scope is ReadScope.BASIC
    assert (info.name, info.sex, info.card_type, info.birth_date) == ("张三", "", "", "")


def test_the_multi_read_is_traced_like_any_read(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=APDU_LOGGER)
    card = ScriptedSequence(
        [*SELECT, ("00B2012D40", version("2.00") + "9000"), ("00B201355B", EF06_ALL + "9000")]
    )
    SocialSecurityCard(card).read_basic_info()
    trace = "\n".join(r.getMessage() for r in caplog.records if r.name == APDU_LOGGER)
    assert "card > 00B2012D40" in trace and "card > 00B201355B" in trace
    assert f"card < {EF06_ALL}9000" in trace


# --- malformed concatenations -----------------------------------------------------------------------


MALFORMED_EF06 = [
    ("truncated item", EF06_ALL[:-2]),
    ("one byte left over", EF06_ALL + "0D"),
    ("a tag and no length", EF06_ALL + "00"),
    ("unknown tag", EF06_ALL.replace("0B0101", "0F0101")),
    ("repeated tag", EF06_ALL.replace("0B0101", "0A0131")),
    ("wrong length", EF06_ALL.replace("0A0131", "0A023131")),
    ("missing item", EF06_ALL.replace("0C03511102", "")),
    ("an EF05 tag in EF06", EF06_ALL.replace("0A0131", "020131")),
    ("empty", ""),
]


@pytest.mark.parametrize(("case", "data"), MALFORMED_EF06)
def test_a_malformed_concatenation_is_a_record_format_error(case: str, data: str) -> None:
    card = ScriptedSequence(
        [*SELECT, ("00B2012D40", version("2.00") + "9000"), ("00B201355B", data + "9000")]
    )
    with pytest.raises(RecordFormatError):
        SocialSecurityCard(card).read_basic_info()
    assert card.done, case  # no fallback after a malformed answer


def test_a_malformed_ef05_is_a_record_format_error() -> None:
    card = ScriptedSequence([*SELECT, ("00B2012D40", EF05_ALL[:-4] + "9000")])
    with pytest.raises(RecordFormatError):
        SocialSecurityCard(card).read_basic_info()


def test_split_records_by_tag_not_position() -> None:
    shuffled = DETAIL_A + EXT_BLANK + NAME_A + SSN_A
    values = split_records(EF06, h(shuffled), "3.00")
    assert values[Field.SEX] == b"1" and values[Field.NAME_EXTENSION] == b"\xff" * 20
    assert set(values) == set(file_items(EF06, "3.00"))


def test_split_records_drops_4e_on_1_00_and_tolerates_its_absence_on_3_00() -> None:
    assert Field.NAME_EXTENSION not in split_records(EF06, h(EF06_ALL), "1.00")
    assert Field.NAME_EXTENSION not in split_records(EF06, h(EF06_ALL_1_00), "3.00")
