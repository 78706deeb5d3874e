"""Roles, outlets, scope and supervisor confirmation (DOMAIN §1)."""

from __future__ import annotations

import re

import pytest

from counter_app.domain.errors import DomainError
from counter_app.domain.operators import (
    CUSTODY_AUTHORISATION,
    OUTLET_ITEMS,
    SUPERVISOR_ROLES,
    ActionKind,
    ItemCode,
    NotPermitted,
    Operator,
    Outlet,
    OutletCapabilities,
    OutletType,
    Requester,
    Role,
    SupervisorPolicy,
    check_confirmer,
    check_item_offered,
    check_operator_at_outlet,
    check_pin_reset_requester,
    check_role_at_outlet,
    check_scope,
    may_activate_financial,
    may_activate_social,
    may_change_card,
    may_request_pin_reset,
    needs_supervisor,
    role_may_work_at,
)

CJK = re.compile(r"[\u4e00-\u9fff]")

HR = Outlet(
    "511100-HR01", "乐山市人力资源和社会保障中心", OutletType.HR_WINDOW, OutletCapabilities(True, True)
)
BANK_A = Outlet(
    "ABC-0001",
    "农业银行乐山分行营业部",
    OutletType.BANK_OUTLET,
    OutletCapabilities(can_activate_social=True, instant_issuance=True, bank="abc"),
)
BANK_B = Outlet("RCC-0007", "乐山农商银行某支行", OutletType.BANK_OUTLET, OutletCapabilities(bank="rcc"))


def _refused(error: DomainError, code: str) -> None:
    assert error.code == code
    assert re.fullmatch(r"^[a-z_]+$", error.code)
    assert CJK.search(error.message)
    assert str(error) == error.message
    assert error.hint
    assert CJK.search(error.hint)


# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------


def test_enum_values_are_the_data_file_strings() -> None:
    assert [r.value for r in Role] == ["hr_clerk", "hr_supervisor", "bank_clerk", "bank_supervisor", "admin"]
    assert [t.value for t in OutletType] == ["hr_window", "bank_outlet"]
    assert Role("hr_clerk") is Role.HR_CLERK
    assert {item.value for item in ItemCode} == {
        "apply", "activate", "change_key_info", "change_contact", "query", "pin_change", "pin_reset",
        "report_loss", "cancel_loss", "replace", "transfer_region", "cancel_card",
    }  # fmt: skip
    for member in [*Role, *OutletType, *ItemCode, *Requester]:
        assert CJK.search(member.label), member
    assert Role.HR_CLERK.label.endswith("经办人")


def test_capability_field_names() -> None:
    caps = OutletCapabilities(can_activate_social=True, instant_issuance=False, bank="abc")
    assert caps == OutletCapabilities(True, False, "abc")


def test_supervisor_roles() -> None:
    assert {Role.HR_SUPERVISOR, Role.BANK_SUPERVISOR} == SUPERVISOR_ROLES
    assert Role.BANK_SUPERVISOR.is_supervisor
    assert not Role.HR_CLERK.is_supervisor
    assert not Role.ADMIN.is_supervisor


def test_outlet_and_operator_validation() -> None:
    with pytest.raises(ValueError, match="bank"):
        Outlet("X", "某网点", OutletType.BANK_OUTLET, OutletCapabilities())
    with pytest.raises(ValueError, match="bank"):
        Outlet("X", "某窗口", OutletType.HR_WINDOW, OutletCapabilities(bank="abc"))
    with pytest.raises(ValueError, match="outlet"):
        Operator("1001", "张三", Role.HR_CLERK, None)
    assert Operator("0001", "管理员", Role.ADMIN, None).outlet_code is None


# --------------------------------------------------------------------------------------------
# Role × outlet type
# --------------------------------------------------------------------------------------------

