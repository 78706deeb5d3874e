"""The terminal card layer (`counter_app.card`) against the independently written emulator, in process.

Both were written from docs/card-protocol.md alone; here every test card is read, the PIN operations
run, and 预制卡 personalisation is interrupted by power loss and resolved on the next contact.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import pytest

from counter_app.card import (
    CardSettings,
    Field,
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
from counter_app.card.errors import (
    AlgorithmNotSupported,
    CardMismatch,
    InitialPinRefused,
    NameNotWritable,
    NotBlankPrefab,
    PinBlocked,
    PinIncorrect,
)
from counter_app.emulator import TEST_CARDS, EmulatedCard, InProcessTransport, build_card, build_psam
from counter_app.workflows.ports import CardRemovedError, SecretPin
from tests.fakes import InMemoryJournal

pytestmark = pytest.mark.integration

PowerLossMode = Literal["before_commit", "after_commit"]
PERSONALISED = sorted(name for name, card in TEST_CARDS.items() if card.profile != "prefab")
PREFABS = sorted(name for name, card in TEST_CARDS.items() if card.profile == "prefab")
WRITABLE_PREFABS = [name for name in PREFABS if name != "rare_char"]


def pin(text: str) -> SecretPin:
    return SecretPin(bytearray(text.encode()))


class CountingTransport:
    """Passes everything to the emulator's slot and counts the APDUs."""

    def __init__(self, inner: InProcessTransport) -> None:
        self.inner = inner
        self.count = 0
        self.updates: list[int] = []  # P1 (tag) of every UPDATE RECORD sent

    @property
    def reader_name(self) -> str:
        return self.inner.reader_name

    def atr(self) -> bytes:
        return self.inner.atr()

    def transmit(self, command: bytes | bytearray) -> bytes:
        self.count += 1
        if command[1] == 0xDC:
            self.updates.append(command[2])
        return self.inner.transmit(command)


@dataclass
class Counter:
    """One counter's readers: the citizen's card slot and the PSAM slot."""

    card: EmulatedCard
    slot: InProcessTransport
    transport: CountingTransport
    keys: PsamKeyProvider

    def sscard(self, settings: CardSettings | None = None, *, with_psam: bool = True) -> SocialSecurityCard:
        return SocialSecurityCard(
            self.transport, self.keys if with_psam else None, settings or CardSettings()
        )


def counter_with(name: str, *, algorithm_id: int | None = 0x03, multi_record_read: bool = True) -> Counter:
    card = build_card(name, algorithm_id=algorithm_id, multi_record_read=multi_record_read)
    slot = InProcessTransport("模拟读卡器 0", card)
    keys = PsamKeyProvider(InProcessTransport("模拟 PSAM 卡座 0", build_psam()))
    return Counter(card, slot, CountingTransport(slot), keys)


@pytest.fixture
def card_a() -> Counter:
    return counter_with("card_a")


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


def assert_holds(info_card: Counter, name: str, data: PrefabData) -> None:
    """The card, read through the card layer, holds exactly the intended personalisation."""
    info = info_card.sscard().read_basic_info()
    assert info.card_id == TEST_CARDS[name].card_id and not info.is_blank
    assert (info.card_number, info.issue_date, info.expiry_date) == (
        data.card_number,
        f"{data.issue_date:%Y%m%d}",
        f"{data.expiry_date:%Y%m%d}",
    )
    assert (info.ssn, info.name, info.sex, info.ethnicity, info.birthplace, info.birth_date) == (
        data.ssn,
        data.name,
        data.sex,
        data.ethnicity,
        data.birthplace,
        f"{data.birth_date:%Y%m%d}",
    )


# --- reading every test card ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TEST_CARDS))
def test_every_test_card_reads_as_its_data(name: str) -> None:
    expected = TEST_CARDS[name]
    counter = counter_with(name)
    info = counter.sscard().read_basic_info(ReadScope.FULL)
    profile_version = "3.00" if expected.profile == "prefab" else expected.profile
    assert info.card_id == expected.card_id and info.spec_version == profile_version
    assert info.algorithm == 0x03 and info.holder_status is HolderStatus.READ
    assert (
        info.atr == counter.slot.atr() and info.historical_bytes[-4:].hex().upper() == expected.card_id[16:24]
    )

    def text(value: object) -> str:
        return "" if value is None else (f"{value:%Y%m%d}" if hasattr(value, "year") else str(value))

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
    assert info.name_encoding_ok and info.is_blank == (expected.profile == "prefab")

    bas = readcardbas.parse(counter.sscard().read_card_bas("00010100202500000001"))
    assert bas.card_id == expected.card_id and bas.name == text(expected.holder_name)
    assert bas.terminal_id == "511100900001" and bas.region == expected.card_id[:6]
    assert counter.sscard().read_bank_account() == expected.pan


