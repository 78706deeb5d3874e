"""业务办理向导 — one generic wizard that shows any `Flow` step by its kind (the Electrum pattern).

A flow is a step machine with no Qt in it (`counter_app.workflows.base`); this dialog is a thin view
over it: CLERK_INPUT → a form built from the step's typed field specs (``show_if`` respected),
CONFIRM → the summary and one button per option, MATERIALS → the checklist with 待确认 marks,
PORT → the progress text while ``flow.submit()`` runs on a worker (never on the GUI thread),
DONE → the result with the printed form's preview and 补打, REFUSED → the reason in plain Chinese
with what to do next. Every ``submit``/``back``/``cancel``/``reprint`` runs on the shell's
`BackgroundTasks`; the dialog only renders the returned `Step`.

Keyboard only: Enter presses the default button (下一步 / the first option / 关闭), Esc cancels
(``flow.cancel()``; while the PIN pad waits it asks the pad to stop), focus starts on the first
field.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from counter_app.ui.bridge import BackgroundTasks
from counter_app.ui.generated.ui_wizard_frame import Ui_WizardFrame
from counter_app.ui.qt import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    Qt,
    QVBoxLayout,
    QWidget,
    Signal,
)
from counter_app.workflows.base import FieldKind, FieldSpec, Flow, FollowUp, Step, StepKind
from counter_app.workflows.query import QueryFlow

log = logging.getLogger(__name__)

_KIND_TEXT = {
    StepKind.CLERK_INPUT: "下一步（Enter）",
    StepKind.MATERIALS: "材料已核验（Enter）",
    StepKind.PORT: "重试（Enter）",
    StepKind.DONE: "关闭（Enter）",
    StepKind.REFUSED: "关闭（Enter）",
}


def applies(spec: FieldSpec, values: Mapping[str, Any]) -> bool:
    """Whether a field is shown for these answers (its ``show_if``)."""
    if spec.show_if is None:
        return True
    key, wanted = spec.show_if
    value = values.get(key)
    if isinstance(value, list | tuple):
        return any(str(v) in wanted for v in value)
    return value is not None and str(value) in wanted


class FieldInput:
    """One field's editor and how to read its value back."""

    def __init__(self, spec: FieldSpec, value: Any, parent: QWidget) -> None:
        self.spec = spec
        self.label = QLabel(spec.label + ("" if spec.required else "（选填）"), parent)
        self.boxes: list[QCheckBox] = []
        self.widget: QWidget
        if spec.kind is FieldKind.CHOICE:
            combo = QComboBox(parent)
            if not spec.required:
                combo.addItem("（不填）", "")
            for choice in spec.choices:
                combo.addItem(choice.label + (f"（{choice.mark}）" if choice.mark else ""), choice.value)
            if value is not None:
                index = combo.findData(str(value))
                if index >= 0:
                    combo.setCurrentIndex(index)
            self.widget = combo
        elif spec.kind is FieldKind.MULTI_CHOICE:
            box = QWidget(parent)
            layout = QVBoxLayout(box)
            layout.setContentsMargins(0, 0, 0, 0)
            chosen = {str(v) for v in value} if isinstance(value, list | tuple) else set()
            for choice in spec.choices:
                check = QCheckBox(choice.label + (f"（{choice.mark}）" if choice.mark else ""), box)
                check.setProperty("value", choice.value)
                check.setChecked(choice.value in chosen)
                layout.addWidget(check)
                self.boxes.append(check)
            self.widget = box
        else:
            edit = QLineEdit(parent)
            edit.setObjectName(f"field_{spec.key}")
            if value is not None:
                edit.setText(str(value))
            if spec.hint:
                edit.setPlaceholderText(spec.hint)
            self.widget = edit
        self.row_widget: QWidget = self.widget
        if spec.kind is FieldKind.FILE:  # a path typed or chosen in the file dialog (F4)
            row = QWidget(parent)
            line = QHBoxLayout(row)
            line.setContentsMargins(0, 0, 0, 0)
            self.widget.setParent(row)
            line.addWidget(self.widget, 1)
            browse = QPushButton("选择文件…（F4）", row)
            browse.setObjectName(f"browse_{spec.key}")
            browse.setAutoDefault(False)
            browse.clicked.connect(self.browse)
            line.addWidget(browse)
            self.row_widget = row
        self.widget.setObjectName(f"field_{spec.key}")
        if spec.hint:
            self.widget.setToolTip(spec.hint)
        self.label.setBuddy(self.widget)

    def value(self) -> Any:
        if isinstance(self.widget, QComboBox):
            return str(self.widget.currentData() or "")
        if self.boxes:
            return [str(b.property("value")) for b in self.boxes if b.isChecked()]
        assert isinstance(self.widget, QLineEdit)
        return self.widget.text().strip()

    def set_visible(self, visible: bool) -> None:
        self.label.setVisible(visible)
        self.row_widget.setVisible(visible)

    def browse(self) -> None:
        """The file dialog of a FILE field (名单文件 …)."""
        edit = self.widget
        if not isinstance(edit, QLineEdit):
            return
        path, _ = QFileDialog.getOpenFileName(
            edit, self.spec.label, edit.text(), "名单文件 (*.xlsx *.csv *.txt);;所有文件 (*)"
        )
        if path:
            edit.setText(path)

    def focus_target(self) -> QWidget:
        return self.boxes[0] if self.boxes else self.widget


