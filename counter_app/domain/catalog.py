"""服务事项目录 — the twelve service items of the city's brochure and who may do them where.

The data live in ``resources/catalog/service_items.toml`` (see its header for the sources and exactly
what was trimmed when copying from the brochure). Every text a clerk sees carries its source:
``brochure`` (copied verbatim from the city's brochure) or ``assumed`` (filled from DOMAIN.md / 四川
practice; the UI marks it 待确认 until the city confirms it).

Roles, outlet types and outlet capabilities are the plain string codes of DOMAIN §1 (the enums in
``operators.py`` are ``StrEnum`` s with the same values, so they can be passed in directly):

- roles ``hr_clerk``, ``hr_supervisor``, ``bank_clerk``, ``bank_supervisor``, ``admin``;
- outlet types ``hr_window``, ``bank_outlet``;
- capabilities ``can_activate_social``, ``instant_issuance``.

``ServiceItem.check_access`` answers "may this role, at this kind of outlet with these capabilities,
do this item (or this variant of it)?" with a reason code and a Chinese message. Card scope (a bank
outlet changes only its own bank's cards) and the supervisor's second sign-in are checked by
``operators.py``; the catalog carries the per-item supervisor rule as data.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Final, Generic, TypeAlias, TypeVar

from counter_app.domain.errors import DomainError
from counter_app.resources import load_toml

T = TypeVar("T")

CATALOG_FILE: Final = ("catalog", "service_items.toml")
PROCEDURES_FILE: Final = ("catalog", "procedures.toml")

# --------------------------------------------------------------------------------------------
# Codes shared with operators.py (DOMAIN §1), kept as strings
# --------------------------------------------------------------------------------------------

ROLES: Final = frozenset({"hr_clerk", "hr_supervisor", "bank_clerk", "bank_supervisor", "admin"})
OUTLET_TYPES: Final = frozenset({"hr_window", "bank_outlet"})
CAPABILITIES: Final = frozenset({"can_activate_social", "instant_issuance"})

ROLE_LABELS: Final[Mapping[str, str]] = {
    "hr_clerk": "人社窗口经办人",
    "hr_supervisor": "人社窗口复核/授权",
    "bank_clerk": "银行网点经办人",
    "bank_supervisor": "银行网点复核/授权",
    "admin": "系统管理员",
}
OUTLET_TYPE_LABELS: Final[Mapping[str, str]] = {
    "hr_window": "人社社会保障卡服务窗口",
    "bank_outlet": "银行社保卡经办网点",
}
CAPABILITY_LABELS: Final[Mapping[str, str]] = {
    "can_activate_social": "社保功能激活",
    "instant_issuance": "快速制卡（即时制卡）设备",
}

#: The outlet type each service role works at. ``admin`` configures and does no service item.
ROLE_OUTLET_TYPE: Final[Mapping[str, str | None]] = {
    "hr_clerk": "hr_window",
    "hr_supervisor": "hr_window",
    "bank_clerk": "bank_outlet",
    "bank_supervisor": "bank_outlet",
    "admin": None,
}

#: Server commands a service item may send (DOMAIN §2/§3). 信息查询 (lookups) and 密码修改 (audit
#: only) send none.
SERVER_COMMANDS: Final = frozenset(
    {
        "apply",
        "instant_issue",
        "hand_over",
        "activate",
        "change_key_info",
        "change_contact",
        "pin_reset",
        "pin_unblock",
        "report_loss",
        "cancel_loss",
        "replace",
        "transfer_region",
        "cancel_card",
        "authorise_custody",
    }
)

#: What to tell the clerk when a variant needs a capability the outlet lacks: (message, hint).
_CAPABILITY_REFUSALS: Final[Mapping[str, tuple[str, str]]] = {
    "can_activate_social": (
        "本网点暂不能经办社保卡功能激活。",
        "可激活金融功能；社保功能请引导持卡人到人社社会保障卡服务窗口或有条件的合作银行网点激活。",
    ),
    "instant_issuance": (
        "本网点未部署快速制卡设备，不能当场制卡。",
        "可受理申请（或发放预制卡），或引导办事人到快速制卡网点办理。",
    ),
}


# --------------------------------------------------------------------------------------------
# Sourced values
# --------------------------------------------------------------------------------------------


class Source(StrEnum):
    """Where a value comes from (来源)."""

    BROCHURE = "brochure"  # 宣传资料原文
    ASSUMED = "assumed"  # 按四川做法补充，待确认

    @property
    def label(self) -> str:
        return "宣传资料" if self is Source.BROCHURE else "待确认"


#: Marker the UI shows beside a value that still needs the city's confirmation.
NEEDS_CONFIRMATION_MARK: Final = "待确认"


@dataclass(frozen=True)
class Sourced(Generic[T]):
    """A value with its source (来源). ``quote``: the brochure's own words a structured value rests on."""

    value: T
    source: Source
    quote: str = ""

    @property
    def needs_confirmation(self) -> bool:
        """True when assumed: the UI shows 待确认 beside it."""
        return self.source is Source.ASSUMED

    @property
    def mark(self) -> str:
        """The 待确认 marker for an assumed value, "" otherwise."""
        return NEEDS_CONFIRMATION_MARK if self.needs_confirmation else ""


