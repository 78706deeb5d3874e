"""The service menu's entries (业务菜单) built from the catalog: title and guide page per item."""

from __future__ import annotations

from html import escape

from counter_app.domain.catalog import Catalog
from counter_app.ui.main_window import MenuEntry


def _guide_html(texts: tuple[tuple[str, object], ...]) -> str:
    rows = []
    for label, text in texts:
        value = getattr(text, "value", "")
        mark = getattr(text, "mark", "")
        if not value:
            continue
        badge = f' <span style="color:#b35c00">【{escape(mark)}】</span>' if mark else ""
        rows.append(
            f"<tr><th align='left' valign='top'>{escape(label)}</th><td>{escape(str(value))}{badge}</td></tr>"
        )
    return "<table cellspacing='6'>" + "".join(rows) + "</table>"


def menu_entries(catalog: Catalog) -> list[MenuEntry]:
    """One entry per service item, in the brochure's order; assumed texts carry 【待确认】."""
    return [
        MenuEntry(
            code=item.code, title=f"{item.number}. {item.short_name}", details_html=_guide_html(item.texts())
        )
        for item in catalog.items
    ]
