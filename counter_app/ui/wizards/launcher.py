"""Starting an item's wizard from the shell (`WizardLauncher`, given as ``ShellServices.start_flow``).

The launcher is built before the main window (``ShellServices`` is), then `attach`-ed to it: it
takes the window's `BackgroundTasks`, its signed-in session and makes the flow `Context` with
``make_context(session)`` — the composition (``app.py`` or a test) decides the ports. The context's
renderer is wrapped in a `CapturingRenderer`, so the wizard can preview the form it printed.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from typing import Any

from counter_app.ui.qt import QMessageBox, QWidget
from counter_app.ui.wizards.flow_wizard import FlowWizard
from counter_app.workflows import registry
from counter_app.workflows.base import Flow, FollowUp
from counter_app.workflows.context import Context
from counter_app.workflows.ports import ReceiptRenderer, RenderedForm, TransactionRecord

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

    def attach(self, window: Any) -> WizardLauncher:
        """Bind to the main window (its tasks, session and as the wizards' parent)."""
        self.window = window
        return self

    def __call__(self, item_code: str) -> None:
        self.start(item_code)

    def start(self, item_code: str, *, variant: str | None = None, prefill: Any = None) -> None:
        window = self.window
        if window is None:
            raise RuntimeError("WizardLauncher.attach(window) was not called")
        session = getattr(window, "session", None)
        if session is None or getattr(window, "locked", False):
            QMessageBox.information(window, "开始办理", "请先登录。")
            return
        ctx = self._make_context(session)
        if ctx is None:
            QMessageBox.information(
                window, "开始办理", "办理环境尚未就绪（设备或中心连接正在启动），请稍候再试。"
            )
            return
        if isinstance(ctx.renderer, CapturingRenderer):
            renderer = ctx.renderer
        else:  # wrap it to preview the printed form
            renderer = CapturingRenderer(ctx.renderer)
            ctx = dataclasses.replace(ctx, renderer=renderer)

        def begin() -> Flow:
            return registry.start(item_code, ctx, variant=variant, prefill=prefill)

        window.tasks.run(begin, lambda flow: self._open(flow, renderer), self._failed)

    def _open(self, flow: Flow, renderer: CapturingRenderer) -> None:
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
        self.wizard = wizard
        self.opened.append(wizard)
        wizard.show()
        wizard.activateWindow()

    def _follow(self, follow: FollowUp) -> None:
        self.start(follow.item_code, variant=follow.variant, prefill=dict(follow.prefill))

    def _failed(self, error: BaseException) -> None:
        log.error("the flow could not start", exc_info=error)
        QMessageBox.warning(self.window, "开始办理", f"无法开始办理：{error}")
