"""惠民惠农财政补贴 "一卡通" — the subsidy catalog, who receives a payment, payment states and failures.

The catalog (``resources/catalog/subsidies.toml``) has 39 categories (大项) and 65 leaves (小项) by the
counting rule of DOMAIN §6: a category without listed sub-items counts as one leaf; category 21 is
missing from the brochure and stands as a placeholder marked 待确认.

Recipient rule (brochure section 一): a subsidy for a person goes to that person's own card
("必须发放到本人的社会保障卡账户中"); a subsidy for a household goes in principle (原则上) to the head
of household's card — a default that a clerk may override with a recorded reason.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Final

from counter_app.domain.catalog import (
    CatalogError,
    Source,
    Sourced,
    SourcedText,
    as_array,
    as_integer,
    as_string,
    as_table,
    expect_keys,
    parse_sourced_flag,
    parse_sourced_text,
)
from counter_app.domain.errors import DomainError
from counter_app.resources import load_toml

SUBSIDY_FILE: Final = ("catalog", "subsidies.toml")

#: The city's own count ("39大项65小项"); the loader refuses data that do not add up to it.
EXPECTED_CATEGORIES: Final = 39
EXPECTED_LEAVES: Final = 65


# --------------------------------------------------------------------------------------------
# Catalog
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubsidyItem:
    """A subsidy leaf (补贴小项): a listed sub-item, or a whole category that lists none."""

    code: str  # "15.1" for a sub-item; "1" for a category counted as one leaf
    category_number: int
    name: SourcedText
    household: Sourced[bool]  # 以家庭为单位 → paid by default to the head of household
    is_whole_category: bool
    is_placeholder: bool

    @property
    def needs_confirmation(self) -> bool:
        """True when the name itself is not from the brochure (the 待确认 placeholder)."""
        return self.name.needs_confirmation


@dataclass(frozen=True)
class SubsidyCategory:
    """A subsidy category (补贴大项)."""

    number: int
    name: SourcedText
    department: SourcedText | None  # 主管部门, when known
    household: Sourced[bool]  # default of its leaves
    items: tuple[SubsidyItem, ...]  # at least one leaf
    is_placeholder: bool

    @property
    def has_sub_items(self) -> bool:
        return not self.items[0].is_whole_category


@dataclass(frozen=True)
class SubsidyCatalog:
    """The "一卡通" subsidy list (纳入社保卡"一卡通"发放的项目)."""

    categories: tuple[SubsidyCategory, ...]

    @property
    def category_count(self) -> int:
        return len(self.categories)

    @property
    def leaves(self) -> tuple[SubsidyItem, ...]:
        return tuple(leaf for c in self.categories for leaf in c.items)

    @property
    def leaf_count(self) -> int:
        return len(self.leaves)

    def __iter__(self) -> Iterator[SubsidyCategory]:
        return iter(self.categories)

    def category(self, number: int) -> SubsidyCategory:
        for c in self.categories:
            if c.number == number:
                return c
        raise KeyError(f"unknown subsidy category {number}")

    def by_leaf_code(self, code: str) -> SubsidyItem:
        for leaf in self.leaves:
            if leaf.code == code:
                return leaf
        raise KeyError(f"unknown subsidy item code {code!r}")

    def category_of(self, item: SubsidyItem) -> SubsidyCategory:
        return self.category(item.category_number)

    def full_name(self, item: SubsidyItem) -> str:
        """Category and sub-item name (困难群众救助资金—最低生活保障金); a whole category: its name."""
        if item.is_whole_category:
            return item.name.value
        return f"{self.category_of(item).name.value}—{item.name.value}"


@cache
def load_subsidy_catalog() -> SubsidyCatalog:
    """The subsidy catalog from ``resources/catalog/subsidies.toml`` (read once)."""
    return parse_subsidy_catalog(load_toml(*SUBSIDY_FILE), file="/".join(SUBSIDY_FILE))


def parse_subsidy_catalog(
    data: Mapping[str, object],
    *,
    file: str = "catalog/subsidies.toml",
    expected: tuple[int, int] | None = (EXPECTED_CATEGORIES, EXPECTED_LEAVES),
) -> SubsidyCatalog:
    """Build and validate the subsidy catalog; ``CatalogError`` names the file and the category.

    ``expected`` (categories, leaves) is checked unless None.
    """
    expect_keys(data, file, required={"categories"})
    raw = as_array(data["categories"], f"{file}: 'categories'")
    categories = tuple(_parse_category(entry, file, index) for index, entry in enumerate(raw))
    numbers = [c.number for c in categories]
    if numbers != list(range(1, len(categories) + 1)):
        raise CatalogError(f"{file}: category numbers must run 1, 2, … in file order, got {numbers}")
    catalog = SubsidyCatalog(categories)
    if expected is not None and (catalog.category_count, catalog.leaf_count) != expected:
        raise CatalogError(
            f"{file}: {catalog.category_count} categories / {catalog.leaf_count} leaves, "
            f"expected {expected[0]} / {expected[1]}"
        )
    return catalog


def _parse_category(raw: object, file: str, index: int) -> SubsidyCategory:
    where = f"{file}: category #{index + 1}"
    table = as_table(raw, where)
    number_raw = table.get("number")
    if isinstance(number_raw, int):
        where = f"{file}: category {number_raw}"
    expect_keys(
        table,
        where,
        required={"number", "name", "household"},
        optional={"placeholder", "department", "sub_items"},
    )
    number = as_integer(table["number"], f"{where}, field 'number'")
    name = parse_sourced_text(table["name"], f"{where}, field 'name'")
    household = parse_sourced_flag(table["household"], f"{where}, field 'household'")
    placeholder = table.get("placeholder", False)
    if not isinstance(placeholder, bool):
        raise CatalogError(f"{where}, field 'placeholder': expected true or false")
    if placeholder and name.source is not Source.ASSUMED:
        raise CatalogError(f"{where}: a placeholder's name must be tagged source = 'assumed'")
    if not placeholder and name.source is not Source.BROCHURE:
        raise CatalogError(f"{where}: a category name must come from the brochure (or be a placeholder)")
    department = None
    if "department" in table:
        department = parse_sourced_text(table["department"], f"{where}, field 'department'")

    raw_subs = as_array(table.get("sub_items", []), f"{where}, field 'sub_items'", allow_empty=True)
    if placeholder and raw_subs:
        raise CatalogError(f"{where}: a placeholder category cannot list sub-items")
    items: list[SubsidyItem] = []
    for position, raw_sub in enumerate(raw_subs, start=1):
        swhere = f"{where}, sub-item #{position}"
        sub = as_table(raw_sub, swhere)
        expect_keys(sub, swhere, required={"code", "name"}, optional={"household"})
        code = as_string(sub["code"], f"{swhere}, field 'code'")
        if code != f"{number}.{position}":
            raise CatalogError(f"{swhere}: code must be {number}.{position}, got {code!r}")
        sub_name = parse_sourced_text(sub["name"], f"{swhere}, field 'name'")
        if sub_name.source is not Source.BROCHURE:
            raise CatalogError(f"{swhere}: a sub-item name must come from the brochure")
        sub_household = household
        if "household" in sub:
            sub_household = parse_sourced_flag(sub["household"], f"{swhere}, field 'household'")
        items.append(SubsidyItem(code, number, sub_name, sub_household, False, False))
    if not items:
        items.append(SubsidyItem(str(number), number, name, household, True, placeholder))
    return SubsidyCategory(number, name, department, household, tuple(items), placeholder)


# --------------------------------------------------------------------------------------------
# Who receives a payment
# --------------------------------------------------------------------------------------------


class OverrideReason(StrEnum):
    """Why a household payment goes to someone other than the head of household (改发原因)."""

    HEAD_DECEASED = "head_deceased"
    HEAD_WITHOUT_CARD = "head_without_card"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _OVERRIDE_LABELS[self]


_OVERRIDE_LABELS: Final[Mapping[OverrideReason, str]] = {
    OverrideReason.HEAD_DECEASED: "户主已故",
    OverrideReason.HEAD_WITHOUT_CARD: "户主无可用的社会保障卡",
    OverrideReason.OTHER: "其他（须注明）",
}


class RecipientError(DomainError):
    """The recipient of a payment cannot be decided as asked."""


@dataclass(frozen=True)
class RecipientOverride:
    """A clerk's decision to pay a household subsidy to another member (改发)."""

    recipient_id: str
    reason: OverrideReason
    note: str = ""