ROLE_AT = {
    (Role.HR_CLERK, OutletType.HR_WINDOW): True,
    (Role.HR_CLERK, OutletType.BANK_OUTLET): False,
    (Role.HR_SUPERVISOR, OutletType.HR_WINDOW): True,
    (Role.HR_SUPERVISOR, OutletType.BANK_OUTLET): False,
    (Role.BANK_CLERK, OutletType.HR_WINDOW): False,
    (Role.BANK_CLERK, OutletType.BANK_OUTLET): True,
    (Role.BANK_SUPERVISOR, OutletType.HR_WINDOW): False,
    (Role.BANK_SUPERVISOR, OutletType.BANK_OUTLET): True,
    (Role.ADMIN, OutletType.HR_WINDOW): True,
    (Role.ADMIN, OutletType.BANK_OUTLET): True,
}


@pytest.mark.parametrize(("role", "outlet_type"), sorted(ROLE_AT))
def test_role_outlet_type_matrix(role: Role, outlet_type: OutletType) -> None:
    allowed = ROLE_AT[role, outlet_type]
    assert role_may_work_at(role, outlet_type) is allowed
    outlet = HR if outlet_type is OutletType.HR_WINDOW else BANK_A
    if allowed:
        check_role_at_outlet(role, outlet)
    else:
        with pytest.raises(NotPermitted) as caught:
            check_role_at_outlet(role, outlet)
        _refused(caught.value, "role_outlet_mismatch")


def test_operator_at_own_outlet_only() -> None:
    clerk = Operator("2001", "李四", Role.BANK_CLERK, BANK_A.code)
    check_operator_at_outlet(clerk, BANK_A)
    with pytest.raises(NotPermitted) as caught:
        check_operator_at_outlet(clerk, BANK_B)
    _refused(caught.value, "other_outlet")
    with pytest.raises(NotPermitted) as caught:
        check_operator_at_outlet(clerk, HR)
    _refused(caught.value, "role_outlet_mismatch")
    admin = Operator("0001", "管理员", Role.ADMIN, None)
    check_operator_at_outlet(admin, HR)
    check_operator_at_outlet(admin, BANK_B)


def test_confirmer_is_another_supervisor_at_the_same_outlet() -> None:
    clerk = Operator("1001", "张三", Role.HR_CLERK, HR.code)
    supervisor = Operator("1002", "王五", Role.HR_SUPERVISOR, HR.code)
    check_confirmer(supervisor, clerk, HR)
    with pytest.raises(NotPermitted) as caught:
        check_confirmer(Operator("1003", "赵六", Role.HR_CLERK, HR.code), clerk, HR)
    _refused(caught.value, "not_supervisor")
    with pytest.raises(NotPermitted) as caught:
        check_confirmer(supervisor, supervisor, HR)
    _refused(caught.value, "same_operator")
    with pytest.raises(NotPermitted) as caught:
        check_confirmer(Operator("1004", "钱七", Role.HR_SUPERVISOR, "511102-HR01"), clerk, HR)
    _refused(caught.value, "other_outlet")
    with pytest.raises(NotPermitted) as caught:
        check_confirmer(Operator("0001", "管理员", Role.ADMIN, None), clerk, HR)
    _refused(caught.value, "not_supervisor")


# --------------------------------------------------------------------------------------------
# Scope: HR windows change every card; bank outlets query all, change their own bank's
# --------------------------------------------------------------------------------------------

# (outlet, card bank) → may change
SCOPE = [
    (HR, "abc", True),
    (HR, "rcc", True),
    (HR, "ccb", True),
    (HR, None, True),
    (BANK_A, "abc", True),
    (BANK_A, "rcc", False),
    (BANK_A, None, False),
    (BANK_B, "rcc", True),
    (BANK_B, "abc", False),
]


@pytest.mark.parametrize(("outlet", "card_bank", "may_change"), SCOPE)
def test_scope_matrix(outlet: Outlet, card_bank: str | None, may_change: bool) -> None:
    assert may_change_card(outlet, card_bank) is may_change
    check_scope(outlet, ActionKind.QUERY, card_bank)  # everyone may query every card
    if may_change:
        check_scope(outlet, ActionKind.CHANGE, card_bank)
    else:
        with pytest.raises(NotPermitted) as caught:
            check_scope(outlet, ActionKind.CHANGE, card_bank)
        _refused(caught.value, "out_of_scope")
        assert isinstance(caught.value, DomainError)


