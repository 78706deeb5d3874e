"""业务受理表 — the acceptance form of one transaction: stub (留存联) and receipt (回执).

Both parts carry the title, the 受理编号 with its Code128 and verification QR code, the item with its
办理类型 and own section, holder and agent, materials checked, fee, time limit and promised date,
outlet, operator, time and result. The stub shows ID and phone numbers in full and has the
signature lines and the applicant's declaration; the receipt shows them masked and carries the
服务须知. Both have the consultation numbers and the marks: 已受理，待上传确认 (offline), 补打 n
(reprint) and the 培训样张 无效 watermark (training).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Final

from reportlab.lib.colors import Color
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from counter_app.domain.catalog import Catalog, FeeRule, ServiceItem
from counter_app.receipts import codes, sections
from counter_app.receipts.fonts import FontChain
from counter_app.receipts.layout import Block, Cell, GridStyle, Ink, checkbox_line, draw_rows, lay_out_rows
from counter_app.receipts.masking import mask
from counter_app.receipts.paper import Paper
from counter_app.receipts.workdays import HolidayCalendar, PromisedDate
from counter_app.workflows.ports import AcceptanceForm, RenderedForm

TITLE: Final = "乐山市社会保障卡业务受理表"
OFFLINE_MARK: Final = "已受理，待上传确认"
TRAINING_MARK: Final = "培训样张 无效"
CUT_LABEL: Final = "沿此虚线剪开"
DECLARATION: Final = "申请人承诺：以上信息及所提供的材料真实、有效，如有虚假，愿承担相应责任。"
RED: Final = Color(0.8, 0.05, 0.05)
QR_FORM: Final = "qr"
BARCODE_FORM: Final = "barcode"


class Part(Enum):
    """Which part of the form (联)."""

    STUB = "留存联（经办机构留存）"
    RECEIPT = "回执（交申请人收执）"


def reprint_mark(count: int) -> str:
    return f"补打 {count}"


def format_time(moment: datetime) -> str:
    return f"{moment:%Y年%m月%d日 %H:%M}"


def format_date(day: date) -> str:
    return f"{day:%Y年%m月%d日}"


def format_fen(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}元"


@dataclass(frozen=True)
class Resolved:
    """The form with what the catalog and the calendar add, ready to lay out."""

    form: AcceptanceForm
    item: ServiceItem
    promised: PromisedDate
    reprint: int
    printed_at: datetime | None


def resolve(
    form: AcceptanceForm,
    catalog: Catalog,
    calendar: HolidayCalendar,
    *,
    reprint: int,
    printed_at: datetime | None,
) -> Resolved:
    """Check the form against the catalog and the item's section; compute the promised date."""
    item = catalog.by_code(form.item_code)
    if form.variant:
        item.variant(form.variant)  # ValueError for an unknown variant
    sections.check_details(form.item_code, form.item_details)
    codes.qr_payload(form.acceptance_number, form.verification_code)  # ASCII checks
    if reprint < 0:
        raise ValueError(f"reprint count must be ≥ 0, got {reprint}")
    if form.promised_date is not None:
        promised = PromisedDate(form.promised_date, provisional=False)
    else:
        promised = calendar.add_working_days(form.accepted_at.date(), item.time_limit.working_days)
    return Resolved(form, item, promised, reprint, printed_at)


# --------------------------------------------------------------------------------------------
# The rows of one part


def _pairs_to_rows(
    pairs: Sequence[tuple[str, str, int]], per_row: int, label_size: float | None = None
) -> list[list[Cell]]:
    """Pack (label, value, pair-span) into rows of ``per_row`` label/value pairs.

    A value spanning ``k`` pairs takes 2k−1 value columns; a row that is not full stretches its last
    value to the row's end.
    """
    rows: list[list[Cell]] = []
    row: list[Cell] = []
    used = 0
    for label, value, span in pairs:
        span = min(span, per_row)
        if used + span > per_row:
            _close_row(row, used, per_row)
            rows.append(row)
            row, used = [], 0
        row.append(Cell(label, label=True, size=label_size))
        row.append(Cell(value, span=2 * span - 1))
        used += span
        if used == per_row:
            rows.append(row)
            row, used = [], 0
    if row:
        _close_row(row, used, per_row)
        rows.append(row)
    return rows


def _close_row(row: list[Cell], used: int, per_row: int) -> None:
    if used < per_row and row:
        last = row[-1]
        row[-1] = Cell(last.text, span=last.span + 2 * (per_row - used), align=last.align)


