"""柜员操作数 — how many key presses a clerk needs for each of the twelve items, and which of them
carry no decision (柜员操作基准).

Drives every item's wizard through the real shell (offscreen Qt), keyboard only, against the
in-process counter world of the flow tests (emulated card and PSAM answering the card protocol,
the city as the central server, the real ReportLab renderer), along each item's usual path: the
holder in person, at a 人社 window (补换卡 at the issuing bank's quick-issuance outlet, the old card
exchanged on the spot). Counted, as the clerk's keyboard sends them:

- 开始: the item's F-key (which item) and Enter on its guide (start);
- 勾选: each material (or document) ticked;
- 选择: each choice changed from what the page offered (a combo box; the presses that move through
  its list count as one choice);
- 确认: each confirmation (an option button: 确认办理, 现在激活 …; the supervisor's sign-in);
- 提交: Enter that submits a page (下一步, 材料已核验).

Not counted: typed data (ID numbers, names, addresses; the citizen's PIN on the pad), Tab between
fields, the physical card moves (shown apart as 卡片动作), and closing the finished wizard.

An action "carries no decision" (无决策) when it only moves the clerk on: Enter on a page where the
clerk typed, changed, ticked or chose nothing and that offered no choice (every field filled in
already, or a single way to go), or Enter to retry a device step on the usual path. The goal is
none; the last column lists any found.

    .venv/bin/python bench/clerk.py            (make bench-clerk)
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import QCoreApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from counter_app.domain.card_lifecycle import SocialStatus
from counter_app.domain.operators import Outlet
from counter_app.emulator import build_card
from counter_app.training.devices import EmulatedDevices
from counter_app.ui.appearance import install_chinese
from counter_app.ui.main_window import MainWindow
from counter_app.ui.qt import QCheckBox, QComboBox, QLabel, QLineEdit, QPushButton, Qt, QWidget
from counter_app.ui.services import ShellServices
from counter_app.ui.sign_in import SignInDialog
from counter_app.ui.wizards import FlowWizard, WizardLauncher
from counter_app.workflows.base import FieldKind, Step, StepKind
from tests.ui.conftest import TRAINING, FakeCardStatus, FakeConnectivity, FakeSignIn
from tests.ui.wizards.part2 import Counter
from tests.workflows.helpers import ABC_QUICK, HR, by_id, card_of, holder_of

SHELL_CLERK = {HR.code: "HR0101", ABC_QUICK.code: "NH0101"}
PATIENCE_S = 60.0  # how long the bench waits for the wizard before it gives up (not a measurement)


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE_S
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the wizard never reached: {what}")
        QCoreApplication.processEvents()
        time.sleep(0.002)


# --------------------------------------------------------------------------------------------
# The clerk, counting
# --------------------------------------------------------------------------------------------


@dataclass
class Tally:
    """The counted actions of one item."""

    start: int = 0
    ticks: int = 0
    choices: int = 0
    confirmations: int = 0
    submits: int = 0
    card_moves: int = 0
    no_decision: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.start + self.ticks + self.choices + self.confirmations + self.submits


class Clerk:
    """Presses keys on the wizard as a clerk would, and counts them."""

    def __init__(self, tally: Tally) -> None:
        self.tally = tally

    def key(self, widget: QWidget, key: Qt.Key) -> None:
        QTest.keyClick(widget, key)

    def type_text(self, widget: QLineEdit, text: str) -> None:  # typed data: not counted
        widget.setFocus()
        widget.selectAll()
        QTest.keyClick(widget, Qt.Key.Key_Backspace)
        if text.isascii():
            QTest.keyClicks(widget, text)
        else:
            from PySide6.QtGui import QInputMethodEvent

            event = QInputMethodEvent()
            event.setCommitString(text)
            QApplication.sendEvent(widget, event)

    def fill(self, wizard: FlowWizard, answers: Mapping[str, Any]) -> bool:
        """Fill a page; True when the clerk typed, changed or ticked something."""
        acted = False
        for key, value in answers.items():
            widget = wizard.findChild(QWidget, f"field_{key}")
            if widget is None:
                raise RuntimeError(f"no field {key} on {wizard.step.key}")
            if isinstance(widget, QLineEdit):
                if widget.text() != str(value):
                    self.type_text(widget, str(value))
                    acted = True
            elif isinstance(widget, QComboBox):
                index = widget.findData(str(value))
                if index != widget.currentIndex():
                    widget.setFocus()
                    while widget.currentIndex() != index:  # the arrow presses are one choice
                        self.key(widget, Qt.Key.Key_Down if widget.currentIndex() < index else Qt.Key.Key_Up)
                    self.tally.choices += 1
                    acted = True
            else:
                wanted = {str(v) for v in value}
                for box in widget.findChildren(QCheckBox):
                    if (str(box.property("value")) in wanted) != box.isChecked():
                        box.setFocus()
                        self.key(box, Qt.Key.Key_Space)
                        self.tally.ticks += 1
                        acted = True
        return acted


def offers_a_choice(step: Step) -> bool:
    """Whether accepting the page as shown is itself a choice (a field with two or more options)."""
    return any(
        f.kind in (FieldKind.CHOICE, FieldKind.MULTI_CHOICE) and len(f.choices) > 1 for f in step.fields
    )


def drive(
    wizard: FlowWizard,
    clerk: Clerk,
    answers: Mapping[str, Any],
    card_moves: Mapping[str, Callable[[], None]],
) -> Step:
    """Answer every page until the wizard ends; count; make the card moves the pages ask for."""
    tally = clerk.tally
    done_moves: set[str] = set()
    for _ in range(60):

        def settled() -> bool:
            if not wizard.busy:
                return True
            label = wizard.findChild(QLabel, "progressText")
            shown = label.text() if label is not None else ""
            return any(cue in shown and cue not in done_moves for cue in card_moves)

        wait_until(settled, f"a page after {wizard.step.key}")
        if wizard.busy:  # the running step waits for a card move: the clerk makes it
            label = wizard.findChild(QLabel, "progressText")
            cue = next(
                c for c in card_moves if label is not None and c in label.text() and c not in done_moves
            )
            done_moves.add(cue)
            card_moves[cue]()
            tally.card_moves += 1
            continue
        step = wizard.step
        if step.kind in (StepKind.DONE, StepKind.REFUSED):
            return step
        if step.problem is not None:
            raise RuntimeError(f"{step.key}: {step.problem.message}")
        tally.pages.append(step.key)
        answer = answers.get(step.key, {})
        if step.kind is StepKind.CONFIRM or (step.kind is StepKind.PORT and step.options):
            choice = answer.get("choice") or step.options[0].value
            button = wizard.findChild(QPushButton, f"option_{choice}")
            assert button is not None
            button.setFocus()
            clerk.key(button, Qt.Key.Key_Space)
            tally.confirmations += 1
            continue
        if step.kind is StepKind.MATERIALS:
            for line in step.materials:
                if line.required:
                    box = wizard.findChild(QCheckBox, f"material_{line.key}")
                    assert box is not None
                    box.setFocus()
                    clerk.key(box, Qt.Key.Key_Space)
                    tally.ticks += 1
            clerk.key(wizard.focusWidget() or wizard, Qt.Key.Key_Return)
            tally.submits += 1
            if not any(line.required for line in step.materials):
                tally.no_decision.append(f"{step.title}：没有须核验的材料")
            continue
        if step.kind is StepKind.CLERK_INPUT:
            acted = clerk.fill(wizard, answer)
            if any(f.kind is FieldKind.OPERATOR_NUMBER for f in step.fields):
                supervisor_signs_in(wizard, clerk)
                continue
            clerk.key(wizard.focusWidget() or wizard, Qt.Key.Key_Return)
            tally.submits += 1
            if not acted and not offers_a_choice(step):
                tally.no_decision.append(f"{step.title}：页面已填好，只按了 Enter")
            continue
        clerk.key(wizard.focusWidget() or wizard, Qt.Key.Key_Return)  # a device step on the usual path
        tally.submits += 1
        tally.no_decision.append(f"{step.title}：设备步骤须按 Enter 才继续")
    raise RuntimeError("the wizard did not end")


def supervisor_signs_in(wizard: FlowWizard, clerk: Clerk) -> None:
    """复核: Enter on the field, then the supervisor's 工号 Enter 密码 Enter (typed data not counted)."""
    clerk.key(wizard.focusWidget() or wizard, Qt.Key.Key_Return)
    window = wizard.parentWidget()
    assert window is not None

    def dialog() -> SignInDialog | None:
        return next((d for d in window.findChildren(SignInDialog) if d.isVisible()), None)

    wait_until(lambda: dialog() is not None, "the supervisor's sign-in")
    confirm = dialog()
    assert confirm is not None
    QTest.keyClicks(confirm.ui.numberEdit, "HR0109")
    clerk.key(confirm.ui.numberEdit, Qt.Key.Key_Return)
    QTest.keyClicks(confirm.ui.passwordEdit, "pw")
    clerk.key(confirm.ui.passwordEdit, Qt.Key.Key_Return)
    clerk.tally.confirmations += 3  # 复核: the clerk's Enter and the supervisor's sign-in
    wait_until(lambda: wizard.step.key != "supervisor", "the page after the supervisor's sign-in")


