"""Card and PSAM ports for a flow, on the device thread (设备线程上的读卡器与 PSAM).

Flows run on a shell worker, but the readers may only be used on the device service's thread
(PC/SC handles belong to it; the training emulator guards the same way). These ports hand every
APDU and every PSAM computation to `DeviceService.submit` and wait for it, so a flow drives the
real reader from its worker while the card panel's reads keep their own turn on the device thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from counter_app.devices.card_service import DeviceAccess, DeviceService
from counter_app.workflows.ports import KeyProvider

T = TypeVar("T")

#: How long one APDU or PSAM computation may wait for the device thread (seconds).
DEVICE_TIMEOUT = 60.0
#: A control call may hold the PIN entry on the reader's own keypad (at most 255 s by Part 10).
CONTROL_TIMEOUT = 300.0


def _on_device(service: DeviceService, job: Callable[[DeviceAccess], T]) -> T:
    return service.submit(job).result(timeout=DEVICE_TIMEOUT)


class DeviceThreadTransport:
    """`CardTransport` of the citizen's card reader, each call run on the device thread."""

    def __init__(self, service: DeviceService) -> None:
        self._service = service

    @property
    def reader_name(self) -> str:
        return _on_device(self._service, lambda access: access.card_transport().reader_name)

    def atr(self) -> bytes:
        return _on_device(self._service, lambda access: access.card_transport().atr())

    def transmit(self, command: bytes | bytearray) -> bytes:
        data = bytes(command)
        return _on_device(self._service, lambda access: access.card_transport().transmit(data))

    def control(self, controlCode: int, command: list[int] | None = None) -> list[int]:  # noqa: N803
        """``SCardControl`` to the card reader on the device thread (a Part 10 reader's own PIN pad;
        the citizen types on it while the call waits, so it may take as long as the entry)."""
        data = list(command or [])

        def run(access: DeviceAccess) -> list[int]:
            control = getattr(access.card_transport(), "control", None)
            if control is None:
                from counter_app.devices.pinpad.errors import PinPadNotCapable

                raise PinPadNotCapable("此读卡器连接不提供控制通道（SCardControl）")
            result: list[int] = control(controlCode, data)
            return result

        return self._service.submit(run).result(timeout=CONTROL_TIMEOUT)


class DeviceThreadKeys:
    """`KeyProvider` (the PSAM in the second reader), each computation run on the device thread."""

    def __init__(self, service: DeviceService) -> None:
        self._service = service

    def _keys(self, access: DeviceAccess) -> KeyProvider:
        keys = access.key_provider()
        if keys is None:
            from counter_app.workflows.ports import TransportError

            raise TransportError("未配置 PSAM 卡座")
        return keys

    def cryptogram(self, purpose: Any, diversifier: bytes, challenge: bytes) -> bytes:
        return _on_device(self._service, lambda a: self._keys(a).cryptogram(purpose, diversifier, challenge))

    def mac(self, purpose: Any, diversifier: bytes, challenge: bytes, data: bytes | bytearray) -> bytes:
        return _on_device(self._service, lambda a: self._keys(a).mac(purpose, diversifier, challenge, data))

    def terminal_id(self) -> str:
        return _on_device(self._service, lambda a: self._keys(a).terminal_id())
