"""The APDU trace (logger ``counter_app.apdu``): commands and answers at DEBUG, PINs never.

The PINs here are chosen so that their BCD form cannot appear by chance in any other APDU.
"""

from __future__ import annotations

import logging

import pytest

from counter_app.card import PsamKeyProvider, SocialSecurityCard
from counter_app.card.apdu import APDU_LOGGER
from counter_app.card.errors import PinIncorrect
from counter_app.workflows.ports import KeyPurpose, SecretPin
from tests.card.helpers import (
    CARD_A_ID,
    FCI_SSSE,
    SELECT_SSSE,
    ScriptedSequence,
    SoftKeyProvider,
    h,
    mac_sm4,
)

SELECT = [(SELECT_SSSE, "611B"), ("00C000001B", FCI_SSSE + "9000")]
OLD, NEW = "731946", "580274"


def pin(text: str) -> SecretPin:
    return SecretPin(bytearray(text.encode()))


def assert_no_pin(text: str) -> None:
    for secret in (OLD, NEW, OLD.encode().hex(), NEW.encode().hex()):
        assert secret not in text.upper()


def test_verify_and_change_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=APDU_LOGGER)
    card = ScriptedSequence(
        [
            *SELECT,
            ("0020000003" + OLD, "63C4"),
            *SELECT,
            ("805E010007" + OLD + "FF" + NEW, "9000"),
        ]
    )
    sscard = SocialSecurityCard(card)
    with pytest.raises(PinIncorrect) as caught:
        sscard.verify_pin(pin(OLD))
    sscard.change_pin(pin(OLD), pin(NEW))
    trace = "\n".join(r.getMessage() for r in caplog.records if r.name == APDU_LOGGER)
    assert "card > 0020000003 <3 字节已隐去>" in trace
    assert "card > 805E010007 <7 字节已隐去>" in trace
    assert "card < 63C4" in trace and SELECT_SSSE in trace  # the rest is traced in full
    assert_no_pin(trace)
    assert_no_pin(str(caught.value) + repr(caught.value))


def test_reload_is_redacted_on_the_card_and_on_the_psam(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=APDU_LOGGER)
    k06 = SoftKeyProvider().card_key(KeyPurpose.PIN_RELOAD, h(CARD_A_ID))
    mac = mac_sm4(k06, h("8877665544332211") + bytes(8), h("805E000007" + NEW)).hex().upper()
    card = ScriptedSequence(
        [
            *SELECT,
            ("00B2012812", "0110" + CARD_A_ID + "9000"),
            ("0084000008", "88776655443322119000"),
            ("805E000007" + NEW + mac, "9000"),
        ]
    )
    psam = ScriptedSequence(
        [
            ("00A4040006D15600000590", "610A"),
            ("00C000000A", "6F088406D156000005909000"),
            ("00B0960006", "5111009000019000"),
            ("801A060010" + CARD_A_ID, "9000"),
            ("80FA0100108877665544332211805E000007" + NEW, "6104"),
            ("00C0000004", mac + "9000"),
        ]
    )
    SocialSecurityCard(card, PsamKeyProvider(psam)).reload_pin(pin(NEW))
    trace = "\n".join(r.getMessage() for r in caplog.records if r.name == APDU_LOGGER)
    assert "psam > 80FA010010 <16 字节已隐去>" in trace
    assert_no_pin(trace)


def test_unblock_data_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=APDU_LOGGER)
    keys = SoftKeyProvider()
    mac = keys.mac(KeyPurpose.PIN_UNBLOCK, h(CARD_A_ID), h("A1A2A3A4A5A6A7A8"), h("8424000004")).hex().upper()
    card = ScriptedSequence(
        [
            *SELECT,
            ("00B2012812", "0110" + CARD_A_ID + "9000"),
            ("0084000008", "A1A2A3A4A5A6A7A89000"),
            ("84240000" + "04" + mac, "9000"),
        ]
    )
    SocialSecurityCard(card, keys).unblock_pin()
    trace = "\n".join(r.getMessage() for r in caplog.records if r.name == APDU_LOGGER)
    assert "card > 8424000004 <4 字节已隐去>" in trace and mac not in trace


def test_trace_is_not_formatted_when_debug_is_off(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=APDU_LOGGER)
    card = ScriptedSequence([*SELECT, ("0020000003" + OLD, "9000")])
    SocialSecurityCard(card).verify_pin(pin(OLD))
    assert not [r for r in caplog.records if r.name == APDU_LOGGER]


def test_pin_buffers_of_the_caller_are_left_to_the_caller() -> None:
    buffer = bytearray(OLD.encode())
    card = ScriptedSequence([*SELECT, ("0020000003" + OLD, "9000")])
    SocialSecurityCard(card).verify_pin(SecretPin(buffer))
    assert buffer == bytearray(OLD.encode())  # the pad's PinEntries wipes it, not the card layer