SourcedText: TypeAlias = Sourced[str]


class CatalogError(ValueError):
    """A data file in resources/ is malformed; the message names the file, the entry and the field."""


# --------------------------------------------------------------------------------------------
# Structured parts of a service item
# --------------------------------------------------------------------------------------------


class SupervisorRule(StrEnum):
    """When a supervisor's second sign-in at the same counter confirms the item (复核/授权)."""

    NEVER = "never"
    ALWAYS = "always"  # 注销
    WHEN_NOT_HOLDER = "when_not_holder"  # 密码重置 asked for by someone other than the holder


class OfflineMode(StrEnum):
    """What the item does when the central server cannot be reached (DOMAIN §2, "Offline?")."""

    ONLINE_ONLY = "online_only"
    QUEUED = "queued"
    REPLICA_READ = "replica_read"
    LOCAL_ONLY = "local_only"

    @property
    def label(self) -> str:
        return _OFFLINE_LABELS[self]


_OFFLINE_LABELS: Final[Mapping[OfflineMode, str]] = {
    OfflineMode.ONLINE_ONLY: "须联网办理",
    OfflineMode.QUEUED: "可离线受理（已受理，待上传确认）",
    OfflineMode.REPLICA_READ: "离线时查询本地数据副本（注明数据时间）",
    OfflineMode.LOCAL_ONLY: "在本机完成，联网后上传审计记录",
}


class CardWork(StrEnum):
    """What happens to the card at the counter (DOMAIN §2, "Card work")."""

    NONE = "none"
    READ_CARD = "read_card"
    READ_CARD_IF_PRESENT = "read_card_if_present"
    READ_CARD_SET_PIN = "read_card_set_pin"
    CHANGE_PIN = "change_pin"
    RELOAD_OR_UNBLOCK_PIN = "reload_or_unblock_pin"
    PERSONALISE_PREFAB = "personalise_prefab"


class FeeRule(StrEnum):
    """The fee as a rule (收费依据及标准); the brochure text says the rest."""

    FREE = "free"  # 无
    FIRST_FREE = "first_free"  # 首次申领免费，补换卡按银行规定
    BANK_STANDARD = "bank_standard"  # 按发卡银行标准收费


@dataclass(frozen=True)
class Fee:
    """收费依据及标准."""

    text: SourcedText
    rule: FeeRule


@dataclass(frozen=True)
class TimeLimit:
    """办理时限: the text and the number of working days (0 = 当场办结)."""

    text: SourcedText
    working_days: int

    @property
    def same_day(self) -> bool:
        return self.working_days == 0


@dataclass(frozen=True)
class ProcessStep:
    """One step of 办理流程; ``level`` 2 is a sub-step of the step before."""

    text: SourcedText
    level: int = 1


@dataclass(frozen=True)
class CardWorkSpec:
    """Card work at the counter: a code for the workflow, a Chinese description for people."""

    code: CardWork
    description: str
    source: Source
    quote: str = ""

    @property
    def needs_confirmation(self) -> bool:
        return self.source is Source.ASSUMED


class AccessReason(StrEnum):
    """Why an item (or a variant) may not be done here; stable codes, as in operators.py."""

    ROLE_NOT_ALLOWED = "role_not_allowed"
    ROLE_OUTLET_MISMATCH = "role_outlet_mismatch"
    ITEM_NOT_OFFERED = "item_not_offered"
    VARIANT_NOT_OFFERED = "variant_not_offered"
    CAPABILITY_MISSING = "capability_missing"
    NO_VARIANT_AVAILABLE = "no_variant_available"


class ServiceNotAllowed(DomainError):
    """Raised by ``AccessDecision.raise_if_refused``."""


