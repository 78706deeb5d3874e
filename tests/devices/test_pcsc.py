"""The pyscard device thread through the real pcscd + vsmartcard-vpcd, with emulated cards."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from counter_app.devices.pcsc import EventKind, PcscDevices, ReaderRole, match_reader, transmit_result
from counter_app.emulator import build_card, build_psam
from counter_app.emulator.vpcd import VpcdSlot
from counter_app.workflows.ports import CardRemovedError, TransportError
from tests.devices.pcsc_helpers import Events, wait_until_empty, wait_until_present
from tests.harness.services import restart_pcscd

SELECT_SSSE = bytes.fromhex("00A404000F7378312E73682EC9E7BBE1B1A3D5CF")


@pytest.fixture
def slots(pcscd: dict[str, str]) -> Iterator[tuple[VpcdSlot, VpcdSlot]]:
    port = int(pcscd["COUNTER_TEST_VPCD_PORT"])
    card_slot, psam_slot = VpcdSlot(port=port), VpcdSlot(port=port + 1)
    yield card_slot, psam_slot
    card_slot.remove()
    psam_slot.remove()
    wait_until_empty(pcscd["COUNTER_TEST_PCSC_CARD_READER"], pcscd["COUNTER_TEST_PCSC_PSAM_READER"])


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def devices(pcscd: dict[str, str], events: Events) -> Iterator[PcscDevices]:
    devices = PcscDevices(
        pcscd["COUNTER_TEST_PCSC_CARD_READER"], pcscd["COUNTER_TEST_PCSC_PSAM_READER"], events
    )
    yield devices
    devices.stop()


def test_match_reader_by_glob_or_substring_never_by_position() -> None:
    readers = ["ACS ACR39U ICC Reader 00 00", "ACS ACR39U ICC Reader SAM 00 01", "Virtual PCD 00 00"]
    assert match_reader("acr39u icc reader 00", readers) == readers[0]
    assert match_reader("*SAM*", readers) == readers[1]
    assert match_reader("Gemalto", readers) is None
    assert match_reader("", readers) is None
    with pytest.raises(TransportError, match="同时匹配"):
        match_reader("ACR39U", readers)


def test_an_answer_without_a_status_word_means_the_card_is_gone() -> None:
    """vpcd answers success with 0 bytes when the card drops off mid-command (seen mid-write)."""
    assert transmit_result(0, [0x90, 0x00]) == b"\x90\x00"
    with pytest.raises(CardRemovedError, match="无应答"):
        transmit_result(0, [])
    with pytest.raises(CardRemovedError):
        transmit_result(0x80100016, [])  # SCARD_E_NOT_TRANSACTED: the first answer after a removal
    with pytest.raises(TransportError, match="0x80100001") as caught:
        transmit_result(0x80100001, [])
    assert not isinstance(caught.value, CardRemovedError)


@pytest.mark.integration
@pytest.mark.pcsc
def test_a_card_present_before_the_monitor_starts_is_reported(
    slots: tuple[VpcdSlot, VpcdSlot], devices: PcscDevices, events: Events
) -> None:
    card = build_card("card_a")
    slots[0].insert(card)
    slots[1].insert(build_psam())
    time.sleep(0.6)  # let pcscd's poll see both before the monitor exists
    devices.start()
    inserted = events.wait_for(EventKind.CARD_INSERTED)
    assert inserted.atr == card.atr()
    assert events.wait_for(EventKind.CARD_INSERTED, ReaderRole.PSAM).atr == build_psam().atr()


@pytest.mark.integration
@pytest.mark.pcsc
def test_apdus_reach_the_card_through_pcscd_and_match_the_in_process_answer(
    slots: tuple[VpcdSlot, VpcdSlot], devices: PcscDevices, events: Events
) -> None:
    devices.start()
    slots[0].insert(build_card("card_a"))
    events.wait_for(EventKind.CARD_INSERTED)
    through_pcsc = devices.submit(lambda d: d.transport(ReaderRole.CARD).transmit(SELECT_SSSE)).result(10)
    assert through_pcsc == build_card("card_a").process(SELECT_SSSE)
    assert through_pcsc[-2] == 0x61  # T=0: the FCI waits for GET RESPONSE, which pcscd does not send for us


@pytest.mark.integration
@pytest.mark.pcsc
def test_removed_and_swapped_cards_are_reported_and_a_stale_connection_fails(
    slots: tuple[VpcdSlot, VpcdSlot], devices: PcscDevices, events: Events
) -> None:
    devices.start()
    slots[0].insert(build_card("card_a"))
    first = events.wait_for(EventKind.CARD_INSERTED)
    devices.submit(lambda d: d.transport(ReaderRole.CARD).transmit(SELECT_SSSE)).result(10)
    slots[0].remove()
    events.wait_for(EventKind.CARD_REMOVED)
    with pytest.raises(CardRemovedError):
        devices.submit(lambda d: d.transport(ReaderRole.CARD).transmit(SELECT_SSSE)).result(10)
    slots[0].insert(build_card("qianwei_v1"))
    second = events.wait_for(EventKind.CARD_INSERTED)
    assert second.atr == build_card("qianwei_v1").atr()
    assert first.reader == second.reader


@pytest.mark.integration
@pytest.mark.pcsc
def test_a_card_taken_out_and_put_back_while_the_thread_was_busy_is_reported_as_a_new_card(
    pcscd: dict[str, str], slots: tuple[VpcdSlot, VpcdSlot], devices: PcscDevices, events: Events
) -> None:
    """Same ATR, and the thread never saw the reader empty (it was running a job): pcscd's event
    counter tells it the card went out and in, so the next read is not of a stale connection."""
    reader = pcscd["COUNTER_TEST_PCSC_CARD_READER"]
    devices.start()
    slots[0].insert(build_card("card_a"))
    events.wait_for(EventKind.CARD_INSERTED)
    devices.submit(lambda d: d.transport(ReaderRole.CARD).transmit(SELECT_SSSE)).result(10)
    busy = threading.Event()
    release = threading.Event()

    def long_job(d: PcscDevices) -> None:
        busy.set()
        release.wait(20)

    job = devices.submit(long_job)
    assert busy.wait(10)
    slots[0].remove()
    wait_until_empty(reader)
    slots[0].insert(build_card("card_a"))  # the same ATR: only the event counter tells
    wait_until_present(reader)
    release.set()
    job.result(10)
    events.wait_for(EventKind.CARD_REMOVED)
    assert events.wait_for(EventKind.CARD_INSERTED).atr == build_card("card_a").atr()
    answer = devices.submit(lambda d: d.transport(ReaderRole.CARD).transmit(SELECT_SSSE)).result(10)
    assert answer[-2] == 0x61  # a fresh connection to the card now in the reader


@pytest.mark.integration
@pytest.mark.pcsc
def test_pc_sc_calls_off_the_device_thread_are_refused(
    slots: tuple[VpcdSlot, VpcdSlot], devices: PcscDevices, events: Events
) -> None:
    devices.start()
    slots[0].insert(build_card("card_a"))
    events.wait_for(EventKind.CARD_INSERTED)
    transport = devices.submit(lambda d: d.transport(ReaderRole.CARD)).result(10)
    with pytest.raises(RuntimeError, match="device thread"):
        transport.transmit(SELECT_SSSE)


@pytest.mark.integration
@pytest.mark.pcsc
def test_recovers_from_a_pcscd_restart_and_reports_the_card_again(
    pcscd: dict[str, str], slots: tuple[VpcdSlot, VpcdSlot], devices: PcscDevices, events: Events
) -> None:
    devices.start()
    slots[0].insert(build_card("card_a"))
    events.wait_for(EventKind.CARD_INSERTED)
    restart_pcscd(pcscd)
    events.wait_for(EventKind.SERVICE_LOST, role=None)
    events.wait_for(EventKind.SERVICE_BACK, role=None, timeout=20)
    # vpcd dropped the card's connection when pcscd stopped; put it back as a clerk would.
    slots[0].remove()
    slots[0].insert(build_card("card_a"))
    again = events.wait_for(EventKind.CARD_INSERTED, timeout=20)
    assert again.atr == build_card("card_a").atr()
    answer = devices.submit(lambda d: d.transport(ReaderRole.CARD).transmit(SELECT_SSSE)).result(10)
    assert answer[-2] == 0x61