# --------------------------------------------------------------------------------------------
# The twelve items on their usual paths
# --------------------------------------------------------------------------------------------

HOLDER = {"presenter": {"requester": "holder"}}


@dataclass(frozen=True)
class Scenario:
    code: str
    path: str
    outlet: Outlet
    prepare: Callable[[Counter], dict[str, Any]]  # → answers; also returns "_moves" when cards move


def _person_with_card(
    counter: Counter, label: str, status: SocialStatus, *, inserted: bool
) -> dict[str, Any]:
    person = holder_of(label, counter.world.city)
    card_of(label, person, counter.world.city, status)
    if inserted:
        counter.world.insert(label)
    return person


def apply(counter: Counter) -> dict[str, Any]:
    person = counter.world.city.add_person(
        "周晓梅", "511102199004050022", sex="2", birth_date=date(1990, 4, 5)
    )
    return {"identify": by_id(person), "application": {"bank": "农业银行"}, **HOLDER}


def activate(counter: Counter) -> dict[str, Any]:
    _person_with_card(counter, "card_a", SocialStatus.ISSUED_INACTIVE, inserted=True)
    counter.world.queued_pad.push(["975310"])
    return dict(HOLDER)


def change_key_info(counter: Counter) -> dict[str, Any]:
    person = _person_with_card(counter, "card_a", SocialStatus.ACTIVE, inserted=False)
    return {"identify": by_id(person), "changes": {"name": "张叁", "evidence": "户口簿"}, **HOLDER}