@dataclass(frozen=True)
class AccessDecision:
    """The answer to "may I do this here?": ``reason`` is None when allowed."""

    reason: AccessReason | None = None
    message: str = ""
    hint: str | None = None

    @property
    def allowed(self) -> bool:
        return self.reason is None

    def __bool__(self) -> bool:
        return self.allowed

    def raise_if_refused(self) -> None:
        if self.reason is not None:
            raise ServiceNotAllowed(self.reason.value, self.message, self.hint)


ALLOWED: Final = AccessDecision()


@dataclass(frozen=True)
class Variant:
    """One way of doing an item (e.g. 激活社保功能 / 激活金融功能; 密码重置 / 解锁)."""

    code: str
    label: str
    outlet_types: tuple[str, ...]
    #: Capabilities the outlet needs, per outlet type.
    requires: tuple[tuple[str, tuple[str, ...]], ...]
    commands: tuple[str, ...]
    source: Source
    quote: str = ""

    @property
    def needs_confirmation(self) -> bool:
        return self.source is Source.ASSUMED

    def required_capabilities(self, outlet_type: str) -> tuple[str, ...]:
        for kind, capabilities in self.requires:
            if kind == outlet_type:
                return capabilities
        return ()


#: Chinese field labels, in the brochure's order.
FIELD_LABELS: Final[Mapping[str, str]] = {
    "name": "事项名称",
    "service_object": "服务对象",
    "legal_basis": "设定依据",
    "accepting_unit": "受理单位",
    "conditions": "申请条件",
    "materials": "申报材料",
    "process": "办理流程",
    "fee": "收费依据及标准",
    "time_limit": "办理时限",
    "proxy": "代办",
    "online": "在线办理方式",
    "consultation": "咨询方式",
    "notes": "说明",
}


