"""纸张 — the paper profiles of DOMAIN §7: which parts go on which sheet, and how wide they are.

- ``a4_two_part`` (default): A4 portrait, the stub (留存联) above, a dashed cut line, the receipt
  (回执) below; if a long form does not fit, the receipt continues on a second sheet.
- ``a5``: A5 portrait, the stub on the first sheet and the receipt on the second.
- ``slip_80mm``: an 80 mm receipt-printer roll: the receipt only, one narrow column, as long as it
  needs. The stub is then kept as the archived PDF (render it once more with ``a4_two_part``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from reportlab.lib.pagesizes import A4, A5
from reportlab.lib.units import mm


class PaperProfile(StrEnum):
    """纸张配置 (``[printing] paper_profile`` in counter.toml)."""

    A4_TWO_PART = "a4_two_part"
    A5 = "a5"
    SLIP_80MM = "slip_80mm"


@dataclass(frozen=True)
class Paper:
    """Sheet size and margins in points; ``height`` None: as long as the content (a roll)."""

    width: float
    height: float | None
    margin_x: float
    margin_y: float
    parts_per_sheet: int  # 2: stub and receipt share a sheet with a cut line
    receipt_only: bool = False
    narrow: bool = False

    @property
    def content_width(self) -> float:
        return self.width - 2 * self.margin_x


PAPERS: Final = {
    PaperProfile.A4_TWO_PART: Paper(A4[0], A4[1], 12 * mm, 8 * mm, parts_per_sheet=2),
    PaperProfile.A5: Paper(A5[0], A5[1], 9 * mm, 9 * mm, parts_per_sheet=1),
    PaperProfile.SLIP_80MM: Paper(
        80 * mm, None, 4 * mm, 4 * mm, parts_per_sheet=1, receipt_only=True, narrow=True
    ),
}


def paper_for(profile: PaperProfile | str) -> Paper:
    try:
        return PAPERS[PaperProfile(profile)]
    except ValueError:
        known = ", ".join(p.value for p in PaperProfile)
        raise ValueError(f"unknown paper profile {profile!r} (known: {known})") from None
