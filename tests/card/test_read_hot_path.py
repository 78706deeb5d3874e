"""The per-read fast paths of the card layer keep the behaviour of the plain code they replace."""

from __future__ import annotations

import logging

import pytest

from counter_app.card import SocialSecurityCard, apdu
from counter_app.card.apdu import APDU_LOGGER
from counter_app.card.errors import TlvFormatError
from counter_app.card.records import Field
from counter_app.card.ssse import algorithm_of
from counter_app.emulator import InProcessTransport, build_card
from tests.card.helpers import FCI_SSSE


def test_no_trace_object_is_built_when_debug_is_off(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: object) -> None:
        raise AssertionError("trace formatted with DEBUG off")

    monkeypatch.setattr(apdu, "_TraceCommand", refuse)
    monkeypatch.setattr(apdu, "_TraceBytes", refuse)
    caplog.set_level(logging.INFO, logger=APDU_LOGGER)
    info = SocialSecurityCard(InProcessTransport("r", build_card("emeishan_v2"))).read_basic_info()
    assert info.spec_version.startswith("2") and info.name


def test_a_malformed_fci_raises_on_every_call() -> None:
    for _ in range(3):  # the parsed-FCI cache keeps results, never failures
        with pytest.raises(TlvFormatError):
            algorithm_of(bytes.fromhex("6F05840F"))
    for _ in range(2):  # the second call comes from the cache
        assert algorithm_of(bytes.fromhex(FCI_SSSE)) == 0x03


def test_field_attributes_are_those_of_its_spec() -> None:
    for item in Field:
        spec = item.value
        assert (item.sfi, item.tag, item.length, item.coding, item.label) == (
            spec.sfi,
            spec.tag,
            spec.length,
            spec.coding,
            spec.label,
        )
        assert Field.by_tag(item.sfi, item.tag) is item and {item: 1}[Field[item.name]] == 1