class FlowWizard(QDialog):
    """The wizard of one flow; ``step_shown`` is emitted with every `Step` it shows."""

    step_shown = Signal(object)
    #: What a running step waits for now (from `Flow.tell`, on the flow's worker thread).
    told = Signal(str)

    def __init__(
        self,
        flow: Flow,
        tasks: BackgroundTasks,
        *,
        last_pdf: Callable[[], bytes | None] | None = None,
        start_follow_up: Callable[[FollowUp], None] | None = None,
        confirm: Callable[[str, Callable[[Any], None]], Any] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._confirm = confirm
        self.flow = flow
        self.tasks = tasks
        self._last_pdf = last_pdf
        self._start_follow_up = start_follow_up
        self.ui = Ui_WizardFrame()
        self.ui.setupUi(self)
        item = flow.item
        self.setWindowTitle(f"业务办理 — {item.name}")
        self.ui.itemLabel.setText(self.item_header())
        self.ui.itemLabel.setTextFormat(Qt.TextFormat.PlainText)
        self.busy = False
        self._waits_stopped = False  # Esc stopped a card wait: the clerk goes on with Enter
        self.step: Step = flow.step
        self._inputs: list[FieldInput] = []
        self._materials: list[tuple[str, QCheckBox]] = []
        self._option_buttons: list[QPushButton] = []
        self._page: QWidget | None = None
        self.preview: QWidget | None = None
        self.subsidies: Any = None
        self.ui.nextButton.clicked.connect(self._next)
        self.ui.backButton.clicked.connect(self._back)
        self.ui.cancelButton.clicked.connect(self.reject)
        self.ui.printButton.clicked.connect(self.reprint)
        self.told.connect(self._show_told)
        flow.listener = self.told.emit  # queued to the GUI thread: the flow runs on a worker
        self._show(self.step)

    # -- what the dialog shows -----------------------------------------------------------------

    def item_header(self) -> str:
        """事项名称, 申请条件 and 办理流程 (待确认 where the catalog assumed them), for this counter."""
        item = self.flow.item

        def marked(text: Any) -> str:
            return f"{text.value}（待确认）" if text.needs_confirmation else str(text.value)

        ctx = self.flow.ctx
        kind = ctx.outlet.type.label
        lines = [f"{marked(item.name)} — {ctx.outlet.name}（{kind}）", f"申请条件：{marked(item.conditions)}"]
        steps: list[str] = []
        for step in item.process:  # the brochure's steps verbatim (each ends with its own 。), numbered
            if step.level > 1:
                steps.append(f"· {marked(step.text)}")  # a sub-step of the step before
            else:
                steps.append(f"{sum(1 for t in steps if not t.startswith('·')) + 1}. {marked(step.text)}")
        if steps:
            lines.append("办理流程：" + " ".join(steps))
        return "\n".join(lines)

    def page_text(self) -> str:
        """All the text of the current page (for tests and screen readers)."""
        parts = [self.ui.titleLabel.text(), self.ui.promptLabel.text(), self.ui.problemLabel.text()]
        if self._page is not None:
            for label in self._page.findChildren(QLabel):
                parts.append(label.text())
            for check in self._page.findChildren(QCheckBox):
                parts.append(check.text())
            for button in self._page.findChildren(QPushButton):
                parts.append(button.text())
        return "\n".join(p for p in parts if p)

    def _clear_page(self) -> None:
        if self._page is not None:
            self._page.hide()
            self._page.setParent(None)  # out of findChild's way
            self._page.deleteLater()
        self._page = None
        self.preview = None
        self.subsidies = None
        self._inputs = []
        self._materials = []
        self._option_buttons = []

    def _show(self, step: Step) -> None:
        self.step = step
        self._clear_page()
        page = QWidget(self.ui.pageArea)
        page.setObjectName(f"page_{step.key}")
        layout = QVBoxLayout(page)
        self.ui.pageLayout.addWidget(page)
        self._page = page
        self.ui.titleLabel.setText(f"<b>{step.title}</b>")
        self.ui.promptLabel.setText(step.prompt)
        problem = step.problem or (step.refusal if step.kind is StepKind.REFUSED else None)
        if problem is not None:
            hint = f"\n处理建议：{problem.hint}" if problem.hint else ""
            self.ui.problemLabel.setText(f"{problem.message}{hint}")
        else:
            self.ui.problemLabel.setText("")
        if step.banner:  # 代管代持 …: on every page of the flow once the holder is known
            banner = QLabel(step.banner, page)
            banner.setObjectName("flowBanner")
            banner.setWordWrap(True)
            banner.setStyleSheet("background:#fff3e0;color:#8a4b00;border:1px solid #8a4b00;padding:4px;")
            layout.addWidget(banner)
        for alert in step.alerts:  # the server's warnings (疑似强制代领): for the clerk, not the form
            warning = QLabel(f"⚠ {alert}", page)
            warning.setObjectName("alertText")
            warning.setWordWrap(True)
            warning.setStyleSheet("color:#b00020;font-weight:bold;")
            layout.addWidget(warning)
        for notice in step.notices:
            note = QLabel(f"提示：{notice}", page)
            note.setWordWrap(True)
            layout.addWidget(note)
        if step.kind is StepKind.CLERK_INPUT:
            self._build_form(step, layout)
        elif step.kind is StepKind.CONFIRM:
            self._build_confirm(step, layout)
        elif step.kind is StepKind.MATERIALS:
            self._build_materials(step, layout)
        elif step.kind is StepKind.PORT:
            self._build_port(step, layout)
        elif step.kind is StepKind.DONE:
            self._build_done(step, layout)
        if step.kind is StepKind.REFUSED and step.follow_up is not None:
            self._add_follow_up(step.follow_up, layout)
        layout.addStretch(1)
        page.show()
        running = step.kind not in (StepKind.DONE, StepKind.REFUSED)
        self.ui.backButton.setVisible(running)
        self.ui.backButton.setEnabled(step.can_go_back)
        self.ui.cancelButton.setVisible(running and step.can_cancel)
        self.ui.printButton.setVisible(step.kind is StepKind.DONE)
        if step.outcome is not None:
            self.ui.printButton.setText("补打（F9）" if step.outcome.printed else "重新打印（F9）")
        self.ui.nextButton.setVisible(step.kind is not StepKind.CONFIRM)
        self.ui.nextButton.setText(_KIND_TEXT.get(step.kind, "下一步（Enter）"))
        if step.kind is StepKind.PORT and step.problem is not None:
            self.ui.nextButton.setText("重试（Enter）")
        self.ui.nextButton.setDefault(step.kind is not StepKind.CONFIRM)
        self._set_busy(False)
        self._focus_first()
        self.step_shown.emit(step)
        if step.kind is StepKind.PORT and step.problem is None and not step.options:
            self._run(lambda: self.flow.submit(None), "port")
        elif self._waits_for_card(step):  # the card left the reader: go on once it is back
            self._run(self._retry_when_card_back, "card_back")

    def _waits_for_card(self, step: Step) -> bool:
        waiting = getattr(self.flow.ctx, "card_wait", None)
        return (
            waiting is not None
            and not self._waits_stopped
            and step.kind is StepKind.PORT
            and step.problem is not None
            and step.problem.code == "card_removed"
        )

    def _retry_when_card_back(self) -> Step:
        waiting = self.flow.ctx.card_wait
        if waiting is not None and waiting.wait(True):
            return self.flow.submit(None)
        return self.flow.step

    def _show_told(self, text: str) -> None:
        """The running step's current instruction (请取出原卡 / 请插入预制卡 …)."""
        if self._page is None or self.step.kind is not StepKind.PORT or not self.busy:
            return
        progress = self._page.findChild(QLabel, "progressText")
        if progress is not None:
            progress.setText(text)

    def _build_form(self, step: Step, layout: QVBoxLayout) -> None:
        form = QFormLayout()
        layout.addLayout(form)
        for spec in step.fields:
            assert self._page is not None
            field_input = FieldInput(spec, step.values.get(spec.key), self._page)
            if spec.kind is FieldKind.OPERATOR_NUMBER and self._confirm is not None:
                assert isinstance(field_input.widget, QLineEdit)
                field_input.widget.setReadOnly(True)
                field_input.widget.setPlaceholderText("按 Enter 由复核人员在本柜台登录确认")
            form.addRow(field_input.label, field_input.row_widget)
            self._inputs.append(field_input)
            if isinstance(field_input.widget, QComboBox):
                field_input.widget.currentIndexChanged.connect(self._refresh_visibility)
            for box in field_input.boxes:
                box.toggled.connect(self._refresh_visibility)
        self._refresh_visibility()

    def _refresh_visibility(self, *_: Any) -> None:
        values = {i.spec.key: i.value() for i in self._inputs}
        for field_input in self._inputs:
            field_input.set_visible(applies(field_input.spec, values))

    def _build_confirm(self, step: Step, layout: QVBoxLayout) -> None:
        self._add_display(step, layout)
        self._add_options(step, layout, default=True)

    def _add_options(self, step: Step, layout: QVBoxLayout, *, default: bool) -> None:
        row = QHBoxLayout()
        layout.addLayout(row)
        page = layout.parentWidget()
        for index, option in enumerate(step.options):
            button = QPushButton(option.label + (f"（{option.mark}）" if option.mark else ""), page)
            button.setObjectName(f"option_{option.value}")
            button.setAutoDefault(default)
            button.setDefault(default and index == 0)
            value = option.value
            button.clicked.connect(lambda _=False, v=value: self.choose(v))
            row.addWidget(button)
            self._option_buttons.append(button)

    def _add_display(self, step: Step, layout: QVBoxLayout) -> None:
        if not step.display:
            return
        form = QFormLayout()
        layout.addLayout(form)
        page = layout.parentWidget()
        for label, value in step.display:
            shown = QLabel(value, page)
            shown.setWordWrap(True)
            shown.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(QLabel(label, page), shown)

    def _build_materials(self, step: Step, layout: QVBoxLayout) -> None:
        self._add_display(step, layout)
        page = layout.parentWidget()
        for line in step.materials:
            text = line.text
            if line.mark:
                text += f"（{line.mark}）"
            if not line.required:
                text += "（本次不必）"
            check = QCheckBox(text, page)
            check.setObjectName(f"material_{line.key}")
            layout.addWidget(check)
            self._materials.append((line.key, check))

    def _build_port(self, step: Step, layout: QVBoxLayout) -> None:
        self._add_display(step, layout)
        page = layout.parentWidget()
        progress = QLabel(step.progress or "正在处理，请稍候…", page)
        progress.setObjectName("progressText")
        progress.setWordWrap(True)
        layout.addWidget(progress)
        bar = QProgressBar(page)
        bar.setObjectName("progressBar")
        bar.setRange(0, 0)
        bar.setVisible(step.problem is None and not step.options)
        layout.addWidget(bar)
        if step.options:  # e.g. 卡片不在场: another way on instead of the device action
            self._add_options(step, layout, default=False)

    def _build_done(self, step: Step, layout: QVBoxLayout) -> None:
        outcome = step.outcome
        assert outcome is not None
        page = layout.parentWidget()
        rows = [("受理编号", outcome.acceptance_number), ("办理结果", outcome.result)]
        if outcome.queued:
            rows.append(("上传状态", "已受理，待上传确认"))
        if not outcome.complete:
            rows.append(("办结情况", "未办结（已记录已完成的部分）"))
        rows.append(("业务受理表", "已打印" if outcome.printed else "未打印"))
        form = QFormLayout()
        layout.addLayout(form)
        for label, value in rows:
            shown = QLabel(value, page)
            shown.setWordWrap(True)
            form.addRow(QLabel(label, page), shown)
        if outcome.print_problem is not None:
            problem = outcome.print_problem
            hint = f"；{problem.hint}" if problem.hint else ""
            warning = QLabel(f"打印失败：{problem.message}{hint}", page)
            warning.setWordWrap(True)
            layout.addWidget(warning)
        for notice in outcome.notices:
            note = QLabel(f"提示：{notice}", page)
            note.setWordWrap(True)
            layout.addWidget(note)
        if outcome.follow_up is not None:
            self._add_follow_up(outcome.follow_up, layout)
        subsidies = self.flow.data.get("subsidies")
        if isinstance(self.flow, QueryFlow) and isinstance(subsidies, list) and outcome.complete:
            from counter_app.ui.wizards.subsidies import SubsidyPanel

            self.subsidies = SubsidyPanel(
                self.flow, outcome, subsidies, self.tasks, start_follow_up=self._follow_fix, parent=page
            )
            layout.addWidget(self.subsidies)
        pdf = self._last_pdf() if self._last_pdf is not None else None
        if pdf:
            from counter_app.devices.printing import make_preview

            self.preview = make_preview(pdf, page)
            self.preview.setMinimumHeight(240)
            layout.addWidget(self.preview, 1)

    def _focus_first(self) -> None:
        for field_input in self._inputs:
            if field_input.widget.isVisibleTo(self):
                field_input.focus_target().setFocus()
                return
        if self._materials:
            self._materials[0][1].setFocus()
        elif self._option_buttons:
            self._option_buttons[0].setFocus()
        else:
            self.ui.nextButton.setFocus()

    # -- what the clerk does -------------------------------------------------------------------

    def answer(self) -> dict[str, Any]:
        """The clerk's answer to the current step, as ``Flow.submit`` takes it."""
        if self.step.kind is StepKind.CLERK_INPUT:
            values = {i.spec.key: i.value() for i in self._inputs}
            return {k: v for k, v in values.items() if applies(self._spec(k), values)}
        if self.step.kind is StepKind.MATERIALS:
            return {"checked": [key for key, check in self._materials if check.isChecked()]}
        return {}

    def _spec(self, key: str) -> FieldSpec:
        return next(i.spec for i in self._inputs if i.spec.key == key)

    def _next(self) -> None:
        if self.busy:
            return
        kind = self.step.kind
        if kind in (StepKind.DONE, StepKind.REFUSED):
            self.accept()
            return
        if kind is StepKind.CLERK_INPUT and self._needs_confirmation():
            return
        answer = None if kind is StepKind.PORT else self.answer()
        self._waits_stopped = False
        self._run(lambda: self.flow.submit(answer), "submit")

    def _needs_confirmation(self) -> bool:
        """复核/授权: an empty 复核人工号 is filled by the supervisor's own sign-in, then submitted."""
        if self._confirm is None:
            return False
        pending = [
            i
            for i in self._inputs
            if i.spec.kind is FieldKind.OPERATOR_NUMBER and i.widget.isVisibleTo(self) and not i.value()
        ]
        if not pending:
            return False
        target = pending[0].widget
        assert isinstance(target, QLineEdit)

        def done(session: Any) -> None:
            if session is None:
                self.ui.problemLabel.setText(
                    "复核人员未登录确认，不能继续办理。\n处理建议：请复核人员登录后按 Enter 继续。"
                )
                return
            target.setText(str(session.operator.number))
            self._next()

        self._confirm(f"{self.flow.item.short_name}：{self.step.title}", done)
        return True

    def choose(self, value: str) -> None:
        """Pick an option of a CONFIRM step."""
        if not self.busy:
            self._run(lambda: self.flow.submit({"choice": value}), "choose")

    def _back(self) -> None:
        if not self.busy and self.step.can_go_back:
            self._run(self.flow.back, "back")

    def reject(self) -> None:
        """Esc / 取消办理: cancel the flow (or, while a device waits, ask it to stop)."""
        if self.busy:
            waiting = getattr(self.flow.ctx, "card_wait", None)
            if waiting is not None:  # 插卡/取卡等待: stops at once (no device I/O)
                self._waits_stopped = True
                waiting.cancel()
            pad = getattr(self.flow.ctx, "pin_pad", None)
            if pad is not None:
                try:
                    self.tasks.run(pad.cancel, lambda _: None, lambda _: None)
                except RuntimeError:
                    return
            self.ui.problemLabel.setText("正在停止设备操作，请稍候…")
            return
        if self.step.kind in (StepKind.DONE, StepKind.REFUSED):
            super().reject()
            return
        if not self.step.can_cancel:
            return
        try:
            self._run(self.flow.cancel, "cancel")
        except RuntimeError:  # the shell is closing (its worker pool is shut down)
            self.flow.cancel()
            super().reject()

    def reprint(self) -> None:
        """打印 again (补打) the finished flow's form."""
        reprint = getattr(self.flow, "reprint", None)
        if self.busy or reprint is None or self.step.kind is not StepKind.DONE:
            return

        def run() -> Step:
            reprint()
            return self.flow.step

        self._run(run, "reprint")

    def _follow_fix(self, follow: FollowUp) -> None:
        """A subsidy failure's fix: the query is done; start that item's wizard."""
        self._follow(follow)

    def _add_follow_up(self, follow: FollowUp, layout: QVBoxLayout) -> None:
        """The “接着办理” button that opens the item this one leads into (when the launcher can)."""
        if self._start_follow_up is None:
            return
        button = QPushButton(f"接着办理：{follow.label}")  # the layout's page becomes its parent
        button.setObjectName("followUpButton")
        button.setAutoDefault(False)
        button.clicked.connect(lambda: self._follow(follow))
        layout.addWidget(button)

    def _follow(self, follow: FollowUp) -> None:
        assert self._start_follow_up is not None
        self.accept()
        self._start_follow_up(follow)

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802 (Qt override)
        if event.key() == Qt.Key.Key_F4:
            files = [i for i in self._inputs if i.spec.kind is FieldKind.FILE and i.widget.isVisibleTo(self)]
            if files:
                files[0].browse()
                return
        if event.key() == Qt.Key.Key_F9 and self.step.kind is StepKind.DONE:
            self.reprint()
            return
        if event.key() == Qt.Key.Key_F10 and self.subsidies is not None:
            self.subsidies.print_statement()
            return
        super().keyPressEvent(event)

    # -- running off the GUI thread ----------------------------------------------------------------

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        for button in (self.ui.nextButton, self.ui.backButton, self.ui.printButton, *self._option_buttons):
            button.setEnabled(not busy and (button is not self.ui.backButton or self.step.can_go_back))
        for field_input in self._inputs:
            field_input.widget.setEnabled(not busy)

    def _run(self, call: Callable[[], Step], what: str) -> None:
        self._set_busy(True)
        self.tasks.run(call, self._show, self._failed(what))

    def _failed(self, what: str) -> Callable[[BaseException], None]:
        def failed(error: BaseException) -> None:
            log.error("wizard %s failed", what, exc_info=error)
            self._set_busy(False)
            self.ui.problemLabel.setText(f"操作未完成：{error}。请重试；多次失败请联系信息科。")

        return failed
