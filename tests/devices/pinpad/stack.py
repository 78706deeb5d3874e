"""The real PC/SC stack for PIN tests: pcscd + vpcd readers, emulated card and PSAM, the device thread.

Used by tests/integration/test_pin_on_pcsc.py and test_pin_canary.py. Nothing here is a fake: the
APDUs go through pyscard, pcscd and the vpcd driver to the emulated cards on their TCP sockets.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from smartcard import scard

from counter_app.devices.pcsc import DeviceEvent, EventKind, PcscDevices, ReaderRole
from counter_app.devices.pinpad.oncard import pcsc_card_runner
from counter_app.devices.pinpad.service import CardRunner
from counter_app.emulator import EmulatedCard, build_psam
from counter_app.emulator.vpcd import VpcdSlot


def wait_until_empty(*readers: str, timeout: float = 5) -> None:
    """Wait until pcscd has seen the cards leave, so the next test starts with empty readers."""
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    assert hresult == scard.SCARD_S_SUCCESS
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _, states = scard.SCardGetStatusChange(
                context, 0, [(r, scard.SCARD_STATE_UNAWARE) for r in readers]
            )
            if all(not state & scard.SCARD_STATE_PRESENT for _, state, _ in states):
                return
            time.sleep(0.05)
        raise AssertionError(f"pcscd still sees a card in {readers}")
    finally:
        scard.SCardReleaseContext(context)


@dataclass
class Bench:
    """One counter's readers on the real stack: the citizen's card slot, the PSAM slot, the device thread."""

    card_slot: VpcdSlot
    psam_slot: VpcdSlot
    devices: PcscDevices
    runner: CardRunner
    events: queue.Queue[DeviceEvent] = field(default_factory=queue.Queue)

    def wait_for(self, kind: EventKind, role: ReaderRole, timeout: float = 10) -> DeviceEvent:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if event.kind is kind and event.role is role:
                return event
        raise AssertionError(f"no {kind.value} for {role.value} within {timeout} s")

    def insert(self, card: EmulatedCard) -> None:
        """Put the citizen's card in and wait until the device thread has seen it."""
        self.card_slot.insert(card)
        self.wait_for(EventKind.CARD_INSERTED, ReaderRole.CARD)

    @property
    def apdus_to_card(self) -> int:
        return self.card_slot.apdus


@contextmanager
def pcsc_bench(pcscd: dict[str, str]) -> Iterator[Bench]:
    """Both vpcd slots (the PSAM already in), a started device thread and a card runner on it."""
    port = int(pcscd["COUNTER_TEST_VPCD_PORT"])
    card_reader, psam_reader = pcscd["COUNTER_TEST_PCSC_CARD_READER"], pcscd["COUNTER_TEST_PCSC_PSAM_READER"]
    events: queue.Queue[DeviceEvent] = queue.Queue()
    devices = PcscDevices(card_reader, psam_reader, events.put)
    bench = Bench(
        VpcdSlot(port=port), VpcdSlot(port=port + 1), devices, pcsc_card_runner(devices, timeout=60), events
    )
    try:
        devices.start()
        bench.psam_slot.insert(build_psam())
        bench.wait_for(EventKind.CARD_INSERTED, ReaderRole.PSAM)
        yield bench
    finally:
        devices.stop()
        bench.card_slot.remove()
        bench.psam_slot.remove()
        wait_until_empty(card_reader, psam_reader)