def change_contact(counter: Counter) -> dict[str, Any]:
    person = _person_with_card(counter, "card_a", SocialStatus.ACTIVE, inserted=False)
    return {"identify": by_id(person), "contact": {"phone": "13990001234"}, **HOLDER}


def query(counter: Counter) -> dict[str, Any]:
    _person_with_card(counter, "card_a", SocialStatus.ACTIVE, inserted=True)
    return dict(HOLDER)


def pin_change(counter: Counter) -> dict[str, Any]:
    _person_with_card(counter, "muchuan_v3", SocialStatus.ACTIVE, inserted=True)
    counter.world.queued_pad.push(["147258", "852741"])
    return dict(HOLDER)


def pin_reset(counter: Counter) -> dict[str, Any]:
    _person_with_card(counter, "locked", SocialStatus.ACTIVE, inserted=True)
    counter.world.queued_pad.push(["864209"])
    return dict(HOLDER)


def report_loss(counter: Counter) -> dict[str, Any]:
    person = _person_with_card(counter, "card_a", SocialStatus.ACTIVE, inserted=False)
    return {"identify": by_id(person), "reason": {"reason": "遗失"}, **HOLDER}


def cancel_loss(counter: Counter) -> dict[str, Any]:
    person = holder_of("card_a", counter.world.city)
    card = card_of(
        "card_a", person, counter.world.city, SocialStatus.TEMP_LOSS, state_before_loss=SocialStatus.ACTIVE
    )
    counter.world.city.card_rows[card["id"]]["loss_reported_at"] = "2026-11-25T10:00:00+08:00"
    counter.world.insert("card_a")
    return dict(HOLDER)


def replace(counter: Counter) -> dict[str, Any]:
    _person_with_card(counter, "card_a", SocialStatus.ACTIVE, inserted=True)
    counter.world.queued_pad.push(["246810"])
    prefab = build_card("prefab_jingyan")
    return {
        "variant": {"variant": "instant"},
        "replacement": {"reason": "换卡（损坏）"},
        **HOLDER,
        "_moves": {
            "取出持卡人的原卡": counter.world.slot.remove,
            "插入同一读卡器": lambda: counter.world.slot.insert(prefab),
        },
    }


def transfer_region(counter: Counter) -> dict[str, Any]:
    person = _person_with_card(counter, "card_a", SocialStatus.ACTIVE, inserted=False)
    return {
        "identify": by_id(person),
        "transfer": {"to_region": "511181", "certificate_number": "CHUAN-2026-0815"},
        **HOLDER,
    }


def cancel_card(counter: Counter) -> dict[str, Any]:
    _person_with_card(counter, "card_a", SocialStatus.ACTIVE, inserted=True)
    return {"reason": {"reason": "abroad"}, **HOLDER}


