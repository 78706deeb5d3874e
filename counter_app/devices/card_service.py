"""The shell's device service on PC/SC (读卡服务): `PcscDevices` seen through one small interface.

The UI submits jobs that get a `DeviceAccess` (card transport, PSAM key provider, the 社保卡
application); they run on the PC/SC device thread. The training emulator offers the same interface
(`counter_app.training.devices`), so the shell never knows which one it drives.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol, TypeVar

from counter_app.card import CardError, CardInfo, PsamKeyProvider, SocialSecurityCard
from counter_app.devices.pcsc import DeviceEvent, PcscDevices, ReaderRole, RoleTransport
from counter_app.workflows.ports import CardTransport, KeyProvider

__all__ = ["CardReading", "DeviceAccess", "DeviceService", "PcscDeviceService", "read_card"]

T = TypeVar("T")


class DeviceAccess(Protocol):
    """What a device job gets, on the device thread: the citizen's card and the PSAM."""

    def card_transport(self) -> CardTransport:
        """The card in the card reader (raises ``CardRemovedError`` when there is none)."""
        ...

    def key_provider(self) -> KeyProvider | None:
        """The PSAM (None when there is no PSAM reader configured)."""
        ...

    def card(self) -> SocialSecurityCard:
        """The 社保卡 application on the card in the reader, with the PSAM as key provider."""
        ...


class DeviceService(Protocol):
    """The card and PSAM readers behind one device thread (设备服务): PC/SC or the emulator.

    ``start`` begins watching; ``on_event`` is called on the device thread with reader and card
    events. ``submit`` runs a job on the device thread and returns at once.
    """

    def start(self, on_event: Callable[[DeviceEvent], None]) -> None: ...

    def stop(self) -> None: ...

    def submit(self, job: Callable[[DeviceAccess], T]) -> Future[T]: ...


@dataclass(frozen=True)
class CardReading:
    """What the card panel shows from the chip: EF05/EF06 and the PIN tries left (if the card says)."""

    info: CardInfo
    pin_tries_left: int | None


def read_card(access: DeviceAccess) -> CardReading:
    """The device job behind the card panel (读卡): every EF05/EF06 item and the PIN try counter."""
    card = access.card()
    info = card.read_basic_info()
    tries: int | None = None
    if not info.is_blank:
        try:
            tries = card.pin_tries_left()
        except CardError:  # a card that refuses the empty VERIFY still shows its data
            tries = None
    return CardReading(info, tries)


class _PcscAccess:
    """`DeviceAccess` on the device thread."""

    def __init__(self, devices: PcscDevices, key_provider: KeyProvider | None) -> None:
        self._devices = devices
        self._keys = key_provider

    def card_transport(self) -> CardTransport:
        return self._devices.transport(ReaderRole.CARD)

    def key_provider(self) -> KeyProvider | None:
        return self._keys

    def card(self) -> SocialSecurityCard:
        return SocialSecurityCard(self.card_transport(), self._keys)


class PcscDeviceService:
    """`DeviceService` over `PcscDevices`: readers chosen by the configured name patterns."""

    def __init__(self, card_pattern: str, psam_pattern: str) -> None:
        self._card_pattern = card_pattern
        self._psam_pattern = psam_pattern
        self._devices: PcscDevices | None = None
        self._keys: KeyProvider | None = None

    def start(self, on_event: Callable[[DeviceEvent], None]) -> None:
        self._devices = PcscDevices(self._card_pattern, self._psam_pattern, on_event)
        if self._psam_pattern:  # one PSAM session for the program's life; RoleTransport survives resets
            self._keys = PsamKeyProvider(RoleTransport(self._devices, ReaderRole.PSAM))
        self._devices.start()

    def stop(self) -> None:
        if self._devices is not None:
            self._devices.stop()

    def submit(self, job: Callable[[DeviceAccess], T]) -> Future[T]:
        if self._devices is None:
            raise RuntimeError("PcscDeviceService.start() was not called")
        keys = self._keys
        return self._devices.submit(lambda devices: job(_PcscAccess(devices, keys)))
