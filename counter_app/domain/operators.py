"""Who may do what, where (DOMAIN §1): roles, outlets and their capabilities, scope, confirmations.

Outlet capabilities and the supervisor-confirmation rules are data (loaded from configuration);
the enum values are the lower-case strings the data files use.

Decisions (documented so the city can adjust them):

- ``admin`` configures; it is not a supervisor and cannot confirm business.
- An operator works only at their own outlet (``admin`` anywhere); a confirming supervisor must be
  a supervisor signed in at the same outlet and not the requesting operator.
- A bank outlet changes a card only when the card's bank is known and equals the outlet's bank.
- The supervisor rule for 密码重置 covers the whole ``pin_reset`` item (重置 and 解锁).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from counter_app.domain.errors import DomainError


class NotPermitted(DomainError):
    """An operator, outlet or requester may not do this."""


# --------------------------------------------------------------------------------------------
# Roles and outlets
# --------------------------------------------------------------------------------------------


class Role(StrEnum):
    HR_CLERK = "hr_clerk"
    HR_SUPERVISOR = "hr_supervisor"
    BANK_CLERK = "bank_clerk"
    BANK_SUPERVISOR = "bank_supervisor"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return _ROLE_LABELS[self]

    @property
    def is_supervisor(self) -> bool:
        return self in SUPERVISOR_ROLES


_ROLE_LABELS: Final[Mapping[Role, str]] = {
    Role.HR_CLERK: "人社窗口经办人",
    Role.HR_SUPERVISOR: "人社窗口复核/授权",
    Role.BANK_CLERK: "银行网点经办人",
    Role.BANK_SUPERVISOR: "银行网点复核/授权",
    Role.ADMIN: "系统管理员",
}

#: Roles whose second sign-in confirms an operation.
SUPERVISOR_ROLES: Final = frozenset({Role.HR_SUPERVISOR, Role.BANK_SUPERVISOR})


class OutletType(StrEnum):
    HR_WINDOW = "hr_window"
    BANK_OUTLET = "bank_outlet"

    @property
    def label(self) -> str:
        return "人社社会保障卡服务窗口" if self is OutletType.HR_WINDOW else "银行社保卡经办网点"


#: Which outlet types each role may work at (``admin``: any).
ROLE_OUTLET_TYPES: Final[Mapping[Role, frozenset[OutletType]]] = {
    Role.HR_CLERK: frozenset({OutletType.HR_WINDOW}),
    Role.HR_SUPERVISOR: frozenset({OutletType.HR_WINDOW}),
    Role.BANK_CLERK: frozenset({OutletType.BANK_OUTLET}),
    Role.BANK_SUPERVISOR: frozenset({OutletType.BANK_OUTLET}),
    Role.ADMIN: frozenset(OutletType),
}


@dataclass(frozen=True)
class OutletCapabilities:
    """What an outlet's equipment and agreement allow (configuration data)."""

    #: May activate the social function (always at HR windows; some bank outlets cannot).
    can_activate_social: bool = False
    #: Has quick-issuance equipment (即时制卡).
    instant_issuance: bool = False
    #: The bank whose cards this outlet may replace or activate financially (bank outlets only).
    bank: str | None = None


@dataclass(frozen=True)
class Outlet:
    code: str
    name: str
    type: OutletType
    capabilities: OutletCapabilities

    def __post_init__(self) -> None:
        if not self.code:
            raise ValueError("an outlet needs a code")
        if self.type is OutletType.BANK_OUTLET and not self.capabilities.bank:
            raise ValueError(f"bank outlet {self.code} needs capabilities.bank")
        if self.type is OutletType.HR_WINDOW and self.capabilities.bank is not None:
            raise ValueError(f"HR window {self.code} cannot have a bank (it acts on every card)")


@dataclass(frozen=True)
class Operator:
    number: str  # 工号
    name: str
    role: Role
    #: The operator's outlet; may be None only for ``admin``.
    outlet_code: str | None

    def __post_init__(self) -> None:
        if not self.number:
            raise ValueError("an operator needs a 工号")
        if self.outlet_code is None and self.role is not Role.ADMIN:
            raise ValueError(f"operator {self.number} ({self.role}) needs an outlet")


def role_may_work_at(role: Role, outlet_type: OutletType) -> bool:
    return outlet_type in ROLE_OUTLET_TYPES[role]


def check_role_at_outlet(role: Role, outlet: Outlet) -> None:
    """Refuse (``role_outlet_mismatch``) a role at an outlet of the wrong type."""
    if not role_may_work_at(role, outlet.type):
        raise NotPermitted(
            "role_outlet_mismatch",
            f"{role.label}不能在{outlet.type.label}（{outlet.name}）办理业务。",
            "请使用与本网点类型相符的工号登录，或请管理员调整工号角色。",
        )