@pytest.mark.parametrize("name", PERSONALISED)
def test_without_psam_only_3_0_cards_hide_the_holder(name: str) -> None:
    expected = TEST_CARDS[name]
    info = counter_with(name).sscard(with_psam=False).read_basic_info()
    if expected.profile == "3.00":
        assert info.holder_status is HolderStatus.NO_KEY_PROVIDER and info.name == "" and info.ssn == ""
    else:
        assert info.holder_status is HolderStatus.READ and info.name == expected.holder_name
    assert info.card_number == expected.card_number


# --- APDU counts of the 信息查询 read (multi-record READ RECORD, card-protocol §3.3.1, §3.15) ------------

# card APDUs of one FULL read: SELECT + GET RESPONSE + EF05 + EF06, and on 3.00 (prefab: a 3.00 card)
# GET CHALLENGE + EXTERNAL AUTHENTICATE before EF06
FULL_READ_APDUS = {"1.00": 4, "2.00": 4, "3.00": 6, "prefab": 6}
# a card that refuses §3.3.1: the refused EF05 read, 7 EF05 reads, 6 (1.00) or 7 EF06 reads, + auth
FALLBACK_APDUS = {"1.00": 16, "2.00": 17, "3.00": 19, "prefab": 19}
BASIC_APDUS = {"1.00": 9, "2.00": 10, "3.00": 12, "prefab": 12}  # §5.13, unchanged


@pytest.mark.parametrize("name", sorted(TEST_CARDS))
def test_full_read_apdu_counts(name: str) -> None:
    profile = TEST_CARDS[name].profile
    counter = counter_with(name)
    sscard = counter.sscard()
    info = sscard.read_basic_info(ReadScope.FULL)
    assert counter.transport.count == FULL_READ_APDUS[profile]
    assert counter.transport.count <= 12  # the goal for a 2.0 card, met by every profile
    counter.transport.count = 0
    assert sscard.read_basic_info(ReadScope.FULL) == info  # the same again, same APDUs
    assert counter.transport.count == FULL_READ_APDUS[profile]
    counter.transport.count = 0
    sscard.read_basic_info(ReadScope.BASIC)
    assert counter.transport.count == BASIC_APDUS[profile]


@pytest.mark.parametrize("name", sorted(TEST_CARDS))
def test_a_card_refusing_the_multi_record_read_gives_the_same_card_info(name: str) -> None:
    profile = TEST_CARDS[name].profile
    refusing = counter_with(name, multi_record_read=False)
    sscard = refusing.sscard()
    info = sscard.read_basic_info(ReadScope.FULL)
    assert refusing.transport.count == FALLBACK_APDUS[profile]
    assert info == counter_with(name).sscard().read_basic_info(ReadScope.FULL)
    refusing.transport.count = 0
    assert sscard.read_basic_info(ReadScope.FULL) == info
    assert refusing.transport.count == FALLBACK_APDUS[profile] - 1  # remembered: not asked again
    refusing.transport.count = 0
    refusing.sscard().read_basic_info(ReadScope.FULL)  # a new SocialSecurityCard asks once more
    assert refusing.transport.count == FALLBACK_APDUS[profile]


def test_a_2_0_card_full_card_info_in_at_most_12_card_apdus() -> None:
    counter = counter_with("emeishan_v2")
    info = counter.sscard().read_basic_info(ReadScope.FULL)
    assert counter.transport.count <= 12 and counter.transport.count == 4
    assert (info.spec_version, info.card_type, info.init_org, info.sex, info.birth_date) == (
        "2.00",
        "1",
        "511100000000000000000001",
        "2",
        "19680712",
    )


