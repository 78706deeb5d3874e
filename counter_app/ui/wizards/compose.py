"""The flow `Context` of 培训模式 (`training_context`): the training environment's ports.

The sync service gives the server, replica, confirmers and receipt code
(``SyncService.context_ports``); the environment the store (journal), the emulated card and PSAM,
the training PIN pad (over its pty, as the real serial pad) and the training printer. The context
is bound to the sync service so its offline flag follows the counter's state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from counter_app.clock import SystemClock
from counter_app.ui.wizards.device_ports import DeviceThreadKeys, DeviceThreadTransport
from counter_app.ui.wizards.launcher import CapturingRenderer
from counter_app.workflows.context import Context


def training_context(environment: Any) -> Callable[[Any], Context | None]:
    """``make_context(session)`` for the `WizardLauncher` in 培训模式; None until the server is up."""
    from counter_app.receipts import ReportLabReceiptRenderer

    clock = SystemClock()
    renderer = ReportLabReceiptRenderer(clock=clock)
    state: dict[str, Any] = {"pad": None, "unbind": None}

    def pin_pad() -> Any:
        if state["pad"] is None and environment.pad is not None:
            from counter_app.devices.pinpad.serial_pad import SerialPinPad

            state["pad"] = SerialPinPad(environment.pad.port)
        return state["pad"]

    def make(session: Any) -> Context | None:
        sync = environment.sync(0)
        if sync is None or environment.store is None or session.outlet is None:
            return None
        devices = environment.devices
        ctx = Context(
            operator=session.operator,
            outlet=session.outlet,
            counter_number=environment.settings.counter_number,
            journal=environment.store,
            renderer=CapturingRenderer(renderer),
            printer=environment.printer,
            clock=clock,
            pin_pad=pin_pad(),
            card_transport=DeviceThreadTransport(devices),
            key_provider=DeviceThreadKeys(devices),
            training=True,
            **sync.context_ports(),
        )
        if state["unbind"] is not None:
            state["unbind"]()
        state["unbind"] = sync.bind(ctx)
        return ctx

    return make