@dataclass(frozen=True)
class ServiceItem:
    """A service item (服务事项) with the brochure's fields and the counter's rules."""

    code: str
    number: int
    section: str  # the brochure's section numeral, "三" … "十四"
    name: SourcedText  # 事项名称
    service_object: SourcedText  # 服务对象
    legal_basis: SourcedText  # 设定依据
    accepting_unit: SourcedText  # 受理单位
    conditions: SourcedText  # 申请条件
    materials: tuple[SourcedText, ...]  # 申报材料 (the checklist)
    process: tuple[ProcessStep, ...]  # 办理流程
    fee: Fee  # 收费依据及标准
    time_limit: TimeLimit  # 办理时限
    proxy: tuple[SourcedText, ...]  # 代办
    online: SourcedText  # 在线办理方式
    consultation: tuple[SourcedText, ...]  # 咨询方式
    notes: tuple[SourcedText, ...]  # 说明
    outlet_types: Sourced[tuple[str, ...]]
    roles: Sourced[tuple[str, ...]]
    supervisor: Sourced[SupervisorRule]
    offline: Sourced[OfflineMode]
    card_work: CardWorkSpec
    commands: Sourced[tuple[str, ...]]
    variants: tuple[Variant, ...] = ()

    @property
    def short_name(self) -> str:
        """The name without its 社会保障卡 prefix (激活 for 社会保障卡激活)."""
        return self.name.value.removeprefix("社会保障卡")

    @property
    def materials_checklist(self) -> tuple[SourcedText, ...]:
        """申报材料, one checkbox each, each with its source."""
        return self.materials

    def texts(self) -> tuple[tuple[str, SourcedText], ...]:
        """Every text of the item's guide page as (Chinese field label, text), in the brochure's order."""
        out: list[tuple[str, SourcedText]] = [
            (FIELD_LABELS["name"], self.name),
            (FIELD_LABELS["service_object"], self.service_object),
            (FIELD_LABELS["legal_basis"], self.legal_basis),
            (FIELD_LABELS["accepting_unit"], self.accepting_unit),
            (FIELD_LABELS["conditions"], self.conditions),
        ]
        out += [(FIELD_LABELS["materials"], m) for m in self.materials]
        out += [(FIELD_LABELS["process"], s.text) for s in self.process]
        out.append((FIELD_LABELS["fee"], self.fee.text))
        out.append((FIELD_LABELS["time_limit"], self.time_limit.text))
        out += [(FIELD_LABELS["proxy"], p) for p in self.proxy]
        out.append((FIELD_LABELS["online"], self.online))
        out += [(FIELD_LABELS["consultation"], c) for c in self.consultation]
        out += [(FIELD_LABELS["notes"], n) for n in self.notes]
        return tuple(out)

    @property
    def needs_confirmation(self) -> bool:
        """True when any text or rule of the item is assumed."""
        rules = (self.outlet_types, self.roles, self.supervisor, self.offline, self.commands)
        return (
            any(t.needs_confirmation for _, t in self.texts())
            or any(r.needs_confirmation for r in rules)
            or self.card_work.needs_confirmation
            or any(v.needs_confirmation for v in self.variants)
        )

    def needs_supervisor(self, *, requested_by_holder: bool) -> bool:
        """Does this item need a supervisor's second sign-in (复核/授权)?"""
        rule = self.supervisor.value
        if rule is SupervisorRule.ALWAYS:
            return True
        return rule is SupervisorRule.WHEN_NOT_HOLDER and not requested_by_holder

    def variant(self, code: str) -> Variant:
        for v in self.variants:
            if v.code == code:
                return v
        known = ", ".join(v.code for v in self.variants) or "none"
        raise ValueError(f"service item {self.code!r} has no variant {code!r} (known: {known})")

    def check_access(
        self,
        *,
        role: str,
        outlet_type: str,
        capabilities: Iterable[str] = (),
        variant: str | None = None,
    ) -> AccessDecision:
        """May ``role`` at an outlet of ``outlet_type`` with ``capabilities`` do this item (or variant)?

        Without ``variant``, an item with variants is allowed when at least one variant is. Unknown
        role, outlet type, capability or variant codes are programming errors (``ValueError``).
        """
        caps = _checked_codes(role, outlet_type, capabilities)
        name = self.short_name
        role_label = ROLE_LABELS[role]
        outlet_label = OUTLET_TYPE_LABELS[outlet_type]
        if ROLE_OUTLET_TYPE[role] is None:
            return AccessDecision(
                AccessReason.ROLE_NOT_ALLOWED,
                f"{role_label}工号不能办理{name}业务。",
                "请使用经办人或复核/授权人员的工号登录。",
            )
        if ROLE_OUTLET_TYPE[role] != outlet_type:
            return AccessDecision(
                AccessReason.ROLE_OUTLET_MISMATCH,
                f"{role_label}不能在{outlet_label}办理业务。",
                "请使用与本网点类型相符的工号登录，或请管理员调整工号角色。",
            )
        if outlet_type not in self.outlet_types.value:
            where = "或".join(OUTLET_TYPE_LABELS[t] for t in self.outlet_types.value)
            return AccessDecision(
                AccessReason.ITEM_NOT_OFFERED,
                f"{outlet_label}不办理{name}。",
                f"请引导办事人到{where}办理。",
            )
        if role not in self.roles.value:
            return AccessDecision(
                AccessReason.ROLE_NOT_ALLOWED,
                f"{role_label}不能办理{name}。",
                "请由有权限的人员办理。",
            )
        if variant is not None:
            return self._check_variant(self.variant(variant), outlet_type, caps)
        if not self.variants:
            return ALLOWED
        refusals = [self._check_variant(v, outlet_type, caps) for v in self.variants]
        if any(d.allowed for d in refusals):
            return ALLOWED
        return AccessDecision(
            AccessReason.NO_VARIANT_AVAILABLE,
            f"本网点不能办理{name}：" + "".join(d.message for d in refusals),
            refusals[0].hint,
        )

    def available_variants(
        self, *, role: str, outlet_type: str, capabilities: Iterable[str] = ()
    ) -> tuple[Variant, ...]:
        """The variants this role may do here (empty when the item itself is refused)."""
        caps = tuple(capabilities)
        return tuple(
            v
            for v in self.variants
            if self.check_access(role=role, outlet_type=outlet_type, capabilities=caps, variant=v.code)
        )

    def _check_variant(self, v: Variant, outlet_type: str, caps: frozenset[str]) -> AccessDecision:
        if outlet_type not in v.outlet_types:
            where = "或".join(OUTLET_TYPE_LABELS[t] for t in v.outlet_types)
            return AccessDecision(
                AccessReason.VARIANT_NOT_OFFERED,
                f"{OUTLET_TYPE_LABELS[outlet_type]}不办理“{v.label}”。",
                f"请引导办事人到{where}办理。",
            )
        for capability in v.required_capabilities(outlet_type):
            if capability not in caps:
                message, hint = _CAPABILITY_REFUSALS[capability]
                return AccessDecision(AccessReason.CAPABILITY_MISSING, f"“{v.label}”：{message}", hint)
        return ALLOWED


def _checked_codes(role: str, outlet_type: str, capabilities: Iterable[str]) -> frozenset[str]:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r} (known: {', '.join(sorted(ROLES))})")
    if outlet_type not in OUTLET_TYPES:
        raise ValueError(f"unknown outlet type {outlet_type!r} (known: {', '.join(sorted(OUTLET_TYPES))})")
    caps = frozenset(capabilities)
    unknown = caps - CAPABILITIES
    if unknown:
        raise ValueError(f"unknown capability {sorted(unknown)!r} (known: {', '.join(sorted(CAPABILITIES))})")
    return caps


