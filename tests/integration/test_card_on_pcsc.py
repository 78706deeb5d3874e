"""The card layer through the real PC/SC stack: pcscd + vsmartcard-vpcd + pyscard, emulated cards.

The same scenarios as test_card_on_emulator.py, but every APDU goes through `PcscDevices` (all PC/SC
work on its device thread), pcscd and the vpcd driver to an `EmulatedCard` served by `VpcdSlot`; the
PSAM sits in the second vpcd reader and is used through `PsamKeyProvider`. A card "pulled" mid-write
is the emulator's power-loss hook closing the vpcd connection, which pcscd reports as a removal.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import pytest

from counter_app.card import (
    CardSettings,
    HolderStatus,
    PendingWrite,
    PrefabData,
    PsamKeyProvider,
    ReadScope,
    RecordState,
    SocialSecurityCard,
    WriteStatus,
    readcardbas,
)
from counter_app.card.apdu import APDU_LOGGER
from counter_app.card.errors import InitialPinRefused, PinBlocked, PinIncorrect
from counter_app.devices.pcsc import EventKind, PcscDevices, ReaderRole, RoleTransport
from counter_app.emulator import TEST_CARDS, EmulatedCard, build_card, build_psam
from counter_app.emulator.vpcd import VpcdSlot
from counter_app.workflows.ports import CardRemovedError, SecretPin
from tests.devices.pcsc_helpers import Events, wait_until_empty

pytestmark = [pytest.mark.integration, pytest.mark.pcsc]

T = TypeVar("T")
PowerLossMode = Literal["before_commit", "after_commit"]
PERSONALISED = sorted(name for name, card in TEST_CARDS.items() if card.profile != "prefab")
WRITABLE_PREFABS = sorted(n for n, c in TEST_CARDS.items() if c.profile == "prefab" and n != "rare_char")
TERMINAL_DEVICE_NUMBER = "00010100202500000001"


def pin(text: str) -> SecretPin:
    return SecretPin(bytearray(text.encode()))


@dataclass
class PcscCounter:
    """One counter on the real stack: the device thread, the two vpcd slots, the PSAM key provider."""

    devices: PcscDevices
    events: Events
    card_slot: VpcdSlot
    psam_slot: VpcdSlot
    keys: PsamKeyProvider

    def insert(self, card: EmulatedCard) -> None:
        """Put ``card`` in the card reader and wait until the device thread reports it."""
        self.card_slot.insert(card)
        assert self.events.wait_for(EventKind.CARD_INSERTED).atr == card.atr()

    def pull(self) -> None:
        self.card_slot.remove()
        self.events.wait_for(EventKind.CARD_REMOVED)

    def run(
        self,
        job: Callable[[SocialSecurityCard], T],
        *,
        settings: CardSettings | None = None,
        with_psam: bool = True,
    ) -> T:
        """Run ``job`` on the device thread with a `SocialSecurityCard` over the connected card."""

        def on_device_thread(devices: PcscDevices) -> T:
            transport = devices.transport(ReaderRole.CARD)
            keys = self.keys if with_psam else None
            return job(SocialSecurityCard(transport, keys, settings or CardSettings()))

        return self.devices.submit(on_device_thread).result(timeout=30)


@pytest.fixture
def counter(pcscd: dict[str, str]) -> Iterator[PcscCounter]:
    card_reader, psam_reader = pcscd["COUNTER_TEST_PCSC_CARD_READER"], pcscd["COUNTER_TEST_PCSC_PSAM_READER"]
    port = int(pcscd["COUNTER_TEST_VPCD_PORT"])
    events = Events()
    card_slot, psam_slot = VpcdSlot(port=port), VpcdSlot(port=port + 1)
    devices = PcscDevices(card_reader, psam_reader, events)
    keys = PsamKeyProvider(RoleTransport(devices, ReaderRole.PSAM))
    try:
        psam_slot.insert(build_psam())
        devices.start()
        events.wait_for(EventKind.CARD_INSERTED, ReaderRole.PSAM)
        yield PcscCounter(devices, events, card_slot, psam_slot, keys)
    finally:
        devices.stop()
        card_slot.remove()
        psam_slot.remove()
        wait_until_empty(card_reader, psam_reader)


def text(value: object) -> str:
    """A `TestCard` value as `CardInfo` shows it (dates YYYYMMDD, None as "")."""
    if value is None:
        return ""
    return f"{value:%Y%m%d}" if hasattr(value, "year") else str(value)


def prefab_data(name: str) -> PrefabData:
    intended = TEST_CARDS[name].intended_holder
    assert intended is not None
    return PrefabData(
        card_number=intended.card_number,
        issue_date=intended.issue_date,
        expiry_date=intended.expiry_date,
        ssn=intended.social_security_number,
        name=intended.name,
        sex=intended.sex,
        ethnicity=intended.ethnicity,
        birthplace=intended.birthplace,
        birth_date=intended.birth_date,
    )


def assert_holds(counter: PcscCounter, name: str, data: PrefabData) -> None:
    """Read through pcscd: the card holds exactly the intended personalisation."""
    info = counter.run(lambda c: c.read_basic_info())
    assert info.card_id == TEST_CARDS[name].card_id and not info.is_blank
    assert (info.card_number, info.issue_date, info.expiry_date) == (
        data.card_number,
        text(data.issue_date),
        text(data.expiry_date),
    )
    assert (info.ssn, info.name, info.sex, info.ethnicity, info.birthplace, info.birth_date) == (
        data.ssn,
        data.name,
        data.sex,
        data.ethnicity,
        data.birthplace,
        text(data.birth_date),
    )


# --- reading every test card ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TEST_CARDS))
def test_every_test_card_reads_through_pcscd(counter: PcscCounter, name: str) -> None:
    expected = TEST_CARDS[name]
    card = build_card(name)
    counter.insert(card)
    info, bas, pan = counter.run(
        lambda c: (
            c.read_basic_info(ReadScope.FULL),
            c.read_card_bas(TERMINAL_DEVICE_NUMBER),
            c.read_bank_account(),
        )
    )
    assert info.atr == card.atr() and info.card_id == expected.card_id
    assert info.spec_version == ("3.00" if expected.profile == "prefab" else expected.profile)
    assert info.algorithm == 0x03 and info.holder_status is HolderStatus.READ and info.name_encoding_ok
    assert (info.card_number, info.issue_date, info.expiry_date) == (
        text(expected.card_number),
        text(expected.issue_date),
        text(expected.expiry_date),
    )
    assert (info.ssn, info.name, info.sex, info.ethnicity, info.birthplace, info.birth_date) == (
        text(expected.social_security_number),
        text(expected.holder_name),
        text(expected.sex),
        text(expected.ethnicity),
        text(expected.birthplace),
        text(expected.birth_date),
    )
    assert info.is_blank == (expected.profile == "prefab")
    fields = readcardbas.parse(bas)
    assert fields.card_id == expected.card_id and fields.name == text(expected.holder_name)
    assert fields.terminal_id == "511100900001"  # 终端机编号 read from the PSAM in the other reader
    assert pan == expected.pan  # the 金融 READ RECORDs go through 6Cxx → resend (T2) over pcscd


@pytest.mark.parametrize("name", ["emeishan_v2", "card_a", "qianwei_v1"])
def test_a_card_refusing_the_multi_record_read_reads_the_same_through_pcscd(
    counter: PcscCounter, name: str
) -> None:
    """card-protocol §3.3.1/§3.15: the whole-EF READ RECORD (64/91-byte answers) and its fallback."""
    counter.insert(build_card(name))
    whole = counter.run(lambda c: c.read_basic_info(ReadScope.FULL))
    counter.pull()
    counter.insert(build_card(name, multi_record_read=False))  # answers 6A86 (hook, §3.16)
    assert counter.run(lambda c: c.read_basic_info(ReadScope.FULL)) == whole
    assert whole.name == TEST_CARDS[name].holder_name and whole.birth_date


def test_a_3_0_card_without_the_psam_hides_the_holder(counter: PcscCounter) -> None:
    counter.insert(build_card("card_a"))
    info = counter.run(lambda c: c.read_basic_info(), with_psam=False)
    assert info.holder_status is HolderStatus.NO_KEY_PROVIDER and info.name == "" and info.ssn == ""
    assert info.card_number == "S11000018"


def test_a_swapped_card_is_read_as_the_new_card(counter: PcscCounter) -> None:
    counter.insert(build_card("qianwei_v1"))
    assert counter.run(lambda c: c.read_basic_info()).name == "王建国"
    counter.pull()
    counter.insert(build_card("emeishan_v2"))
    assert counter.run(lambda c: c.read_basic_info()).name == "李秀英"


# --- PIN --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [n for n in PERSONALISED if TEST_CARDS[n].tries_left > 0])
def test_verify_the_cards_pin(counter: PcscCounter, name: str) -> None:
    card = build_card(name)
    counter.insert(card)
    counter.run(lambda c: c.verify_pin(pin(TEST_CARDS[name].pin)))
    assert card.pin_tries_left == 6 and card.pin_verified


def test_wrong_pin_reports_tries_left_then_locks(counter: PcscCounter) -> None:
    card = build_card("emeishan_v2")  # PIN 802468
    counter.insert(card)
    assert counter.run(lambda c: c.pin_tries_left()) == 6
    for left in (5, 4, 3, 2, 1):
        with pytest.raises(PinIncorrect) as caught:
            counter.run(lambda c: c.verify_pin(pin("111111")))
        assert caught.value.tries_left == left and f"还可尝试 {left} 次" in caught.value.message
        assert card.pin_tries_left == left
    with pytest.raises(PinBlocked) as blocked:
        counter.run(lambda c: c.verify_pin(pin("111111")))
    assert blocked.value.message == "密码已锁定" and card.pin_tries_left == 0
    with pytest.raises(PinBlocked):
        counter.run(lambda c: c.verify_pin(pin("802468")))  # even the right PIN while locked
    assert counter.run(lambda c: c.pin_tries_left()) == 0


def test_a_right_pin_after_a_wrong_one_restores_the_tries(counter: PcscCounter) -> None:
    card = build_card("qianwei_v1")  # PIN 135790
    counter.insert(card)
    with pytest.raises(PinIncorrect):
        counter.run(lambda c: c.verify_pin(pin("135791")))
    assert card.pin_tries_left == 5
    counter.run(lambda c: c.verify_pin(pin("135790")))
    assert card.pin_tries_left == 6


def test_change_pin(counter: PcscCounter) -> None:
    card = build_card("card_a")
    counter.insert(card)
    with pytest.raises(InitialPinRefused):
        counter.run(lambda c: c.change_pin(pin("123456"), pin("123456")))
    with pytest.raises(PinIncorrect):
        counter.run(lambda c: c.change_pin(pin("000000"), pin("654321")))
    assert card.pin_matches("123456") and card.pin_tries_left == 5
    counter.run(lambda c: c.change_pin(pin("123456"), pin("654321")))
    assert card.pin_matches("654321") and card.pin_tries_left == 6
    counter.run(lambda c: c.verify_pin(pin("654321")))


def test_unblock_then_reload_a_locked_card(counter: PcscCounter) -> None:
    card = build_card("locked")  # PIN 112233, 0 tries left
    counter.insert(card)
    with pytest.raises(PinBlocked):
        counter.run(lambda c: c.verify_pin(pin("112233")))
    counter.run(lambda c: c.unblock_pin())
    assert card.pin_tries_left == 6 and card.pin_matches("112233")
    counter.run(lambda c: c.verify_pin(pin("112233")))
    counter.run(lambda c: c.reload_pin(pin("908172")))
    assert card.pin_matches("908172") and card.pin_tries_left == 6
    counter.run(lambda c: c.verify_pin(pin("908172")))


def test_reload_after_the_card_was_taken_out_and_put_back(counter: PcscCounter) -> None:
    """The PSAM session survives the citizen's card leaving; the card keeps its state."""
    card = build_card("locked")
    counter.insert(card)
    counter.run(lambda c: c.unblock_pin())
    counter.pull()
    counter.insert(card)
    counter.run(lambda c: c.reload_pin(pin("246135")))
    assert card.pin_matches("246135") and card.pin_tries_left == 6


