"""字体 — the embedded fonts of every printed form, with a per-character fallback chain.

ReportLab has no glyph fallback: a character the font lacks silently disappears or prints as an
empty box. So every text goes through a `FontChain`: each character is drawn with the first font of
the chain that covers it, and a character no font covers is reported (and printed as ``□``), never
dropped. The chain (files in ``resources/fonts/``, see its README for sources and licences):

1. AR PL UMing CN (``uming.ttc``, face 0): a 宋体/明体 TrueType font like the one on official forms;
   covers GB2312, most of GBK, 䶮 𠈌 堃 喆 燊.
2. HanaMinA, subset to what UMing lacks (about 2,200 GBK characters, the rest of Extension A,
   compatibility ideographs …), stored xz-compressed.
3. HanaMinB, subset to the Extension B–F characters neither font above has, xz-compressed.

The fallbacks are loaded on first need only (decompressing HanaMinB takes most of a second), and
every font is registered once per process.

ReportLab also writes a broken ToUnicode CMap for characters outside the BMP (``<00> <2020C>``: an
odd number of hex digits instead of the UTF-16 surrogate pair ``<D840DE0C>``), so 𠈌 extracts as
garbage or not at all. `_CmapFixedTTFont` rewrites the CMap of every subset that holds such a
character right after ReportLab made it (see `to_unicode_cmap`).
"""

from __future__ import annotations

import io
import lzma
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Final

from reportlab.pdfbase import pdfmetrics, ttfonts

from counter_app.resources import resource_path

#: Printed instead of a character that no font covers (it is reported to the caller as well).
PLACEHOLDER: Final = "□"

#: Characters that are layout, not text: never looked up in a font.
_LAYOUT_CHARACTERS: Final = frozenset("\n\r\t")


@dataclass(frozen=True)
class FontSpec:
    """One font file of the chain; ``compressed``: stored as ``.xz`` and decompressed into memory."""

    name: str
    file: str
    subfont_index: int = 0
    compressed: bool = False


CHAIN: Final = (
    FontSpec("CounterUMingCN", "uming.ttc", subfont_index=0),
    FontSpec("CounterHanaMinA", "HanaMinA-fallback.ttf.xz", compressed=True),
    FontSpec("CounterHanaMinB", "HanaMinB-fallback.ttf.xz", compressed=True),
)


def to_unicode_cmap(base_font_name: str, subset: Iterable[int]) -> str:
    """A ToUnicode CMap for one ≤256-character ReportLab subset, correct for every code point.

    Each code maps to the character's UTF-16BE code units, so a character outside the BMP becomes a
    surrogate pair (U+2020C → ``<D840DE0C>``), as the PDF specification requires (ISO 32000-1
    §9.10.3). ``bfchar`` blocks hold at most 100 entries each.
    """
    codes = list(subset)
    entries = [f"<{i:02X}> <{chr(cp).encode('utf-16-be').hex().upper()}>" for i, cp in enumerate(codes)]
    lines = [
        "/CIDInit /ProcSet findresource begin",
        "12 dict begin",
        "begincmap",
        "/CIDSystemInfo",
        f"<< /Registry ({base_font_name})",
        f"/Ordering ({base_font_name})",
        "/Supplement 0",
        ">> def",
        f"/CMapName /{base_font_name} def",
        "/CMapType 2 def",
        "1 begincodespacerange",
        f"<00> <{len(codes) - 1:02X}>",
        "endcodespacerange",
    ]
    for start in range(0, len(entries), 100):
        chunk = entries[start : start + 100]
        lines += [f"{len(chunk)} beginbfchar", *chunk, "endbfchar"]
    lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    return "\n".join(lines)


class _CmapFixedTTFont(ttfonts.TTFont):  # type: ignore[misc]
    """ReportLab's TTFont, with a correct ToUnicode CMap for subsets holding non-BMP characters."""

    def addObjects(self, doc: Any) -> None:  # noqa: N802 (ReportLab's name)
        state = self.state.get(doc)
        subsets = [list(s) for s in state.subsets] if state is not None else []
        super().addObjects(doc)
        for number, subset in enumerate(subsets):
            if max(subset, default=0) <= 0xFFFF:
                continue  # ReportLab's own CMap is right for BMP-only subsets
            base = b"".join((ttfonts.SUBSETN(number), b"+", self.face.name, self.face.subfontNameX))
            base_name = base.decode("pdfdoc")
            stream = doc.idToObject.get("toUnicodeCMap:" + base_name)
            if stream is None:  # ReportLab changed how it names the CMap: fail loudly, not silently
                raise RuntimeError(f"ToUnicode CMap of {base_name} not found; cannot fix non-BMP text")
            stream.content = to_unicode_cmap(base_name, subset)