def test_item_action_kinds() -> None:
    assert ItemCode.QUERY.action_kind is ActionKind.QUERY
    assert {item for item in ItemCode if item.action_kind is ActionKind.CHANGE} == set(ItemCode) - {
        ItemCode.QUERY
    }


def test_items_offered() -> None:
    assert set(ItemCode) == OUTLET_ITEMS[OutletType.HR_WINDOW]
    for item in ItemCode:
        check_item_offered(HR, item)
    for item in (ItemCode.APPLY, ItemCode.ACTIVATE, ItemCode.REPLACE, ItemCode.REPORT_LOSS,
                 ItemCode.CANCEL_LOSS, ItemCode.PIN_CHANGE, ItemCode.PIN_RESET, ItemCode.QUERY):  # fmt: skip
        check_item_offered(BANK_B, item)
    with pytest.raises(NotPermitted) as caught:
        check_item_offered(BANK_A, ItemCode.TRANSFER_REGION)
    _refused(caught.value, "item_not_offered")


def test_activation_capabilities() -> None:
    assert may_activate_social(HR)
    assert may_activate_social(BANK_A)
    assert not may_activate_social(BANK_B)
    assert not may_activate_financial(HR, "abc")
    assert may_activate_financial(BANK_A, "abc")
    assert not may_activate_financial(BANK_A, "rcc")


# --------------------------------------------------------------------------------------------
# Supervisor confirmation and non-holder PIN reset
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "by_holder", "expected"),
    [
        (ItemCode.CANCEL_CARD, True, True),
        (ItemCode.CANCEL_CARD, False, True),
        (CUSTODY_AUTHORISATION, True, True),
        (CUSTODY_AUTHORISATION, False, True),
        (ItemCode.PIN_RESET, True, False),
        (ItemCode.PIN_RESET, False, True),
        ("pin_reset", False, True),
        (ItemCode.APPLY, False, False),
        (ItemCode.REPLACE, True, False),
        (ItemCode.QUERY, False, False),
        (ItemCode.PIN_CHANGE, False, False),
    ],
)
def test_needs_supervisor(item: str, by_holder: bool, expected: bool) -> None:
    assert needs_supervisor(item, requested_by_holder=by_holder) is expected


def test_needs_supervisor_is_configurable_and_strict_about_codes() -> None:
    relaxed = SupervisorPolicy(always=frozenset({ItemCode.CANCEL_CARD}), when_not_holder=frozenset())
    assert not needs_supervisor(ItemCode.PIN_RESET, requested_by_holder=False, policy=relaxed)
    assert not needs_supervisor(CUSTODY_AUTHORISATION, requested_by_holder=True, policy=relaxed)
    with pytest.raises(ValueError, match="unknown item code"):
        needs_supervisor("cancel", requested_by_holder=True)


# (requester, holder is a minor, custody authorised) → refusal code or None
PIN_RESET = [
    (Requester.HOLDER, False, False, None),
    (Requester.HOLDER, True, False, None),
    (Requester.GUARDIAN, True, False, None),
    (Requester.GUARDIAN, False, False, "pin_reset_holder_only"),
    (Requester.CUSTODIAN, False, True, None),
    (Requester.CUSTODIAN, True, True, None),
    (Requester.CUSTODIAN, False, False, "custody_not_authorised"),
    (Requester.OTHER, True, True, "pin_reset_holder_only"),
    (Requester.OTHER, False, False, "pin_reset_holder_only"),
]


@pytest.mark.parametrize(("requester", "minor", "authorised", "code"), PIN_RESET)
def test_non_holder_pin_reset(requester: Requester, minor: bool, authorised: bool, code: str | None) -> None:
    allowed = may_request_pin_reset(requester, holder_is_minor=minor, custody_authorised=authorised)
    assert allowed is (code is None)
    if code is None:
        check_pin_reset_requester(requester, holder_is_minor=minor, custody_authorised=authorised)
    else:
        with pytest.raises(NotPermitted) as caught:
            check_pin_reset_requester(requester, holder_is_minor=minor, custody_authorised=authorised)
        _refused(caught.value, code)
