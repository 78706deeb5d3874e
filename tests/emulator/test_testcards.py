"""The test-card set: deterministic, valid identity data, and each card's documented property."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from counter_app.domain.identity import (
    DocumentType,
    NameFitStatus,
    Sex,
    check_bank_card,
    check_card_identifier,
    check_card_number,
    check_document,
    chip_name_fit,
    ethnicity_name,
    region_name,
)
from counter_app.emulator import TEST_CARDS, EmulatedCard, TestCard, build_card
from counter_app.emulator.keys import TEST_MASTER_KEYS, card_keys
from tests.emulator.helpers import authenticate, in_ssse, send

TODAY = date(2026, 11, 27)
PERSONALISED = sorted(n for n, c in TEST_CARDS.items() if c.social_security_number is not None)
PREFABS = sorted(n for n, c in TEST_CARDS.items() if c.profile == "prefab")


def _people() -> list[tuple[str, str, str, str, date]]:
    """(card, ID number, sex, birthplace, birth date) of every holder and intended holder."""
    people = []
    for card in TEST_CARDS.values():
        if card.social_security_number is not None:
            assert card.sex and card.birthplace and card.birth_date
            people.append(
                (card.name, card.social_security_number, card.sex, card.birthplace, card.birth_date)
            )
        if card.intended_holder is not None:
            h = card.intended_holder
            people.append((card.name, h.social_security_number, h.sex, h.birthplace, h.birth_date))
    return people


@pytest.mark.parametrize(("name", "number", "sex", "birthplace", "born"), _people())
def test_id_numbers_validate(name: str, number: str, sex: str, birthplace: str, born: date) -> None:
    result = check_document(DocumentType.RESIDENT_ID, number, sex=Sex(sex), today=TODAY)
    assert result.ok, (name, result.failures)
    assert result.birth_date == born
    assert number[:6] == birthplace


@pytest.mark.parametrize("name", sorted(TEST_CARDS))
def test_card_identifiers_card_numbers_and_pans(name: str) -> None:
    card = TEST_CARDS[name]
    assert check_card_identifier(card.card_id).ok
    assert card.card_id.startswith("511100D156000005")
    assert check_bank_card(card.pan).ok
    for number in (card.card_number, card.intended_holder and card.intended_holder.card_number):
        if number:
            assert check_card_number(number).ok, number


def test_identifiers_and_card_numbers_are_unique() -> None:
    cards = TEST_CARDS.values()
    assert len({c.card_id for c in cards}) == len(TEST_CARDS)
    numbers = [c.card_number for c in cards if c.card_number] + [
        c.intended_holder.card_number for c in cards if c.intended_holder
    ]
    assert len(set(numbers)) == len(numbers)


def test_the_set_covers_what_the_issue_asks_for() -> None:
    profiles = {c.profile for c in TEST_CARDS.values()}
    assert profiles == {"1.00", "2.00", "3.00", "prefab"}
    counties = {region_name(c.birthplace) for c in TEST_CARDS.values() if c.birthplace}
    assert {"市中区", "峨眉山市", "犍为县", "沐川县"} <= counties
    yi = TEST_CARDS["yi_mabian"]
    assert ethnicity_name(yi.ethnicity or "") == "彝族" and yi.birthplace in ("511132", "511133")
    assert TEST_CARDS["locked"].tries_left == 0
    assert TEST_CARDS["card_a"].card_id == "511100D15600000512345678ABCDEF01"
    assert TEST_CARDS["card_b"].card_id == "511100D156000005A0B1C2D3E4F50617"
    assert all(c.description for c in TEST_CARDS.values())


@pytest.mark.parametrize("name", PERSONALISED)
def test_personalised_names_fit_and_read_back(name: str) -> None:
    spec = TEST_CARDS[name]
    assert spec.holder_name is not None
    fit = chip_name_fit(spec.holder_name, has_extension=spec.profile != "1.00")
    assert fit.fits
    card = in_ssse(build_card(name))
    if spec.profile == "3.00":
        authenticate(card, 0x0A)
    answer = bytes.fromhex(send(card, "00B2093020"))
    assert answer[-2:] == b"\x90\x00"
    extension = b""
    if spec.profile != "1.00":
        extension = bytes.fromhex(send(card, "00B24E3016"))[2:-2]
    full = answer[2:-2].rstrip(b"\x00") + extension.rstrip(b"\xff")
    assert full.decode("gbk") == spec.holder_name
    assert fit.name_field == answer[2:-2].rstrip(b"\x00")


def test_long_name_uses_the_extension() -> None:
    card = build_card("long_name")
    extension = card.record(0x06, 0x4E)
    assert extension is not None and extension.rstrip(b"\xff")


def test_rare_character_holder_cannot_be_personalised() -> None:
    spec = TEST_CARDS["rare_char"]
    assert spec.profile == "prefab" and spec.intended_holder is not None
    assert chip_name_fit(spec.intended_holder.name).status is NameFitStatus.UNWRITABLE_CHARACTERS


@pytest.mark.parametrize("name", PREFABS)
def test_prefabs_are_blank_with_the_initial_pin(name: str) -> None:
    spec = TEST_CARDS[name]
    card = build_card(name)
    assert spec.pin == "123456" and card.pin_matches("123456") and card.pin_tries_left == 6
    for sfi, tags in ((0x05, (0x05, 0x06, 0x07)), (0x06, (0x08, 0x09, 0x4E, 0x0A, 0x0B, 0x0C, 0x0D))):
        assert all(card.record(sfi, tag) is None for tag in tags)
    assert card.record(0x05, 0x01) == bytes.fromhex(spec.card_id)
    assert card.record(0x05, 0x03) == b"3.00"
    assert spec.intended_holder is not None


@pytest.mark.parametrize("name", sorted(TEST_CARDS))
def test_build_card_gives_the_documented_state(name: str) -> None:
    spec = TEST_CARDS[name]
    card = build_card(name)
    assert isinstance(card, EmulatedCard)
    assert card.profile == spec.profile
    assert card.card_id.hex().upper() == spec.card_id
    assert card.pin_matches(spec.pin) and card.pin_tries_left == spec.tries_left
    if spec.card_number:
        assert card.record(0x05, 0x07) == spec.card_number.encode()
    expected = b"1.00" if spec.profile == "1.00" else b"2.00" if spec.profile == "2.00" else b"3.00"
    assert card.record(0x05, 0x03) == expected


def test_build_card_is_deterministic_and_fresh() -> None:
    first, second = build_card("card_a"), build_card("card_a")
    assert first is not second
    send(in_ssse(first), "0020000003111111")
    assert second.pin_tries_left == 6
    assert first.atr() == second.atr()


def test_cards_hold_keys_diversified_from_the_test_master_keys() -> None:
    spec = TEST_CARDS["muchuan_v3"]
    keys = card_keys(TEST_MASTER_KEYS, bytes.fromhex(spec.card_id))
    assert keys[0x0A] != card_keys(TEST_MASTER_KEYS, bytes.fromhex(TEST_CARDS["card_a"].card_id))[0x0A]


def test_test_card_fields_are_all_or_nothing() -> None:
    with pytest.raises(ValueError, match="all set"):
        TestCard(name="x", profile="3.00", card_id="511100D15600000500000000000000FF", description="半张卡")
    with pytest.raises(ValueError, match="all set"):
        replace(TEST_CARDS["card_a"], profile="prefab")
    with pytest.raises(ValueError, match="intended holder"):
        replace(TEST_CARDS["card_a"], intended_holder=TEST_CARDS["card_b"].intended_holder)


def test_unknown_card_name() -> None:
    with pytest.raises(KeyError):
        build_card("nobody")
