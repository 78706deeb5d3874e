"""The service-item catalog: brochure fidelity, sources, and who may do what where."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest

from counter_app.domain.catalog import (
    AccessReason,
    CardWork,
    CatalogError,
    FeeRule,
    OfflineMode,
    ServiceNotAllowed,
    Source,
    SupervisorRule,
    brochure_texts,
    load_catalog,
    parse_catalog,
)
from counter_app.resources import load_toml

#: SHA-256 of every brochure-tagged string of service_items.toml (values and quotes, file order,
#: joined by "\n"), computed after checking each one against the brochure's seed text. An edit to a
#: brochure text fails here even where the seed is not available; re-verify with tools/check-brochure
#: before changing the pin.
PINNED_BROCHURE_SHA256 = "f3e1af6bf1eca3152119e0cb76af190a169642f11d8106a8a55cfbcc08c8dee3"
PINNED_BROCHURE_COUNT = 116

CODES = [
    "apply",
    "activate",
    "change_key_info",
    "change_contact",
    "query",
    "pin_change",
    "pin_reset",
    "report_loss",
    "cancel_loss",
    "replace",
    "transfer_region",
    "cancel_card",
]
SECTIONS = ["三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二", "十三", "十四"]
ALL_ROLES = ["hr_clerk", "hr_supervisor", "bank_clerk", "bank_supervisor", "admin"]
BANK_ITEMS = {
    "apply",
    "activate",
    "query",
    "pin_change",
    "pin_reset",
    "report_loss",
    "cancel_loss",
    "replace",
}


@pytest.fixture
def raw() -> dict[str, Any]:
    return copy.deepcopy(load_toml("catalog", "service_items.toml"))


# --------------------------------------------------------------------------------------------
# Shape and brochure fidelity
# --------------------------------------------------------------------------------------------


def test_twelve_items_in_brochure_order() -> None:
    catalog = load_catalog()
    assert list(catalog.codes) == CODES
    assert [i.number for i in catalog] == list(range(1, 13))
    assert [i.section for i in catalog] == SECTIONS
    assert catalog.by_code("replace").name.value == "社会保障卡补换卡"
    assert catalog.by_code("pin_reset").short_name == "密码重置"
    assert load_catalog() is catalog  # cached


def test_unknown_item_code() -> None:
    with pytest.raises(KeyError, match="transfer"):
        load_catalog().by_code("transfer")


def test_brochure_texts_are_pinned(raw: dict[str, Any]) -> None:
    strings = brochure_texts(raw)
    assert len(strings) == PINNED_BROCHURE_COUNT
    digest = hashlib.sha256("\n".join(strings).encode("utf-8")).hexdigest()
    assert digest == PINNED_BROCHURE_SHA256, "a brochure text changed: verify it against the seed"


def test_every_brochure_text_of_the_api_is_covered_by_the_check(raw: dict[str, Any]) -> None:
    checked = set(brochure_texts(raw))
    for item in load_catalog():
        for _label, text in item.texts():
            if text.source is Source.BROCHURE:
                assert text.value in checked
        for v in item.variants:
            if v.source is Source.BROCHURE:
                assert v.quote in checked


def test_the_seven_thin_items_keep_only_online_and_consultation() -> None:
    for code in (
        "change_contact",
        "query",
        "pin_change",
        "pin_reset",
        "report_loss",
        "cancel_loss",
        "cancel_card",
    ):
        item = load_catalog().by_code(code)
        from_brochure = {label for label, t in item.texts() if t.source is Source.BROCHURE}
        assert from_brochure == {"事项名称", "在线办理方式", "咨询方式"}, code
        assert item.service_object.needs_confirmation
        assert item.service_object.mark == "待确认"
        assert all(m.needs_confirmation for m in item.materials_checklist)


def test_activation_and_key_info_change_are_nearly_complete() -> None:
    for code in ("activate", "change_key_info"):
        item = load_catalog().by_code(code)
        assumed = [label for label, t in item.texts() if t.needs_confirmation]
        assert assumed == ([] if code == "activate" else ["说明"]), code
        assert item.legal_basis.value == "四川省社会保障卡经办服务规程（试行）"


def test_replacement_and_transfer_keep_process_fee_time_and_proxy() -> None:
    for code in ("replace", "transfer_region"):
        item = load_catalog().by_code(code)
        assert all(s.text.source is Source.BROCHURE for s in item.process)
        assert item.fee.text.source is Source.BROCHURE
        assert item.time_limit.text.source is Source.BROCHURE
        assert all(p.source is Source.BROCHURE for p in item.proxy)
        assert item.conditions.needs_confirmation
    replace = load_catalog().by_code("replace")
    assert [s.level for s in replace.process] == [1, 2, 2, 2, 2, 2]


def test_application_texts_found_after_the_subsidy_list() -> None:
    apply = load_catalog().by_code("apply")
    assert len(apply.process) == 6
    assert apply.time_limit.working_days == 60
    assert not apply.time_limit.same_day
    assert apply.fee.rule is FeeRule.FIRST_FREE
    assert apply.fee.text.source is Source.BROCHURE
    assert len(apply.proxy) == 2
    assert apply.notes[0].value.startswith("个人也可携带有效身份证件到我市156个快速制卡网点制卡")
    assert apply.service_object.needs_confirmation  # header fields lost


def test_consultation_keeps_the_brochure_wording() -> None:
    for item in load_catalog():
        values = [c.value for c in item.consultation]
        assert values[0] == "12345咨询电话"
        assert any("2101916" in v for v in values)
        assert not any("0833" in v for v in values)
        assert all(c.source is Source.BROCHURE for c in item.consultation)
    assert [c.value for c in load_catalog().by_code("apply").consultation][1] == (
        "乐山市社会保障卡管理中心 电话：2101916"
    )


def test_materials_checklists() -> None:
    catalog = load_catalog()
    assert [m.value for m in catalog.by_code("activate").materials_checklist] == [
        "持本人社会保障卡和身份证原件等有效身份证件"
    ]
    transfer = catalog.by_code("transfer_region").materials_checklist
    assert [m.value for m in transfer] == ["社会保障卡", "社会保险关系转移接续证明材料"]
    assert all(m.source is Source.BROCHURE for m in transfer)
    for item in catalog:
        assert item.materials_checklist, item.code


def test_time_limits_and_fees() -> None:
    catalog = load_catalog()
    for item in catalog:
        if item.code == "apply":
            continue
        assert item.time_limit.same_day, item.code
        assert item.time_limit.text.value == "当场办结"
    assert catalog.by_code("replace").fee.rule is FeeRule.BANK_STANDARD
    assert catalog.by_code("activate").fee.rule is FeeRule.FREE
    assert catalog.by_code("activate").fee.text.value == "无"


def test_offline_behaviour_per_domain_table() -> None:
    offline = {i.code: i.offline.value for i in load_catalog()}
    assert offline.pop("change_contact") is OfflineMode.QUEUED
    assert offline.pop("query") is OfflineMode.REPLICA_READ
    assert offline.pop("pin_change") is OfflineMode.LOCAL_ONLY
    assert set(offline.values()) == {OfflineMode.ONLINE_ONLY}


def test_server_commands_and_card_work() -> None:
    catalog = load_catalog()
    assert catalog.by_code("apply").commands.value == ("apply", "instant_issue", "hand_over")
    assert catalog.by_code("pin_reset").commands.value == ("pin_reset", "pin_unblock")
    assert catalog.by_code("query").commands.value == ()
    assert catalog.by_code("pin_change").commands.value == ()
    assert catalog.by_code("cancel_card").commands.value == ("cancel_card",)
    assert catalog.by_code("pin_reset").variant("unblock").commands == ("pin_unblock",)
    assert catalog.by_code("apply").card_work.code is CardWork.PERSONALISE_PREFAB
    assert catalog.by_code("change_key_info").card_work.code is CardWork.NONE
    assert catalog.by_code("pin_change").card_work.code is CardWork.CHANGE_PIN


def test_supervisor_confirmation() -> None:
    catalog = load_catalog()
    assert catalog.by_code("cancel_card").supervisor.value is SupervisorRule.ALWAYS
    assert catalog.by_code("cancel_card").needs_supervisor(requested_by_holder=True)
    reset = catalog.by_code("pin_reset")
    assert reset.needs_supervisor(requested_by_holder=False)
    assert not reset.needs_supervisor(requested_by_holder=True)
    others = [i for i in catalog if i.code not in ("cancel_card", "pin_reset")]
    assert all(i.supervisor.value is SupervisorRule.NEVER for i in others)


# --------------------------------------------------------------------------------------------
# Who may do what where
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["hr_clerk", "hr_supervisor"])
def test_hr_window_may_do_every_item(role: str) -> None:
    catalog = load_catalog()
    for item in catalog:
        decision = item.check_access(role=role, outlet_type="hr_window")
        assert decision.allowed, (item.code, decision)
    assert [i.code for i in catalog.offered(role=role, outlet_type="hr_window")] == CODES


@pytest.mark.parametrize("role", ["bank_clerk", "bank_supervisor"])
def test_bank_outlet_items(role: str) -> None:
    catalog = load_catalog()
    offered = {i.code for i in catalog.offered(role=role, outlet_type="bank_outlet")}
    assert offered == BANK_ITEMS
    decision = catalog.check_access("transfer_region", role=role, outlet_type="bank_outlet")
    assert not decision
    assert decision.reason is AccessReason.ITEM_NOT_OFFERED
    assert "参保地变更" in decision.message
    assert decision.hint is not None
    assert "人社社会保障卡服务窗口" in decision.hint


def test_bank_outlet_without_social_activation() -> None:
    activate = load_catalog().by_code("activate")
    kw: dict[str, Any] = {"role": "bank_clerk", "outlet_type": "bank_outlet"}
    social = activate.check_access(**kw, variant="social")
    assert social.reason is AccessReason.CAPABILITY_MISSING
    assert "社保卡功能激活" in social.message
    assert activate.check_access(**kw, variant="financial").allowed
    assert activate.check_access(**kw).allowed  # the financial side remains
    assert [v.code for v in activate.available_variants(**kw)] == ["financial"]
    capable = activate.check_access(**kw, capabilities=["can_activate_social"], variant="social")
    assert capable.allowed
    assert activate.variant("social").source is Source.BROCHURE


def test_hr_window_activates_the_social_function_only() -> None:
    activate = load_catalog().by_code("activate")
    assert activate.check_access(role="hr_clerk", outlet_type="hr_window", variant="social").allowed
    financial = activate.check_access(role="hr_clerk", outlet_type="hr_window", variant="financial")
    assert financial.reason is AccessReason.VARIANT_NOT_OFFERED


def test_instant_issuance_needs_the_equipment() -> None:
    catalog = load_catalog()
    for outlet, role in (("hr_window", "hr_clerk"), ("bank_outlet", "bank_clerk")):
        refused = catalog.check_access("apply", role=role, outlet_type=outlet, variant="instant")
        assert refused.reason is AccessReason.CAPABILITY_MISSING
        assert catalog.check_access(
            "apply", role=role, outlet_type=outlet, capabilities={"instant_issuance"}, variant="instant"
        ).allowed
        assert catalog.check_access("apply", role=role, outlet_type=outlet, variant="standard").allowed
    replace = catalog.by_code("replace")
    bank = {"role": "bank_clerk", "outlet_type": "bank_outlet"}
    assert replace.check_access(**bank, variant="instant").reason is AccessReason.CAPABILITY_MISSING
    assert replace.check_access(**bank, variant="prefab_handout").allowed
    assert replace.check_access(**bank, capabilities=["instant_issuance"], variant="instant").allowed
    hr = replace.available_variants(role="hr_clerk", outlet_type="hr_window")
    assert [v.code for v in hr] == ["prefab_personalise"]


def test_roles_must_match_the_outlet_and_admin_does_no_service() -> None:
    catalog = load_catalog()
    mismatch = catalog.check_access("query", role="bank_clerk", outlet_type="hr_window")
    assert mismatch.reason is AccessReason.ROLE_OUTLET_MISMATCH
    mismatch = catalog.check_access("query", role="hr_clerk", outlet_type="bank_outlet")
    assert mismatch.reason is AccessReason.ROLE_OUTLET_MISMATCH
    for outlet in ("hr_window", "bank_outlet"):
        admin = catalog.check_access("query", role="admin", outlet_type=outlet)
        assert admin.reason is AccessReason.ROLE_NOT_ALLOWED
        assert catalog.offered(role="admin", outlet_type=outlet) == ()


def test_refusal_can_be_raised_as_a_domain_error() -> None:
    decision = load_catalog().check_access("cancel_card", role="bank_clerk", outlet_type="bank_outlet")
    with pytest.raises(ServiceNotAllowed) as info:
        decision.raise_if_refused()
    assert info.value.code == "item_not_offered"
    assert "注销" in info.value.message
    load_catalog().check_access("query", role="bank_clerk", outlet_type="bank_outlet").raise_if_refused()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"role": "teller", "outlet_type": "hr_window"}, "unknown role"),
        ({"role": "hr_clerk", "outlet_type": "kiosk"}, "unknown outlet type"),
        ({"role": "hr_clerk", "outlet_type": "hr_window", "capabilities": ["bank"]}, "unknown capability"),
        ({"role": "hr_clerk", "outlet_type": "hr_window", "variant": "both"}, "no variant"),
    ],
)
def test_unknown_codes_are_programming_errors(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        load_catalog().check_access("activate", **kwargs)


def test_every_role_is_known_and_roles_follow_outlets() -> None:
    for item in load_catalog():
        assert set(item.roles.value) <= set(ALL_ROLES)
        assert "admin" not in item.roles.value
        if "bank_outlet" in item.outlet_types.value:
            assert {"bank_clerk", "bank_supervisor"} <= set(item.roles.value)


# --------------------------------------------------------------------------------------------
# Validation on load
# --------------------------------------------------------------------------------------------


def _item(raw: dict[str, Any], code: str) -> dict[str, Any]:
    return next(i for i in raw["items"] if i["code"] == code)


def test_raw_data_parse_as_shipped(raw: dict[str, Any]) -> None:
    assert parse_catalog(raw).codes == load_catalog().codes


def test_unknown_role_names_file_and_item(raw: dict[str, Any]) -> None:
    _item(raw, "activate")["roles"]["value"].append("bank_teller")
    with pytest.raises(
        CatalogError, match=r"service_items\.toml: item 'activate' \(#2\).*'roles'.*bank_teller"
    ):
        parse_catalog(raw, file="catalog/service_items.toml")


def test_unknown_outlet_type(raw: dict[str, Any]) -> None:
    _item(raw, "query")["outlet_types"]["value"] = ["hr_window", "kiosk"]
    with pytest.raises(CatalogError, match=r"item 'query'.*'outlet_types'.*kiosk"):
        parse_catalog(raw)


def test_unknown_capability(raw: dict[str, Any]) -> None:
    _item(raw, "replace")["variants"][0]["requires"]["bank_outlet"] = ["card_printer"]
    with pytest.raises(CatalogError, match=r"item 'replace'.*variant 'instant'.*card_printer"):
        parse_catalog(raw)


def test_unknown_offline_value(raw: dict[str, Any]) -> None:
    _item(raw, "pin_change")["offline"]["value"] = "sometimes"
    with pytest.raises(CatalogError, match=r"item 'pin_change'.*'offline'.*sometimes"):
        parse_catalog(raw)


def test_unknown_source_and_misspelt_key(raw: dict[str, Any]) -> None:
    _item(raw, "apply")["name"]["source"] = "guess"
    with pytest.raises(CatalogError, match=r"item 'apply'.*'name'.*guess"):
        parse_catalog(raw)
    raw2 = copy.deepcopy(load_toml("catalog", "service_items.toml"))
    _item(raw2, "apply")["name"]["souce"] = "brochure"
    with pytest.raises(CatalogError, match=r"unknown key.*souce"):
        parse_catalog(raw2)


def test_brochure_rule_needs_its_quote(raw: dict[str, Any]) -> None:
    del _item(raw, "activate")["variants"][0]["quote"]
    with pytest.raises(CatalogError, match=r"variant 'social'.*quote"):
        parse_catalog(raw)


def test_time_limit_text_and_days_must_agree(raw: dict[str, Any]) -> None:
    _item(raw, "apply")["time_limit"]["working_days"] = 30
    with pytest.raises(CatalogError, match=r"item 'apply'.*working_days = 30"):
        parse_catalog(raw)


def test_role_that_cannot_work_at_the_items_outlets(raw: dict[str, Any]) -> None:
    _item(raw, "transfer_region")["roles"]["value"].append("bank_clerk")
    with pytest.raises(CatalogError, match=r"item 'transfer_region'.*bank_clerk"):
        parse_catalog(raw)


def test_text_with_surrounding_whitespace_is_refused(raw: dict[str, Any]) -> None:
    _item(raw, "activate")["materials"][0]["value"] += " "
    with pytest.raises(CatalogError, match=r"item 'activate'.*'materials'\[0\].*whitespace"):
        parse_catalog(raw)


def test_numbers_must_follow_file_order(raw: dict[str, Any]) -> None:
    raw["items"][0], raw["items"][1] = raw["items"][1], raw["items"][0]
    with pytest.raises(CatalogError, match="numbers"):
        parse_catalog(raw)
