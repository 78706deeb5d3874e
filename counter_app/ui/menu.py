"""The service menu (业务菜单): one entry per catalog item, filtered for who is signed in where.

An item appears only when the operator's role may do it at this outlet with this outlet's
capabilities (``ServiceItem.check_access``: a bank outlet without quick-issuance equipment does not
see 即时制卡 …). The F-key of an item is its brochure number and never moves, so a clerk's
fingers learn it; while offline, items that need the server are shown greyed with 须联网.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from html import escape

from counter_app.domain.catalog import Catalog, OfflineMode, ServiceItem
from counter_app.domain.operators import OutletCapabilities
from counter_app.ui.ports import OperatorSession


@dataclass(frozen=True)
class MenuEntry:
    """One service item as the menu shows it (业务菜单项)."""

    code: str
    number: int
    title: str
    details_html: str
    online_only: bool = False

    @property
    def key(self) -> str:
        """Its F-key (F1 … F12), or "" beyond twelve."""
        return f"F{self.number}" if 1 <= self.number <= 12 else ""


def _guide_html(texts: tuple[tuple[str, object], ...]) -> str:
    rows = []
    for label, text in texts:
        value = getattr(text, "value", "")
        mark = getattr(text, "mark", "")
        if not value:
            continue
        badge = f' <span style="color:#8a4b00">【{escape(mark)}】</span>' if mark else ""
        rows.append(
            f"<tr><th align='left' valign='top' style='padding-right:12px;white-space:nowrap'>"
            f"{escape(label)}</th><td>{escape(str(value))}{badge}</td></tr>"
        )
    return "<table cellspacing='6'>" + "".join(rows) + "</table>"


def _entry(item: ServiceItem) -> MenuEntry:
    return MenuEntry(
        code=item.code,
        number=item.number,
        title=f"{item.number}. {item.short_name}",
        details_html=_guide_html(item.texts()),
        online_only=item.offline.value is OfflineMode.ONLINE_ONLY,
    )


def menu_entries(catalog: Catalog) -> list[MenuEntry]:
    """One entry per service item, in the brochure's order; assumed texts carry 【待确认】."""
    return [_entry(item) for item in catalog.items]


def capability_codes(capabilities: OutletCapabilities) -> tuple[str, ...]:
    codes = []
    if capabilities.can_activate_social:
        codes.append("can_activate_social")
    if capabilities.instant_issuance:
        codes.append("instant_issuance")
    return tuple(codes)


def allowed_codes(catalog: Iterable[ServiceItem], session: OperatorSession | None) -> frozenset[str]:
    """The items ``session``'s operator may do at their outlet (none before sign-in, none for admin)."""
    if session is None or session.outlet is None:
        return frozenset()
    role = session.operator.role.value
    outlet_type = session.outlet.type.value
    caps = capability_codes(session.outlet.capabilities)
    return frozenset(
        item.code
        for item in catalog
        if item.check_access(role=role, outlet_type=outlet_type, capabilities=caps)
    )