def part_rows(r: Resolved, part: Part, per_row: int) -> list[list[Cell]]:
    """Every row of the grid of one part (masking applied to the receipt)."""
    f = r.form
    masked = part is Part.RECEIPT

    def m(kind: str, value: str) -> str:
        return mask(kind, value) if masked else value

    item = r.item
    wide = per_row
    pairs: list[tuple[str, str, int]] = [
        ("业务事项", item.name.value, 1),
        ("受理时间", format_time(f.accepted_at), 1),
        ("办理结果", f.result, 1),
    ]
    if item.variants:
        options = [(v.label, v.code == f.variant) for v in item.variants]
        pairs.append(("办理类型", checkbox_line(options), wide))
    h = f.holder
    pairs += [
        ("持卡人姓名", h.name, 1),
        ("性别", h.sex, 1),
        ("证件类型", h.id_type, 1),
        ("证件号码", m("id", h.id_number), 1),
        ("联系电话", m("phone", h.phone), 1),
        ("社会保障卡号", h.card_number, 1),
    ]
    a = f.agent
    if a is None:
        pairs.append(("代办人", "无（本人办理）", wide))
    else:
        pairs += [
            ("代办人姓名", a.name, 1),
            ("与持卡人关系", a.relation, 1),
            ("代办人证件", f"{a.id_type} {m('id', a.id_number)}".strip(), 1),
            ("代办人电话", m("phone", a.phone), 1),
            ("代办材料", "、".join(a.documents), max(1, per_row - 1)),
        ]
    for field in sections.section_for(item.code):
        value = f.item_details.get(field.key, "")
        if field.choices:
            value = checkbox_line([(c, c == value) for c in field.choices])
        elif field.mask:
            value = m(field.mask, value)
        pairs.append((field.label, value, wide if field.wide or field.choices else 1))
    rows = _pairs_to_rows(pairs, per_row)
    if f.changes:  # 原信息/新信息 right after the item's own section
        rows += _change_rows(r, masked, per_row)
    pairs = []
    if f.materials:
        materials = [(x.text, x.checked) for x in f.materials]
    else:
        materials = [(x.value, False) for x in item.materials_checklist]
    pairs.append(("申报材料", "\n".join(checkbox_line([x]) for x in materials), wide))
    fee_text = item.fee.text.value
    if f.fee_amount_fen is not None:
        charged = "免费" if f.fee_amount_fen == 0 else f"实收 {format_fen(f.fee_amount_fen)}"
    elif item.fee.rule is FeeRule.FREE:
        charged = "免费"
    else:
        charged = "未收费"
    pairs.append(("收费", f"{charged}（收费依据及标准：{fee_text}）", wide))
    limit = item.time_limit
    promised = format_date(r.promised.date) + ("（预计）" if r.promised.provisional else "")
    pairs += [
        ("办理时限", limit.text.value, 1),
        ("承诺办结日期", "当场办结" if limit.same_day else promised, 1),
        ("柜台号", f.counter_number, 1),
        ("受理网点", f"{f.outlet_name}（{f.outlet_code}）", max(1, per_row - 1)),
        (
            "经办人（工号）",
            f"{f.operator_name}（{f.operator_number}）" if f.operator_name else f.operator_number,
            1,
        ),
    ]
    if f.remarks:
        pairs.append(("备注", f.remarks, wide))
    return rows + _pairs_to_rows(pairs, per_row)


def _change_rows(r: Resolved, masked: bool, per_row: int) -> list[list[Cell]]:
    """变更项目 | 原信息 | 新信息 rows, as wide as the grid (2·per_row columns)."""
    columns = 2 * per_row
    first = 1
    old_span = (columns - first) // 2
    new_span = columns - first - old_span
    rows = [
        [
            Cell("变更项目", label=True),
            Cell("原信息", span=old_span, label=True),
            Cell("新信息", span=new_span, label=True),
        ]
    ]
    for change in r.form.changes:
        old = mask(change.kind, change.old) if masked else change.old
        new = mask(change.kind, change.new) if masked else change.new
        rows.append([Cell(change.label, label=True), Cell(old, span=old_span), Cell(new, span=new_span)])
    return rows


# --------------------------------------------------------------------------------------------
# Drawing


@dataclass(frozen=True)
class Metrics:
    """Sizes of one layout (wide = A4/A5, narrow = the 80 mm slip)."""

    title: float
    text: float
    small: float
    qr: float
    bar_width: float
    bar_height: float
    per_row: int
    label_width: float


