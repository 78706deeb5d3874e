"""The 业务办理向导 driven by keyboard through the shell: 开始办理 → the item's wizard → every step.

The counter world is the flow tests' (`tests.workflows.helpers.World`): the emulated card and PSAM
answering the real card protocol in-process, the city as the central server, the journal in memory,
and the real ReportLab renderer, so the produced form is a real PDF whose text is checked.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from pypdf import PdfReader
from pytestqt.qtbot import QtBot

from counter_app.domain.card_lifecycle import SocialStatus
from counter_app.receipts import ReportLabReceiptRenderer
from counter_app.ui.main_window import MainWindow
from counter_app.ui.qt import QCheckBox, QComboBox, QLineEdit, Qt, QWidget
from counter_app.ui.wizards import FlowWizard, WizardLauncher
from counter_app.workflows.base import Step, StepKind
from counter_app.workflows.context import Context
from tests.ui.conftest import Shell, activate, press, signed_in
from tests.ui.wizards.part2 import knowing
from tests.workflows.helpers import AGENT_ID, HR, World, by_id, card_of, holder_of

Answers = Mapping[str, Any]
OpenWizard = Callable[[str], FlowWizard]


def commit_text(widget: QWidget, text: str) -> None:
    """Chinese as the input method commits it (never keyClicks)."""
    from PySide6.QtGui import QInputMethodEvent

    from counter_app.ui.qt import QApplication

    event = QInputMethodEvent()
    event.setCommitString(text)
    QApplication.sendEvent(widget, event)


def fill(qtbot: QtBot, wizard: FlowWizard, answer: Mapping[str, Any]) -> None:
    for key, value in answer.items():
        widget = wizard.findChild(QWidget, f"field_{key}")
        assert widget is not None, f"no field {key} on {wizard.step.key}"
        if isinstance(widget, QLineEdit):
            widget.setFocus()
            widget.selectAll()
            press(qtbot, widget, Qt.Key.Key_Backspace)
            text = str(value)
            if text.isascii():
                qtbot.keyClicks(widget, text)  # type: ignore[no-untyped-call]
            else:
                commit_text(widget, text)
            assert widget.text() == text
        elif isinstance(widget, QComboBox):
            index = widget.findData(str(value))
            assert index >= 0, f"{key}: no choice {value}"
            widget.setCurrentIndex(index)
        else:
            wanted = {str(v) for v in value}
            for box in widget.findChildren(QCheckBox):
                if (str(box.property("value")) in wanted) != box.isChecked():
                    box.setFocus()
                    press(qtbot, box, Qt.Key.Key_Space)


def run(
    qtbot: QtBot,
    wizard: FlowWizard,
    answers: Answers | None = None,
    *,
    limit: int = 40,
    until_problem: bool = False,
    until_key: str | None = None,
) -> Step:
    """Answer each page by keyboard as a clerk would until the wizard shows DONE or REFUSED (or,
    with ``until_problem``, a step's problem)."""
    answers = answers or {}
    for _ in range(limit):
        qtbot.waitUntil(lambda: not wizard.busy or wizard.step.key == until_key, timeout=20_000)
        step = wizard.step
        if step.kind in (StepKind.DONE, StepKind.REFUSED) or (until_problem and step.problem):
            return step
        if step.key == until_key:
            return step
        assert step.problem is None, f"{step.key}: {step.problem}"
        assert step.kind is not StepKind.PORT or step.options or step.key in answers
        if step.kind is StepKind.CLERK_INPUT:
            fill(qtbot, wizard, answers.get(step.key, {}))
        elif step.kind in (StepKind.CONFIRM, StepKind.PORT) and step.key in answers:
            button = wizard.findChild(QWidget, f"option_{answers[step.key]['choice']}")
            assert button is not None
            button.setFocus()
            with qtbot.waitSignal(wizard.step_shown, timeout=20_000):
                press(qtbot, button, Qt.Key.Key_Space)
            continue
        elif step.kind is StepKind.MATERIALS:
            for line in step.materials:
                if line.required:
                    box = wizard.findChild(QCheckBox, f"material_{line.key}")
                    assert box is not None
                    box.setFocus()
                    press(qtbot, box, Qt.Key.Key_Space)
                    assert box.isChecked()
        focus = wizard.focusWidget() or wizard
        with qtbot.waitSignal(wizard.step_shown, timeout=20_000):
            press(qtbot, focus, Qt.Key.Key_Return)
    raise AssertionError("the wizard did not end")


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


class Counter:
    """The flow-test world with the real renderer, and the shell wired to it."""

    def __init__(self) -> None:
        self.world = World(renderer=ReportLabReceiptRenderer())  # type: ignore[arg-type]
        self.contexts: list[Context] = []
        self.offline = False
        self.launcher: WizardLauncher | None = None
        self.extra_operators: dict[str, Any] = {}

    def context(self, session: Any) -> Context:
        ctx = self.world.ctx(HR, offline=self.offline)
        if self.extra_operators:
            ctx = knowing(ctx, self.extra_operators)
        self.contexts.append(ctx)
        return ctx

    @property
    def pdfs(self) -> list[bytes]:
        return [pdf for _, pdf in self.world.printer.jobs]

    def holder(self, name: str, status: SocialStatus, **kw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        person = holder_of(name, self.world.city)
        card = card_of(name, person, self.world.city, status, **kw)
        return person, card


@pytest.fixture
def counter() -> Counter:
    return Counter()


@pytest.fixture
def open_wizard(shell: Shell, qtbot: QtBot, counter: Counter) -> Callable[[str], FlowWizard]:
    launcher = counter.launcher = WizardLauncher(counter.context)
    window: MainWindow = shell(start_flow=launcher)  # the window attaches the launcher
    signed_in(qtbot, window)

    def open_item(code: str) -> FlowWizard:
        row = next(i for i, e in enumerate(window.entries) if e.code == code)
        window.ui.serviceList.setCurrentRow(row)
        assert window.ui.startButton.isVisible()
        window.ui.serviceList.setFocus()
        press(qtbot, window.ui.serviceList, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: launcher.wizard is not None and launcher.wizard.isVisible(), timeout=10_000)
        wizard = launcher.wizard
        assert wizard is not None
        launcher.wizard = None
        qtbot.addWidget(wizard)
        return wizard

    return open_item


HOLDER_ANSWER = {"presenter": {"requester": "holder"}}


def assert_recorded(counter: Counter, done: Step, *, item: str, text: str) -> str:
    """The local transaction and audit entry, the printed form and its preview in the wizard."""
    assert done.kind is StepKind.DONE and done.outcome is not None, done.refusal
    number = done.outcome.acceptance_number
    memory = counter.world.memory
    assert memory.transactions[number].item_code == item
    assert any(getattr(a, "acceptance_number", None) == number for a in memory.audit) or memory.audit
    form = pdf_text(counter.pdfs[-1])
    assert number.replace(" ", "") in form.replace(" ", "").replace("\n", "") or "受理" in form
    assert text in form
    return form


# --- 密码修改 ----------------------------------------------------------------------------------------


def test_pin_change_wizard_changes_the_pin_on_the_card(
    open_wizard: OpenWizard, counter: Counter, qtbot: QtBot
) -> None:
    counter.holder("muchuan_v3", SocialStatus.ACTIVE)
    counter.world.insert("muchuan_v3")
    counter.world.queued_pad.push(["147258", "852741"])
    wizard = open_wizard("pin_change")
    header = wizard.ui.itemLabel.text()
    assert "申请条件" in header and "办理流程：1. " in header and "。；" not in header
    done = run(qtbot, wizard, HOLDER_ANSWER)
    assert counter.world.cards["muchuan_v3"].pin_matches("852741")
    assert_recorded(counter, done, item="pin_change", text="密码")
    assert wizard.preview is not None
    assert "办理完成" in wizard.page_text()
    press(qtbot, wizard, Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: len(counter.pdfs) == 2, timeout=10_000)
    assert "补打" in pdf_text(counter.pdfs[-1])


def test_pin_change_wizard_refuses_a_locked_pin_in_plain_chinese(
    open_wizard: OpenWizard, counter: Counter, qtbot: QtBot
) -> None:
    counter.holder("locked", SocialStatus.ACTIVE)
    counter.world.insert("locked")
    counter.world.queued_pad.push(["112233", "852741"])
    done = run(qtbot, open_wizard("pin_change"), HOLDER_ANSWER)
    assert done.kind is StepKind.REFUSED and done.refusal is not None and done.refusal.code == "pin_blocked"
    assert counter.world.written() == (0, 0, 0) and counter.pdfs == []


# --- 密码重置 / 解锁 -----------------------------------------------------------------------------------


def test_pin_reset_wizard_reloads_the_pin_and_resets_the_tries(
    open_wizard: OpenWizard, counter: Counter, qtbot: QtBot
) -> None:
    _, card = counter.holder("locked", SocialStatus.ACTIVE)
    counter.world.insert("locked")
    counter.world.queued_pad.push(["864209"])
    wizard = open_wizard("pin_reset")
    activate(qtbot, wizard)
    assert wizard.step.key == "variant" and wizard.focusWidget() is wizard.findChild(QWidget, "field_variant")
    done = run(qtbot, wizard, {"variant": {"variant": "reset"}, **HOLDER_ANSWER})
    emulated = counter.world.cards["locked"]
    assert emulated.pin_matches("864209") and emulated.pin_tries_left == 6
    assert counter.world.city.card_rows[card["id"]]["pin_resets"] == 1
    assert_recorded(counter, done, item="pin_reset", text="密码")


def test_unblock_wizard_keeps_the_pin_and_resets_the_tries(
    open_wizard: OpenWizard, counter: Counter, qtbot: QtBot
) -> None:
    counter.holder("locked", SocialStatus.ACTIVE)
    counter.world.insert("locked")
    done = run(qtbot, open_wizard("pin_reset"), {"variant": {"variant": "unblock"}, **HOLDER_ANSWER})
    emulated = counter.world.cards["locked"]
    assert emulated.pin_matches("112233") and emulated.pin_tries_left == 6
    assert_recorded(counter, done, item="pin_reset", text="解锁")


def test_unblock_wizard_refuses_a_card_that_is_not_locked(
    open_wizard: OpenWizard, counter: Counter, qtbot: QtBot
) -> None:
    counter.holder("muchuan_v3", SocialStatus.ACTIVE)
    counter.world.insert("muchuan_v3")
    wizard = open_wizard("pin_reset")
    done = run(qtbot, wizard, {"variant": {"variant": "unblock"}, **HOLDER_ANSWER})
    assert done.refusal is not None and done.refusal.code == "pin_not_locked"
    assert done.refusal.message in wizard.page_text()
    assert counter.world.city.commands == [] and counter.world.written() == (0, 0, 0)


# --- 激活 ---------------------------------------------------------------------------------------------


def test_activate_wizard_sets_the_new_pin_then_activates(
    open_wizard: OpenWizard, counter: Counter, qtbot: QtBot
) -> None:
    _, card = counter.holder("card_a", SocialStatus.ISSUED_INACTIVE)
    counter.world.insert("card_a")
    counter.world.queued_pad.push(["975310"])
    done = run(qtbot, open_wizard("activate"), {"variant": {"variant": "social"}, **HOLDER_ANSWER})
    assert counter.world.cards["card_a"].pin_matches("975310")
    assert counter.world.city.card_rows[card["id"]]["status"] == "active"
    assert_recorded(counter, done, item="activate", text="激活")


def test_activate_wizard_refuses_an_already_active_card(
    open_wizard: OpenWizard, counter: Counter, qtbot: QtBot
) -> None:
    counter.holder("card_a", SocialStatus.ACTIVE)
    counter.world.insert("card_a")
    wizard = open_wizard("activate")
    done = run(qtbot, wizard, {"variant": {"variant": "social"}, **HOLDER_ANSWER})
    assert done.refusal is not None and done.refusal.code == "already_active"
    assert done.refusal.message in wizard.page_text()
    assert counter.world.city.commands == [] and counter.world.written() == (0, 0, 0)
    assert counter.world.cards["card_a"].pin_matches("123456")


# --- 挂失 / 解挂 -------------------------------------------------------------------------------------


def test_report_loss_wizard_reports_a_temporary_loss(
    open_wizard: OpenWizard, counter: Counter, qtbot: QtBot
) -> None:
    person, card = counter.holder("card_a", SocialStatus.ACTIVE)
    answers = {
        "variant": {"variant": "temporary"},
        "read_card": {"choice": "absent"},
        "identify": by_id(person),
        "reason": {"reason": "遗失"},
        **HOLDER_ANSWER,
    }
    done = run(qtbot, open_wizard("report_loss"), answers)
    assert counter.world.city.card_rows[card["id"]]["status"] == "temp_loss"
    assert counter.world.city.count("report_loss") == 1
    assert_recorded(counter, done, item="report_loss", text="挂失")


def test_report_loss_wizard_refuses_a_card_already_lost(
    open_wizard: OpenWizard, counter: Counter, qtbot: QtBot
) -> None:
    person, _ = counter.holder("card_a", SocialStatus.FORMAL_LOSS, state_before_loss=SocialStatus.ACTIVE)
    answers = {"variant": {"variant": "formal"}, "read_card": {"choice": "absent"}, "identify": by_id(person)}
    done = run(qtbot, open_wizard("report_loss"), answers)
    assert done.refusal is not None and done.refusal.code == "already_lost"
    assert counter.world.city.commands == [] and counter.world.written() == (0, 0, 0)


def test_cancel_loss_wizard_with_the_found_card(
    open_wizard: OpenWizard, counter: Counter, qtbot: QtBot
) -> None:
    _, card = counter.holder("card_a", SocialStatus.TEMP_LOSS, state_before_loss=SocialStatus.ACTIVE)
    counter.world.city.card_rows[card["id"]]["loss_reported_at"] = "2026-11-25T10:00:00+08:00"
    counter.world.insert("card_a")
    done = run(qtbot, open_wizard("cancel_loss"), HOLDER_ANSWER)
    assert counter.world.city.card_rows[card["id"]]["status"] == "active"
    assert_recorded(counter, done, item="cancel_loss", text="解挂")


def test_cancel_loss_wizard_refuses_a_card_not_lost(
    open_wizard: OpenWizard, counter: Counter, qtbot: QtBot
) -> None:
    counter.holder("card_a", SocialStatus.ACTIVE)
    counter.world.insert("card_a")
    done = run(qtbot, open_wizard("cancel_loss"), HOLDER_ANSWER)
    assert done.kind is StepKind.REFUSED and done.refusal is not None
    assert counter.world.city.commands == [] and counter.world.written() == (0, 0, 0)


# --- 非关键信息变更 --------------------------------------------------------------------------------


def test_contact_change_wizard_takes_a_chinese_address(
    open_wizard: OpenWizard, counter: Counter, qtbot: QtBot
) -> None:
    person, _ = counter.holder("card_a", SocialStatus.ACTIVE)
    answers = {
        "read_card": {"choice": "absent"},
        "identify": by_id(person),
        "contact": {"address": "乐山市市中区嘉定北路1号"},
        **HOLDER_ANSWER,
    }
    done = run(qtbot, open_wizard("change_contact"), answers)
    assert done.outcome is not None
    record = counter.world.memory.transactions[done.outcome.acceptance_number]
    assert record.server_command == "change_contact"
    assert record.server_payload["address"] == "乐山市市中区嘉定北路1号"
    assert_recorded(counter, done, item="change_contact", text="嘉定北路")


def test_contact_change_wizard_shows_an_invalid_phone_and_esc_cancels(
    open_wizard: OpenWizard, counter: Counter, qtbot: QtBot
) -> None:
    person, _ = counter.holder("card_a", SocialStatus.ACTIVE)
    wizard = open_wizard("change_contact")
    answers = {"read_card": {"choice": "absent"}, "identify": by_id(person), **HOLDER_ANSWER}
    for _ in range(20):
        qtbot.waitUntil(lambda: not wizard.busy)
        if wizard.step.key == "contact":
            break
        if wizard.step.kind is StepKind.CLERK_INPUT:
            fill(qtbot, wizard, answers.get(wizard.step.key, {}))
        elif wizard.step.kind is StepKind.MATERIALS:
            for line in wizard.step.materials:
                box = wizard.findChild(QCheckBox, f"material_{line.key}")
                if line.required and box is not None:
                    box.setChecked(True)
        elif wizard.step.key in answers:
            wizard.choose(answers[wizard.step.key]["choice"])
            qtbot.waitUntil(lambda: not wizard.busy)
            continue
        with qtbot.waitSignal(wizard.step_shown, timeout=20_000):
            press(qtbot, wizard.focusWidget() or wizard, Qt.Key.Key_Return)
    assert wizard.step.key == "contact"
    fill(qtbot, wizard, {"phone": "12345"})
    with qtbot.waitSignal(wizard.step_shown, timeout=20_000):
        press(qtbot, wizard.focusWidget() or wizard, Qt.Key.Key_Return)
    assert wizard.step.problem is not None and wizard.step.problem.code == "phone_invalid"
    assert wizard.step.problem.message in wizard.page_text()
    with qtbot.waitSignal(wizard.step_shown, timeout=20_000):
        press(qtbot, wizard.focusWidget() or wizard, Qt.Key.Key_Escape)
    assert wizard.step.key == "cancelled"
    assert counter.world.written() == (0, 0, 0)


# --- 信息查询 and subsidies --------------------------------------------------------------------------


def test_query_wizard_shows_subsidies_with_failure_reasons(
    open_wizard: OpenWizard, counter: Counter, qtbot: QtBot
) -> None:
    person, _ = counter.holder("card_a", SocialStatus.ACTIVE)
    counter.world.city.payments[str(person["id"])] = [
        {
            "period": "202610",
            "item_name": "耕地地力保护补贴",
            "amount_fen": 12345,
            "status": "失败",
            "failure_reason": "卡挂失",
        }
    ]
    counter.world.insert("card_a")
    wizard = open_wizard("query")
    seen: list[Step] = []
    wizard.step_shown.connect(seen.append)
    done = run(qtbot, wizard, HOLDER_ANSWER)
    result = next(s for s in seen if s.key == "result")
    assert dict(result.display)["补贴 202610 耕地地力保护补贴"] == "123.45 元，失败（卡挂失）"
    assert counter.world.city.commands == []
    assert_recorded(counter, done, item="query", text="查询")

    # 补贴查询: the payment by item and period, the failure in words, the fix offered, the statement
    panel = wizard.subsidies
    assert panel is not None
    text = wizard.page_text()
    assert "耕地地力保护补贴　202610　123.45 元　失败" in text and "失败原因：卡挂失" in text
    assert [b.objectName() for b in panel.fix_buttons] == ["fix_cancel_loss", "fix_replace"]
    with qtbot.waitSignal(panel.printed, timeout=20_000):
        press(qtbot, wizard, Qt.Key.Key_F10)
    statement = pdf_text(counter.pdfs[-1])
    assert "补贴发放明细" in statement and "耕地地力保护补贴" in statement
    assert done.outcome is not None and done.outcome.acceptance_number[-4:] in statement.replace(" ", "")

    fix = panel.fix_buttons[0]
    fix.setFocus()
    press(qtbot, fix, Qt.Key.Key_Space)  # 为持卡人办理：解挂 → that item's wizard
    launcher = counter.launcher
    assert launcher is not None
    qtbot.waitUntil(lambda: launcher.wizard is not None and launcher.wizard.isVisible(), timeout=10_000)
    assert launcher.wizard is not None and launcher.wizard.flow.item_code == "cancel_loss"
    qtbot.addWidget(launcher.wizard)
    assert not wizard.isVisible()


def test_the_subsidy_panel_asks_for_another_period_and_prints_that_period(
    open_wizard: OpenWizard, counter: Counter, qtbot: QtBot
) -> None:
    person, _ = counter.holder("card_a", SocialStatus.ACTIVE)
    counter.world.city.payments[str(person["id"])] = [
        {"period": "202610", "item_name": "耕地地力保护补贴", "amount_fen": 12345, "status": "已发"},
        {"period": "202403", "item_name": "高龄津贴", "amount_fen": 10000, "status": "已发"},
    ]
    counter.world.insert("card_a")
    wizard = open_wizard("query")
    run(qtbot, wizard, HOLDER_ANSWER)
    panel = wizard.subsidies
    assert panel is not None
    assert (panel.period_from.text(), panel.period_to.text()) == ("202512", "202611")
    assert "耕地地力保护补贴　202610" in wizard.page_text() and "高龄津贴" not in wizard.page_text()

    # a month that is not one: said in words, the list stays
    panel.period_from.clear()
    qtbot.keyClicks(panel.period_from, "202413")
    with qtbot.waitSignal(panel.reload_failed, timeout=20_000) as failed:
        press(qtbot, panel.period_from, Qt.Key.Key_Return)
    assert "不是有效的年月" in str(failed.args[0]) and "不是有效的年月" in panel.message.text()
    assert "耕地地力保护补贴　202610" in wizard.page_text()

    panel.period_from.clear()
    qtbot.keyClicks(panel.period_from, "2024-01")  # the field takes digits only
    assert panel.period_from.text() == "202401"
    panel.period_to.clear()
    qtbot.keyClicks(panel.period_to, "202412")
    with qtbot.waitSignal(panel.reloaded, timeout=20_000) as reloaded:
        press(qtbot, panel.reload_button, Qt.Key.Key_Space)
    assert reloaded.args == [1]
    text = wizard.page_text()
    assert "高龄津贴　202403　100.00 元　已发" in text and "耕地地力保护补贴" not in text
    assert "2024年01月至2024年12月" in panel.message.text()

    with qtbot.waitSignal(panel.printed, timeout=20_000):
        press(qtbot, wizard, Qt.Key.Key_F10)
    statement = pdf_text(counter.pdfs[-1])
    assert "高龄津贴" in statement and "耕地地力保护补贴" not in statement
    assert "2024" in statement.split("发放期间")[1][:40]
    # the period that was not one left no trace; the look and the print are audited
    assert [(e["event"], e["result"]) for e in counter.world.memory.audit[1:]] == [
        ("subsidy_query", "再查询补贴发放 2024年01月至2024年12月，1 条"),
        ("subsidy_statement", "打印补贴发放明细 2024年01月至2024年12月，1 条"),
    ]


def test_query_wizard_offline_refuses_someone_the_replica_does_not_know(
    open_wizard: OpenWizard, counter: Counter, qtbot: QtBot
) -> None:
    person = holder_of("card_a", counter.world.city)
    counter.offline = True
    done = run(qtbot, open_wizard("query"), {"read_card": {"choice": "absent"}, "identify": by_id(person)})
    assert done.refusal is not None and done.refusal.code == "not_in_replica"
    assert counter.world.written() == (0, 0, 0)


def test_a_guardians_pin_reset_needs_a_supervisors_second_sign_in(
    open_wizard: OpenWizard, counter: Counter, qtbot: QtBot
) -> None:
    from counter_app.ui.sign_in import SignInDialog
    from tests.ui.conftest import OPERATORS as SHELL_OPERATORS
    from tests.workflows.test_pin import minor_card

    minor_card(counter.world)
    counter.extra_operators = {n: op for n, (op, _, _) in SHELL_OPERATORS.items()}
    counter.world.queued_pad.push(["864209"])
    guardian = {
        "requester": "guardian",
        "agent_name": "刘父",
        "agent_id_type": "resident_id",
        "agent_id_number": AGENT_ID,
        "relation": "父子",
        "documents": ["agent_id", "principal_id", "principal_card", "guardianship"],
    }
    wizard = open_wizard("pin_reset")
    step = run(
        qtbot, wizard, {"variant": {"variant": "reset"}, "presenter": guardian}, until_key="supervisor"
    )
    field = wizard.findChild(QLineEdit, "field_supervisor")
    assert step.key == "supervisor" and field is not None and field.isReadOnly()
    press(qtbot, field, Qt.Key.Key_Return)  # → 复核/授权 sign-in by the supervisor at this counter
    window = counter.launcher.window if counter.launcher is not None else None
    assert window is not None

    def confirmation() -> SignInDialog | None:
        return next((d for d in window.findChildren(SignInDialog) if d.isVisible()), None)

    qtbot.waitUntil(lambda: confirmation() is not None)
    dialog = confirmation()
    assert dialog is not None and dialog.windowTitle() == "复核/授权确认"
    dialog.ui.numberEdit.setText("HR0109")
    dialog.ui.passwordEdit.setText("pw")
    with qtbot.waitSignal(wizard.step_shown, timeout=20_000):
        press(qtbot, dialog.ui.passwordEdit, Qt.Key.Key_Return)
    done = run(qtbot, wizard)
    assert counter.world.cards["prefab_jingyan"].pin_matches("864209")
    form = assert_recorded(counter, done, item="pin_reset", text="HR0109")
    assert "刘父" in form
