"""Wizards in 培训模式 end to end: the real embedded central server on loopback, the real sync
service and store, the emulated card and PSAM, the training PIN pad over its pty (as the serial pad
is driven at a counter), and `start_flow` wired by ``app.training_services``."""

from __future__ import annotations

import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from pypdf import PdfReader
from pytestqt.qtbot import QtBot

from counter_app.emulator import TEST_CARDS
from counter_app.training.environment import TrainingEnvironment
from counter_app.ui.main_window import MainWindow
from counter_app.ui.qt import QLabel, QProgressBar, Qt
from counter_app.ui.wizards import FlowWizard, WizardLauncher
from counter_app.workflows.base import StepKind
from tests.store.memory_keyring import MemoryKeyring
from tests.ui.conftest import press
from tests.ui.test_training_mode import CLERK, CLERK_PASSWORD, _sign_in
from tests.ui.test_training_mode import environment as environment
from tests.ui.test_training_mode import keyring_in_memory as keyring_in_memory
from tests.ui.test_training_mode import window as window
from tests.ui.wizards.test_flow_wizards import HOLDER_ANSWER, run

pytestmark = [pytest.mark.integration, pytest.mark.gui, pytest.mark.slow]


def off_gui(call: Callable[[], Any]) -> Any:
    """A blocking server call from the test, on a thread (the GUI thread forbids them)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result(timeout=30)


def open_item(qtbot: QtBot, window: MainWindow, code: str) -> FlowWizard:
    launcher = window.services.start_flow
    assert isinstance(launcher, WizardLauncher)
    row = next(i for i, e in enumerate(window.entries) if e.code == code)
    window.ui.serviceList.setCurrentRow(row)
    window.ui.serviceList.setFocus()
    press(qtbot, window.ui.serviceList, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: launcher.wizard is not None and launcher.wizard.isVisible(), timeout=10_000)
    wizard = launcher.wizard
    assert wizard is not None
    launcher.wizard = None
    qtbot.addWidget(wizard)
    return wizard


def test_pin_change_wizard_through_the_training_stack(
    window: MainWindow,
    qtbot: QtBot,
    environment: TrainingEnvironment,
    keyring_in_memory: MemoryKeyring,
) -> None:
    assert _sign_in(qtbot, window, CLERK, CLERK_PASSWORD) == ""
    environment.devices.insert("muchuan_v3").result()
    assert environment.pad is not None
    environment.pad.script("147258#", "852741#", "852741#")
    wizard = open_item(qtbot, window, "pin_change")
    done = run(qtbot, wizard, HOLDER_ANSWER)
    assert done.kind is StepKind.DONE and done.outcome is not None, done.refusal
    card = environment.devices._cards["muchuan_v3"]
    assert card.pin_matches("852741") and card.pin_tries_left == 6
    number = done.outcome.acceptance_number
    record = environment.store.find(number)
    assert record is not None and record.item_code == "pin_change"
    assert environment.store.verify_audit().entries >= 1
    pdfs = sorted((environment.data_dir / "培训样张").glob("*.pdf"))
    assert pdfs
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdfs[-1].read_bytes())).pages)
    assert "密码" in text
    assert wizard.preview is not None


def test_report_loss_wizard_records_the_loss_on_the_training_server(
    window: MainWindow,
    qtbot: QtBot,
    environment: TrainingEnvironment,
    keyring_in_memory: MemoryKeyring,
) -> None:
    assert _sign_in(qtbot, window, CLERK, CLERK_PASSWORD) == ""
    environment.devices.insert("card_a").result()
    holder = TEST_CARDS["card_a"].holder()
    assert holder is not None
    identify = {"identify": {"id_type": "resident_id", "id_number": holder.social_security_number}}
    wizard = open_item(qtbot, window, "report_loss")
    done = run(
        qtbot,
        wizard,
        {"variant": {"variant": "temporary"}, "reason": {"reason": "遗失"}, **identify, **HOLDER_ANSWER},
    )
    assert done.kind is StepKind.DONE and done.outcome is not None, done.refusal
    server = off_gui(lambda: environment.sync(0).central.find_card(card_number="S11000018"))
    assert server is not None and server["status"] == "temp_loss"
    record = environment.store.find(done.outcome.acceptance_number)
    assert record is not None and record.item_code == "report_loss"

    # 临时挂失 once more: refused (a temporary loss may only be upgraded to 正式挂失)
    again = run(
        qtbot,
        open_item(qtbot, window, "report_loss"),
        {"variant": {"variant": "temporary"}, **identify, **HOLDER_ANSWER},
    )
    assert again.kind is StepKind.REFUSED and again.refusal is not None, again
    status = off_gui(lambda: environment.sync(0).central.find_card(card_number="S11000018"))
    assert status is not None and status["status"] == "temp_loss"


def test_esc_while_the_citizen_types_stops_the_pad_and_leaves_the_pin(
    window: MainWindow,
    qtbot: QtBot,
    environment: TrainingEnvironment,
    keyring_in_memory: MemoryKeyring,
) -> None:
    assert _sign_in(qtbot, window, CLERK, CLERK_PASSWORD) == ""
    environment.devices.insert("long_name").result()
    pad = environment.pad
    assert pad is not None
    wizard = open_item(qtbot, window, "pin_change")
    waiting = run(qtbot, wizard, HOLDER_ANSWER, until_key="change_pin")
    assert waiting.kind is StepKind.PORT
    qtbot.waitUntil(lambda: wizard.busy)
    progress = wizard.findChild(QLabel, "progressText")
    assert progress is not None and progress.text() == waiting.progress
    bar = wizard.findChild(QProgressBar, "progressBar")
    assert bar is not None and bar.isVisible()
    with qtbot.waitSignal(wizard.step_shown, timeout=20_000):
        press(qtbot, wizard, Qt.Key.Key_Escape)  # the pad is asked to stop; the step says so
    assert wizard.step.key == "change_pin" and wizard.step.problem is not None
    assert wizard.step.problem.message in wizard.page_text()
    card = environment.devices._cards["long_name"]
    assert card.pin_tries_left == 6
    with qtbot.waitSignal(wizard.step_shown, timeout=20_000):
        press(qtbot, wizard, Qt.Key.Key_Escape)  # now Esc cancels the flow: nothing was changed
    assert wizard.step.key == "cancelled"
    assert pad.script_left == 0
