"""The PSAM key provider: session handling and its errors (card-protocol §3.13–§3.14)."""

from __future__ import annotations

import pytest

from counter_app.card import KeyIndices, PsamKeyProvider, ReadScope, SocialSecurityCard
from counter_app.card.errors import PsamError, PsamKeyMissing, PsamUnavailable
from counter_app.workflows.ports import CardRemovedError, KeyProvider, KeyPurpose, TransportError
from tests.card.helpers import CARD_A_ID, FCI_SSSE, PSAM_ATR, SELECT_SSSE, ScriptedSequence, h

OPEN = [
    ("00A4040006D15600000590", "610A"),
    ("00C000000A", "6F088406D156000005909000"),
    ("00B0960006", "5111009000019000"),
]
INIT_0A = "801A0A0010" + CARD_A_ID
CIPHER = "80FA0000081122334455667788"


def test_psam_provider_implements_the_port() -> None:
    assert isinstance(PsamKeyProvider(ScriptedSequence([], atr=PSAM_ATR)), KeyProvider)


def test_session_opens_once_and_init_is_sent_for_each_computation() -> None:
    psam = ScriptedSequence(
        [
            *OPEN,
            (INIT_0A, "9000"),
            (CIPHER, "6110"),
            ("00C0000010", "00" * 16 + "9000"),
            (INIT_0A, "9000"),
            (CIPHER, "6110"),
            ("00C0000010", "11" * 16 + "9000"),
        ]
    )
    provider = PsamKeyProvider(psam)
    assert provider.terminal_id() == "511100900001"
    assert provider.cryptogram(KeyPurpose.READ_AUTH, h(CARD_A_ID), h("1122334455667788")) == bytes(16)
    assert provider.cryptogram(KeyPurpose.READ_AUTH, h(CARD_A_ID), h("1122334455667788")) == b"\x11" * 16
    assert psam.done


def test_a_psam_reset_behind_our_back_is_reopened_once() -> None:
    psam = ScriptedSequence(
        [
            *OPEN,
            (INIT_0A, "6985"),
            *OPEN,
            (INIT_0A, "9000"),
            (CIPHER, "6110"),
            ("00C0000010", "22" * 16 + "9000"),
        ]
    )
    provider = PsamKeyProvider(psam)
    provider.terminal_id()
    assert provider.cryptogram(KeyPurpose.READ_AUTH, h(CARD_A_ID), h("1122334455667788")) == b"\x22" * 16


def test_cipher_without_session_key_is_a_psam_error() -> None:
    psam = ScriptedSequence([*OPEN, (INIT_0A, "9000"), (CIPHER, "6985")])
    with pytest.raises(PsamError, match="PSAM"):
        PsamKeyProvider(psam).cryptogram(KeyPurpose.READ_AUTH, h(CARD_A_ID), h("1122334455667788"))


def test_missing_rkssse_is_interface_error_2203() -> None:
    psam = ScriptedSequence([*OPEN, (INIT_0A, "6A88")])
    with pytest.raises(PsamKeyMissing) as caught:
        PsamKeyProvider(psam).cryptogram(KeyPurpose.READ_AUTH, h(CARD_A_ID), h("1122334455667788"))
    assert caught.value.interface_code == -2203 and "RKSSSE" in caught.value.message


def test_configured_key_indices_are_used() -> None:
    psam = ScriptedSequence(
        [*OPEN, ("801A210010" + CARD_A_ID, "9000"), (CIPHER, "6110"), ("00C0000010", "00" * 16 + "9000")]
    )
    PsamKeyProvider(psam, KeyIndices(read_auth=0x21)).cryptogram(
        KeyPurpose.READ_AUTH, h(CARD_A_ID), h("1122334455667788")
    )
    assert psam.done


@pytest.mark.parametrize("fault", [CardRemovedError("psam out"), TransportError("usb")])
def test_psam_reader_faults_are_never_mistaken_for_the_card_leaving(fault: TransportError) -> None:
    psam = ScriptedSequence([*OPEN, (INIT_0A, fault)])
    card = ScriptedSequence(
        [
            (SELECT_SSSE, "611B"),
            ("00C000001B", FCI_SSSE + "9000"),
            ("00B2012812", "0110" + CARD_A_ID + "9000"),
            ("00B2032806", "0304332E30309000"),
            ("00B2052806", "0504202503019000"),
            ("00B2062806", "0604203502289000"),
            ("00B207280B", "07095331313030303031389000"),
            ("0084000008", "11223344556677889000"),
        ]
    )
    with pytest.raises(PsamUnavailable) as caught:
        SocialSecurityCard(card, PsamKeyProvider(psam)).read_basic_info(ReadScope.BASIC)
    assert caught.value.interface_code == -2201


def test_terminal_id_must_be_twelve_digits() -> None:
    from counter_app.card.errors import ProtocolError

    psam = ScriptedSequence([*OPEN[:2], ("00B0960006", "5111009000AB9000")])
    with pytest.raises(ProtocolError):
        PsamKeyProvider(psam).terminal_id()