@dataclass(frozen=True)
class Catalog:
    """The service-item catalog (服务事项目录): the twelve items in the brochure's order.

    ``procedures`` are counter procedures that are not service items of the brochure (代管代持授权,
    DOMAIN §6): they have a guide page, rules and a form like an item, but no menu place or F-key;
    `by_code` finds them, iteration and ``codes`` cover the twelve items only.
    """

    items: tuple[ServiceItem, ...]
    procedures: tuple[ServiceItem, ...] = ()

    def __iter__(self) -> Iterator[ServiceItem]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(i.code for i in self.items)

    def by_code(self, code: str) -> ServiceItem:
        for item in (*self.items, *self.procedures):
            if item.code == code:
                return item
        raise KeyError(f"unknown service item code {code!r} (known: {', '.join(self.codes)})")

    def check_access(
        self,
        code: str,
        *,
        role: str,
        outlet_type: str,
        capabilities: Iterable[str] = (),
        variant: str | None = None,
    ) -> AccessDecision:
        """``ServiceItem.check_access`` by item code."""
        return self.by_code(code).check_access(
            role=role, outlet_type=outlet_type, capabilities=capabilities, variant=variant
        )

    def offered(
        self, *, role: str, outlet_type: str, capabilities: Iterable[str] = ()
    ) -> tuple[ServiceItem, ...]:
        """The items this role may do at this outlet, in the brochure's order (the main menu)."""
        caps = tuple(capabilities)
        return tuple(
            i for i in self.items if i.check_access(role=role, outlet_type=outlet_type, capabilities=caps)
        )


# --------------------------------------------------------------------------------------------
# Loading and validation
# --------------------------------------------------------------------------------------------


def brochure_texts(node: object) -> list[str]:
    """Every brochure-tagged text and every ``quote`` of a raw catalog data file, in file order.

    What must stand verbatim in the brochure (宣传资料原文); the tests pin it and
    ``tools/check-brochure`` compares it with the brochure's text.
    """
    out: list[str] = []
    if isinstance(node, dict):
        if node.get("source") == "brochure" and isinstance(node.get("value"), str):
            out.append(node["value"])
        if isinstance(node.get("quote"), str):
            out.append(node["quote"])
        for value in node.values():
            out += brochure_texts(value)
    elif isinstance(node, list):
        for value in node:
            out += brochure_texts(value)
    return out


@cache
def load_catalog() -> Catalog:
    """The service-item catalog from ``resources/catalog/service_items.toml`` (read once)."""
    catalog = parse_catalog(load_toml(*CATALOG_FILE), file="/".join(CATALOG_FILE))
    procedures = parse_procedures(load_toml(*PROCEDURES_FILE), file="/".join(PROCEDURES_FILE))
    clash = sorted(set(catalog.codes) & {p.code for p in procedures})
    if clash:
        raise CatalogError(f"{'/'.join(PROCEDURES_FILE)}: codes {clash} are service items already")
    return Catalog(catalog.items, procedures)


def parse_procedures(
    data: Mapping[str, object], *, file: str = "catalog/procedures.toml"
) -> tuple[ServiceItem, ...]:
    """Counter procedures (柜面程序) in the items' format; their ``number`` is 0 (no menu place)."""
    expect_keys(data, file, required={"procedures"})
    raw = as_array(data["procedures"], f"{file}: 'procedures'")
    procedures = tuple(_parse_item(entry, file, index) for index, entry in enumerate(raw))
    for procedure in procedures:
        if procedure.number != 0:
            raise CatalogError(f"{file}: procedure {procedure.code!r} must have number = 0 (no menu place)")
    return procedures


_ITEM_KEYS: Final = frozenset(
    {
        "code",
        "number",
        "section",
        *FIELD_LABELS,
        "outlet_types",
        "roles",
        "supervisor",
        "offline",
        "card_work",
        "commands",
        "variants",
    }
)
_OPTIONAL_ITEM_KEYS: Final = frozenset({"notes", "variants"})