WIDE: Final = Metrics(15, 8.3, 7.0, 18 * mm, 0.22 * mm, 6.5 * mm, 3, 21 * mm)
MEDIUM: Final = Metrics(13, 7.6, 6.4, 17 * mm, 0.2 * mm, 6 * mm, 2, 21 * mm)
NARROW: Final = Metrics(12, 8, 6.8, 26 * mm, 0.22 * mm, 8 * mm, 1, 19 * mm)


def _column_widths(width: float, m: Metrics) -> list[float]:
    value = (width - m.per_row * m.label_width) / m.per_row
    return [m.label_width, value] * m.per_row


def _stamp(ink: Ink, x: float, y: float, text: str, size: float) -> float:
    """A red double-bordered stamp with its top-left at (x, y); return its width."""
    c = ink.canvas
    w = ink.width(text, size) + size * 1.4
    h = size * 2.0
    c.saveState()
    c.setStrokeColor(RED)
    c.setFillColor(RED)
    c.setLineWidth(1.2)
    c.rect(x, y - h, w, h, stroke=1, fill=0)
    c.setLineWidth(0.4)
    c.rect(x + 1.6, y - h + 1.6, w - 3.2, h - 3.2, stroke=1, fill=0)
    t = c.beginText(x + size * 0.7, y - h + size * 0.62)
    t.setFillColor(RED)
    for font, run in ink.chain.split(text).runs:
        t.setFont(font, size)
        t.textOut(run)
    c.drawText(t)
    c.restoreState()
    return w


def _marks(r: Resolved) -> list[str]:
    marks = []
    if r.form.offline:
        marks.append(OFFLINE_MARK)
    if r.reprint:
        marks.append(reprint_mark(r.reprint))
    return marks


def header_block(
    ink: Ink, r: Resolved, part: Part, width: float, m: Metrics, narrow: bool, barcode_width: float
) -> Block:
    """Part label, title, 受理编号 with Code128, QR code, marks."""
    if narrow:
        return _narrow_header(ink, r, part, width, m, barcode_width)
    compact = width < 150 * mm  # A5: the barcode goes under the number, the marks beside it
    height = max(m.qr + 4 * mm, (17.5 * mm + m.bar_height) if compact else 0)

    def draw(x: float, y: float) -> None:
        c = ink.canvas
        ink.text(x, y - m.small, f"第{1 if part is Part.STUB else 2}联　{part.value}", m.small)
        ink.text(x + (width - m.qr) / 2, y - 7.5 * mm, TITLE, m.title, align="center", bold=True)
        number_y = y - 14.5 * mm
        label = "受理编号："
        ink.text(x, number_y, label, m.text)
        number_x = x + ink.width(label, m.text)
        ink.text(number_x, number_y, r.form.acceptance_number, m.text + 1)
        number_end = number_x + ink.width(r.form.acceptance_number, m.text + 1)
        bar_x, bar_y = (
            (x, number_y - 2 * mm - m.bar_height) if compact else (number_end + 3 * mm, number_y - 2.2 * mm)
        )
        c.saveState()
        c.translate(bar_x, bar_y)
        c.doForm(BARCODE_FORM)
        c.restoreState()
        qx, qy = x + width - m.qr, y - m.qr
        c.saveState()
        c.translate(qx, qy)
        c.doForm(QR_FORM)
        c.restoreState()
        ink.text(qx + m.qr / 2, qy - m.small, "扫码核验", m.small, align="center")
        marks = _marks(r)
        stamp_size = 9.0
        widths = [ink.width(mark, stamp_size) + stamp_size * 1.4 for mark in marks]
        sx = qx - 2.5 * mm - sum(widths) - 2 * mm * max(0, len(marks) - 1)
        sx = max(sx, (number_end if compact else bar_x + barcode_width) + 2 * mm)
        stamp_top = y - (11.5 if compact else 9.8) * mm
        for mark, w in zip(marks, widths, strict=True):
            _stamp(ink, sx, stamp_top, mark, stamp_size)
            sx += w + 2 * mm

    return Block(height, draw)


def _narrow_header(
    ink: Ink, r: Resolved, part: Part, width: float, m: Metrics, barcode_width: float
) -> Block:
    marks = _marks(r)
    height = 24 * mm + m.qr + len(marks) * 8 * mm + m.bar_height

    def draw(x: float, y: float) -> None:
        c = ink.canvas
        cx = x + width / 2
        ink.text(cx, y - m.small, part.value, m.small, align="center")
        ink.text(cx, y - 9 * mm, TITLE, m.title, align="center", bold=True)
        yy = y - 12 * mm
        for mark in marks:
            w = ink.width(mark, 10) + 14
            _stamp(ink, cx - w / 2, yy, mark, 10)
            yy -= 8 * mm
        ink.text(cx, yy - 4 * mm, "受理编号：" + r.form.acceptance_number, m.text, align="center")
        yy -= 6 * mm + m.bar_height
        c.saveState()
        c.translate(cx - barcode_width / 2, yy)
        c.doForm(BARCODE_FORM)
        c.restoreState()
        yy -= 2 * mm + m.qr
        c.saveState()
        c.translate(cx - m.qr / 2, yy)
        c.doForm(QR_FORM)
        c.restoreState()
        ink.text(cx, yy - m.small, "扫码核验", m.small, align="center")

    return Block(height, draw)


