"""补贴发放明细 — a holder's subsidy payments over a period (DOMAIN §6), A4, as many pages as needed.

Every page repeats the header (title, holder, period, statement number with its Code128 and the
verification QR code) and the table's column heads, and ends with 第 n 页 共 m 页. After the payments
come the totals per item and overall, then every failed or returned payment with its reason and
what the holder can do about it.

Status buckets (decision): 已发 counts as paid; 失败 and 退回 as not paid; 待发 and 重发 (re-sending
arranged, not yet confirmed) as pending. A statement never claims money arrived that may not have.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from reportlab.lib.colors import Color
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from counter_app.domain.subsidies import period_label, period_range_label
from counter_app.receipts import codes
from counter_app.receipts.acceptance import TRAINING_MARK, format_time, reprint_mark, watermark
from counter_app.receipts.fonts import FontChain
from counter_app.receipts.layout import Cell, GridStyle, Ink, LaidRow, draw_rows, lay_out_rows
from counter_app.receipts.masking import mask_id_number
from counter_app.receipts.sections import CONSULTATION
from counter_app.workflows.ports import RenderedForm, SubsidyPayment, SubsidyStatement

TITLE: Final = "乐山市惠民惠农财政补贴发放明细"
SUBTITLE: Final = "（社会保障卡“一卡通”发放）"
PAID: Final = frozenset({"已发"})
FAILED: Final = frozenset({"失败", "退回"})
PENDING: Final = frozenset({"待发", "重发"})
STATUSES: Final = PAID | FAILED | PENDING
RED: Final = Color(0.8, 0.05, 0.05)

#: What the holder can do about a failure, by reason (DOMAIN §6); anything else: ask the department.
REMEDIES: Final = {
    "户名不符": "核对姓名后，由主管部门更正并重发",
    "证件号不符": "核对证件号码后，由主管部门更正并重发",
    "卡挂失": "办理解挂，或补卡后登记新账户并申请重发",
    "卡注销": "补领社会保障卡后登记新账户并申请重发",
    "账户未激活": "到发卡银行网点激活金融账户后申请重发",
}
DEFAULT_REMEDY: Final = "请联系主管部门核实后重发"

PAGE_W, PAGE_H = A4
MARGIN_X: Final = 12 * mm
MARGIN_Y: Final = 10 * mm
WIDTH: Final = PAGE_W - 2 * MARGIN_X
HEADER_H: Final = 36 * mm
FOOTER_H: Final = 11 * mm
QR_SIZE: Final = 20 * mm
STYLE: Final = GridStyle(size=7.5, leading=9.2, pad_x=2.0, pad_y=2.0, min_height=13.0)
COLUMNS: Final = (
    ("序号", 8),
    ("补贴项目", 42),
    ("主管部门", 22),
    ("发放期间", 15),
    ("金额（元）", 17),
    ("发放日期", 17),
    ("发放银行/账户尾号", 25),
    ("状态", 10),
    ("失败原因/批次号", 30),
)
WIDTHS: Final = [w * mm * WIDTH / (186 * mm) for _, w in COLUMNS]
TOTAL_WIDTHS: Final = [w * WIDTH / 186 for w in (70, 16, 34, 33, 33)]


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100:,}.{fen % 100:02d}"


@dataclass(frozen=True)
class ItemTotal:
    """合计 of one subsidy item: count and amounts per status bucket, in 分."""

    item_code: str
    item_name: str
    count: int
    paid: int
    failed: int
    pending: int


def totals(payments: Sequence[SubsidyPayment]) -> tuple[list[ItemTotal], ItemTotal]:
    """Totals per item (in order of first appearance) and overall."""
    order: list[str] = []
    acc: dict[str, list[int]] = {}
    names: dict[str, str] = {}
    for p in payments:
        if p.status not in STATUSES:
            raise ValueError(f"unknown payment status {p.status!r} (known: {', '.join(sorted(STATUSES))})")
        if p.item_code not in acc:
            order.append(p.item_code)
            acc[p.item_code] = [0, 0, 0, 0]
            names[p.item_code] = p.item_name
        row = acc[p.item_code]
        row[0] += 1
        bucket = 1 if p.status in PAID else 2 if p.status in FAILED else 3
        row[bucket] += p.amount_fen
    per_item = [ItemTotal(code, names[code], *acc[code]) for code in order]
    overall = ItemTotal(
        "",
        "总计",
        sum(t.count for t in per_item),
        sum(t.paid for t in per_item),
        sum(t.failed for t in per_item),
        sum(t.pending for t in per_item),
    )
    return per_item, overall


def _payment_row(number: int, p: SubsidyPayment) -> list[Cell]:
    bank = "/".join(x for x in (p.bank, f"尾号{p.account_tail}" if p.account_tail else "") if x)
    note = p.failure_reason if p.status in FAILED else p.batch
    if p.recipient:
        note = f"{note}（发放至{p.recipient}）" if note else f"发放至{p.recipient}"
    return [
        Cell(str(number), align="center"),
        Cell(p.item_name),
        Cell(p.department),
        Cell(period_label(p.period), align="center"),
        Cell(yuan(p.amount_fen), align="right"),
        Cell(p.paid_on.isoformat() if p.paid_on else "", align="center"),
        Cell(bank),
        Cell(p.status, align="center", bold=p.status in FAILED),
        Cell(note),
    ]


@dataclass
class _Flow:
    """One row of the page flow; ``table`` names the header to repeat when it starts a page."""

    row: LaidRow
    table: str
    widths: Sequence[float]


def render(
    s: SubsidyStatement, *, chain: FontChain, reprint: int = 0, printed_at: datetime | None = None
) -> RenderedForm:
    """Draw the statement; return the PDF with page count and unprintable characters."""
    payload = codes.qr_payload(s.statement_number, s.verification_code)
    buffer = io.BytesIO()
    c = Canvas(buffer, pagesize=A4, invariant=1, initialFontName=chain.primary, pageCompression=1)
    c.setTitle(f"{TITLE} {s.statement_number}")
    c.setAuthor("乐山市社会保障卡柜面业务系统")
    c.setSubject(TITLE)
    ink = Ink(c, chain)
    codes.define_qr_form(c, "qr", payload, QR_SIZE)
    barcode_width = codes.define_barcode_form(
        c, "barcode", s.statement_number, bar_width=0.18 * mm, bar_height=5.5 * mm
    )

    heads = {
        "payments": lay_out_rows(ink, WIDTHS, [[Cell(h, label=True) for h, _ in COLUMNS]], STYLE),
        "totals": lay_out_rows(
            ink,
            TOTAL_WIDTHS,
            [
                [
                    Cell(h, label=True)
                    for h in ("补贴项目", "笔数", "已发金额（元）", "未到账金额（元）", "待发/重发中（元）")
                ]
            ],
            STYLE,
        ),
        "failures": lay_out_rows(
            ink,
            [*WIDTHS[:1], sum(WIDTHS[1:4]), *WIDTHS[4:5], sum(WIDTHS[5:8]), *WIDTHS[8:]],
            [
                [
                    Cell(h, label=True)
                    for h in ("序号", "补贴项目（期间）", "金额（元）", "原因及处理建议", "状态")
                ]
            ],
            STYLE,
        ),
    }
    flow: list[_Flow] = []
    payment_rows = lay_out_rows(ink, WIDTHS, [_payment_row(i, p) for i, p in enumerate(s.payments, 1)], STYLE)
    flow += [_Flow(r, "payments", WIDTHS) for r in payment_rows]
    if not s.payments:
        flow += [
            _Flow(r, "payments", WIDTHS)
            for r in lay_out_rows(
                ink, WIDTHS, [[Cell("查询期间内无发放记录", span=len(WIDTHS), align="center")]], STYLE
            )
        ]
    per_item, overall = totals(s.payments)
    total_rows = [
        [
            Cell(t.item_name, bold=not t.item_code),
            Cell(str(t.count), align="center"),
            Cell(yuan(t.paid), align="right"),
            Cell(yuan(t.failed), align="right"),
            Cell(yuan(t.pending), align="right"),
        ]
        for t in [*per_item, overall]
    ]
    flow.append(_Flow(_caption(ink, "分项目合计", STYLE), "", WIDTHS))
    flow += [_Flow(r, "totals", TOTAL_WIDTHS) for r in lay_out_rows(ink, TOTAL_WIDTHS, total_rows, STYLE)]
    failures = [(i, p) for i, p in enumerate(s.payments, 1) if p.status in FAILED]
    if failures:
        fw = heads["failures"][0].cells
        failure_widths = [w for _, w, _, _, _ in fw]
        rows = [
            [
                Cell(str(i), align="center"),
                Cell(f"{p.item_name}（{period_label(p.period)}）"),
                Cell(yuan(p.amount_fen), align="right"),
                Cell(f"{p.failure_reason or '原因未注明'}：{REMEDIES.get(p.failure_reason, DEFAULT_REMEDY)}"),
                Cell(p.status, align="center"),
            ]
            for i, p in failures
        ]
        flow.append(_Flow(_caption(ink, f"发放失败/退回明细（{len(failures)}笔）", STYLE), "", WIDTHS))
        flow += [_Flow(r, "failures", failure_widths) for r in lay_out_rows(ink, failure_widths, rows, STYLE)]
    note = (
        "说明：金额单位为元。“已发”计入已发金额；“失败”“退回”计入未到账金额；“待发”“重发”计入待发/重发中。"
        "本明细依据乐山市社会保障卡管理中心发放记录打印，以主管部门发放记录为准。"
    )
    flow += [
        _Flow(r, "", [WIDTH])
        for r in lay_out_rows(ink, [WIDTH], [[Cell(note, size=7)]], GridStyle(size=7, leading=9, pad_y=3))
    ]

    # assign rows to pages
    body_top = PAGE_H - MARGIN_Y - HEADER_H
    body_bottom = MARGIN_Y + FOOTER_H
    pages: list[list[tuple[_Flow, bool]]] = [[]]  # (row, draw its table head first)
    y = body_top
    previous_table = ""
    for index, item in enumerate(flow):
        head = heads.get(item.table)
        head_h = head[0].height if head else 0.0
        needs_head = head is not None and (item.table != previous_table or not pages[-1])
        need = item.row.height + (head_h if needs_head else 0.0)
        keep = 0.0  # a caption keeps with the head and first row of its table
        if not item.table and index + 1 < len(flow) and flow[index + 1].table:
            keep = heads[flow[index + 1].table][0].height + flow[index + 1].row.height
        if y - need - keep < body_bottom and pages[-1]:
            pages.append([])
            y = body_top
            needs_head = head is not None
            need = item.row.height + (head_h if needs_head else 0.0)
        pages[-1].append((item, needs_head))
        y -= need
        previous_table = item.table

    total_pages = len(pages)
    for number, page in enumerate(pages, 1):
        _page_header(ink, s, reprint, barcode_width)
        y = body_top
        for item, starts_table in page:
            if starts_table:
                y = draw_rows(ink, MARGIN_X, y, heads[item.table], STYLE)
            if item.table:
                y = draw_rows(ink, MARGIN_X, y, [item.row], STYLE)
            else:
                y = _draw_plain(ink, MARGIN_X, y, item.row)
        _page_footer(ink, s, number, total_pages, reprint, printed_at)
        if s.training:
            watermark(ink, PAGE_W / 2, PAGE_H / 2, 56)
        c.showPage()
    c.save()
    return RenderedForm(buffer.getvalue(), tuple(ink.missing), total_pages)


def _caption(ink: Ink, text: str, style: GridStyle) -> LaidRow:
    row = lay_out_rows(ink, [WIDTH], [[Cell(text, bold=True, size=style.size + 1)]], style)[0]
    row.height += 3 * mm
    return row


def _draw_plain(ink: Ink, x: float, y: float, row: LaidRow) -> float:
    """A borderless row (captions, the closing note)."""
    for cx, _, cell, lines, size in row.cells:
        ink.lines(
            x + cx, y - (row.height - len(lines) * size * 1.25), lines, size, size * 1.25, bold=cell.bold
        )
    return y - row.height


def _page_header(ink: Ink, s: SubsidyStatement, reprint: int, barcode_width: float) -> None:
    c = ink.canvas
    top = PAGE_H - MARGIN_Y
    ink.text(MARGIN_X + (WIDTH - QR_SIZE) / 2, top - 7 * mm, TITLE, 15, align="center", bold=True)
    ink.text(MARGIN_X + (WIDTH - QR_SIZE) / 2, top - 11.5 * mm, SUBTITLE, 8, align="center")
    c.saveState()
    c.translate(MARGIN_X + WIDTH - QR_SIZE, top - QR_SIZE)
    c.doForm("qr")
    c.restoreState()
    ink.text(MARGIN_X + WIDTH - QR_SIZE / 2, top - QR_SIZE - 3 * mm, "扫码核验", 6.5, align="center")
    h = s.holder
    scope = "家庭（含按户发放至户主的补贴）" if s.household else "本人"
    lines = [
        f"持卡人：{h.name}　　证件号码：{mask_id_number(h.id_number)}　　社会保障卡号：{h.card_number}",
        f"查询范围：{scope}　　发放期间：{period_range_label(s.period_from, s.period_to)}",
        f"打印编号：{s.statement_number}",
        f"打印网点：{s.outlet_name}（{s.outlet_code}）　柜台：{s.counter_number}　经办人：{s.operator_number}",
    ]
    if s.data_as_of is not None:
        lines.append(
            f"数据来源：本地数据副本，数据截至{format_time(s.data_as_of)}（离线查询，以中心系统为准）"
        )
    y = top - 16.5 * mm
    for line in lines:
        ink.text(MARGIN_X, y, line, 7.8)
        y -= 3.4 * mm
    c.saveState()
    c.translate(MARGIN_X + WIDTH - barcode_width, top - HEADER_H + 3 * mm)  # right, under the QR code
    c.doForm("barcode")
    c.restoreState()
    if reprint:
        _small_stamp(ink, MARGIN_X + WIDTH - QR_SIZE - 24 * mm, top - 1 * mm, reprint_mark(reprint))


def _small_stamp(ink: Ink, x: float, y: float, text: str) -> None:
    c = ink.canvas
    size = 9
    w = ink.width(text, size) + size * 1.2
    c.saveState()
    c.setStrokeColor(RED)
    c.setLineWidth(1)
    c.rect(x, y - size * 1.9, w, size * 1.9, stroke=1, fill=0)
    t = c.beginText(x + size * 0.6, y - size * 1.35)
    t.setFillColor(RED)
    for font, run in ink.chain.split(text).runs:
        t.setFont(font, size)
        t.textOut(run)
    c.drawText(t)
    c.restoreState()


def _page_footer(
    ink: Ink, s: SubsidyStatement, number: int, total: int, reprint: int, printed_at: datetime | None
) -> None:
    y = MARGIN_Y + 6 * mm
    c = ink.canvas
    c.setLineWidth(0.4)
    c.line(MARGIN_X, y + 3 * mm, MARGIN_X + WIDTH, y + 3 * mm)
    ink.text(MARGIN_X, y, CONSULTATION, 7)
    ink.text(MARGIN_X + WIDTH, y, f"第 {number} 页　共 {total} 页", 7.5, align="right")
    printed = f"打印时间：{format_time(printed_at or s.printed_at)}"
    if reprint:
        printed += f"（第{reprint}次补打，原打印时间：{format_time(s.printed_at)}）"
    if s.training:
        printed += f"　{TRAINING_MARK}"
    ink.text(MARGIN_X, y - 3.8 * mm, printed, 7)
