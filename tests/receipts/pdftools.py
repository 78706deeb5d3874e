"""Reading rendered PDFs back: text (whole, per part), and which glyph prints a character."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pypdf
from reportlab.pdfbase.ttfonts import TTFontFile

from counter_app.receipts.acceptance import CUT_LABEL

_SPACE = re.compile(r"\s+")


def squash(text: str) -> str:
    """Text without any whitespace (extraction puts spaces and newlines between text runs)."""
    return _SPACE.sub("", text)


def reader(pdf: bytes) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(pdf))


def page_texts(pdf: bytes) -> list[str]:
    return [squash(page.extract_text()) for page in reader(pdf).pages]


def all_text(pdf: bytes) -> str:
    return "".join(page_texts(pdf))


@dataclass
class Positioned:
    y: float
    text: str


def positioned(page: Any) -> list[Positioned]:
    out: list[Positioned] = []

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        if text.strip():
            out.append(Positioned(tm[5] * cm[3] + cm[5], text))

    page.extract_text(visitor_text=visit)
    return out


def two_parts(pdf: bytes) -> tuple[str, str]:
    """(stub, receipt) text of an A4 two-part form, split at the cut line."""
    page = reader(pdf).pages[0]
    items = positioned(page)
    lines: dict[float, str] = {}
    for i in items:
        lines[round(i.y, 1)] = lines.get(round(i.y, 1), "") + i.text
    cut = [y for y, text in lines.items() if CUT_LABEL in squash(text)]
    assert len(cut) == 1, "the cut line label must appear exactly once"
    stub = squash("".join(i.text for i in items if i.y > cut[0]))
    receipt = squash("".join(i.text for i in items if i.y < cut[0] - 1))
    return stub, receipt


def _cmap(font: Any) -> dict[str, int]:
    """character → code from the font's ToUnicode CMap (bfchar entries, UTF-16BE targets)."""
    data = font["/ToUnicode"].get_object().get_data().decode("latin-1")
    mapping: dict[str, int] = {}
    for block in re.findall(r"beginbfchar(.*?)endbfchar", data, re.S):
        for code, target in re.findall(r"<([0-9A-Fa-f]{2})>\s*<([0-9A-Fa-f]+)>", block):
            mapping[bytes.fromhex(target).decode("utf-16-be")] = int(code, 16)
    return mapping


def fonts(pdf: bytes) -> Iterator[tuple[str, Any]]:
    seen: set[int] = set()
    for page in reader(pdf).pages:
        resources: Any = page["/Resources"]
        for ref in (resources.get("/Font") or {}).values():
            font = ref.get_object()
            if id(font) in seen:
                continue
            seen.add(id(font))
            yield str(font["/BaseFont"]), font


def glyph_for(pdf: bytes, ch: str) -> tuple[str, int, int] | None:
    """(embedded font, glyph id, outline bytes) that prints ``ch``, or None if no font maps it."""
    for base, font in fonts(pdf):
        if "/ToUnicode" not in font:
            continue
        code = _cmap(font).get(ch)
        if code is None:
            continue
        descriptor = font["/FontDescriptor"].get_object()
        program = descriptor["/FontFile2"].get_object().get_data()
        tt = TTFontFile(io.BytesIO(program), validate=0)
        glyph = tt.charToGlyph.get(code, 0)
        length = tt.glyphPos[glyph + 1] - tt.glyphPos[glyph] if glyph else 0
        return base, glyph, length
    return None