def grid_block(ink: Ink, r: Resolved, part: Part, width: float, m: Metrics) -> Block:
    style = GridStyle(
        size=m.text, leading=m.text * 1.22, pad_x=2.5, pad_y=1.8, min_height=m.text * 1.22 + 3.6
    )
    widths = _column_widths(width, m)
    laid = lay_out_rows(ink, widths, part_rows(r, part, m.per_row), style)
    height = sum(row.height for row in laid)

    def draw(x: float, y: float) -> None:
        draw_rows(ink, x, y, laid, style)

    return Block(height, draw)


def closing_block(ink: Ink, r: Resolved, part: Part, width: float, m: Metrics) -> Block:
    """Stub: declaration and signature lines. Receipt: 服务须知, operator and seal lines."""
    size = m.text
    leading = size * 1.35
    if part is Part.STUB:
        lines = ink.wrap(DECLARATION, size, width)
        height = len(lines) * leading + (9 * mm if width > 150 * mm else 12 * mm)

        def draw_stub(x: float, y: float) -> None:
            yy = ink.lines(x, y - 1 * mm, lines, size, leading)
            base = yy - 7 * mm
            if width > 150 * mm:
                _signature(ink, x, base, "申请人/代办人（签字）：", 30 * mm, size)
                _signature(ink, x + width * 0.42, base, "经办人（签字）：", 28 * mm, size)
                ink.text(x + width, base, "日期：　　年　　月　　日", size, align="right")
            else:
                _signature(ink, x, base, "申请人/代办人（签字）：", 22 * mm, size)
                _signature(ink, x + width * 0.55, base, "经办人（签字）：", 18 * mm, size)
                ink.text(x + width, base - size * 1.7, "日期：　　年　　月　　日", size, align="right")

        return Block(height, draw_stub)
    notice = [*sections.COMMON_NOTICE, *sections.ITEM_NOTICE.get(r.item.code, ())]
    notice_lines: list[str] = []
    for number, text in enumerate(notice, 1):
        wrapped = ink.wrap(f"{number}. {text}", size - 0.5, width - 2 * mm)
        notice_lines += [wrapped[0], *("　 " + w for w in wrapped[1:])]
    height = (len(notice_lines) + 1) * leading + 9 * mm

    def draw_receipt(x: float, y: float) -> None:
        ink.text(x, y - leading + 2, "服务须知：", size, bold=True)
        yy = ink.lines(x + 1 * mm, y - leading, notice_lines, size - 0.5, leading * 0.95)
        base = yy - 7 * mm
        f = r.form
        operator = f"{f.operator_name}（{f.operator_number}）" if f.operator_name else f.operator_number
        if width > 100 * mm:
            ink.text(x, base, f"经办人：{operator}", size)
            _signature(ink, x + width * 0.5, base, "受理单位（盖章）：", 30 * mm, size)
        else:
            ink.text(x, base + 3 * mm, f"经办人：{operator}", size)
            _signature(ink, x, base - 2 * mm, "受理单位（盖章）：", 25 * mm, size)

    return Block(height, draw_receipt)


def _signature(ink: Ink, x: float, y: float, label: str, line: float, size: float) -> None:
    ink.text(x, y, label, size)
    x0 = x + ink.width(label, size)
    ink.canvas.setLineWidth(0.5)
    ink.canvas.line(x0, y - 1.5, x0 + line, y - 1.5)


def footer_block(ink: Ink, r: Resolved, width: float, m: Metrics) -> Block:
    text = sections.CONSULTATION
    lines = ink.wrap(text, m.small, width)
    extra = []
    if r.reprint:
        when = f"，补打时间：{format_time(r.printed_at)}" if r.printed_at else ""
        extra.append(f"本表为第{r.reprint}次补打{when}")
    all_lines = lines + extra
    leading = m.small * 1.35
    height = len(all_lines) * leading + 2 * mm

    def draw(x: float, y: float) -> None:
        ink.lines(x, y - 1 * mm, all_lines, m.small, leading)

    return Block(height, draw)


