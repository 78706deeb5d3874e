"""Helpers of the part-2 wizard tests (申领, 领卡, 补换卡, 关键信息变更, 参保地变更, 注销, 代管代持).

`Counter` is the flow tests' in-process world (emulated card and PSAM, the city as the server, the
real ReportLab renderer) at a chosen outlet, wired into the shell; `supervisor_confirms` signs the
supervisor in at the counter when a wizard asks; `wait_told` waits for a running step's instruction
(请取出原卡 …) before the test makes the card move, as the clerk reads it before acting.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from pytestqt.qtbot import QtBot

from counter_app.domain.card_lifecycle import SocialStatus
from counter_app.domain.operators import Outlet
from counter_app.receipts import ReportLabReceiptRenderer
from counter_app.ui.main_window import MainWindow
from counter_app.ui.qt import QLabel, QLineEdit, Qt
from counter_app.ui.sign_in import SignInDialog
from counter_app.ui.wizards import FlowWizard, WizardLauncher
from counter_app.workflows.context import Context
from counter_app.workflows.ports import CardTransport, Journal
from tests.ui.conftest import OPERATORS as SHELL_OPERATORS
from tests.ui.conftest import press
from tests.workflows.faults import Crash, CrashingJournal
from tests.workflows.helpers import HR, World, card_of, holder_of


def knowing(ctx: Context, known: Mapping[str, Any]) -> Context:
    """``ctx`` whose operator directory also knows ``known`` (the shell's supervisors, by 工号)."""
    inner = ctx.operators

    class Both:
        def find(self, number: str) -> Any:
            return known.get(number) or inner.find(number)

    return dataclasses.replace(ctx, operators=Both())


class Counter:
    """The flow-test world at ``outlet`` with the real renderer; the shell's supervisors known."""

    def __init__(self, outlet: Outlet = HR, *, world: World | None = None) -> None:
        self.world = world or World(renderer=ReportLabReceiptRenderer())  # type: ignore[arg-type]
        self.outlet = outlet
        self.transport: CardTransport | None = None
        self.journal: Journal | None = None
        self.contexts: list[Context] = []
        self.launcher: WizardLauncher | None = None
        self.window: MainWindow | None = None

    def context(self, session: Any) -> Context:
        ctx = self.world.ctx(self.outlet, transport=self.transport, journal=self.journal)
        ctx = knowing(ctx, {n: op for n, (op, _, _) in SHELL_OPERATORS.items()})
        self.contexts.append(ctx)
        return ctx

    @property
    def pdfs(self) -> list[bytes]:
        return [pdf for _, pdf in self.world.printer.jobs]

    def holder(self, name: str, status: SocialStatus, **kw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        person_kw = {k: kw.pop(k) for k in ("vulnerable_group",) if k in kw}
        person = holder_of(name, self.world.city, **person_kw)
        card = card_of(name, person, self.world.city, status, **kw)
        return person, card


def open_by_keyboard(qtbot: QtBot, window: MainWindow, launcher: WizardLauncher, code: str) -> FlowWizard:
    row = next(i for i, e in enumerate(window.entries) if e.code == code)
    window.ui.serviceList.setCurrentRow(row)
    window.ui.serviceList.setFocus()
    press(qtbot, window.ui.serviceList, Qt.Key.Key_Return)
    return next_wizard(qtbot, launcher)


def next_wizard(qtbot: QtBot, launcher: WizardLauncher) -> FlowWizard:
    """The wizard the launcher opens next (a menu item, a follow-up, a resumed flow)."""
    qtbot.waitUntil(lambda: launcher.wizard is not None and launcher.wizard.isVisible(), timeout=20_000)
    wizard = launcher.wizard
    assert wizard is not None
    launcher.wizard = None
    qtbot.addWidget(wizard)
    return wizard


def supervisor_confirms(
    qtbot: QtBot, window: MainWindow, wizard: FlowWizard, number: str = "HR0109", password: str = "pw"
) -> None:
    """On the 复核确认 page: Enter, then the supervisor signs in at this counter (工号, 密码, Enter)."""
    assert wizard.step.key == "supervisor"
    field = wizard.findChild(QLineEdit, "field_supervisor")
    assert field is not None and field.isReadOnly()
    field.setFocus()
    press(qtbot, field, Qt.Key.Key_Return)

    def confirmation() -> SignInDialog | None:
        return next((d for d in window.findChildren(SignInDialog) if d.isVisible()), None)

    qtbot.waitUntil(lambda: confirmation() is not None)
    dialog = confirmation()
    assert dialog is not None and dialog.windowTitle() == "复核/授权确认"
    qtbot.keyClicks(dialog.ui.numberEdit, number)  # type: ignore[no-untyped-call]
    press(qtbot, dialog.ui.numberEdit, Qt.Key.Key_Return)
    qtbot.keyClicks(dialog.ui.passwordEdit, password)  # type: ignore[no-untyped-call]
    with qtbot.waitSignal(wizard.step_shown, timeout=20_000):
        press(qtbot, dialog.ui.passwordEdit, Qt.Key.Key_Return)


def progress_text(wizard: FlowWizard) -> str:
    label = wizard.findChild(QLabel, "progressText")
    return label.text() if label is not None else ""


def wait_told(qtbot: QtBot, wizard: FlowWizard, cue: str) -> None:
    """Wait until the running step tells the clerk ``cue`` (and is waiting for the card)."""
    qtbot.waitUntil(lambda: cue in progress_text(wizard) and wizard.busy, timeout=20_000)


def banner_text(wizard: FlowWizard) -> str:
    label = wizard.findChild(QLabel, "flowBanner")
    return label.text() if label is not None and label.isVisibleTo(wizard) else ""


def record_banners(wizard: FlowWizard) -> Callable[[], list[tuple[str, str]]]:
    """(step key, banner shown on the page) for every page the wizard shows from now on."""
    seen: list[tuple[str, str]] = []
    wizard.step_shown.connect(lambda step: seen.append((step.key, banner_text(wizard))))
    return lambda: seen


class DiesMidWrite(CrashingJournal):
    """The counter PC dies right after the checkpoint that confirms the second record of a write."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)

    def save_checkpoint(self, flow_id: str, state: Any) -> None:
        self.inner.save_checkpoint(flow_id, state)
        pending = (state.get("data") or {}).get("pending_write") or {}
        marks = [r["state"] for r in pending.get("records") or ()]
        if marks.count("confirmed") == 2 and not getattr(self, "died", False):
            self.died = True
            raise Crash("power off in the middle of the write")