def check_operator_at_outlet(operator: Operator, outlet: Outlet) -> None:
    """Refuse an operator at the wrong type of outlet or at someone else's outlet (admin: anywhere)."""
    check_role_at_outlet(operator.role, outlet)
    if operator.role is not Role.ADMIN and operator.outlet_code != outlet.code:
        raise NotPermitted(
            "other_outlet",
            f"工号 {operator.number}（{operator.name}）不属于本网点（{outlet.name}）。",
            "请使用本网点的工号登录，或请管理员调整工号所属网点。",
        )


def check_confirmer(confirmer: Operator, requester: Operator, outlet: Outlet) -> None:
    """The second sign-in that confirms an operation: a supervisor, here, and someone else."""
    if not confirmer.role.is_supervisor:
        raise NotPermitted(
            "not_supervisor",
            f"工号 {confirmer.number}（{confirmer.role.label}）没有复核/授权权限。",
            "请由本网点的复核/授权人员登录确认。",
        )
    if confirmer.number == requester.number:
        raise NotPermitted(
            "same_operator",
            "复核/授权须由经办人以外的另一人确认。",
            "请由本网点的另一位复核/授权人员登录确认。",
        )
    check_operator_at_outlet(confirmer, outlet)


# --------------------------------------------------------------------------------------------
# Service items and scope
# --------------------------------------------------------------------------------------------


class ActionKind(StrEnum):
    """Scope distinguishes looking at a card from changing it."""

    QUERY = "query"
    CHANGE = "change"


class ItemCode(StrEnum):
    """The twelve service items (DOMAIN §2)."""

    APPLY = "apply"
    ACTIVATE = "activate"
    CHANGE_KEY_INFO = "change_key_info"
    CHANGE_CONTACT = "change_contact"
    QUERY = "query"
    PIN_CHANGE = "pin_change"
    PIN_RESET = "pin_reset"
    REPORT_LOSS = "report_loss"
    CANCEL_LOSS = "cancel_loss"
    REPLACE = "replace"
    TRANSFER_REGION = "transfer_region"
    CANCEL_CARD = "cancel_card"

    @property
    def label(self) -> str:
        return _ITEM_LABELS[self]

    @property
    def action_kind(self) -> ActionKind:
        return ActionKind.QUERY if self is ItemCode.QUERY else ActionKind.CHANGE


_ITEM_LABELS: Final[Mapping[ItemCode, str]] = {
    ItemCode.APPLY: "申领",
    ItemCode.ACTIVATE: "激活",
    ItemCode.CHANGE_KEY_INFO: "关键信息变更",
    ItemCode.CHANGE_CONTACT: "非关键信息变更",
    ItemCode.QUERY: "信息查询",
    ItemCode.PIN_CHANGE: "密码修改",
    ItemCode.PIN_RESET: "密码重置/解锁",
    ItemCode.REPORT_LOSS: "挂失",
    ItemCode.CANCEL_LOSS: "解挂",
    ItemCode.REPLACE: "补换卡",
    ItemCode.TRANSFER_REGION: "参保地变更",
    ItemCode.CANCEL_CARD: "注销",
}

#: Items each outlet type offers (DOMAIN §1). HR windows: every item. Bank outlets never do 参保地变更.
OUTLET_ITEMS: Final[Mapping[OutletType, frozenset[ItemCode]]] = {
    OutletType.HR_WINDOW: frozenset(ItemCode),
    OutletType.BANK_OUTLET: frozenset(
        {
            ItemCode.APPLY,
            ItemCode.ACTIVATE,
            ItemCode.REPLACE,
            ItemCode.REPORT_LOSS,
            ItemCode.CANCEL_LOSS,
            ItemCode.PIN_CHANGE,
            ItemCode.PIN_RESET,
            ItemCode.QUERY,
        }
    ),
}


def check_item_offered(outlet: Outlet, item: ItemCode) -> None:
    """Refuse (``item_not_offered``) an item this type of outlet does not handle."""
    if item not in OUTLET_ITEMS[outlet.type]:
        raise NotPermitted(
            "item_not_offered",
            f"{outlet.type.label}（{outlet.name}）不办理{item.label}。",
            "请引导办事人到人社社会保障卡服务窗口办理。",
        )


def may_change_card(outlet: Outlet, card_bank: str | None) -> bool:
    """HR windows change every card; a bank outlet only cards of its own bank (known bank required)."""
    if outlet.type is OutletType.HR_WINDOW:
        return True
    return card_bank is not None and card_bank == outlet.capabilities.bank


