"""The emulated card reader and PSAM behind one device thread (模拟读卡器) — TRAINING / TEST only.

Implements the same `DeviceService` as the PC/SC adapter: every APDU, every insertion and removal
runs on one worker thread ("emulated-device"), and events reach the shell through the same
callback. The transports assert that they are never used on the GUI thread, as the PC/SC one does.
Cards live for the session: a test card taken out and put back keeps its PIN and try counter.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from counter_app.card import PsamKeyProvider, SocialSecurityCard
from counter_app.devices.card_service import DeviceAccess
from counter_app.devices.pcsc import DeviceEvent, EventKind, ReaderRole
from counter_app.emulator import EmulatedCard, InProcessTransport, build_card, build_psam
from counter_app.threads import assert_not_gui_thread
from counter_app.workflows.ports import CardTransport, KeyProvider

T = TypeVar("T")

CARD_READER = "培训读卡器 (模拟)"
PSAM_READER = "培训 PSAM 卡座 (模拟)"


class GuardedTransport:
    """`CardTransport` on an in-process slot that refuses to run on the GUI thread."""

    def __init__(self, slot: InProcessTransport) -> None:
        self._slot = slot

    @property
    def reader_name(self) -> str:
        return self._slot.reader_name

    def atr(self) -> bytes:
        return self._slot.atr()

    def transmit(self, command: bytes | bytearray) -> bytes:
        assert_not_gui_thread("emulated card transmit")
        return self._slot.transmit(command)


class _EmulatedAccess:
    def __init__(self, card: CardTransport, keys: KeyProvider) -> None:
        self._card = card
        self._keys = keys

    def card_transport(self) -> CardTransport:
        return self._card

    def key_provider(self) -> KeyProvider | None:
        return self._keys

    def card(self) -> SocialSecurityCard:
        return SocialSecurityCard(self._card, self._keys)


class EmulatedDevices:
    """`DeviceService` with the emulator: a card slot, a PSAM slot (PSAM inserted at start)."""

    def __init__(self) -> None:
        self._card_slot = InProcessTransport(CARD_READER)
        self._psam_slot = InProcessTransport(PSAM_READER)
        self._card = GuardedTransport(self._card_slot)
        self._keys = PsamKeyProvider(GuardedTransport(self._psam_slot))
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="emulated-device")
        self._on_event: Callable[[DeviceEvent], None] = lambda event: None
        self._cards: dict[str, EmulatedCard] = {}
        self._lock = threading.Lock()
        self.inserted: str | None = None  # name of the test card in the reader
        self._reader_connected = True

    # -- DeviceService -------------------------------------------------------------------------

    def start(self, on_event: Callable[[DeviceEvent], None]) -> None:
        self._on_event = on_event
        self._pool.submit(self._power_up)

    def stop(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, job: Callable[[DeviceAccess], T]) -> Future[T]:
        access = _EmulatedAccess(self._card, self._keys)
        return self._pool.submit(job, access)

    # -- the citizen's hands (客户操作) -----------------------------------------------------------

    def insert(self, name: str) -> Future[None]:
        """Put test card ``name`` in the reader (a card already there comes out first)."""
        return self._pool.submit(self._insert, name)

    def remove(self) -> Future[None]:
        """Take the card out of the reader."""
        return self._pool.submit(self._remove)

    def set_reader_connected(self, connected: bool) -> Future[None]:
        """Unplug the card reader (读卡器断开) or plug it back, as a trainee exercise."""
        return self._pool.submit(self._set_reader, connected)

    def _set_reader(self, connected: bool) -> None:
        if connected == self._reader_connected:
            return
        self._reader_connected = connected
        if not connected:
            if self.inserted is not None:
                self._card_slot.remove()
                self._emit(DeviceEvent(EventKind.CARD_REMOVED, ReaderRole.CARD, CARD_READER))
            self._emit(DeviceEvent(EventKind.READER_GONE, ReaderRole.CARD, CARD_READER))
            return
        self._emit(DeviceEvent(EventKind.READER_FOUND, ReaderRole.CARD, CARD_READER))
        if self.inserted is not None:
            card = self._cards[self.inserted]
            self._card_slot.insert(card)
            self._emit(DeviceEvent(EventKind.CARD_INSERTED, ReaderRole.CARD, CARD_READER, card.atr()))

    def _power_up(self) -> None:
        self._psam_slot.insert(build_psam())
        self._emit(DeviceEvent(EventKind.READER_FOUND, ReaderRole.CARD, CARD_READER))
        self._emit(DeviceEvent(EventKind.READER_FOUND, ReaderRole.PSAM, PSAM_READER))
        self._emit(DeviceEvent(EventKind.CARD_INSERTED, ReaderRole.PSAM, PSAM_READER, self._psam_slot.atr()))

    def _insert(self, name: str) -> None:
        if self.inserted is not None:
            self._remove()
        with self._lock:
            card = self._cards.get(name)
            if card is None:
                card = self._cards[name] = build_card(name)
        self.inserted = name
        if self._reader_connected:  # into an unplugged reader: noticed when it is plugged back
            self._card_slot.insert(card)
            self._emit(DeviceEvent(EventKind.CARD_INSERTED, ReaderRole.CARD, CARD_READER, card.atr()))

    def _remove(self) -> None:
        if self.inserted is None:
            return
        self.inserted = None
        if self._reader_connected:
            self._card_slot.remove()
            self._emit(DeviceEvent(EventKind.CARD_REMOVED, ReaderRole.CARD, CARD_READER))

    def _emit(self, event: DeviceEvent) -> None:
        self._on_event(event)