def part_blocks(
    ink: Ink, r: Resolved, part: Part, width: float, m: Metrics, narrow: bool, barcode_width: float
) -> list[Block]:
    gap = Block(2.5 * mm, lambda x, y: None)
    return [
        header_block(ink, r, part, width, m, narrow, barcode_width),
        gap,
        grid_block(ink, r, part, width, m),
        gap,
        closing_block(ink, r, part, width, m),
        footer_block(ink, r, width, m),
    ]


def draw_blocks(blocks: Sequence[Block], x: float, y: float) -> float:
    for block in blocks:
        block.draw(x, y)
        y -= block.height
    return y


def watermark(ink: Ink, cx: float, cy: float, size: float) -> None:
    """The 培训样张 无效 watermark, rotated, translucent, centred on (cx, cy)."""
    c = ink.canvas
    c.saveState()
    c.setFillAlpha(0.28)
    c.translate(cx, cy)
    c.rotate(25)
    t = c.beginText(-ink.width(TRAINING_MARK, size) / 2, -size / 3)
    t.setFillColor(RED)
    for font, run in ink.chain.split(TRAINING_MARK).runs:
        t.setFont(font, size)
        t.textOut(run)
    c.drawText(t)
    c.restoreState()


def cut_line(ink: Ink, y: float, page_width: float) -> None:
    c = ink.canvas
    c.saveState()
    c.setDash(4, 3)
    c.setLineWidth(0.6)
    c.setStrokeGray(0.35)
    label_w = ink.width(CUT_LABEL, 7) + 8
    mid = page_width / 2
    c.line(5 * mm, y, mid - label_w / 2, y)
    c.line(mid + label_w / 2, y, page_width - 5 * mm, y)
    c.restoreState()
    ink.text(mid, y - 2.4, CUT_LABEL, 7, align="center", gray=0.35)


# --------------------------------------------------------------------------------------------


def render(
    r: Resolved,
    *,
    paper: Paper,
    chain: FontChain,
    title: str | None = None,
) -> RenderedForm:
    """Draw the form on ``paper`` and return the PDF with any unprintable characters."""
    narrow = paper.narrow
    m = NARROW if narrow else WIDE if paper.content_width > 150 * mm else MEDIUM
    width = paper.content_width
    buffer = io.BytesIO()
    page_height = paper.height or 297 * mm  # provisional for a roll; set once measured
    c = Canvas(
        buffer,
        pagesize=(paper.width, page_height),
        invariant=1,
        initialFontName=chain.primary,
        initialFontSize=m.text,
        pageCompression=1,
    )
    c.setTitle(title or f"{TITLE} {r.form.acceptance_number}")
    c.setAuthor("乐山市社会保障卡柜面业务系统")
    c.setSubject(r.item.name.value)
    ink = Ink(c, chain)
    payload = codes.qr_payload(r.form.acceptance_number, r.form.verification_code)
    codes.define_qr_form(c, QR_FORM, payload, m.qr)
    barcode_width = codes.define_barcode_form(
        c, BARCODE_FORM, r.form.acceptance_number, bar_width=m.bar_width, bar_height=m.bar_height
    )
    parts = [Part.RECEIPT] if paper.receipt_only else [Part.STUB, Part.RECEIPT]
    laid = [part_blocks(ink, r, part, width, m, narrow, barcode_width) for part in parts]
    pages = 0
    if paper.height is None:  # the roll: one page exactly as long as the receipt
        blocks = laid[0]
        height = sum(b.height for b in blocks) + 2 * paper.margin_y
        c.setPageSize((paper.width, height))
        draw_blocks(blocks, paper.margin_x, height - paper.margin_y)
        if r.form.training:
            watermark(ink, paper.width / 2, height / 2, 22)
        c.showPage()
        pages = 1
    else:
        y = paper.height - paper.margin_y
        on_page = 0
        for blocks in laid:
            needed = sum(b.height for b in blocks)
            fits = y - needed >= paper.margin_y
            if on_page and (on_page >= paper.parts_per_sheet or not fits):
                c.showPage()
                pages += 1
                y, on_page = paper.height - paper.margin_y, 0
            if on_page:  # the second part below a cut line
                cut_y = y - 2 * mm
                cut_line(ink, cut_y, paper.width)
                y = cut_y - 5 * mm
            top = y
            y = draw_blocks(blocks, paper.margin_x, y)
            if r.form.training:
                watermark(ink, paper.width / 2, (top + y) / 2, 40 if paper.width > 160 * mm else 30)
            on_page += 1
        c.showPage()
        pages += 1
    c.save()
    return RenderedForm(buffer.getvalue(), tuple(ink.missing), pages)