def check_scope(outlet: Outlet, action_kind: ActionKind, card_bank: str | None) -> None:
    """Everyone may query every card; refuse (``out_of_scope``) a change outside the outlet's scope."""
    if action_kind is ActionKind.QUERY or may_change_card(outlet, card_bank):
        return
    issuer = f"由{card_bank}发行" if card_bank else "发卡银行不明"
    raise NotPermitted(
        "out_of_scope",
        f"此卡{issuer}，本网点（{outlet.name}）只能变更本行（{outlet.capabilities.bank}）发行的卡，"
        "可以查询但不能办理此业务。",
        "请引导持卡人到原发卡银行的网点或人社社会保障卡服务窗口办理。",
    )


def may_activate_social(outlet: Outlet) -> bool:
    """HR windows always; bank outlets only where ``can_activate_social`` is set."""
    return outlet.type is OutletType.HR_WINDOW or outlet.capabilities.can_activate_social


def may_activate_financial(outlet: Outlet, card_bank: str | None) -> bool:
    """Only a bank outlet of the card's own bank; HR windows never touch the financial function."""
    return outlet.type is OutletType.BANK_OUTLET and may_change_card(outlet, card_bank)


# --------------------------------------------------------------------------------------------
# Supervisor confirmation and non-holder PIN reset
# --------------------------------------------------------------------------------------------

#: Not a service item: an authorisation for 代管代持 (custody of another person's card).
CUSTODY_AUTHORISATION: Final = "custody_authorisation"


@dataclass(frozen=True)
class SupervisorPolicy:
    """Which operations need a supervisor's second sign-in (DOMAIN §1 decision; configurable)."""

    always: frozenset[str] = frozenset({ItemCode.CANCEL_CARD, CUSTODY_AUTHORISATION})
    when_not_holder: frozenset[str] = frozenset({ItemCode.PIN_RESET})


DEFAULT_SUPERVISOR_POLICY: Final = SupervisorPolicy()

_KNOWN_CONFIRMABLE: Final = frozenset({*ItemCode, CUSTODY_AUTHORISATION})


def needs_supervisor(
    item_code: str,
    *,
    requested_by_holder: bool,
    policy: SupervisorPolicy = DEFAULT_SUPERVISOR_POLICY,
) -> bool:
    """Does this operation need a supervisor's confirmation? Unknown codes are a ValueError."""
    if item_code not in _KNOWN_CONFIRMABLE:
        raise ValueError(f"unknown item code: {item_code!r}")
    if item_code in policy.always:
        return True
    return not requested_by_holder and item_code in policy.when_not_holder


class Requester(StrEnum):
    """Who asks for a holder's operation at the counter."""

    HOLDER = "holder"  # 持卡人本人
    GUARDIAN = "guardian"  # 监护人
    CUSTODIAN = "custodian"  # 代管代持人
    OTHER = "other"  # 其他代办人

    @property
    def label(self) -> str:
        return _REQUESTER_LABELS[self]


_REQUESTER_LABELS: Final[Mapping[Requester, str]] = {
    Requester.HOLDER: "持卡人本人",
    Requester.GUARDIAN: "监护人",
    Requester.CUSTODIAN: "代管代持人",
    Requester.OTHER: "代办人",
}


def may_request_pin_reset(requester: Requester, *, holder_is_minor: bool, custody_authorised: bool) -> bool:
    """The holder; a guardian of a minor; a custodian with a 代管代持 authorisation on file."""
    if requester is Requester.HOLDER:
        return True
    if requester is Requester.GUARDIAN:
        return holder_is_minor
    if requester is Requester.CUSTODIAN:
        return custody_authorised
    return False


def check_pin_reset_requester(
    requester: Requester, *, holder_is_minor: bool, custody_authorised: bool
) -> None:
    """Refuse a 密码重置 asked for by someone the rule does not allow.

    Codes: ``custody_not_authorised`` (a custodian without an authorisation on file),
    ``pin_reset_holder_only`` (anyone else who is neither the holder nor a minor's guardian).
    """
    if may_request_pin_reset(
        requester, holder_is_minor=holder_is_minor, custody_authorised=custody_authorised
    ):
        return
    if requester is Requester.CUSTODIAN:
        raise NotPermitted(
            "custody_not_authorised",
            "代管代持人代为重置密码，须先有经复核的代管代持授权。",
            "请先办理代管代持授权（须复核确认），再办理密码重置。",
        )
    if requester is Requester.GUARDIAN:
        message = "持卡人已成年，监护人不能代为重置密码。"
    else:
        message = f"密码重置须由持卡人本人办理，{requester.label}不能代办。"
    raise NotPermitted(
        "pin_reset_holder_only",
        message,
        "请持卡人本人持卡和身份证件到窗口办理；持卡人无法亲自办理的，请先办理代管代持授权。",
    )
