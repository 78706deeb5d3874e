"""补贴查询 — the subsidy part of the 信息查询 wizard's result: payments by item and period,
failures with their reason in words and the card-side fix offered (a button starting that item's
flow), another 发放期间 on request (the query loads the last 12 months), and 打印补贴发放明细 (the
statement of the period shown, numbered with the query's 受理编号).

Built from what the query flow loaded (``flow.data["subsidies"]``, the server's or the replica's
payment rows); rendering and printing the statement run on the shell's worker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from counter_app.domain.errors import DomainError
from counter_app.domain.subsidies import FailureReason, period_range_label
from counter_app.ui.bridge import BackgroundTasks
from counter_app.ui.qt import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRegularExpression,
    QRegularExpressionValidator,
    QVBoxLayout,
    QWidget,
    Signal,
)
from counter_app.workflows.base import FollowUp, Outcome
from counter_app.workflows.ports import (
    FormPerson,
    PrintFailed,
    StatementRenderer,
    SubsidyPayment,
    SubsidyStatement,
)
from counter_app.workflows.query import QueryFlow

log = logging.getLogger(__name__)


def _text(row: Mapping[str, Any], key: str) -> str:
    value = row.get(key)
    return "" if value is None else str(value)


def failure_reason(row: Mapping[str, Any]) -> FailureReason | None:
    """The payment's 失败原因 (the server sends the label or the code), None when it did not fail."""
    raw = _text(row, "failure_reason").strip()
    if not raw:
        return None
    try:
        return FailureReason(raw)
    except ValueError:
        pass
    try:
        return FailureReason.from_label(raw)
    except ValueError:
        return FailureReason.OTHER


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d} 元"


def payment_of(row: Mapping[str, Any], holder_name: str = "") -> SubsidyPayment:
    """A server/replica payment row as the statement's `SubsidyPayment` (``recipient`` only when
    someone other than the holder was paid, e.g. the head of household)."""
    paid = row.get("paid_on")
    paid_on = date.fromisoformat(str(paid)[:10]) if paid else None
    reason = failure_reason(row)
    return SubsidyPayment(
        item_code=_text(row, "item_code"),
        item_name=_text(row, "item_name"),
        period=_text(row, "period"),
        amount_fen=int(row.get("amount_fen") or 0),
        status=_text(row, "status_label") or _text(row, "status"),
        department=_text(row, "department"),
        paid_on=paid_on,
        bank=_text(row, "bank"),
        account_tail=_text(row, "account_masked")[-4:] or _text(row, "account_tail"),
        failure_reason="" if reason is None else reason.label,
        batch=_text(row, "batch_number") or _text(row, "batch"),
        recipient=recipient
        if (recipient := _text(row, "recipient_name") or _text(row, "recipient")) != holder_name
        else "",
    )


def statement_of(flow: QueryFlow, outcome: Outcome, rows: Sequence[Mapping[str, Any]]) -> SubsidyStatement:
    """The 补贴发放明细 of a finished query, numbered with its 受理编号."""
    ctx = flow.ctx
    person: Mapping[str, Any] = flow.data.get("person") or {}
    card: Mapping[str, Any] = flow.data.get("card") or {}
    payments = tuple(payment_of(r, _text(person, "name")) for r in rows)
    asked = flow.data.get("subsidy_period")  # the range the query asked the server for
    periods = (
        list(asked) if asked else sorted(p.period for p in payments if p.period) or [f"{ctx.today():%Y%m}"]
    )
    as_of = flow.data.get("replica_as_of")
    return SubsidyStatement(
        statement_number=outcome.acceptance_number,
        verification_code=ctx.verification_code(outcome.acceptance_number),
        holder=FormPerson(
            name=_text(person, "name"),
            id_number=_text(person, "id_number"),
            card_number=_text(card, "card_number"),
        ),
        period_from=periods[0],
        period_to=periods[-1],
        payments=payments,
        printed_at=ctx.now(),
        outlet_code=ctx.outlet.code,
        outlet_name=ctx.outlet.name,
        counter_number=ctx.counter_number,
        operator_number=ctx.operator.number,
        data_as_of=datetime.fromisoformat(str(as_of)) if as_of else None,
        training=ctx.training,
    )