# --- the APDU trace through the real stack ----------------------------------------------------------

TRACE_PINS = ("802468", "317529", "975310", "864209")  # emeishan_v2's PIN, a wrong one, two new ones


def _pin_forms(digits: str) -> tuple[str, ...]:
    """How a PIN could show up in a log: ASCII digits, BCD (= the digits in hex), ASCII as hex."""
    ascii_hex = digits.encode().hex().upper()
    spaced_bcd = " ".join(digits[i : i + 2] for i in range(0, len(digits), 2))
    spaced_ascii = " ".join(ascii_hex[i : i + 2] for i in range(0, len(ascii_hex), 2))
    return digits, ascii_hex, spaced_bcd, spaced_ascii


def test_pin_flows_leave_no_pin_in_the_log_with_the_trace_at_debug(
    counter: PcscCounter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # everything, the APDU trace included
    assert logging.getLogger(APDU_LOGGER).isEnabledFor(logging.DEBUG)
    card = build_card("emeishan_v2")
    card.fixed_challenges([bytes.fromhex(c) for c in ("A1B2C3D4E5F60718", "0F1E2D3C4B5A6978")])
    counter.insert(card)
    with pytest.raises(PinIncorrect) as wrong:
        counter.run(lambda c: c.verify_pin(pin("317529")))
    counter.run(lambda c: c.verify_pin(pin("802468")))
    counter.run(lambda c: c.change_pin(pin("802468"), pin("975310")))
    counter.run(lambda c: c.reload_pin(pin("864209")))
    counter.run(lambda c: c.unblock_pin())
    counter.run(lambda c: c.verify_pin(pin("864209")))
    assert card.pin_matches("864209")

    trace = "\n".join(r.getMessage() for r in caplog.records if r.name == APDU_LOGGER)
    # the trace really was on and went through the real transport …
    assert "card > 00A404000F7378312E73682EC9E7BBE1B1A3D5CF" in trace and "card < 63C5" in trace
    # … and every PIN-carrying command was redacted: VERIFY, CHANGE PIN, RELOAD PIN, the PSAM's MAC input
    for redacted in (
        "card > 0020000003 <3 字节已隐去>",
        "card > 805E010007 <7 字节已隐去>",
        "card > 805E000007 <7 字节已隐去>",
        "psam > 80FA010010 <16 字节已隐去>",
        "card > 8424000004 <4 字节已隐去>",
    ):
        assert redacted in trace, redacted
    everything = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    everything += str(wrong.value) + repr(wrong.value)
    pcscd_log = os.environ.get("COUNTER_TEST_PCSCD_LOG")
    if pcscd_log and Path(pcscd_log).exists():  # pcscd runs without --apdu: it logs no APDU either
        everything += Path(pcscd_log).read_text(errors="replace")
    for secret in TRACE_PINS:
        for form in _pin_forms(secret):
            assert form not in everything.upper(), f"PIN {secret} found in the log as {form}"


def test_the_trace_has_its_own_level(counter: PcscCounter, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger=APDU_LOGGER)  # everything else stays at DEBUG
    counter.insert(build_card("qianwei_v1"))
    counter.run(lambda c: c.verify_pin(pin("135790")))
    assert not [r for r in caplog.records if r.name == APDU_LOGGER]


# --- 预制卡 personalisation -------------------------------------------------------------------------


@pytest.mark.parametrize("name", WRITABLE_PREFABS)
def test_prefab_personalisation(counter: PcscCounter, name: str) -> None:
    card = build_card(name)
    counter.insert(card)
    data = prefab_data(name)
    outcome = counter.run(lambda c: c.personalise_prefab(TEST_CARDS[name].card_id, data))
    assert outcome.status is WriteStatus.CONFIRMED and outcome.pending is None
    assert_holds(counter, name, data)
    counter.run(lambda c: c.change_pin(pin("123456"), pin("246810")))  # activation by the holder
    assert card.pin_matches("246810")


WRITE_ORDER = ["08", "09", "4E", "0A", "0B", "0C", "0D", "05", "06", "07"]


@pytest.mark.parametrize("mode", ["before_commit", "after_commit"])
@pytest.mark.parametrize("at", [0, 9])
def test_card_pulled_mid_write_is_uncertain_and_resolved_on_the_next_insertion(
    counter: PcscCounter, mode: PowerLossMode, at: int
) -> None:
    card = build_card("card_b")
    card_id = TEST_CARDS["card_b"].card_id
    data = prefab_data("card_b")
    journal: list[dict[str, Any]] = []  # what the workflow would checkpoint in the local store

    def checkpoint(pending: PendingWrite) -> None:  # runs on the device thread, inside the write
        journal.append(pending.to_dict())
        if pending.records[at].state is RecordState.UNCERTAIN:  # just before UPDATE of record ``at``
            card.power_loss_on_next_update(mode)  # the card loses power: vpcd's connection closes

    counter.insert(card)
    outcome = counter.run(lambda c: c.personalise_prefab(card_id, data, checkpoint=checkpoint))
    assert outcome.status is WriteStatus.UNCERTAIN and outcome.pending is not None
    assert outcome.pending.records[at].state is RecordState.UNCERTAIN
    assert f"{outcome.pending.records[at].item.tag:02X}" == WRITE_ORDER[at]
    assert "卡片离开读卡器" in outcome.pending.reason and "未确认" in outcome.message
    counter.events.wait_for(EventKind.CARD_REMOVED)  # pcscd saw the card go
    with pytest.raises(CardRemovedError):
        counter.run(lambda c: c.read_basic_info())
    # the card holds the old or the new value of that record, never a mix
    assert (card.record(0x06 if at < 7 else 0x05, int(WRITE_ORDER[at], 16)) is None) == (
        mode == "before_commit"
    )

    pending = PendingWrite.from_dict(journal[-1])
    counter.insert(card)  # the same card back in the reader
    resolved = counter.run(lambda c: c.resolve_uncertain(pending))
    assert resolved.status is WriteStatus.CONFIRMED
    assert all(r.state is RecordState.CONFIRMED for r in resolved.records)
    for record in pending.records:  # on the chip: exactly the intended records (card B's are all non-blank)
        assert card.record(record.item.sfi, record.item.tag) == record.value
    assert_holds(counter, "card_b", data)