def parse_catalog(data: Mapping[str, object], *, file: str = "catalog/service_items.toml") -> Catalog:
    """Build and validate a catalog from parsed TOML; ``CatalogError`` names file, item and field."""
    expect_keys(data, file, required={"items"})
    raw_items = data["items"]
    if not isinstance(raw_items, list) or not raw_items:
        raise CatalogError(f"{file}: 'items' must be a non-empty array of tables")
    items: list[ServiceItem] = []
    for index, raw in enumerate(raw_items):
        items.append(_parse_item(raw, file, index))
    codes = [i.code for i in items]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        raise CatalogError(f"{file}: duplicate item codes {duplicates}")
    numbers = [i.number for i in items]
    if numbers != list(range(1, len(items) + 1)):
        raise CatalogError(f"{file}: item numbers must run 1, 2, … in file order, got {numbers}")
    return Catalog(tuple(items))


def _parse_item(raw: object, file: str, index: int) -> ServiceItem:
    where = f"{file}: item #{index + 1}"
    table = as_table(raw, where)
    code = table.get("code")
    if isinstance(code, str):
        where = f"{file}: item {code!r} (#{index + 1})"
    expect_keys(table, where, required=_ITEM_KEYS - _OPTIONAL_ITEM_KEYS, optional=_OPTIONAL_ITEM_KEYS)
    code = as_string(table["code"], f"{where}, field 'code'")
    number = as_integer(table["number"], f"{where}, field 'number'")
    section = as_string(table["section"], f"{where}, field 'section'")

    def text(key: str) -> SourcedText:
        return parse_sourced_text(table[key], f"{where}, field '{key}'")

    def texts(key: str, *, optional: bool = False) -> tuple[SourcedText, ...]:
        entries = as_array(table.get(key, []), f"{where}, field '{key}'", allow_empty=optional)
        return tuple(parse_sourced_text(e, f"{where}, field '{key}'[{i}]") for i, e in enumerate(entries))

    process = tuple(
        _parse_step(e, f"{where}, field 'process'[{i}]")
        for i, e in enumerate(as_array(table["process"], f"{where}, field 'process'"))
    )
    if process[0].level != 1:
        raise CatalogError(f"{where}, field 'process': the first step cannot be a sub-step")

    outlet_types = _sourced_codes(table["outlet_types"], f"{where}, field 'outlet_types'", OUTLET_TYPES)
    if not outlet_types.value:
        raise CatalogError(f"{where}, field 'outlet_types': at least one outlet type is needed")
    roles = _sourced_codes(table["roles"], f"{where}, field 'roles'", ROLES)
    for role in roles.value:
        if ROLE_OUTLET_TYPE[role] not in outlet_types.value:
            raise CatalogError(
                f"{where}, field 'roles': role {role!r} works at no outlet type the item allows "
                f"({', '.join(outlet_types.value)})"
            )
    commands = _sourced_codes(table["commands"], f"{where}, field 'commands'", SERVER_COMMANDS)

    raw_variants = as_array(table.get("variants", []), f"{where}, field 'variants'", allow_empty=True)
    variants = tuple(_parse_variant(e, where, i) for i, e in enumerate(raw_variants))
    _check_variants(variants, outlet_types.value, commands.value, where)

    return ServiceItem(
        code=code,
        number=number,
        section=section,
        name=text("name"),
        service_object=text("service_object"),
        legal_basis=text("legal_basis"),
        accepting_unit=text("accepting_unit"),
        conditions=text("conditions"),
        materials=texts("materials"),
        process=process,
        fee=_parse_fee(table["fee"], f"{where}, field 'fee'"),
        time_limit=_parse_time_limit(table["time_limit"], f"{where}, field 'time_limit'"),
        proxy=texts("proxy"),
        online=text("online"),
        consultation=texts("consultation"),
        notes=texts("notes", optional=True),
        outlet_types=outlet_types,
        roles=roles,
        supervisor=_sourced_enum(table["supervisor"], f"{where}, field 'supervisor'", SupervisorRule),
        offline=_sourced_enum(table["offline"], f"{where}, field 'offline'", OfflineMode),
        card_work=_parse_card_work(table["card_work"], f"{where}, field 'card_work'"),
        commands=commands,
        variants=variants,
    )


def _check_variants(
    variants: tuple[Variant, ...], outlet_types: tuple[str, ...], commands: tuple[str, ...], where: str
) -> None:
    codes = [v.code for v in variants]
    if len(set(codes)) != len(codes):
        raise CatalogError(f"{where}: duplicate variant codes {codes}")
    for v in variants:
        vwhere = f"{where}, variant {v.code!r}"
        for t in v.outlet_types:
            if t not in outlet_types:
                raise CatalogError(
                    f"{vwhere}: outlet type {t!r} is not among the item's {list(outlet_types)}"
                )
        for t, _ in v.requires:
            if t not in v.outlet_types:
                raise CatalogError(f"{vwhere}: 'requires' names outlet type {t!r} the variant does not allow")
        for c in v.commands:
            if c not in commands:
                raise CatalogError(f"{vwhere}: command {c!r} is not among the item's {list(commands)}")
    if variants:
        used = {c for v in variants for c in v.commands}
        unused = [c for c in commands if c not in used]
        if unused:
            raise CatalogError(f"{where}: commands {unused} are used by no variant")
        offered = {t for v in variants for t in v.outlet_types}
        missing = [t for t in outlet_types if t not in offered]
        if missing:
            raise CatalogError(f"{where}: outlet types {missing} have no variant")


