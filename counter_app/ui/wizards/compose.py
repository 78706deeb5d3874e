"""The flow `Context` of a signed-in counter (柜台会话的办理环境), for 培训模式 and for production.

`FlowContexts` makes ``make_context(session)`` for the `WizardLauncher` from the counter's parts:
the sync service gives the server, replica, confirmers and receipt code
(``SyncService.context_ports``); its store is the journal; the card and PSAM are reached through the
device thread (`DeviceThreadTransport`, `DeviceThreadKeys`); the PIN pad and the printer are the
counter's. The context is bound to the sync service so its offline flag follows the counter's state.

- `training_context`: the training environment's parts (emulated reader and PSAM, the training pad
  over its pty as the real serial pad, the training printer that keeps PDFs);
- `production_context`: the configured counter (PC/SC readers, the ``[devices]`` PIN pad, the
  ``[printing]`` printer).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from counter_app.clock import SystemClock
from counter_app.config import Settings
from counter_app.ui.wizards.device_ports import DeviceThreadKeys, DeviceThreadTransport
from counter_app.ui.wizards.launcher import CapturingRenderer
from counter_app.workflows.context import Context
from counter_app.workflows.ports import PinEntries, PinRequest, PrintFailed, SecurePinResult

log = logging.getLogger(__name__)

MakeContext = Callable[[Any], Context | None]


class NoPrinter:
    """The counter has no printer configured: printing fails with what to do (the form can be
    reprinted from the journal once one is set up)."""

    def is_ready(self) -> bool:
        return False

    def print_pdf(self, pdf: bytes, *, job_name: str) -> str:
        raise PrintFailed("本柜台未配置打印机，请联系信息科在设置中选择打印机后补打受理表。")


class NoPinPad:
    """The counter has no PIN pad configured: any PIN step says so instead of waiting."""

    secure = False

    def collect(self, request: PinRequest) -> PinEntries:
        from counter_app.devices.pinpad.errors import PinPadUnavailable

        raise PinPadUnavailable("本柜台未配置密码键盘，请联系信息科在配置文件 [devices] 中设置")

    def enter_on_card(self, request: PinRequest, transport: Any) -> SecurePinResult:
        return self.collect(request)  # type: ignore[return-value]  # raises

    def cancel(self) -> bool:
        return False


class FlowContexts:
    """``make_context(session)``: None while the sync service or store is not there yet."""

    def __init__(
        self,
        *,
        counter_number: str,
        sync: Callable[[], Any],
        devices: Any,
        pin_pad: Callable[[], Any],
        printer: Any,
        training: bool,
    ) -> None:
        from counter_app.receipts import ReportLabReceiptRenderer

        self._counter_number = counter_number
        self._sync = sync
        self._devices = devices
        self._pin_pad = pin_pad
        self._printer = printer
        self._training = training
        self._clock = SystemClock()
        self._renderer = ReportLabReceiptRenderer(clock=self._clock)
        self._unbind: Callable[[], None] | None = None
        self._lock = threading.Lock()

    def __call__(self, session: Any) -> Context | None:
        sync = self._sync()
        if sync is None or self._devices is None or getattr(session, "outlet", None) is None:
            return None
        ctx = Context(
            operator=session.operator,
            outlet=session.outlet,
            counter_number=self._counter_number,
            journal=sync.store,
            renderer=CapturingRenderer(self._renderer),
            printer=self._printer,
            clock=self._clock,
            pin_pad=self._pin_pad(),
            card_transport=DeviceThreadTransport(self._devices),
            key_provider=DeviceThreadKeys(self._devices),
            training=self._training,
            **sync.context_ports(),
        )
        with self._lock:
            if self._unbind is not None:
                self._unbind()
            self._unbind = sync.bind(ctx)
        return ctx


def _once(make: Callable[[], Any]) -> Callable[[], Any]:
    """``make()`` on first use, then the same object (a pad opens its port when first asked)."""
    made: list[Any] = []
    lock = threading.Lock()

    def get() -> Any:
        with lock:
            if not made:
                made.append(make())
            return made[0]

    return get


def training_context(environment: Any) -> MakeContext:
    """``make_context(session)`` for the `WizardLauncher` in 培训模式; None until the server is up."""

    def pad() -> Any:
        if environment.pad is None:
            return NoPinPad()
        from counter_app.devices.pinpad.serial_pad import SerialPinPad

        return SerialPinPad(environment.pad.port)

    def sync() -> Any:
        service = environment.sync(0)
        return service if service is not None and environment.store is not None else None

    return FlowContexts(
        counter_number=environment.settings.counter_number,
        sync=sync,
        devices=environment.devices,
        pin_pad=_once(pad),
        printer=environment.printer,
        training=True,
    )


def configured_pin_pad(settings: Settings) -> Any:
    """The ``[devices]`` PIN pad: the card reader's own keypad (``pinpad = "reader"``, PC/SC Part 10
    through the device thread), a vendor pad behind its helper (``pinpad_helper``, a command line) or
    a serial 密码键盘 on ``pinpad_port``; `NoPinPad` when none is configured."""
    if settings.pinpad == "reader":
        from counter_app.devices.pinpad.secure_pad import Part10PinPad

        return Part10PinPad()
    if settings.pinpad_helper and settings.pinpad in ("", "vendor"):
        import shlex

        from counter_app.devices.pinpad.vendor import VendorPadClient

        return VendorPadClient(shlex.split(settings.pinpad_helper))
    if settings.pinpad_port and settings.pinpad in ("", "serial"):
        from counter_app.devices.pinpad.serial_pad import SerialPinPad

        return SerialPinPad(settings.pinpad_port)
    return NoPinPad()


def production_context(
    settings: Settings, sync: Callable[[float], Any], devices: Any, printer: Any
) -> MakeContext:
    """``make_context(session)`` for a configured counter (``sync(wait)`` is `ProductionSync.sync`)."""
    return FlowContexts(
        counter_number=settings.counter_number,
        sync=lambda: sync(0),
        devices=devices,
        pin_pad=_once(lambda: configured_pin_pad(settings)),
        printer=printer if printer is not None else NoPrinter(),
        training=False,
    )
