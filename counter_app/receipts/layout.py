"""版式 — a small measure-then-draw layout on the ReportLab canvas (text runs, wrapping, grids).

Platypus is flexible but slow for a form that must render in well under 40 ms; forms are grids of
short texts, so this module draws them straight onto the canvas. Every text goes through the
`FontChain` (one font per character run) and `Ink` remembers what no font could draw.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from counter_app.receipts.fonts import PLACEHOLDER, FontChain

#: Characters that may not start a line (避头): they stay on the line before, slightly overhanging.
_NO_LINE_START: Final = frozenset("，。、；：？！）》」』”’,.;:?!)%］】")
_WORD_CHARACTERS: Final = frozenset(
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz*-_/.:@#()"
)
LABEL_GRAY: Final = 0.92


class Ink:
    """Draws text on one canvas with one font chain; collects unprintable characters."""

    def __init__(self, canvas: Canvas, chain: FontChain) -> None:
        self.canvas = canvas
        self.chain = chain
        self.missing: list[str] = []
        self._char_widths: dict[str, float] = {}

    # -- measuring ---------------------------------------------------------------------------

    def _char_width(self, ch: str) -> float:
        width = self._char_widths.get(ch)
        if width is None:
            split = self.chain.split(ch)
            font, text = split.runs[0] if split.runs else (self.chain.primary, PLACEHOLDER)
            width = pdfmetrics.stringWidth(text, font, 1.0)
            self._char_widths[ch] = width
        return width

    def width(self, text: str, size: float) -> float:
        cw = self._char_width
        return size * sum(cw(ch) for ch in text)

    def wrap(self, text: str, size: float, width: float) -> list[str]:
        """Lines of ``text`` no wider than ``width`` (CJK breaks anywhere, ASCII words stay whole)."""
        lines: list[str] = []
        for paragraph in text.split("\n"):
            lines.extend(self._wrap_paragraph(paragraph, size, width))
        return lines

    def _wrap_paragraph(self, text: str, size: float, width: float) -> list[str]:
        if not text:
            return [""]
        limit = width / size
        cw = self._char_width
        if sum(cw(ch) for ch in text) <= limit:
            return [text]
        lines: list[str] = []
        line: list[str] = []
        used = 0.0
        for token in _tokens(text):
            w = sum(cw(ch) for ch in token)
            if line and used + w > limit and token[0] not in _NO_LINE_START:
                lines.append("".join(line).rstrip())
                line, used = [], 0.0
                if token == " ":
                    continue
            if w > limit:  # a word longer than the line: break it by characters
                for ch in token:
                    c = cw(ch)
                    if line and used + c > limit:
                        lines.append("".join(line))
                        line, used = [], 0.0
                    line.append(ch)
                    used += c
                continue
            line.append(token)
            used += w
        if line:
            lines.append("".join(line).rstrip())
        return lines

    # -- drawing -----------------------------------------------------------------------------

    def text(
        self,
        x: float,
        y: float,
        text: str,
        size: float,
        *,
        align: str = "left",
        bold: bool = False,
        gray: float = 0.0,
    ) -> None:
        """One line at baseline ``y``; ``align`` left/center/right relative to ``x``."""
        if not text:
            return
        split = self.chain.split(text)
        for ch in split.missing:
            if ch not in self.missing:
                self.missing.append(ch)
        if align != "left":
            w = self.width(text, size)
            x -= w / 2 if align == "center" else w
        c = self.canvas
        if gray:
            c.saveState()
        t = c.beginText(x, y)
        if bold:
            t.setTextRenderMode(2)  # fill + stroke: the shipped fonts have no bold face
            c.setLineWidth(size * 0.035)
        if gray:
            t.setFillGray(gray)
            t.setStrokeGray(gray)
        for font, run in split.runs:
            t.setFont(font, size)
            t.textOut(run)
        c.drawText(t)
        if bold:
            c.setLineWidth(0.5)
        if gray:
            c.restoreState()

    def lines(
        self, x: float, y_top: float, lines: Sequence[str], size: float, leading: float, **kw: object
    ) -> float:
        """Draw ``lines`` from ``y_top`` down; return the y below the last line."""
        y = y_top
        for line in lines:
            y -= leading
            self.text(x, y + (leading - size) * 0.5 + size * 0.12, line, size, **kw)  # type: ignore[arg-type]
        return y


def _tokens(text: str) -> list[str]:
    """Break opportunities: ASCII words and numbers stay together, every other character alone."""
    tokens: list[str] = []
    word: list[str] = []
    for ch in text:
        if ch in _WORD_CHARACTERS:
            word.append(ch)
            continue
        if word:
            tokens.append("".join(word))
            word = []
        tokens.append(ch)
    if word:
        tokens.append("".join(word))
    return tokens


# --------------------------------------------------------------------------------------------
# Grids


@dataclass(frozen=True)
class Cell:
    """One grid cell: ``label`` cells are shaded and centred; ``span`` columns wide."""

    text: str
    span: int = 1
    label: bool = False
    align: str = "left"
    size: float | None = None
    bold: bool = False


@dataclass
class LaidRow:
    height: float
    cells: list[tuple[float, float, Cell, list[str], float]] = field(
        default_factory=list
    )  # x, w, cell, lines, size


@dataclass(frozen=True)
class GridStyle:
    size: float = 8.5
    leading: float = 11.0
    pad_x: float = 3.0
    pad_y: float = 2.5
    min_height: float = 15.0
    line_width: float = 0.6


def lay_out_rows(
    ink: Ink, widths: Sequence[float], rows: Sequence[Sequence[Cell]], style: GridStyle
) -> list[LaidRow]:
    """Wrap every cell and compute row heights (no drawing)."""
    laid: list[LaidRow] = []
    for row in rows:
        x = 0.0
        col = 0
        out = LaidRow(style.min_height)
        for cell in row:
            w = sum(widths[col : col + cell.span])
            size = cell.size or style.size
            lines = ink.wrap(cell.text, size, w - 2 * style.pad_x)
            leading = style.leading * size / style.size
            out.height = max(out.height, len(lines) * leading + 2 * style.pad_y)
            out.cells.append((x, w, cell, lines, size))
            x += w
            col += cell.span
        if col != len(widths):
            raise ValueError(f"grid row spans {col} columns, expected {len(widths)}: {row}")
        laid.append(out)
    return laid


def draw_rows(ink: Ink, x0: float, y_top: float, laid: Sequence[LaidRow], style: GridStyle) -> float:
    """Draw laid-out rows from ``y_top`` down; return the bottom y."""
    c = ink.canvas
    c.setLineWidth(style.line_width)
    y = y_top
    for row in laid:
        y_bottom = y - row.height
        for x, w, cell, _, _ in row.cells:
            if cell.label:
                c.setFillGray(LABEL_GRAY)
                c.rect(x0 + x, y_bottom, w, row.height, stroke=0, fill=1)
                c.setFillGray(0)
        y = y_bottom
    # grid lines after the shading so the shading never covers a line
    y = y_top
    for row in laid:
        y_bottom = y - row.height
        for x, w, _, _, _ in row.cells:
            c.rect(x0 + x, y_bottom, w, row.height, stroke=1, fill=0)
        for x, w, cell, lines, size in row.cells:
            leading = style.leading * size / style.size
            block = len(lines) * leading
            top = y - (row.height - block) / 2
            if cell.align == "center" or cell.label:
                ink.lines(x0 + x + w / 2, top, lines, size, leading, align="center", bold=cell.bold)
            elif cell.align == "right":
                ink.lines(x0 + x + w - style.pad_x, top, lines, size, leading, align="right", bold=cell.bold)
            else:
                ink.lines(x0 + x + style.pad_x, top, lines, size, leading, bold=cell.bold)
        y = y_bottom
    return y


@dataclass
class Block:
    """A measured piece of a page: its height and how to draw it at (x, y_top)."""

    height: float
    draw: Callable[[float, float], None]


def checkbox_line(options: Sequence[tuple[str, bool]]) -> str:
    """``■ 正式挂失  □ 临时挂失`` (■ marks the chosen option)."""
    return "  ".join(("■ " if on else "□ ") + text for text, on in options)
