"""Starting an item's wizard from the shell (`WizardLauncher`, given as ``ShellServices.start_flow``).

The launcher is built before the main window (``ShellServices`` is), then `attach`-ed to it: it
takes the window's `BackgroundTasks`, its signed-in session and makes the flow `Context` with
``make_context(session)`` — the composition (``app.py`` or a test) decides the ports. The context's
renderer is wrapped in a `CapturingRenderer`, so the wizard can preview the form it printed, and it
gets a `ReaderWatch` (插卡/取卡等待) woken by the shell's card-reader events.

It also keeps the counter's index of open flows (`OpenFlows`): a flow is listed while its wizard
is open, and after a sign-in a flow a killed program left half done (a card write begun, a command
accepted) is resumed in its wizard at once, without a second card; and it adds 代管代持授权 (a
procedure, not one of the twelve items) to the 业务 menu for the operators who may register one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
from collections.abc import Callable
from typing import Any

from counter_app.devices.pcsc import DeviceEvent, EventKind, ReaderRole
from counter_app.ui.qt import QAction, QKeySequence, QMessageBox, QWidget
from counter_app.ui.wizards.flow_wizard import FlowWizard
from counter_app.workflows import registry
from counter_app.workflows.base import Flow, FlowStatus, FollowUp
from counter_app.workflows.card_moves import ReaderWatch
from counter_app.workflows.context import Context
from counter_app.workflows.custody import CustodyFlow
from counter_app.workflows.open_flows import OpenFlows
from counter_app.workflows.ports import ReceiptRenderer, RenderedForm, TransactionRecord

#: The 业务 menu entry of the 代管代持 procedure (not an F-key: those are the twelve items').
CUSTODY_SHORTCUT = "Ctrl+G"

log = logging.getLogger(__name__)


class CapturingRenderer:
    """A `ReceiptRenderer` that keeps the last PDF it rendered (for the wizard's preview)."""

    def __init__(self, inner: ReceiptRenderer) -> None:
        self.inner = inner
        self._lock = threading.Lock()
        self.last_pdf: bytes | None = None

    def render_acceptance_form(self, transaction: TransactionRecord, *, reprint: int = 0) -> RenderedForm:
        rendered = self.inner.render_acceptance_form(transaction, reprint=reprint)
        with self._lock:
            self.last_pdf = rendered.pdf
        return rendered

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class WizardLauncher:
    """``start_flow(item_code)``: opens the item's wizard for the signed-in operator."""

    def __init__(self, make_context: Callable[[Any], Context | None]) -> None:
        self._make_context = make_context
        self.window: Any = None
        self.wizard: FlowWizard | None = None
        self.opened: list[FlowWizard] = []
        self.custody_action: QAction | None = None
        self._watches: list[ReaderWatch] = []

    def attach(self, window: Any) -> WizardLauncher:
        """Bind to the main window (its tasks, session and as the wizards' parent)."""
        self.window = window
        bridge = getattr(window, "bridge", None)
        if bridge is not None:
            bridge.device_event.connect(self._device_event)
        menu = getattr(getattr(window, "ui", None), "serviceMenu", None)
        if menu is not None:
            action = QAction("代管代持授权…", window)
            action.setObjectName("actionCustody")
            action.setShortcut(QKeySequence(CUSTODY_SHORTCUT))
            action.triggered.connect(lambda _checked=False: self.start(CustodyFlow.item_code))
            menu.addSeparator()
            menu.addAction(action)
            window.addAction(action)
            action.setVisible(False)
            self.custody_action = action
        changed = getattr(window, "session_changed", None)
        if changed is not None:
            changed.connect(self._session_changed)
        return self

    # -- the shell's signals ----------------------------------------------------------------------

    def _device_event(self, event: DeviceEvent) -> None:
        """A card went in or out of the citizen's reader: a waiting step looks again at once."""
        if event.role is ReaderRole.CARD and event.kind in (EventKind.CARD_INSERTED, EventKind.CARD_REMOVED):
            for watch in self._watches:
                watch.notify()

    def _session_changed(self, session: Any) -> None:
        if self.custody_action is not None:
            self.custody_action.setVisible(self._may_register_custody(session))
        if session is not None:
            self.resume_pending()

    def _may_register_custody(self, session: Any) -> bool:
        outlet = getattr(session, "outlet", None)
        if session is None or outlet is None:
            return False
        catalog = getattr(getattr(self.window, "services", None), "catalog", None)
        if catalog is None:
            return False
        procedure = catalog.by_code(CustodyFlow.item_code)
        caps = [
            c for c in ("can_activate_social", "instant_issuance") if getattr(outlet.capabilities, c, False)
        ]
        decision = procedure.check_access(
            role=session.operator.role.value, outlet_type=outlet.type.value, capabilities=caps
        )
        return bool(decision)

    # -- contexts ---------------------------------------------------------------------------------

    def _context(self, *, quiet: bool = False) -> tuple[Context, CapturingRenderer] | None:
        window = self.window
        if window is None:
            raise RuntimeError("WizardLauncher.attach(window) was not called")
        session = getattr(window, "session", None)
        if session is None or getattr(window, "locked", False):
            if not quiet:
                QMessageBox.information(window, "开始办理", "请先登录。")
            return None
        ctx = self._make_context(session)
        if ctx is None:
            if not quiet:
                QMessageBox.information(
                    window, "开始办理", "办理环境尚未就绪（设备或中心连接正在启动），请稍候再试。"
                )
            return None
        changes: dict[str, Any] = {}
        if isinstance(ctx.renderer, CapturingRenderer):
            renderer = ctx.renderer
        else:  # wrap it to preview the printed form
            renderer = CapturingRenderer(ctx.renderer)
            changes["renderer"] = renderer
        if ctx.card_wait is None:
            watch = ReaderWatch(ctx.card_transport)
            self._watches = [watch]
            changes["card_wait"] = watch
        if changes:
            ctx = dataclasses.replace(ctx, **changes)
        return ctx, renderer

    @staticmethod
    def open_flows(ctx: Context) -> OpenFlows:
        return OpenFlows(ctx.journal, ctx.outlet.code, ctx.counter_number)

    def __call__(self, item_code: str) -> None:
        self.start(item_code)

    def start(self, item_code: str, *, variant: str | None = None, prefill: Any = None) -> None:
        made = self._context()
        if made is None:
            return
        ctx, renderer = made

        def begin() -> Flow:
            flow = registry.start(item_code, ctx, variant=variant, prefill=prefill)
            if flow.status is FlowStatus.RUNNING:
                self.open_flows(ctx).add(flow.flow_id, flow.item_code)
            return flow

        self.window.tasks.run(begin, lambda flow: self._open(flow, renderer), self._failed)

    def resume_pending(self) -> None:
        """续办: open the wizard of a flow a killed program left half done (one at a time)."""
        if self.wizard is not None and self.wizard.isVisible():
            return
        made = self._context(quiet=True)
        if made is None:
            return
        ctx, renderer = made

        def find() -> Flow | None:
            index = self.open_flows(ctx)
            for flow_id in index.resumable():
                flow = registry.resume(flow_id, ctx)
                if flow is not None and flow.status is FlowStatus.RUNNING:
                    return flow
                index.remove(flow_id)
            return None

        def found(flow: Flow | None) -> None:
            if flow is not None:
                self._open(flow, renderer, resumed=True)

        self.window.tasks.run(find, found, self._failed)

    def _open(self, flow: Flow, renderer: CapturingRenderer, *, resumed: bool = False) -> None:
        parent: QWidget | None = self.window
        wizard = FlowWizard(
            flow,
            self.window.tasks,
            last_pdf=lambda: renderer.last_pdf,
            start_follow_up=self._follow,
            confirm=getattr(self.window, "request_confirmation", None),
            parent=parent,
        )
        wizard.setModal(True)
        if resumed:
            wizard.setWindowTitle(wizard.windowTitle() + "（继续办理上次未办结的业务）")
            wizard.ui.problemLabel.setText(
                "上次办理因程序退出而中断，已从中断处继续；请按页面提示完成办理。"
                if not wizard.ui.problemLabel.text()
                else wizard.ui.problemLabel.text()
            )
        cards = getattr(self.window, "cards", None)
        if cards is not None:  # the flow drives the card now: the panel's own reads wait
            cards.hold()
            wizard.finished.connect(lambda _result: cards.release())
        wizard.finished.connect(lambda _result: self._closed(wizard))
        self.wizard = wizard
        self.opened.append(wizard)
        wizard.show()
        wizard.activateWindow()

    def _closed(self, wizard: FlowWizard) -> None:
        """A wizard closed: its flow leaves the index once it ended (else it stays to be resumed)."""
        flow = wizard.flow
        if flow.status is FlowStatus.RUNNING:
            return
        index = self.open_flows(flow.ctx)
        with contextlib.suppress(RuntimeError):  # the shell is closing
            self.window.tasks.run(lambda: index.remove(flow.flow_id), lambda _: None, self._failed)

    def _follow(self, follow: FollowUp) -> None:
        self.start(follow.item_code, variant=follow.variant, prefill=dict(follow.prefill))

    def _failed(self, error: BaseException) -> None:
        log.error("the flow could not start", exc_info=error)
        QMessageBox.warning(self.window, "开始办理", f"无法开始办理：{error}")