def test_card_a_readcardbas_is_the_documented_string(card_a: Counter) -> None:
    card_a.card.fixed_challenges([bytes.fromhex("1122334455667788")])
    assert card_a.sscard().read_card_bas("00010100202500000001") == (
        "511100|511102199001011239|S11000018|511100D15600000512345678ABCDEF01|张三|"
        "0081454D000000000012345678|3.00|20250301|20350228|511100900001|00010100202500000001|"
    )


def test_card_without_algorithm_tag_is_read_without_keys() -> None:
    counter = counter_with("card_a", algorithm_id=None)
    info = counter.sscard().read_basic_info()
    assert info.algorithm == 0x01 and info.holder_status is HolderStatus.ALGORITHM_NOT_SUPPORTED
    assert info.card_number == "S11000018" and info.name == ""
    with pytest.raises(AlgorithmNotSupported):
        counter.sscard().unblock_pin()


def test_internal_authentication_of_card_a(card_a: Counter) -> None:
    card_a.sscard().authenticate_card()


# --- PIN --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [n for n in PERSONALISED if TEST_CARDS[n].tries_left > 0])
def test_verify_the_cards_pin(name: str) -> None:
    counter = counter_with(name)
    counter.sscard().verify_pin(pin(TEST_CARDS[name].pin))
    assert counter.card.pin_tries_left == 6


def test_wrong_pin_reports_tries_left_then_locks(card_a: Counter) -> None:
    sscard = card_a.sscard()
    assert sscard.pin_tries_left() == 6
    for left in (5, 4, 3, 2, 1):
        with pytest.raises(PinIncorrect) as caught:
            sscard.verify_pin(pin("111111"))
        assert caught.value.tries_left == left and f"还可尝试 {left} 次" in caught.value.message
        assert card_a.card.pin_tries_left == left
    with pytest.raises(PinBlocked) as blocked:
        sscard.verify_pin(pin("111111"))
    assert blocked.value.message == "密码已锁定" and card_a.card.pin_tries_left == 0
    with pytest.raises(PinBlocked):
        sscard.verify_pin(pin("123456"))  # even the right PIN while locked
    assert sscard.pin_tries_left() == 0


def test_change_pin_and_the_initial_pin_is_refused_as_new(card_a: Counter) -> None:
    sscard = card_a.sscard()
    before = card_a.transport.count
    with pytest.raises(InitialPinRefused):
        sscard.change_pin(pin("123456"), pin("123456"))
    assert card_a.transport.count == before  # refused before any APDU
    with pytest.raises(PinIncorrect):
        sscard.change_pin(pin("000000"), pin("654321"))
    assert card_a.card.pin_matches("123456") and card_a.card.pin_tries_left == 5
    sscard.change_pin(pin("123456"), pin("654321"))
    assert card_a.card.pin_matches("654321") and card_a.card.pin_tries_left == 6
    sscard.verify_pin(pin("654321"))


def test_reload_sets_a_new_pin_and_unlocks() -> None:
    counter = counter_with("locked")
    assert counter.card.pin_tries_left == 0
    with pytest.raises(InitialPinRefused):
        counter.sscard().reload_pin(pin("123456"))
    counter.sscard().reload_pin(pin("908172"))
    assert counter.card.pin_matches("908172") and counter.card.pin_tries_left == 6
    counter.sscard().verify_pin(pin("908172"))


def test_unblock_resets_the_counter_and_keeps_the_pin() -> None:
    counter = counter_with("locked")
    with pytest.raises(PinBlocked):
        counter.sscard().verify_pin(pin("112233"))
    counter.sscard().unblock_pin()
    assert counter.card.pin_tries_left == 6 and counter.card.pin_matches("112233")
    counter.sscard().verify_pin(pin("112233"))


def test_reload_on_card_a_uses_the_documented_challenge(card_a: Counter) -> None:
    card_a.card.fixed_challenges([bytes.fromhex("8877665544332211")])
    card_a.sscard().reload_pin(pin("654321"))
    assert card_a.card.pin_matches("654321")