@dataclass(frozen=True)
class RecipientDecision:
    """Whose card a payment goes to (收款人): the default, or an override with its reason."""

    item_code: str
    recipient_id: str
    is_default: bool
    override_reason: OverrideReason | None = None
    note: str = ""


def decide_recipient(
    item: SubsidyItem,
    *,
    person_id: str,
    head_of_household_id: str | None = None,
    override: RecipientOverride | None = None,
) -> RecipientDecision:
    """Decide whose card receives a payment of ``item`` (确定收款人).

    ``person_id`` is the beneficiary; for a household item, any member of the household, whose head is
    ``head_of_household_id``. A per-person item always pays the person (no override). A household item
    pays the head by default; an override names another member and a reason (``other`` needs a note).
    """
    if not person_id:
        raise RecipientError("person_required", "请先确定补贴对象。")
    if not item.household.value:
        if override is not None:
            raise RecipientError(
                "person_item_no_override",
                "按人发放的补贴必须发放到本人的社会保障卡账户，不能改发他人。",
                "本人无可用的卡时，请先为本人办理激活、解挂、补换卡或申领。",
            )
        return RecipientDecision(item.code, person_id, is_default=True)
    if not head_of_household_id:
        raise RecipientError(
            "head_required",
            "以家庭为单位的补贴原则上发放到户主的社会保障卡账户，请先登记户主。",
        )
    if override is None:
        return RecipientDecision(item.code, head_of_household_id, is_default=True)
    if not override.recipient_id:
        raise RecipientError("override_recipient_required", "改发须指明收款的家庭成员。")
    if override.recipient_id == head_of_household_id:
        raise RecipientError("override_is_head", "改发的收款人不能是户主本人；发给户主无须改发。")
    note = override.note.strip()
    if override.reason is OverrideReason.OTHER and not note:
        raise RecipientError("override_note_required", "改发原因为“其他”时须注明具体原因。")
    return RecipientDecision(
        item.code,
        override.recipient_id,
        is_default=False,
        override_reason=override.reason,
        note=note,
    )