class SubsidyPanel(QWidget):
    """Payments by item and period, failures in words with the fix offered, another period, the print."""

    printed = Signal(str)  # the print job id
    print_failed = Signal(str)
    reloaded = Signal(int)  # how many payments the newly asked period has
    reload_failed = Signal(str)

    def __init__(
        self,
        flow: QueryFlow,
        outcome: Outcome,
        rows: Sequence[Mapping[str, Any]],
        tasks: BackgroundTasks,
        *,
        start_follow_up: Callable[[FollowUp], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("subsidyPanel")
        self.flow = flow
        self.outcome = outcome
        self.rows = list(rows)
        self.tasks = tasks
        self._start_follow_up = start_follow_up
        self.fix_buttons: list[QPushButton] = []
        self.last_pdf: bytes | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("<b>补贴发放记录</b>", self))
        self.period_from = self._period_edit("periodFrom")
        self.period_to = self._period_edit("periodTo")
        self.reload_button = QPushButton("查询此期间", self)
        self.reload_button.setObjectName("reloadSubsidiesButton")
        self.reload_button.setAutoDefault(False)
        self.reload_button.clicked.connect(self.reload)
        asked = flow.data.get("subsidy_period")
        if asked:
            self.period_from.setText(str(asked[0]))
            self.period_to.setText(str(asked[1]))
        row = QHBoxLayout()
        row.addWidget(QLabel("发放期间", self))
        row.addWidget(self.period_from)
        row.addWidget(QLabel("至", self))
        row.addWidget(self.period_to)
        row.addWidget(self.reload_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.list_box = QWidget(self)
        self.list_layout = QVBoxLayout(self.list_box)
        self.list_layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list_box)
        self._show_rows()
        self.print_button = QPushButton("打印补贴发放明细（F10）", self)
        self.print_button.setObjectName("printStatementButton")
        self.print_button.setAutoDefault(False)
        self.print_button.clicked.connect(self.print_statement)
        layout.addWidget(self.print_button)
        self.message = QLabel("", self)
        self.message.setWordWrap(True)
        layout.addWidget(self.message)

    def _period_edit(self, name: str) -> QLineEdit:
        edit = QLineEdit(self)
        edit.setObjectName(name)
        edit.setPlaceholderText("年月，如 202501")
        edit.setMaxLength(6)
        edit.setValidator(QRegularExpressionValidator(QRegularExpression(r"^[0-9]{0,6}$"), edit))
        edit.returnPressed.connect(self.reload)
        return edit

    def _show_rows(self) -> None:
        """(Re)build the list of payments and the fix buttons from ``self.rows``."""
        while self.list_layout.count():
            item = self.list_layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:  # out of the panel now (a deferred delete would leave it listed)
                widget.setParent(None)
                widget.deleteLater()
        self.fix_buttons = []
        layout = self.list_layout
        if not self.rows:
            layout.addWidget(QLabel("查询期间无补贴发放记录。", self.list_box))
        offered: set[str] = set()
        holder = _text(self.flow.data.get("person") or {}, "name")
        for row in sorted(self.rows, key=lambda r: (_text(r, "item_name"), _text(r, "period"))):
            amount = int(row.get("amount_fen") or 0)
            status = _text(row, "status_label") or _text(row, "status")
            line = f"{_text(row, 'item_name')}　{_text(row, 'period')}　{yuan(amount)}　{status}"
            beneficiary = _text(row, "beneficiary_name")
            if beneficiary and beneficiary != holder:
                line += f"　（家庭成员：{beneficiary}）"
            reason = failure_reason(row)
            if reason is not None:
                line += f"\n　失败原因：{reason.label}。处理办法：{reason.hint}"
            label = QLabel(line, self.list_box)
            label.setWordWrap(True)
            layout.addWidget(label)
            if reason is not None:
                for code in reason.fixes:
                    if code in offered or code == self.flow.item_code:
                        continue
                    offered.add(code)
                    self._add_fix(layout, code)

    def reload(self) -> None:
        """Ask for the payments of the 发放期间 typed (on the worker); the list shows them when they come."""
        flow = self.flow
        if not self.reload_button.isEnabled():
            return
        period_from, period_to = self.period_from.text().strip(), self.period_to.text().strip()
        self._set_idle(False)
        self.message.setText("正在查询补贴发放记录…")

        def done(rows: list[dict[str, Any]]) -> None:
            self.rows = list(rows)
            self._show_rows()
            self._set_idle(True)
            self.message.setText(
                f"已查询 {period_range_label(period_from, period_to)}的补贴发放记录，"
                f"共 {len(self.rows)} 条。打印的补贴发放明细为此期间。"
            )
            self.reloaded.emit(len(self.rows))

        def failed(error: BaseException) -> None:
            self._set_idle(True)
            if isinstance(error, DomainError):
                text = error.message + (error.hint or "")
            else:
                log.warning("subsidy payments of another period not loaded: %s", error)
                text = f"未能查询补贴发放记录：{str(error).rstrip('。')}。显示的仍是原查询期间的记录，请稍后重试。"
            self.message.setText(text)
            self.reload_failed.emit(text)

        self.tasks.run(lambda: flow.reload_subsidies(period_from, period_to), done, failed)

    def _set_idle(self, idle: bool) -> None:
        self.reload_button.setEnabled(idle)
        self.print_button.setEnabled(idle)

    def _add_fix(self, layout: QVBoxLayout, code: str) -> None:
        try:
            name = self.flow.ctx.catalog.by_code(code).short_name
        except KeyError:
            return
        button = QPushButton(f"为持卡人办理：{name}", self)
        button.setObjectName(f"fix_{code}")
        button.setAutoDefault(False)
        button.setEnabled(self._start_follow_up is not None)
        button.clicked.connect(lambda _=False, c=code, n=name: self._fix(c, n))
        layout.addWidget(button)
        self.fix_buttons.append(button)

    def _fix(self, code: str, name: str) -> None:
        if self._start_follow_up is not None:
            self._start_follow_up(FollowUp(code, name))

    def print_statement(self) -> None:
        """Render, audit and print the 补贴发放明细 on the worker."""
        flow = self.flow
        ctx = flow.ctx
        statement = statement_of(flow, self.outcome, self.rows)
        self.print_button.setEnabled(False)
        self.message.setText("正在打印补贴发放明细…")

        def run() -> str:
            renderer = getattr(ctx.renderer, "inner", ctx.renderer)  # a CapturingRenderer's own
            if not isinstance(renderer, StatementRenderer):
                raise PrintFailed("本机的打印组件不能生成补贴发放明细")
            rendered = renderer.render_subsidy_statement(statement)
            # who printed whose payments: on the audit chain first
            flow.statement_printing(statement.period_from, statement.period_to, len(statement.payments))
            self.last_pdf = rendered.pdf
            return ctx.printer.print_pdf(rendered.pdf, job_name=f"补贴发放明细 {statement.statement_number}")

        def done(job: str) -> None:
            self.print_button.setEnabled(True)
            self.message.setText("补贴发放明细已打印。")
            self.printed.emit(job)

        def failed(error: BaseException) -> None:
            log.warning("subsidy statement not printed: %s", error)
            self.print_button.setEnabled(True)
            self.message.setText(f"补贴发放明细未打印：{error}。请检查打印机后重试。")
            self.print_failed.emit(str(error))

        self.last_pdf = None
        self.tasks.run(run, done, failed)
