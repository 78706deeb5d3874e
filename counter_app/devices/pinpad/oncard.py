"""Card jobs on the PC/SC device thread (设备线程上的卡片作业) for `PinService`.

`pcsc_card_runner` turns a `PcscDevices` into the `CardRunner` the service needs: each job is
submitted to the device thread, gets a fresh `SocialSecurityCard` over the card reader's transport
(and, when asked, a `PsamKeyProvider` over the PSAM reader's), and its result or exception comes
back to the calling thread. The PIN entries are collected before the job is submitted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from counter_app.card import PsamKeyProvider, SocialSecurityCard
from counter_app.card.errors import PsamUnavailable
from counter_app.card.settings import DEFAULT_SETTINGS, CardSettings
from counter_app.devices.pcsc import PcscDevices, ReaderRole
from counter_app.devices.pinpad.service import CardRunner, CardSession
from counter_app.workflows.ports import TransportError

__all__ = ["pcsc_card_runner"]

T = TypeVar("T")


class _PcscRunner:
    def __init__(self, devices: PcscDevices, settings: CardSettings, timeout: float) -> None:
        self._devices = devices
        self._settings = settings
        self._timeout = timeout

    def __call__(self, job: Callable[[CardSession], T], *, needs_psam: bool = False) -> T:
        settings = self._settings

        def on_device_thread(devices: PcscDevices) -> T:
            transport = devices.transport(ReaderRole.CARD)
            keys = None
            if needs_psam:
                try:
                    psam = devices.transport(ReaderRole.PSAM)
                except TransportError as error:  # never read as "the citizen's card was pulled"
                    raise PsamUnavailable(str(error) or type(error).__name__) from error
                keys = PsamKeyProvider(psam, settings.key_indices)
            return job(CardSession(SocialSecurityCard(transport, keys, settings), transport))

        return self._devices.submit(on_device_thread).result(self._timeout)


def pcsc_card_runner(
    devices: PcscDevices, settings: CardSettings = DEFAULT_SETTINGS, *, timeout: float = 300.0
) -> CardRunner:
    """A `CardRunner` on ``devices``' thread; ``timeout`` covers a Part 10 entry inside the job."""
    return _PcscRunner(devices, settings, timeout)
