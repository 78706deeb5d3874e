"""Known-answer vectors of docs/card-protocol.md §5 that are the terminal's to produce or check.

The card and the PSAM are exact scripts (every command byte is checked, in order, per device); the
expected commands and answers are copied from the document.
"""

from __future__ import annotations

import pytest

from counter_app.card import PsamKeyProvider, ReadScope, SocialSecurityCard
from counter_app.card.errors import ExternalAuthFailed, InternalAuthFailed
from counter_app.workflows.ports import KeyPurpose, SecretPin
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
    mac_sm4,
    sm4_ecb,
)

SELECT = [(SELECT_SSSE, "611B"), ("00C000001B", FCI_SSSE + "9000")]
PSAM_OPEN = [
    ("00A4040006D15600000590", "610A"),
    ("00C000000A", "6F088406D156000005909000"),
    ("00B0960006", "5111009000019000"),
]
READ_A_ID = [("00B2012812", "0110" + CARD_A_ID + "9000")]


def pin(text: str) -> SecretPin:
    return SecretPin(bytearray(text.encode()))


# --- §5.1–§5.3: the crypto the test's software key provider uses (and the PSAM must match) ---------


def test_sm4_gbt32907_vector() -> None:
    key = h("0123456789ABCDEFFEDCBA9876543210")
    assert sm4_ecb(key, key) == h("681EDF34D206965E86B3E94F536E4246")


@pytest.mark.parametrize(
    ("index", "card_a", "card_b"),
    [
        (0x0A, "51222734B989104B7E71748E65EE7D87", "119EEBB2F7644CCF94B419A666D8C91A"),
        (0x04, "A79FB6389C07CD0AF55214E4C61DCD04", "4EE974412A12445FE7A7A3B0038F8163"),
        (0x06, "37EFF2B052827F79940D7B07EB5FA375", "818B2C83255823EBCD868C9727AABD26"),
        (0x07, "6ABF6A2451B973E8DD339F89349A7361", "2664DB13C2395D482438856CDC8EFC9B"),
        (0x08, "A358EE3DA85832BF7D144648B6CAB3C6", "E7BDB3D35FE8468956F87B6D1E77E7AD"),
    ],
)
def test_diversified_keys(index: int, card_a: str, card_b: str) -> None:
    from tests.card.helpers import TEST_MASTER_KEYS

    assert sm4_ecb(TEST_MASTER_KEYS[index], h(CARD_A_ID)) == h(card_a)
    assert sm4_ecb(TEST_MASTER_KEYS[index], h(CARD_B_ID)) == h(card_b)


@pytest.mark.parametrize(
    ("data", "mac"),
    [
        ("000102030405060708090A0B0C0D0E0F10111213", "7D4462DF"),
        ("000102030405060708090A0B0C0D0E0F", "D18D896A"),
    ],
)
def test_generic_mac(data: str, mac: str) -> None:
    key = h("0123456789ABCDEFFEDCBA9876543210")
    assert mac_sm4(key, h("0102030405060708") + bytes(8), h(data)) == h(mac)


# --- §5.9 golden APDUs -------------------------------------------------------------------------


def test_golden_verify_123456() -> None:
    card = ScriptedSequence([*SELECT, ("0020000003123456", "9000")])
    SocialSecurityCard(card).verify_pin(pin("123456"))
    assert card.done


def test_golden_verify_odd_length_is_f_padded() -> None:
    card = ScriptedSequence([*SELECT, ("002000000312345F", "63C5")])
    with pytest.raises(Exception, match="还可尝试 5 次"):
        SocialSecurityCard(card).verify_pin(pin("12345"))


def test_golden_empty_verify_reports_tries() -> None:
    card = ScriptedSequence([*SELECT, ("00200000", "63C6")])
    assert SocialSecurityCard(card).pin_tries_left() == 6


def test_golden_change_pin() -> None:
    card = ScriptedSequence([*SELECT, ("805E010007123456FF654321", "9000")])
    SocialSecurityCard(card).change_pin(pin("123456"), pin("654321"))
    assert card.done


# --- §5.13: iReadCardBas on card A with the PSAM, both devices exact ------------------------------