_load_lock = threading.Lock()


@cache
def _load(spec: FontSpec) -> _CmapFixedTTFont:
    """Read, register and return one font of the chain (once per process)."""
    path = resource_path("fonts", spec.file)
    source: Any = io.BytesIO(lzma.decompress(path.read_bytes())) if spec.compressed else str(path)
    font = _CmapFixedTTFont(spec.name, source, subfontIndex=spec.subfont_index)
    pdfmetrics.registerFont(font)
    return font


def load_font(spec: FontSpec) -> _CmapFixedTTFont:
    """Thread-safe `_load` (two printing threads must not parse the same file twice)."""
    with _load_lock:
        return _load(spec)


@dataclass(frozen=True)
class Split:
    """A text cut into runs of one font each, and the characters no font covers."""

    runs: tuple[tuple[str, str], ...]  # (font name, text)
    missing: tuple[str, ...] = ()


@dataclass
class FontChain:
    """The primary font and its fallbacks; `split` picks a font per character.

    ``fallback=False`` draws everything with the primary font without looking at coverage: only the
    benchmark's floor uses it. Splits are memoised (forms repeat the same labels constantly).
    """

    specs: tuple[FontSpec, ...] = CHAIN
    fallback: bool = True
    _covered: list[frozenset[str]] = field(default_factory=list, init=False, repr=False)
    _cache: dict[str, Split] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._add_font_coverage()  # the primary, always needed

    @property
    def primary(self) -> str:
        return self.specs[0].name

    def _add_font_coverage(self) -> None:
        font = load_font(self.specs[len(self._covered)])
        self._covered.append(frozenset(map(chr, font.face.charToGlyph)))

    def _font_for(self, ch: str) -> str | None:
        for index, spec in enumerate(self.specs):
            if index == len(self._covered):
                self._add_font_coverage()
            if ch in self._covered[index]:
                return spec.name
        return None

    def split(self, text: str) -> Split:
        """Cut ``text`` into runs of one font each; record what no font covers."""
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        primary = self.primary
        if not self.fallback or self._covered[0].issuperset(text):
            result = Split(((primary, text),)) if text else Split(())
        else:
            result = self._split_slow(text)
        if len(self._cache) < 20_000:
            self._cache[text] = result
        return result

    def _split_slow(self, text: str) -> Split:
        runs: list[tuple[str, str]] = []
        missing: list[str] = []
        current_font = ""
        current: list[str] = []
        for ch in text:
            if ch in _LAYOUT_CHARACTERS:
                font: str | None = current_font or self.primary
            else:
                font = self._font_for(ch)
            if font is None:
                if ch not in missing:
                    missing.append(ch)
                ch, font = PLACEHOLDER, self.primary
            if font != current_font and current:
                runs.append((current_font, "".join(current)))
                current = []
            current_font = font
            current.append(ch)
        if current:
            runs.append((current_font, "".join(current)))
        return Split(tuple(runs), tuple(missing))

    def covers(self, ch: str) -> bool:
        """Whether some font of the chain has a glyph for ``ch``."""
        return self._font_for(ch) is not None

    def missing(self, text: str) -> tuple[str, ...]:
        """The characters of ``text`` that no font covers (in order, once each)."""
        return self.split(text).missing

    def width(self, text: str, size: float) -> float:
        """Advance width of ``text`` in points at ``size``, font by font."""
        return float(sum(pdfmetrics.stringWidth(run, font, size) for font, run in self.split(text).runs))


@cache
def default_chain() -> FontChain:
    """The process-wide chain with fallback (fonts register once)."""
    return FontChain()


@cache
def floor_chain() -> FontChain:
    """The chain without the fallback scan: the benchmark's floor only."""
    return FontChain(fallback=False)