_VARIANT_KEYS: Final = frozenset({"code", "label", "outlet_types", "commands", "source"})


def _parse_variant(raw: object, item_where: str, index: int) -> Variant:
    where = f"{item_where}, variant #{index + 1}"
    table = as_table(raw, where)
    code = table.get("code")
    if isinstance(code, str):
        where = f"{item_where}, variant {code!r}"
    expect_keys(table, where, required=_VARIANT_KEYS, optional={"requires", "quote"})
    outlet_types = _codes(table["outlet_types"], f"{where}, field 'outlet_types'", OUTLET_TYPES)
    if not outlet_types:
        raise CatalogError(f"{where}, field 'outlet_types': at least one outlet type is needed")
    requires: list[tuple[str, tuple[str, ...]]] = []
    raw_requires = as_table(table.get("requires", {}), f"{where}, field 'requires'")
    for kind, caps in raw_requires.items():
        if kind not in OUTLET_TYPES:
            raise CatalogError(f"{where}, field 'requires': unknown outlet type {kind!r}")
        requires.append((kind, _codes(caps, f"{where}, field 'requires.{kind}'", CAPABILITIES)))
    commands = _codes(table["commands"], f"{where}, field 'commands'", SERVER_COMMANDS)
    if not commands:
        raise CatalogError(f"{where}, field 'commands': a variant needs at least one command")
    source = _source(table["source"], f"{where}, field 'source'")
    quote = _quote(table.get("quote"), f"{where}, field 'quote'")
    if source is Source.BROCHURE and not quote:
        raise CatalogError(
            f"{where}: a variant tagged source = 'brochure' needs the brochure's words in 'quote'"
        )
    return Variant(
        code=as_string(table["code"], f"{where}, field 'code'"),
        label=as_string(table["label"], f"{where}, field 'label'"),
        outlet_types=outlet_types,
        requires=tuple(requires),
        commands=commands,
        source=source,
        quote=quote,
    )


def _parse_step(raw: object, where: str) -> ProcessStep:
    table = _sourced_table(raw, where, extra={"level"})
    level = as_integer(table.get("level", 1), f"{where}, field 'level'")
    if level not in (1, 2):
        raise CatalogError(f"{where}, field 'level': must be 1 or 2, got {level}")
    return ProcessStep(_sourced_str(table, where), level)


def _parse_fee(raw: object, where: str) -> Fee:
    table = _sourced_table(raw, where, required_extra={"rule"})
    rule = _enum(table["rule"], f"{where}, field 'rule'", FeeRule)
    return Fee(_sourced_str(table, where), rule)


def _parse_time_limit(raw: object, where: str) -> TimeLimit:
    table = _sourced_table(raw, where, required_extra={"working_days"})
    text = _sourced_str(table, where)
    days = as_integer(table["working_days"], f"{where}, field 'working_days'")
    if days < 0:
        raise CatalogError(f"{where}, field 'working_days': must be 0 (当场办结) or more, got {days}")
    if days == 0 and "当场办结" not in text.value:
        raise CatalogError(f"{where}: working_days = 0 means 当场办结, but the text is {text.value!r}")
    if days > 0 and str(days) not in text.value:
        raise CatalogError(f"{where}: working_days = {days} does not match the text {text.value!r}")
    return TimeLimit(text, days)


def _parse_card_work(raw: object, where: str) -> CardWorkSpec:
    table = _sourced_table(raw, where, required_extra={"description"})
    code = _sourced_structured(_enum(table["value"], f"{where}, field 'value'", CardWork), table, where)
    return CardWorkSpec(
        code=code.value,
        description=as_string(table["description"], f"{where}, field 'description'"),
        source=code.source,
        quote=code.quote,
    )


# --------------------------------------------------------------------------------------------
# Small typed readers of parsed TOML (shared with subsidies.py)
# --------------------------------------------------------------------------------------------

E = TypeVar("E", bound=StrEnum)