def test_pins_never_reach_the_trace(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=APDU_LOGGER)
    counter = counter_with("emeishan_v2")  # PIN 802468
    sscard = counter.sscard()
    sscard.verify_pin(pin("802468"))
    sscard.change_pin(pin("802468"), pin("975310"))
    sscard.reload_pin(pin("864209"))
    trace = "\n".join(r.getMessage() for r in caplog.records if r.name == APDU_LOGGER)
    assert "0020000003 <3 字节已隐去>" in trace and "psam > 80FA010010 <16 字节已隐去>" in trace
    for secret in ("802468", "975310", "864209"):
        assert secret not in trace


# --- 预制卡 personalisation -------------------------------------------------------------------------


@pytest.mark.parametrize("name", WRITABLE_PREFABS)
def test_prefab_personalisation_then_activation(name: str) -> None:
    counter = counter_with(name)
    data = prefab_data(name)
    outcome = counter.sscard().personalise_prefab(TEST_CARDS[name].card_id, data)
    assert outcome.status is WriteStatus.CONFIRMED and outcome.pending is None
    assert_holds(counter, name, data)
    extension = counter.card.record(0x06, 0x4E)
    assert (extension is None) == (len(data.name.encode("gbk")) <= 30)  # FF×20 when unused
    with pytest.raises(NotBlankPrefab):
        counter.sscard().personalise_prefab(TEST_CARDS[name].card_id, data)
    # P5 activation: the holder replaces the initial PIN
    counter.sscard().change_pin(pin("123456"), pin("246810"))
    assert counter.card.pin_matches("246810")


def test_personalisation_of_the_wrong_card_is_refused() -> None:
    counter = counter_with("card_b")
    with pytest.raises(CardMismatch):
        counter.sscard().personalise_prefab(TEST_CARDS["prefab_jingyan"].card_id, prefab_data("card_b"))
    assert counter.card.record(0x05, 0x07) is None


def test_a_name_outside_gbk_is_refused_before_any_apdu() -> None:
    counter = counter_with("rare_char")
    with pytest.raises(NameNotWritable) as caught:
        counter.sscard().personalise_prefab(TEST_CARDS["rare_char"].card_id, prefab_data("rare_char"))
    assert "𠈌" in caught.value.message and "不能写入芯片" in caught.value.message
    assert counter.transport.count == 0
    assert counter.card.record(0x05, 0x07) is None and counter.card.record(0x06, 0x09) is None


WRITE_ORDER = ["08", "09", "4E", "0A", "0B", "0C", "0D", "05", "06", "07"]


@pytest.mark.parametrize("mode", ["before_commit", "after_commit"])
@pytest.mark.parametrize("at", [0, 2, 9])
def test_power_lost_mid_write_is_uncertain_then_resolved(mode: PowerLossMode, at: int) -> None:
    counter = counter_with("card_b")
    card_id = TEST_CARDS["card_b"].card_id
    data = prefab_data("card_b")
    journal = InMemoryJournal()

    def checkpoint(pending: PendingWrite) -> None:
        journal.save_checkpoint("prefab-1", pending.to_dict())
        record = pending.records[at]
        if record.state is RecordState.UNCERTAIN:  # just before the UPDATE of record ``at``
            counter.card.power_loss_on_next_update(mode)

    outcome = counter.sscard().personalise_prefab(card_id, data, checkpoint=checkpoint)
    assert outcome.status is WriteStatus.UNCERTAIN and not outcome.confirmed
    assert outcome.pending is not None and outcome.pending.card_id == card_id
    assert outcome.pending.records[at].state is RecordState.UNCERTAIN
    assert f"{outcome.pending.records[at].item.tag:02X}" == WRITE_ORDER[at]
    assert "未确认" in outcome.message
    with pytest.raises(CardRemovedError):
        counter.slot.atr()  # the card counts as removed

    # what the card holds is the old or the new value of that record, never a mix
    value = counter.card.record(0x06 if at < 7 else 0x05, int(WRITE_ORDER[at], 16))
    assert (value is None) == (mode == "before_commit")

    # next contact: the journal's checkpoint, the same card back in the reader
    saved = journal.load_checkpoint("prefab-1")
    assert saved is not None
    pending = PendingWrite.from_dict(saved)
    counter.slot.insert(counter.card)
    resolved = counter.sscard().resolve_uncertain(pending, checkpoint=lambda p: None)
    assert resolved.status is WriteStatus.CONFIRMED
    assert all(r.state is RecordState.CONFIRMED for r in resolved.records)
    assert_holds(counter, "card_b", data)