SCENARIOS = (
    Scenario("apply", "申领（制卡完成后领卡），本人，人社窗口", HR, apply),
    Scenario("activate", "激活社保功能，本人持卡，人社窗口", HR, activate),
    Scenario("change_key_info", "姓名变更，本人，人社窗口", HR, change_key_info),
    Scenario("change_contact", "联系电话变更，本人（按证件）", HR, change_contact),
    Scenario("query", "信息查询，本人持卡", HR, query),
    Scenario("pin_change", "密码修改，本人持卡", HR, pin_change),
    Scenario("pin_reset", "密码重置，本人持卡", HR, pin_reset),
    Scenario("report_loss", "临时挂失，本人（卡已遗失）", HR, report_loss),
    Scenario("cancel_loss", "解挂，本人持找回的卡", HR, cancel_loss),
    Scenario("replace", "换卡当场制卡，原发卡行快速制卡网点", ABC_QUICK, replace),
    Scenario("transfer_region", "参保地变更，本人，人社窗口", HR, transfer_region),
    Scenario("cancel_card", "注销（出国定居），本人持卡，复核", HR, cancel_card),
)


def shell(counter: Counter, devices: EmulatedDevices) -> tuple[MainWindow, WizardLauncher]:
    launcher = counter.launcher = WizardLauncher(counter.context)
    services = ShellServices(
        settings=TRAINING,
        devices=devices,
        sign_in=FakeSignIn(),
        connectivity=FakeConnectivity(),
        card_status=FakeCardStatus(),
        start_flow=launcher,
        probe_interval_ms=3_600_000,
    )
    window = MainWindow(services)
    window.show()
    window.activateWindow()
    window.start()
    window.open_sign_in()
    dialog = window.dialog
    assert dialog is not None
    dialog.ui.numberEdit.setText(SHELL_CLERK[counter.outlet.code])
    dialog.ui.passwordEdit.setText("pw")
    dialog.ui.okButton.click()
    wait_until(lambda: window.session is not None, "the clerk's sign-in")
    return window, launcher


def run(scenario: Scenario) -> tuple[Tally, Step]:
    counter = Counter(scenario.outlet)
    answers = scenario.prepare(counter)
    moves = answers.pop("_moves", {})
    devices = EmulatedDevices()
    window, launcher = shell(counter, devices)
    tally = Tally()
    clerk = Clerk(tally)
    try:
        entry = next(e for e in window.entries if e.code == scenario.code)
        window.activateWindow()
        QTest.keyClick(window, getattr(Qt.Key, f"Key_{entry.key}"))  # F-key: the item's guide
        assert window.selected_code() == scenario.code, window.selected_code()
        clerk.key(window.ui.serviceList, Qt.Key.Key_Return)  # 开始办理
        tally.start += 2
        wait_until(lambda: launcher.wizard is not None and launcher.wizard.isVisible(), "the wizard")
        wizard = launcher.wizard
        assert wizard is not None
        end = drive(wizard, clerk, answers, moves)
        wizard.close()
    finally:
        window.close()
        devices.stop()
    return tally, end


def main() -> None:
    app = QApplication.instance() or QApplication(sys.argv)
    try:
        report(app)
    finally:
        sys.stdout.flush()
        os._exit(0)  # Qt's objects of the finished windows need no orderly teardown in a bench


def report(app: QApplication) -> None:
    assert isinstance(app, QApplication)
    install_chinese(app)
    rows = []
    for scenario in SCENARIOS:
        tally, end = run(scenario)
        if end.kind is not StepKind.DONE:
            raise RuntimeError(f"{scenario.code}: {end.refusal}")
        rows.append((scenario, tally))
    header = ("事项", "路径", "开始", "勾选", "选择", "确认", "提交", "合计", "卡片动作", "无决策")
    print("柜员操作数（键盘，按键与点击；不含录入的数据、Tab 和关闭向导）")
    print(" | ".join(header))
    total_no = 0
    for scenario, t in rows:
        name = launcher_name(scenario.code)
        total_no += len(t.no_decision)
        print(
            " | ".join(
                str(x)
                for x in (
                    name,
                    scenario.path,
                    t.start,
                    t.ticks,
                    t.choices,
                    t.confirmations,
                    t.submits,
                    t.total,
                    t.card_moves,
                    len(t.no_decision),
                )
            )
        )
    print()
    print("页面顺序 (pages):")
    for scenario, t in rows:
        print(f"  {launcher_name(scenario.code)}: {' → '.join(t.pages)}")
    print()
    if total_no:
        print("无决策的操作 (actions that carry no decision):")
        for scenario, t in rows:
            for item in t.no_decision:
                print(f"  {launcher_name(scenario.code)}: {item}")
    else:
        print("无决策的操作：无 (no action without a decision)")


def launcher_name(code: str) -> str:
    from counter_app.domain.catalog import load_catalog

    item = load_catalog().by_code(code)
    return f"{item.number}. {item.short_name}"


if __name__ == "__main__":
    main()
