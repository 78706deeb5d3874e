"""Wizards, part 1, on the real stack (see `tests.ui.wizards.real_stack`): 密码修改, 密码重置/解锁,
激活, 挂失, 解挂, 非关键信息变更, 信息查询 and 补贴查询 — each allowed path and its refusals, with the
emulated card, the server's records, the local journal and audit chain, and the printed form checked.

The module shares one counter (server, store, readers): each test works on its own test card.
"""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from counter_app.emulator import TEST_CARDS
from counter_app.ui.main_window import MainWindow
from counter_app.ui.qt import Qt
from counter_app.workflows.base import StepKind
from tests.ui.conftest import press
from tests.ui.wizards.real_stack import (
    RealCounter,
    insert_and_read,
    open_item,
)
from tests.ui.wizards.real_stack import memory_keyring as memory_keyring
from tests.ui.wizards.real_stack import real_counter as real_counter
from tests.ui.wizards.real_stack import real_window as real_window
from tests.ui.wizards.test_flow_wizards import HOLDER_ANSWER, run

pytestmark = [pytest.mark.integration, pytest.mark.pcsc, pytest.mark.gui, pytest.mark.slow]


def identify(label: str) -> dict[str, dict[str, str]]:
    holder = TEST_CARDS[label].holder()
    assert holder is not None
    return {"identify": {"id_type": "resident_id", "id_number": holder.social_security_number}}


def card_number(label: str) -> str:
    number = TEST_CARDS[label].card_number
    assert number
    return str(number)


# --- 密码修改 ----------------------------------------------------------------------------------------


def test_pin_change_changes_the_pin_on_the_card_and_is_recorded_everywhere(
    real_window: MainWindow, real_counter: RealCounter, qtbot: QtBot
) -> None:
    card = insert_and_read(qtbot, real_window, real_counter, "muchuan_v3")
    printed = real_counter.printed_pdfs()
    # first the citizen types a wrong old PIN: the step says so with the tries left; 重试 works
    real_counter.pad.script("111111#", "852741#", "852741#", "147258#", "852741#", "852741#")
    wizard = open_item(qtbot, real_window, "pin_change")
    assert "申请条件" in wizard.ui.itemLabel.text()
    problem = run(qtbot, wizard, HOLDER_ANSWER, until_problem=True).problem
    assert problem is not None and problem.code == "pin_incorrect" and "5" in problem.message
    assert problem.message in wizard.page_text()
    assert card.pin_tries_left == 5 and card.pin_matches("147258")
    with qtbot.waitSignal(wizard.step_shown, timeout=30_000):
        press(qtbot, wizard.focusWidget() or wizard, Qt.Key.Key_Return)  # 重试
    done = run(qtbot, wizard, HOLDER_ANSWER)
    assert done.kind is StepKind.DONE and done.outcome is not None, done.refusal
    assert card.pin_matches("852741") and card.pin_tries_left == 6
    number = done.outcome.acceptance_number
    real_counter.assert_journal(number, "pin_change")
    assert real_counter.server_transaction(number)["item_code"] == "pin_change"
    form = real_counter.printed_text(printed, number)
    assert "密码修改" in form and "陈晓燕" in form
    assert wizard.preview is not None
    assert real_counter.pad.script_left == 0