def parse_sourced_text(raw: object, where: str) -> SourcedText:
    """``{ value = "…", source = "brochure" | "assumed" }`` → SourcedText (no other keys)."""
    return _sourced_str(_sourced_table(raw, where), where)


def parse_sourced_flag(raw: object, where: str) -> Sourced[bool]:
    """``{ value = true, source = …, quote = "…" }``; a brochure-tagged flag needs its quote."""
    table = _sourced_table(raw, where)
    value = table["value"]
    if not isinstance(value, bool):
        raise CatalogError(f"{where}, field 'value': expected true or false, got {value!r}")
    return _sourced_structured(value, table, where)


def _sourced_table(
    raw: object,
    where: str,
    *,
    extra: Iterable[str] = (),
    required_extra: Iterable[str] = (),
) -> Mapping[str, object]:
    table = as_table(raw, where)
    expect_keys(
        table,
        where,
        required={"value", "source", *required_extra},
        optional={"quote", *extra},
    )
    return table


def _sourced_str(table: Mapping[str, object], where: str) -> SourcedText:
    value = as_string(table["value"], f"{where}, field 'value'")
    source = _source(table["source"], f"{where}, field 'source'")
    quote = _quote(table.get("quote"), f"{where}, field 'quote'")
    if quote:
        raise CatalogError(f"{where}: a text value is its own quote; remove 'quote'")
    return Sourced(value, source)


def _sourced_structured(value: T, table: Mapping[str, object], where: str) -> Sourced[T]:
    source = _source(table["source"], f"{where}, field 'source'")
    quote = _quote(table.get("quote"), f"{where}, field 'quote'")
    if source is Source.BROCHURE and not quote:
        raise CatalogError(f"{where}: source = 'brochure' needs the brochure's words in 'quote'")
    return Sourced(value, source, quote)


def _sourced_codes(raw: object, where: str, known: frozenset[str]) -> Sourced[tuple[str, ...]]:
    table = _sourced_table(raw, where)
    return _sourced_structured(_codes(table["value"], f"{where}, field 'value'", known), table, where)


def _sourced_enum(raw: object, where: str, enum: type[E]) -> Sourced[E]:
    table = _sourced_table(raw, where)
    return _sourced_structured(_enum(table["value"], f"{where}, field 'value'", enum), table, where)


def _source(raw: object, where: str) -> Source:
    return _enum(raw, where, Source)


def _enum(raw: object, where: str, enum: type[E]) -> E:
    known = [m.value for m in enum]
    if not isinstance(raw, str) or raw not in known:
        raise CatalogError(f"{where}: unknown value {raw!r} (known: {', '.join(known)})")
    return enum(raw)


def _codes(raw: object, where: str, known: frozenset[str]) -> tuple[str, ...]:
    entries = as_array(raw, where, allow_empty=True)
    codes: list[str] = []
    for entry in entries:
        if not isinstance(entry, str) or entry not in known:
            raise CatalogError(f"{where}: unknown code {entry!r} (known: {', '.join(sorted(known))})")
        if entry in codes:
            raise CatalogError(f"{where}: {entry!r} is listed twice")
        codes.append(entry)
    return tuple(codes)


def _quote(raw: object, where: str) -> str:
    if raw is None:
        return ""
    return as_string(raw, where)


def as_string(raw: object, where: str) -> str:
    if not isinstance(raw, str) or not raw:
        raise CatalogError(f"{where}: expected a non-empty string, got {raw!r}")
    if raw != raw.strip():
        raise CatalogError(f"{where}: remove the surrounding whitespace from {raw!r}")
    return raw


def as_integer(raw: object, where: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise CatalogError(f"{where}: expected an integer, got {raw!r}")
    return raw


def as_array(raw: object, where: str, *, allow_empty: bool = False) -> list[object]:
    if not isinstance(raw, list):
        raise CatalogError(f"{where}: expected an array, got {raw!r}")
    if not raw and not allow_empty:
        raise CatalogError(f"{where}: must not be empty")
    return raw


def as_table(raw: object, where: str) -> Mapping[str, object]:
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: expected a table, got {raw!r}")
    return raw


def expect_keys(
    table: Mapping[str, object],
    where: str,
    *,
    required: Iterable[str],
    optional: Iterable[str] = (),
) -> None:
    required = frozenset(required)
    allowed = required | frozenset(optional)
    missing = sorted(required - table.keys())
    if missing:
        raise CatalogError(f"{where}: missing {', '.join(repr(k) for k in missing)}")
    unknown = sorted(table.keys() - allowed)
    if unknown:
        raise CatalogError(f"{where}: unknown key(s) {', '.join(repr(k) for k in unknown)}")
