"""Fonts: embedded subsets, the per-character fallback chain, and the non-BMP ToUnicode fix."""

from __future__ import annotations

import io

import pytest
from reportlab.pdfgen.canvas import Canvas

from counter_app.receipts.fonts import CHAIN, PLACEHOLDER, FontChain, default_chain, to_unicode_cmap
from counter_app.receipts.layout import Ink
from tests.receipts.pdftools import all_text, fonts, glyph_for

RARE = "䶮𠈌堃喆燊"
NOT_IN_UMING = "刏"  # a GBK character AR PL UMing lacks: HanaMinA draws it
EXTENSION_C = "\U0002a700"  # 𪜀: only HanaMinB has it
EXTENSION_H = "\U00031350"  # no shipped font covers Extension H


def _pdf(text: str, chain: FontChain | None = None) -> tuple[bytes, list[str]]:
    chain = chain or default_chain()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, invariant=1, initialFontName=chain.primary)
    ink = Ink(canvas, chain)
    ink.text(72, 700, text, 14)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue(), ink.missing


def test_cmap_maps_non_bmp_characters_to_surrogate_pairs() -> None:
    cmap = to_unicode_cmap("AAAAAA+X", [0, 0x41, 0x2020C])
    assert "<01> <0041>" in cmap
    assert "<02> <D840DE0C>" in cmap  # U+2020C as UTF-16BE, not the odd-length <2020C>
    assert "<2020C>" not in cmap


def test_cmap_splits_bfchar_blocks_at_100_entries() -> None:
    cmap = to_unicode_cmap("AAAAAA+X", range(0x4E00, 0x4E00 + 256))
    assert "100 beginbfchar" in cmap and "56 beginbfchar" in cmap


def test_the_five_rare_characters_extract_and_have_real_glyphs_in_the_embedded_font() -> None:
    pdf, missing = _pdf(f"申请人：王{RARE}")
    assert missing == []
    assert f"王{RARE}" in all_text(pdf)
    for ch in RARE:
        found = glyph_for(pdf, ch)
        assert found is not None, f"{ch} is not mapped by any embedded font"
        font, glyph, outline = found
        assert "UMing" in font
        assert glyph != 0 and outline > 0, f"{ch} prints .notdef or an empty glyph"


def test_every_font_is_embedded_and_subset() -> None:
    pdf, _ = _pdf(f"王{RARE}{NOT_IN_UMING}{EXTENSION_C} ABC 123")
    names = [name for name, _ in fonts(pdf)]
    assert names and all(name.lstrip("/")[6] == "+" for name in names), names  # AAAAAA+Name: a subset
    for _, font in fonts(pdf):
        assert "/FontFile2" in font["/FontDescriptor"].get_object()  # embedded TrueType


def test_fallback_fonts_draw_what_the_primary_lacks() -> None:
    chain = default_chain()
    split = chain.split(f"王{NOT_IN_UMING}{EXTENSION_C}")
    assert [font for font, _ in split.runs] == [CHAIN[0].name, CHAIN[1].name, CHAIN[2].name]
    pdf, missing = _pdf(f"王{NOT_IN_UMING}{EXTENSION_C}")
    assert missing == []
    assert f"王{NOT_IN_UMING}{EXTENSION_C}" in all_text(pdf)
    a, b = glyph_for(pdf, NOT_IN_UMING), glyph_for(pdf, EXTENSION_C)
    assert a is not None and "HanaMinA" in a[0] and a[2] > 0
    assert b is not None and "HanaMinB" in b[0] and b[2] > 0


def test_a_character_no_font_covers_is_reported_and_printed_as_a_box_never_dropped() -> None:
    pdf, missing = _pdf(f"张{EXTENSION_H}三{EXTENSION_H}")
    assert missing == [EXTENSION_H]
    text = all_text(pdf)
    assert f"张{PLACEHOLDER}三{PLACEHOLDER}" in text
    assert "?" not in text


def test_layout_characters_are_not_looked_up() -> None:
    assert default_chain().missing("甲\n乙\t丙") == ()


@pytest.mark.parametrize("text", ["", "ABC", RARE])
def test_floor_chain_uses_only_the_primary(text: str) -> None:
    floor = FontChain(fallback=False)
    assert {font for font, _ in floor.split(text).runs} <= {CHAIN[0].name}