CARD_A_BASIC = [
    *SELECT,
    *READ_A_ID,
    ("00B2032806", "0304332E30309000"),
    ("00B2052806", "0504202503019000"),
    ("00B2062806", "0604203502289000"),
    ("00B207280B", "07095331313030303031389000"),
]


def test_readcardbas_transcript_card_a() -> None:
    card = ScriptedSequence(
        [
            *CARD_A_BASIC,
            ("0084000008", "11223344556677889000"),
            ("0082000A1009DE477B50DEA199E6650E8E61E65271", "9000"),
            ("00B2083014", "0812353131313032313939303031303131323339" + "9000"),
            ("00B2093020", "091ED5C5C8FD" + "00" * 26 + "9000"),
            ("00B24E3016", "4E14" + "FF" * 20 + "9000"),
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
    sscard = SocialSecurityCard(card, PsamKeyProvider(psam))
    text = sscard.read_card_bas("00010100202500000001")
    assert text == (
        "511100|511102199001011239|S11000018|511100D15600000512345678ABCDEF01|张三|"
        "0081454D000000000012345678|3.00|20250301|20350228|511100900001|00010100202500000001|"
    )
    assert card.done and psam.done


def test_card_a_without_key_provider_leaves_holder_fields_empty_and_reads_nothing_more() -> None:
    card = ScriptedSequence(CARD_A_BASIC, atr=CARD_A_ATR)
    text = SocialSecurityCard(card).read_card_bas()
    assert (
        text
        == "511100||S11000018|511100D15600000512345678ABCDEF01||0081454D000000000012345678|3.00|20250301|20350228|||"
    )
    assert card.done


def test_blank_prefab_card_b_readcardbas() -> None:
    card = ScriptedSequence(
        [
            *SELECT,
            ("00B2012812", "0110" + CARD_B_ID + "9000"),
            ("00B2032806", "0304332E30309000"),
            ("00B2052806", "0504FFFFFFFF9000"),
            ("00B2062806", "0604FFFFFFFF9000"),
            ("00B207280B", "0709" + "FF" * 9 + "9000"),
            ("0084000008", "01020304050607089000"),
            (
                "0082000A10"
                + SoftKeyProvider()
                .cryptogram(KeyPurpose.READ_AUTH, h(CARD_B_ID), h("0102030405060708"))
                .hex(),
                "9000",
            ),
            ("00B2083014", "0812" + "FF" * 18 + "9000"),
            ("00B2093020", "091E" + "FF" * 30 + "9000"),
            ("00B24E3016", "4E14" + "FF" * 20 + "9000"),
        ],
        atr=CARD_B_ATR,
    )
    text = SocialSecurityCard(card, SoftKeyProvider()).read_card_bas("00010100202500000001")
    assert text == (
        "511100|||511100D156000005A0B1C2D3E4F50617||0081454D0000000000A0B1C2D3|3.00|||"
        "511100900001|00010100202500000001|"
    )


def test_card_a_full_read_gives_every_item() -> None:
    """Per record, as a card without the multi-record read is read (§5.14 "a card that refuses")."""
    card = ScriptedSequence(
        [
            *SELECT,
            ("00B2012D40", "6A86"),  # §3.3.1 refused: no EF06 multi-record read follows
            *READ_A_ID,
            ("00B2022803", "0201319000"),
            ("00B2032806", "0304332E30309000"),
            ("00B204280E", "040C5111000000000000000000019000"),
            ("00B2052806", "0504202503019000"),
            ("00B2062806", "0604203502289000"),
            ("00B207280B", "07095331313030303031389000"),
            ("0084000008", "11223344556677889000"),
            ("0082000A1009DE477B50DEA199E6650E8E61E65271", "9000"),
            ("00B2083014", "0812353131313032313939303031303131323339" + "9000"),
            ("00B2093020", "091ED5C5C8FD" + "00" * 26 + "9000"),
            ("00B24E3016", "4E14" + "FF" * 20 + "9000"),
            ("00B20A3003", "0A01319000"),
            ("00B20B3003", "0B01019000"),
            ("00B20C3005", "0C035111029000"),
            ("00B20D3006", "0D04199001019000"),
        ],
        atr=CARD_A_ATR,
    )
    info = SocialSecurityCard(card, SoftKeyProvider()).read_basic_info(ReadScope.FULL)
    assert card.done
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
    assert info.algorithm == 0x03 and info.atr == CARD_A_ATR and info.region == "511100"
    assert info.historical_bytes == h("0081454D000000000012345678")
    assert not info.is_blank and info.name_encoding_ok


def test_card_a_1_00_variant_skips_name_extension_and_authentication() -> None:
    card = ScriptedSequence(
        [
            *SELECT,
            *READ_A_ID,
            ("00B2032806", "0304312E30309000"),
            ("00B2052806", "0504202503019000"),
            ("00B2062806", "0604203502289000"),
            ("00B207280B", "07095331313030303031389000"),
            ("00B2083014", "0812353131313032313939303031303131323339" + "9000"),
            ("00B2093020", "091ED5C5C8FD" + "00" * 26 + "9000"),
        ],
        atr=CARD_A_ATR,
    )
    info = SocialSecurityCard(card, SoftKeyProvider()).read_basic_info(ReadScope.BASIC)
    assert card.done and info.name == "张三" and info.spec_version == "1.00"


def test_name_extension_6a83_is_read_as_empty_on_any_card() -> None:
    card = ScriptedSequence(
        [
            *SELECT,
            *READ_A_ID,
            ("00B2032806", "0304322E30309000"),
            ("00B2052806", "0504202503019000"),
            ("00B2062806", "0604203502289000"),
            ("00B207280B", "07095331313030303031389000"),
            ("00B2083014", "0812353131313032313939303031303131323339" + "9000"),
            ("00B2093020", "091ED5C5C8FD" + "00" * 26 + "9000"),
            ("00B24E3016", "6A83"),
        ],
    )
    assert SocialSecurityCard(card).read_basic_info(ReadScope.BASIC).name == "张三"


# --- §5.4 / §5.5 EXTERNAL AUTHENTICATE --------------------------------------------------------


def test_external_auth_card_b_write_key_vector() -> None:
    keys = SoftKeyProvider()
    cryptogram = keys.cryptogram(KeyPurpose.WRITE_AUTH, h(CARD_B_ID), h("0F1E2D3C4B5A6978"))
    assert cryptogram == h("D5E0FF5850214F5FD1E84C68A41AF46F")


def test_psam_commands_for_card_b_write_key() -> None:
    psam = ScriptedSequence(
        [
            *PSAM_OPEN,
            ("801A040010511100D156000005A0B1C2D3E4F50617", "9000"),
            ("80FA0000080F1E2D3C4B5A6978", "6110"),
            ("00C0000010", "D5E0FF5850214F5FD1E84C68A41AF46F9000"),
        ],
        atr=PSAM_ATR,
    )
    provider = PsamKeyProvider(psam)
    answer = provider.cryptogram(KeyPurpose.WRITE_AUTH, h(CARD_B_ID), h("0F1E2D3C4B5A6978"))
    assert answer == h("D5E0FF5850214F5FD1E84C68A41AF46F") and psam.done
    assert provider.terminal_id() == "511100900001"  # read once with the session, no new APDU


def test_external_auth_wrong_cryptogram_reports_tries() -> None:
    card = ScriptedSequence(
        [
            *CARD_A_BASIC,
            ("0084000008", "11223344556677889000"),
            ("0082000A1009DE477B50DEA199E6650E8E61E65271", "63CE"),
        ]
    )
    with pytest.raises(ExternalAuthFailed) as caught:
        SocialSecurityCard(card, SoftKeyProvider()).read_basic_info(ReadScope.BASIC)
    assert caught.value.tries_left == 14 and "14" in caught.value.message


# --- §5.6 INTERNAL AUTHENTICATE -----------------------------------------------------------------


def _internal_auth(card_answer: str) -> ScriptedSequence:
    return ScriptedSequence(
        [
            *SELECT,
            *READ_A_ID,
            ("008800081001020304050607080000000000000000", "6110"),
            ("00C0000010", card_answer + "9000"),
        ]
    )


def test_internal_authenticate_card_a() -> None:
    card = _internal_auth("6AA9AEA31C5B3F5B84EDBB56379DBE55")
    psam = ScriptedSequence(
        [
            *PSAM_OPEN,
            ("801A080010511100D15600000512345678ABCDEF01", "9000"),
            ("80FA0000080102030405060708", "6110"),
            ("00C0000010", "6AA9AEA31C5B3F5B84EDBB56379DBE559000"),
        ]
    )
    sscard = SocialSecurityCard(card, PsamKeyProvider(psam), random_bytes=lambda n: h("0102030405060708"))
    sscard.authenticate_card()
    assert card.done and psam.done


def test_internal_authenticate_mismatch_is_refused() -> None:
    card = _internal_auth("6AA9AEA31C5B3F5B84EDBB56379DBE56")
    sscard = SocialSecurityCard(card, SoftKeyProvider(), random_bytes=lambda n: h("0102030405060708"))
    with pytest.raises(InternalAuthFailed) as caught:
        sscard.authenticate_card()
    assert caught.value.interface_code == -21


# --- §5.7 RELOAD PIN and §5.8 PIN UNBLOCK ---------------------------------------------------------


def test_reload_pin_card_a_654321() -> None:
    card = ScriptedSequence(
        [
            *SELECT,
            *READ_A_ID,
            ("0084000008", "88776655443322119000"),
            ("805E000007654321C6E03A43", "9000"),
        ]
    )
    psam = ScriptedSequence(
        [
            *PSAM_OPEN,
            ("801A060010511100D15600000512345678ABCDEF01", "9000"),
            ("80FA0100108877665544332211805E000007654321", "6104"),
            ("00C0000004", "C6E03A439000"),
        ]
    )
    SocialSecurityCard(card, PsamKeyProvider(psam)).reload_pin(pin("654321"))
    assert card.done and psam.done


def test_reload_mac_vector_in_software() -> None:
    keys = SoftKeyProvider()
    mac = keys.mac(KeyPurpose.PIN_RELOAD, h(CARD_A_ID), h("8877665544332211"), h("805E000007654321"))
    assert mac == h("C6E03A43")


def test_unblock_pin_card_a() -> None:
    card = ScriptedSequence(
        [
            *SELECT,
            *READ_A_ID,
            ("0084000008", "A1A2A3A4A5A6A7A89000"),
            ("842400000406B4C6E3", "9000"),
        ]
    )
    psam = ScriptedSequence(
        [
            *PSAM_OPEN,
            ("801A070010511100D15600000512345678ABCDEF01", "9000"),
            ("80FA01000DA1A2A3A4A5A6A7A88424000004", "6104"),
            ("00C0000004", "06B4C6E39000"),
        ]
    )
    SocialSecurityCard(card, PsamKeyProvider(psam)).unblock_pin()
    assert card.done and psam.done


# --- §5.12 the financial application ------------------------------------------------------------


def test_bank_account_with_6cxx() -> None:
    card = ScriptedSequence(
        [
            ("00A4040008A000000333010101", "6118"),
            ("00C0000018", "6F168408A000000333010101A50A5008556E696F6E5061799000"),
            ("00B2010C00", "6C0E"),
            ("00B2010C0E", "700C5A0A6230999900000001231F9000"),
        ]
    )
    assert SocialSecurityCard(card).read_bank_account() == "6230999900000001231"
    assert card.done


def test_bank_account_searches_further_records_and_sfis() -> None:
    card = ScriptedSequence(
        [
            ("00A4040008A000000333010101", "6118"),
            ("00C0000018", "6F168408A000000333010101A50A5008556E696F6E5061799000"),
            ("00B2010C00", "6C04"),
            ("00B2010C04", "700257009000"),  # a record without 5A
            ("00B2020C00", "6A83"),  # ends SFI 1
            ("00B2011400", "6A82"),  # SFI 2 skipped
            ("00B2011C00", "6C0E"),
            ("00B2011C0E", "700C5A0A6230999900000001231F9000"),
        ]
    )
    assert SocialSecurityCard(card).read_bank_account() == "6230999900000001231"


def test_bank_account_missing_is_a_typed_error() -> None:
    from counter_app.card.errors import PanNotFound

    card = ScriptedSequence(
        [
            ("00A4040008A000000333010101", "6118"),
            ("00C0000018", "6F168408A000000333010101A50A5008556E696F6E5061799000"),
            ("00B2010C00", "6A83"),
            ("00B2011400", "6A82"),
            ("00B2011C00", "6A82"),
        ]
    )
    with pytest.raises(PanNotFound):
        SocialSecurityCard(card).read_bank_account()