def test_resolve_on_a_different_card_is_refused_then_the_right_card_confirms() -> None:
    counter = counter_with("card_b")
    counter.card.power_loss_on_next_update("after_commit")
    outcome = counter.sscard().personalise_prefab(None, prefab_data("card_b"))
    assert outcome.status is WriteStatus.UNCERTAIN and outcome.pending is not None

    other = build_card("prefab_jingyan")
    counter.slot.insert(other)
    with pytest.raises(CardMismatch):
        counter.sscard().resolve_uncertain(outcome.pending)
    assert other.record(0x06, 0x08) is None  # nothing written to the other card

    counter.slot.insert(counter.card)
    assert counter.sscard().resolve_uncertain(outcome.pending).confirmed
    assert_holds(counter, "card_b", prefab_data("card_b"))


def test_removal_between_two_records_resumes_without_rewriting_confirmed_ones() -> None:
    counter = counter_with("prefab_jingyan")
    data = prefab_data("prefab_jingyan")

    def pull_after_third(pending: PendingWrite) -> None:
        if (
            pending.records[2].state is RecordState.CONFIRMED
            and pending.records[3].state is RecordState.PENDING
        ):
            counter.slot.remove()

    outcome = counter.sscard().personalise_prefab(
        TEST_CARDS["prefab_jingyan"].card_id, data, checkpoint=pull_after_third
    )
    assert outcome.status is WriteStatus.UNCERTAIN and outcome.pending is not None
    states = [r.state for r in outcome.pending.records]
    assert states[:5] == [RecordState.CONFIRMED] * 3 + [RecordState.UNCERTAIN, RecordState.PENDING]
    counter.slot.insert(counter.card)
    counter.transport.updates.clear()
    resolved = counter.sscard().resolve_uncertain(outcome.pending)
    assert resolved.confirmed
    assert counter.transport.updates == [0x0A, 0x0B, 0x0C, 0x0D, 0x05, 0x06, 0x07]  # 08 09 4E not rewritten
    assert_holds(counter, "prefab_jingyan", data)


# --- optional rewrite of items not printed on the face ------------------------------------------------


def test_rewrite_of_unprinted_items_with_power_loss_then_resolved() -> None:
    counter = counter_with("yi_mabian")
    settings = CardSettings(chip_rewrite_enabled=True)
    card_id = TEST_CARDS["yi_mabian"].card_id
    counter.card.power_loss_on_next_update("before_commit")
    outcome = counter.sscard(settings).rewrite_unprinted_fields(
        card_id, {Field.ETHNICITY: "01", Field.BIRTHPLACE: "511102"}
    )
    assert outcome.status is WriteStatus.UNCERTAIN and outcome.pending is not None
    counter.slot.insert(counter.card)
    assert counter.sscard(settings).resolve_uncertain(outcome.pending).confirmed
    info = counter.sscard().read_basic_info()
    assert (info.ethnicity, info.birthplace, info.name) == ("01", "511102", "吉克阿呷")


class SilentOnUpdate(CountingTransport):
    """The reader answers the first UPDATE RECORD with no status word (a card that lost power
    mid-command over vpcd does this): the write may or may not have reached the card."""

    def __init__(self, inner: InProcessTransport) -> None:
        super().__init__(inner)
        self.silenced = False

    def transmit(self, command: bytes | bytearray) -> bytes:
        if command[1] == 0xDC and not self.silenced:
            self.silenced = True
            self.inner.transmit(command)  # it did reach the card
            return b""
        return super().transmit(command)


def test_an_update_answered_without_a_status_word_is_uncertain_not_an_error() -> None:
    counter = counter_with("card_b")
    silent = SilentOnUpdate(counter.slot)
    sscard = SocialSecurityCard(silent, counter.keys, CardSettings())
    outcome = sscard.personalise_prefab(TEST_CARDS["card_b"].card_id, prefab_data("card_b"))
    assert outcome.status is WriteStatus.UNCERTAIN
    assert outcome.pending is not None
    resolved = counter.sscard().resolve_uncertain(outcome.pending)
    assert resolved.status is WriteStatus.CONFIRMED
    assert_holds(counter, "card_b", prefab_data("card_b"))
