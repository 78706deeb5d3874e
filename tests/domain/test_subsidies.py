"""The "一卡通" subsidy catalog, the recipient rule, payment states and failure fixes."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest

from counter_app.domain.catalog import CatalogError, Source, brochure_texts, load_catalog
from counter_app.domain.subsidies import (
    FailureReason,
    OverrideReason,
    PaymentStatus,
    RecipientError,
    RecipientOverride,
    decide_recipient,
    load_subsidy_catalog,
    parse_subsidy_catalog,
)
from counter_app.resources import load_toml

#: SHA-256 of every brochure-tagged string of subsidies.toml (file order, joined by "\n"), computed after
#: checking each name against the brochure's seed text; re-verify with tools/check-brochure before
#: changing it.
PINNED_BROCHURE_SHA256 = "a2cece1f83fb5a17a3884f977900ee8afe86eda6f8e494cadd6cd5c6c7ec5c23"
PINNED_BROCHURE_COUNT = 38 + 33

WITH_SUB_ITEMS = {9: 2, 12: 6, 14: 3, 15: 4, 16: 6, 17: 5, 36: 7}


@pytest.fixture
def raw() -> dict[str, Any]:
    return copy.deepcopy(load_toml("catalog", "subsidies.toml"))


# --------------------------------------------------------------------------------------------
# Catalog
# --------------------------------------------------------------------------------------------


def test_39_categories_65_leaves() -> None:
    catalog = load_subsidy_catalog()
    assert catalog.category_count == 39
    assert catalog.leaf_count == 65
    assert [c.number for c in catalog] == list(range(1, 40))
    with_subs = {c.number: len(c.items) for c in catalog if c.has_sub_items}
    assert with_subs == WITH_SUB_ITEMS
    assert sum(with_subs.values()) == 33
    whole = [c for c in catalog if not c.has_sub_items and not c.is_placeholder]
    assert len(whole) == 31
    assert all(len(c.items) == 1 and c.items[0].code == str(c.number) for c in whole)
    assert load_subsidy_catalog() is catalog  # cached


def test_item_21_is_the_only_placeholder() -> None:
    catalog = load_subsidy_catalog()
    placeholders = [c.number for c in catalog if c.is_placeholder]
    assert placeholders == [21]
    c21 = catalog.category(21)
    assert c21.name.source is Source.ASSUMED
    assert c21.name.needs_confirmation
    assert "待确认" in c21.name.value
    (leaf,) = c21.items
    assert leaf.code == "21"
    assert leaf.is_placeholder
    assert leaf.needs_confirmation
    unconfirmed = [leaf.code for leaf in catalog.leaves if leaf.needs_confirmation]
    assert unconfirmed == ["21"]
    assert all(c.name.source is Source.BROCHURE for c in catalog if c.number != 21)


def test_subsidy_names_are_pinned(raw: dict[str, Any]) -> None:
    names = brochure_texts(raw)
    assert len(names) == PINNED_BROCHURE_COUNT
    digest = hashlib.sha256("\n".join(names).encode("utf-8")).hexdigest()
    assert digest == PINNED_BROCHURE_SHA256, "a subsidy name changed: verify it against the seed"


def test_lookup_by_leaf_code() -> None:
    catalog = load_subsidy_catalog()
    leaf = catalog.by_leaf_code("15.3")
    assert leaf.name.value == "临时救助金(部分急难型临时救助金除外)"  # half-width, as printed
    assert catalog.full_name(leaf) == "困难群众救助资金—临时救助金(部分急难型临时救助金除外)"
    assert catalog.by_leaf_code("25").name.value == "建档立卡贫困本专科(含高职)学生特别资助"
    assert catalog.full_name(catalog.by_leaf_code("1")) == "耕地地力保护补贴资金"
    assert catalog.by_leaf_code("36.7").name.value == "残疾人机动轮椅车燃油补贴"
    codes = [leaf.code for leaf in catalog.leaves]
    assert len(set(codes)) == 65
    with pytest.raises(KeyError):
        catalog.by_leaf_code("15.5")


def test_household_flags_are_assumed() -> None:
    catalog = load_subsidy_catalog()
    for code in ("1", "7", "15.1"):
        leaf = catalog.by_leaf_code(code)
        assert leaf.household.value, code
        assert leaf.household.source is Source.ASSUMED
    for code in ("15.2", "16.1", "37"):
        assert not catalog.by_leaf_code(code).household.value, code
    assert all(leaf.household.needs_confirmation for leaf in catalog.leaves)


def test_validation_names_the_file_and_category(raw: dict[str, Any]) -> None:
    raw["categories"][14]["sub_items"][0]["code"] = "15.9"
    with pytest.raises(CatalogError, match=r"subsidies\.toml: category 15, sub-item #1.*15\.1"):
        parse_subsidy_catalog(raw, file="catalog/subsidies.toml")


def test_counts_are_enforced(raw: dict[str, Any]) -> None:
    del raw["categories"][14]["sub_items"][3]
    with pytest.raises(CatalogError, match="39 categories / 64 leaves, expected 39 / 65"):
        parse_subsidy_catalog(raw)


def test_placeholder_must_be_assumed_and_names_from_the_brochure(raw: dict[str, Any]) -> None:
    raw["categories"][20]["name"]["source"] = "brochure"
    with pytest.raises(CatalogError, match=r"category 21.*placeholder"):
        parse_subsidy_catalog(raw)
    raw2 = copy.deepcopy(load_toml("catalog", "subsidies.toml"))
    raw2["categories"][0]["name"]["source"] = "assumed"
    with pytest.raises(CatalogError, match=r"category 1:.*brochure"):
        parse_subsidy_catalog(raw2)


# --------------------------------------------------------------------------------------------
# Recipient: the person, or the head of household by default
# --------------------------------------------------------------------------------------------


def test_per_person_item_pays_the_person() -> None:
    leaf = load_subsidy_catalog().by_leaf_code("37")  # 高龄津贴
    decision = decide_recipient(leaf, person_id="P-1", head_of_household_id="H-1")
    assert decision.recipient_id == "P-1"
    assert decision.is_default
    assert decision.override_reason is None
    with pytest.raises(RecipientError) as info:
        decide_recipient(
            leaf,
            person_id="P-1",
            override=RecipientOverride("P-2", OverrideReason.OTHER, "本人住院"),
        )
    assert info.value.code == "person_item_no_override"


def test_household_item_pays_the_head_by_default() -> None:
    leaf = load_subsidy_catalog().by_leaf_code("1")  # 耕地地力保护补贴资金
    decision = decide_recipient(leaf, person_id="M-2", head_of_household_id="H-1")
    assert decision.recipient_id == "H-1"
    assert decision.is_default
    assert decision.item_code == "1"
    with pytest.raises(RecipientError) as info:
        decide_recipient(leaf, person_id="M-2")
    assert info.value.code == "head_required"


@pytest.mark.parametrize("reason", [OverrideReason.HEAD_DECEASED, OverrideReason.HEAD_WITHOUT_CARD])
def test_household_override_is_recorded(reason: OverrideReason) -> None:
    leaf = load_subsidy_catalog().by_leaf_code("15.1")  # 最低生活保障金
    decision = decide_recipient(
        leaf, person_id="M-2", head_of_household_id="H-1", override=RecipientOverride("M-2", reason)
    )
    assert decision.recipient_id == "M-2"
    assert not decision.is_default
    assert decision.override_reason is reason
    assert reason.label in {"户主已故", "户主无可用的社会保障卡"}


def test_household_override_other_needs_a_note() -> None:
    leaf = load_subsidy_catalog().by_leaf_code("7")
    kw: dict[str, Any] = {"person_id": "M-2", "head_of_household_id": "H-1"}
    with pytest.raises(RecipientError) as info:
        decide_recipient(leaf, **kw, override=RecipientOverride("M-2", OverrideReason.OTHER, "  "))
    assert info.value.code == "override_note_required"
    decision = decide_recipient(
        leaf, **kw, override=RecipientOverride("M-2", OverrideReason.OTHER, " 户主长期外出务工 ")
    )
    assert decision.note == "户主长期外出务工"
    assert decision.override_reason is OverrideReason.OTHER
    with pytest.raises(RecipientError) as info:
        decide_recipient(leaf, **kw, override=RecipientOverride("H-1", OverrideReason.HEAD_DECEASED))
    assert info.value.code == "override_is_head"


# --------------------------------------------------------------------------------------------
# Payment status and failure reasons
# --------------------------------------------------------------------------------------------


def test_payment_status_labels() -> None:
    assert [s.label for s in PaymentStatus] == ["待发", "已发", "失败", "退回", "重发"]
    assert PaymentStatus.from_label("退回") is PaymentStatus.RETURNED
    assert {s for s in PaymentStatus if s.may_resend} == {PaymentStatus.FAILED, PaymentStatus.RETURNED}
    with pytest.raises(ValueError, match="unknown payment status"):
        PaymentStatus.from_label("已到账")


def test_failure_reasons_and_their_labels() -> None:
    labels = {r.label for r in FailureReason}
    assert {"户名不符", "证件号不符", "卡挂失", "卡注销", "账户未激活"} <= labels
    assert FailureReason.from_label("卡挂失") is FailureReason.CARD_LOST


def test_every_failure_reason_has_a_fix_that_is_a_catalog_item() -> None:
    codes = set(load_catalog().codes)
    for reason in FailureReason:
        assert reason.fixes, reason
        assert set(reason.fixes) <= codes, reason
        assert reason.hint


def test_card_side_fixes() -> None:
    assert FailureReason.CARD_LOST.fixes == ("cancel_loss", "replace")
    assert FailureReason.ACCOUNT_INACTIVE.fixes == ("activate",)
    assert set(FailureReason.CARD_CANCELLED.fixes) == {"replace", "apply"}
    assert FailureReason.NAME_MISMATCH.fixes == ("change_key_info",)