# --------------------------------------------------------------------------------------------
# Payments: status and failure reasons
# --------------------------------------------------------------------------------------------


class PaymentStatus(StrEnum):
    """发放状态 of one payment record."""

    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    RETURNED = "returned"
    RESENT = "resent"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]

    @property
    def may_resend(self) -> bool:
        """A failed or returned payment may be re-sent (重发) once its cause is fixed."""
        return self in (PaymentStatus.FAILED, PaymentStatus.RETURNED)

    @classmethod
    def from_label(cls, label: str) -> PaymentStatus:
        for status, text in _STATUS_LABELS.items():
            if text == label.strip():
                return status
        raise ValueError(f"unknown payment status {label!r}")


_STATUS_LABELS: Final[Mapping[PaymentStatus, str]] = {
    PaymentStatus.PENDING: "待发",
    PaymentStatus.PAID: "已发",
    PaymentStatus.FAILED: "失败",
    PaymentStatus.RETURNED: "退回",
    PaymentStatus.RESENT: "重发",
}


class FailureReason(StrEnum):
    """失败原因 of a failed or returned payment, with the fixes a clerk can offer at the counter."""

    NAME_MISMATCH = "name_mismatch"
    ID_MISMATCH = "id_mismatch"
    CARD_LOST = "card_lost"
    CARD_CANCELLED = "card_cancelled"
    ACCOUNT_INACTIVE = "account_inactive"
    ACCOUNT_FROZEN = "account_frozen"
    ACCOUNT_CLOSED = "account_closed"
    NO_CARD = "no_card"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _FAILURES[self].label

    @property
    def fixes(self) -> tuple[str, ...]:
        """Service-item codes (catalog.py) the clerk can offer, most likely first."""
        return _FAILURES[self].fixes

    @property
    def hint(self) -> str:
        return _FAILURES[self].hint

    @classmethod
    def from_label(cls, label: str) -> FailureReason:
        for reason, spec in _FAILURES.items():
            if spec.label == label.strip():
                return reason
        raise ValueError(f"unknown failure reason {label!r}")


