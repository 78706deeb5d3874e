"""The pyscard device thread through the real pcscd + vsmartcard-vpcd, with emulated cards."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator

import pytest

from counter_app.devices.pcsc import DeviceEvent, EventKind, PcscDevices, ReaderRole, match_reader
from counter_app.emulator import build_card, build_psam
from counter_app.emulator.vpcd import VpcdSlot
from counter_app.workflows.ports import CardRemovedError, TransportError
from tests.harness.services import restart_pcscd

SELECT_SSSE = bytes.fromhex("00A404000F7378312E73682EC9E7BBE1B1A3D5CF")


def wait_until_empty(*readers: str, timeout: float = 5) -> None:
    """Wait until pcscd has seen the cards leave (its poll runs every ~0.4 s), so tests don't overlap."""
    from smartcard import scard

    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    assert hresult == scard.SCARD_S_SUCCESS
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _, states = scard.SCardGetStatusChange(context, 0, [(r, scard.SCARD_STATE_UNAWARE) for r in readers])
            if all(not state & scard.SCARD_STATE_PRESENT for _, state, _ in states):
                return
            time.sleep(0.05)
        raise AssertionError(f"pcscd still sees a card in {readers}")
    finally:
        scard.SCardReleaseContext(context)


class Events:
    """Collects device events from the device thread; waits for the one a test expects."""

    def __init__(self) -> None:
        self.queue: queue.Queue[DeviceEvent] = queue.Queue()
        self.seen: list[DeviceEvent] = []

    def __call__(self, event: DeviceEvent) -> None:
        self.queue.put(event)

    def wait_for(self, kind: EventKind, role: ReaderRole | None = ReaderRole.CARD, timeout: float = 10) -> DeviceEvent:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.queue.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(event)
            if event.kind is kind and (role is None or event.role is role):
                return event
        raise AssertionError(f"no {kind.value} for {role} within {timeout} s; saw {[e.kind.value for e in self.seen]}")


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
    devices = PcscDevices(pcscd["COUNTER_TEST_PCSC_CARD_READER"], pcscd["COUNTER_TEST_PCSC_PSAM_READER"], events)
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