@dataclass(frozen=True)
class _FailureSpec:
    label: str
    fixes: tuple[str, ...]
    hint: str


_RESEND: Final = "处理后登记新的收款账户（如有），对失败或退回的款项申请重发。"

_FAILURES: Final[Mapping[FailureReason, _FailureSpec]] = {
    FailureReason.NAME_MISMATCH: _FailureSpec(
        "户名不符",
        ("change_key_info",),
        "核对姓名：系统中的信息有误的办理关键信息变更（随后换卡）；主管部门名单有误的请其更正后重发。",
    ),
    FailureReason.ID_MISMATCH: _FailureSpec(
        "证件号不符",
        ("change_key_info",),
        "核对证件号码：系统中的信息有误的办理关键信息变更（随后换卡）；主管部门名单有误的请其更正后重发。",
    ),
    FailureReason.CARD_LOST: _FailureSpec(
        "卡挂失",
        ("cancel_loss", "replace"),
        "卡已找回的办理解挂；卡确已遗失的办理正式挂失后补卡。" + _RESEND,
    ),
    FailureReason.CARD_CANCELLED: _FailureSpec(
        "卡注销",
        ("replace", "apply"),
        "查询持卡人是否已有新卡：已补换的登记新卡账户；没有有效卡的办理申领。" + _RESEND,
    ),
    FailureReason.ACCOUNT_INACTIVE: _FailureSpec(
        "账户未激活",
        ("activate",),
        "为持卡人激活社会保障卡（金融功能须在发卡银行网点激活）。" + _RESEND,
    ),
    FailureReason.ACCOUNT_FROZEN: _FailureSpec(
        "账户冻结",
        ("query",),
        "查询卡片状态；账户被银行冻结的，请持卡人到发卡银行处理。" + _RESEND,
    ),
    FailureReason.ACCOUNT_CLOSED: _FailureSpec(
        "账户已销户",
        ("replace", "apply"),
        "原卡账户已销户：已补换卡的登记新卡账户；没有有效卡的办理补换卡或申领。" + _RESEND,
    ),
    FailureReason.NO_CARD: _FailureSpec(
        "未办理社会保障卡",
        ("apply",),
        "为补贴对象办理社会保障卡申领。" + _RESEND,
    ),
    FailureReason.OTHER: _FailureSpec(
        "其他",
        ("query",),
        "查询卡片和账户状态，按银行退回说明处理；无法在柜面处理的请联系主管部门。",
    ),
}


def period_label(period: str) -> str:
    """A payment's 发放期间 ``202503`` as ``2025年03月`` (anything not YYYYMM as it is)."""
    return f"{period[:4]}年{period[4:]}月" if len(period) == 6 and period.isdigit() else period


def period_range_label(period_from: str, period_to: str) -> str:
    """A 发放期间 range ``202401``–``202412`` as ``2024年01月至2024年12月``."""
    return f"{period_label(period_from)}至{period_label(period_to)}"
