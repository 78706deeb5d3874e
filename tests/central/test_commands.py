"""The commands beyond the bare table: who may do what where, person records, PINs, replacement
flows, production, policy flags, 受理编号, agents and custody — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from httpx import Response

from central.upstream.province import card_number_check_character
from counter_app.domain.card_lifecycle import SocialStatus
from tests.central.helpers import (
    ADMIN,
    GH,
    HR,
    HR2,
    HR_EB,
    HR_SUPERVISOR,
    NH,
    NH_SUPERVISOR,
    NX,
    PASSWORDS,
    Api,
    assert_problem,
    counter_credential,
    id_number,
)

S = SocialStatus


def blank_identifier(n: int) -> str:
    """A 卡识别码 as read from a 预制卡 chip."""
    return f"511102D156000005{n:016X}"


def card(card_id: int) -> dict[str, dict[str, int]]:
    return {"card": {"card_id": card_id}}


# --------------------------------------------------------------------------------------------
# 申领 and the person record
# --------------------------------------------------------------------------------------------


def test_apply_registers_a_new_person_from_a_checked_id_number(api: Api) -> None:
    number = id_number(birth=date(1988, 3, 9), region="511133", sex="2")
    body = {
        "person": {"id_number": number, "name": "阿苦阿呷", "ethnicity": "07", "phone": "13912345678"},
        "bank": "邮储银行",
    }
    result = api.ok("apply", body)
    assert result["card"]["status"] == "applied" and result["card"]["bank"] == "邮储银行"
    person = api.client.get("/persons", params={"id_number": number}).json()
    assert (person["name"], person["sex"], person["birth_date"]) == ("阿苦阿呷", "2", "1988-03-09")
    assert person["ethnicity_label"] == "彝族" and person["birthplace"] == "511133"
    assert [t["acceptance_number"] for t in person["transactions"]] == [result["acceptance_number"]]
    assert person["history"][0]["command"] == "apply"


def test_a_bad_id_number_is_a_422_naming_the_rule_and_creates_nothing(api: Api) -> None:
    number = id_number()
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    problem = api.invalid(
        "apply",
        {"person": {"id_number": wrong, "name": "李四", "ethnicity": "01"}, "bank": "农业银行"},
        "id_number",
    )
    assert problem["rule"] == "check_character"
    assert problem["failures"][0]["rule"] == "check_character"
    assert not any(ch.isdigit() for ch in problem["detail"].split("：", 1)[1])  # never hints a digit
    bad_date = "51110219990231" + "0011"
    problem = api.invalid(
        "apply", {"person": {"id_number": bad_date, "name": "李四", "ethnicity": "01"}}, "id_number"
    )
    assert problem["rule"] in ("birth_date", "check_character")


def test_a_new_person_needs_name_and_ethnicity(api: Api) -> None:
    problem = api.invalid(
        "apply", {"person": {"id_number": id_number()}, "bank": "农业银行"}, "person_incomplete"
    )
    assert problem["missing"] == ["姓名", "民族"]


def test_an_hr_window_asks_for_the_bank_a_bank_outlet_uses_its_own(api: Api) -> None:
    person = api.person()
    api.invalid("apply", {"person": person["ref"]}, "bank_required")
    api.invalid("apply", {"person": person["ref"], "bank": "花旗银行"}, "bank")
    result = api.ok("apply", {"person": person["ref"]}, at=NH)
    assert result["card"]["bank"] == "农业银行"


def test_a_bank_outlet_cannot_apply_for_another_banks_card(api: Api) -> None:
    person = api.person()
    problem = api.refused("apply", {"person": person["ref"], "bank": "工商银行"}, "out_of_scope", at=NH)
    assert "工商银行" in problem["detail"]


def test_apply_for_a_known_person_with_another_name_is_refused(api: Api) -> None:
    person = api.person(name="王五")
    api.refused(
        "apply", {"person": {**person["ref"], "name": "王六"}, "bank": "农业银行"}, "person_data_mismatch"
    )


def test_apply_for_a_deceased_person_is_refused(api: Api) -> None:
    person = api.person(deceased_on=date(2025, 1, 1))
    api.refused("apply", {"person": person["ref"], "bank": "农业银行"}, "person_deceased")


def test_known_duplicates_do_not_count_for_the_one_card_rule(api: Api) -> None:
    person = api.person()
    duplicate = api.card(person["id"], S.ACTIVE, known_duplicate=True)
    api.card(person["id"], S.ACTIVE)  # the regular card: the index allows both
    api.refused("apply", {"person": person["ref"], "bank": "农业银行"}, "has_card")
    api.refused("activate", {**card(duplicate), "functions": ["social"]}, "already_active")
    result = api.ok("cancel_card", {**card(duplicate), "reason": "duplicate"}, confirmer=HR_SUPERVISOR)
    assert result["card"]["status"] == "cancelled"


def test_a_known_duplicate_cannot_be_activated_or_multiplied(api: Api) -> None:
    person = api.person()
    duplicate = api.card(person["id"], S.ISSUED_INACTIVE, known_duplicate=True)
    api.refused("activate", {**card(duplicate), "functions": ["social"]}, "known_duplicate")
    api.refused("replace", {**card(duplicate), "kind": "exchange", "reason": "损坏"}, "known_duplicate")


# --------------------------------------------------------------------------------------------
# Where: roles, outlets, capabilities, scope
# --------------------------------------------------------------------------------------------


def test_operators_sign_in_only_at_their_own_outlet_and_an_enrolled_counter(api: Api) -> None:
    person = api.person()
    body = {"person": person["ref"], "bank": "农业银行"}

    def sign_in(operator: str, counter: str = "01", password: str | None = None) -> Response:
        return api.raw.post(
            "/auth/sign-in",
            json={"operator_number": operator, "password": password or PASSWORDS.get(operator, "x")},
            headers={"X-Counter-Key": counter_credential("511102001", counter)},
        )

    assert_problem(sign_in("NOBODY"), 401, "auth/invalid_credentials")
    assert_problem(sign_in("HR0201"), 403, "forbidden/other_outlet")
    assert_problem(sign_in("NH0101"), 403, "forbidden/other_outlet")
    assert_problem(sign_in("HR0101", counter="09"), 401, "auth/counter_credential_invalid")
    api.refused("apply", body, "role_not_allowed", at=("ADMIN01", "511102001", "01"))
    assert_problem(api.command("start_production", {}, at=HR), 403, "forbidden/role_not_allowed")


def test_social_activation_needs_the_capability_at_a_bank_outlet(api: Api) -> None:
    person = api.person()
    card_id = api.card(person["id"], S.ISSUED_INACTIVE, bank="四川农信")
    api.refused("activate", {**card(card_id), "functions": ["social"]}, "capability_missing", at=NX)
    result = api.ok("activate", {**card(card_id), "functions": ["financial"]}, at=NX)
    assert result["card"]["status"] == "issued_inactive" and result["card"]["financial_status"] == "active"
    api.refused("activate", {**card(card_id), "functions": ["financial"]}, "financial_not_inactive", at=NX)
    assert api.ok("activate", {**card(card_id), "functions": ["social"]})["card"]["status"] == "active"


def test_hr_windows_never_activate_the_financial_function(api: Api) -> None:
    person = api.person()
    card_id = api.card(person["id"], S.ISSUED_INACTIVE)
    api.refused("activate", {**card(card_id), "functions": ["social", "financial"]}, "variant_not_offered")


def test_a_capable_bank_outlet_activates_both_for_its_own_cards_only(api: Api) -> None:
    person = api.person()
    own = api.card(person["id"], S.ISSUED_INACTIVE, bank="农业银行")
    result = api.ok("activate", {**card(own), "functions": ["social", "financial"]}, at=NH)
    assert (result["card"]["status"], result["card"]["financial_status"]) == ("active", "active")
    other = api.person()
    foreign = api.card(other["id"], S.ISSUED_INACTIVE, bank="建设银行")
    problem = api.refused("activate", {**card(foreign), "functions": ["social"]}, "out_of_scope", at=NH)
    assert "建设银行" in problem["detail"]
    # …but any outlet may look at any card
    number = api.card_row(foreign).card_number
    assert api.client.get("/cards", params={"card_number": number}).status_code == 200


def test_bank_outlets_do_not_offer_hr_only_items(api: Api) -> None:
    person = api.person()
    card_id = api.card(person["id"], S.ACTIVE, bank="农业银行")
    api.refused(
        "transfer_region",
        {"person": person["ref"], "to_region": "511181", "certificate_number": "Z1"},
        "item_not_offered",
        at=NH,
    )
    api.refused(
        "change_key_info",
        {"person": person["ref"], "name": "新名", "evidence": "户口簿"},
        "item_not_offered",
        at=NH,
    )
    api.refused(
        "cancel_card",
        {**card(card_id), "reason": "other"},
        "item_not_offered",
        at=NH,
        confirmer=NH_SUPERVISOR,
    )


def test_instant_issuance_needs_the_equipment(api: Api) -> None:
    person = api.person()
    card_id = api.card(person["id"], S.APPLIED)
    body = {**card(card_id), "card_identifier_read": blank_identifier(1)}
    api.refused("instant_issue", body, "capability_missing", at=HR_EB)
    api.refused("instant_issue", body, "capability_missing", at=GH)


# --------------------------------------------------------------------------------------------
# Issuance: instant, batch production and 回盘, hand-over
# --------------------------------------------------------------------------------------------


def test_instant_issue_checks_the_chip_identifier_and_allocates_the_card_number(api: Api) -> None:
    person = api.person()
    card_id = api.card(person["id"], S.APPLIED)
    api.invalid("instant_issue", card(card_id), "card_identifier_required")
    problem = api.invalid(
        "instant_issue",
        {**card(card_id), "card_identifier_read": "511102D15600000X00000000000000"},
        "card_identifier",
    )
    assert problem["failures"]
    result = api.ok(
        "instant_issue", {**card(card_id), "card_identifier_read": blank_identifier(7).lower()}, at=NH
    )
    issued = result["card"]
    assert issued["status"] == "issued_inactive" and issued["card_identifier"] == blank_identifier(7)
    body, check = issued["card_number"][:8], issued["card_number"][8]
    assert card_number_check_character(body) == check
    assert issued["expires_on"] == (date.fromisoformat(issued["issued_on"]).replace(year=2036)).isoformat()
    assert issued["account_masked"].startswith("622848")
    other = api.person()
    other_card = api.card(other["id"], S.APPLIED)
    api.refused(
        "instant_issue",
        {**card(other_card), "card_identifier_read": blank_identifier(7)},
        "card_identifier_in_use",
        at=NH,
    )


def test_a_name_the_chip_cannot_hold_blocks_instant_issuance_only(api: Api) -> None:
    person = api.person(name="王𠮷")
    card_id = api.card(person["id"], S.APPLIED)
    problem = api.refused(
        "instant_issue", {**card(card_id), "card_identifier_read": blank_identifier(5)}, "name_not_writable"
    )
    assert "𠮷" in problem["detail"]
    assert api.client.get(f"/persons/{person['id']}").json()["name"] == "王𠮷"


def test_batch_production_return_and_hand_over(api: Api) -> None:
    people = [api.person() for _ in range(3)]
    cards = [api.ok("apply", {"person": p["ref"], "bank": "建设银行"})["card"]["id"] for p in people]
    started = api.ok("start_production", {"simulate_return": True}, at=ADMIN)["data"]
    assert started["card_ids"] == cards and started["count"] == 3
    records = started["simulated_return"]
    assert all(api.status(c) == "in_production" for c in cards)
    bad = [dict(records[0], card_number="L000"), *records[1:]]
    problem = assert_problem(
        api.command("production_done", {"batch_number": started["batch_number"], "records": bad}, at=ADMIN),
        409,
        "refused/return_rejected",
    )
    assert [e["card_id"] for e in problem["errors"]] == [cards[0]]
    assert all(api.status(c) == "in_production" for c in cards)  # all or nothing
    api.ok("production_done", {"batch_number": started["batch_number"], "records": records}, at=ADMIN)
    assert all(api.status(c) == "ready_for_pickup" for c in cards)
    handed = api.ok("hand_over", {"person": people[0]["ref"]})
    assert (
        handed["card"]["status"] == "issued_inactive"
        and handed["card"]["card_number"] == records[0]["card_number"]
    )
    api.refused(
        "production_done", {"batch_number": "P-OTHER", "records": records[1:2]}, "return_rejected", at=ADMIN
    )


# --------------------------------------------------------------------------------------------
# Replacement flows
# --------------------------------------------------------------------------------------------


def test_reissue_after_formal_loss_retires_the_old_card_at_once(api: Api) -> None:
    person = api.person()
    old = api.card(person["id"], S.ACTIVE)
    api.ok("report_loss", {**card(old), "kind": "formal"})
    result = api.ok("replace", {**card(old), "kind": "reissue", "reason": "遗失"})
    assert result["card"]["status"] == "replaced" and result["new_card"]["status"] == "applied"
    assert result["new_card"]["replaces_card_id"] == old and result["new_card"]["bank"] == "农业银行"
    api.refused("cancel_loss", card(old), "final_state")
    new = result["new_card"]["id"]
    started = api.ok("start_production", {"card_ids": [new], "simulate_return": True}, at=ADMIN)["data"]
    api.ok(
        "production_done",
        {"batch_number": started["batch_number"], "records": started["simulated_return"]},
        at=ADMIN,
    )
    handed = api.ok("hand_over", card(new))
    assert handed["retired_card"] is None
    assert api.ok("activate", {**card(new), "functions": ["social"]})["card"]["status"] == "active"


def test_exchange_keeps_the_old_card_until_the_new_one_is_issued(api: Api) -> None:
    person = api.person()
    old = api.card(person["id"], S.ACTIVE)
    result = api.ok("replace", {**card(old), "kind": "exchange", "reason": "损坏"}, at=NH)
    new = result["new_card"]["id"]
    assert result["card"]["status"] == "active" and result["card"]["replacement_applied"]
    api.refused("replace", {**card(old), "kind": "exchange", "reason": "损坏"}, "replacement_applied", at=NH)
    # The HR centre personalises the 预制卡 the bank handed out (prefab_personalise).
    issued = api.ok("instant_issue", {**card(new), "card_identifier_read": blank_identifier(21)})
    assert issued["card"]["status"] == "issued_inactive"
    assert issued["retired_card"]["id"] == old and issued["retired_card"]["status"] == "replaced"
    assert not api.card_row(old).replacement_applied


def test_instant_replacement_at_a_quick_issuance_bank_outlet(api: Api) -> None:
    person = api.person()
    old = api.card(person["id"], S.ACTIVE, bank="农业银行")
    api.invalid(
        "replace",
        {**card(old), "kind": "exchange", "reason": "过期", "instant": True},
        "card_identifier_required",
        at=NH,
    )
    result = api.ok(
        "replace",
        {
            **card(old),
            "kind": "exchange",
            "reason": "过期",
            "instant": True,
            "card_identifier_read": blank_identifier(33),
        },
        at=NH,
    )
    assert result["card"]["status"] == "replaced"
    assert result["new_card"]["status"] == "issued_inactive" and result["new_card"]["card_number"]
    api.refused(
        "replace",
        {
            **card(old),
            "kind": "exchange",
            "reason": "过期",
            "instant": True,
            "card_identifier_read": blank_identifier(34),
        },
        "capability_missing",
        at=GH,
    )


def test_only_the_issuing_bank_replaces(api: Api) -> None:
    person = api.person()
    old = api.card(person["id"], S.ACTIVE, bank="农业银行")
    api.refused("replace", {**card(old), "kind": "exchange", "reason": "损坏"}, "out_of_scope", at=GH)


def test_cancelling_the_new_card_of_an_exchange_frees_the_old_one(api: Api) -> None:
    person = api.person()
    old = api.card(person["id"], S.ACTIVE)
    new = api.ok("replace", {**card(old), "kind": "exchange", "reason": "损坏"})["new_card"]["id"]
    api.ok("cancel_card", {**card(new), "reason": "other"}, confirmer=HR_SUPERVISOR)
    assert not api.card_row(old).replacement_applied
    assert (
        api.ok("replace", {**card(old), "kind": "exchange", "reason": "损坏"})["new_card"]["status"]
        == "applied"
    )


# --------------------------------------------------------------------------------------------
# Loss, policy flags and the clock
# --------------------------------------------------------------------------------------------


def test_cancel_loss_after_a_replacement_was_applied_for(api: Api) -> None:
    person = api.person()
    old = api.card(person["id"], S.FORMAL_LOSS, replacement_applied=True)
    api.refused("cancel_loss", card(old), "replacement_applied")


@pytest.mark.parametrize("flag", ["formal_loss_cancellable", "cancel_loss_after_replacement_applied"])
def test_policy_flags(api: Api, flag: str) -> None:
    settings = api.client.app.state.settings  # type: ignore[attr-defined]
    person = api.person()
    if flag == "formal_loss_cancellable":
        settings.formal_loss_cancellable = False
        card_id = api.card(person["id"], S.FORMAL_LOSS)
        api.refused("cancel_loss", card(card_id), "formal_loss_not_cancellable")
    else:
        settings.cancel_loss_after_replacement_applied = True
        card_id = api.card(person["id"], S.FORMAL_LOSS, replacement_applied=True)
        assert api.ok("cancel_loss", card(card_id))["card"]["status"] == "active"


def test_temporary_loss_is_lifted_lazily_by_the_next_command(api: Api) -> None:
    person = api.person()
    card_id = api.card(person["id"], S.ACTIVE)
    result = api.ok("report_loss", {**card(card_id), "kind": "temporary"})
    assert result["card"]["temp_loss_expires_at"].startswith("2026-12-04T10:00")
    assert "自动解除" in result["notices"][0]
    api.clock.advance(days=7, minutes=1)
    again = api.ok("report_loss", {**card(card_id), "kind": "temporary"})
    assert any("已自动解除" in n for n in again["notices"])
    history = api.client.get("/persons/{}".format(person["id"])).json()["history"]
    assert [h["command"] for h in history] == ["report_loss_temp", "temp_loss_expiry", "report_loss_temp"]


def test_the_sweeper_lifts_expired_losses(api: Api) -> None:
    person = api.person()
    card_id = api.card(person["id"], S.TEMP_LOSS, loss_reported_at=api.clock.now() - timedelta(days=8))
    sweeper = api.client.app.state.sweeper  # type: ignore[attr-defined]
    assert sweeper.sweep() == [card_id]
    assert api.status(card_id) == "active"


# --------------------------------------------------------------------------------------------
# 注销 and supervisor confirmation
# --------------------------------------------------------------------------------------------


def test_cancel_card_needs_another_supervisor_of_the_outlet(api: Api) -> None:
    person = api.person()
    card_id = api.card(person["id"], S.ACTIVE)
    body = {**card(card_id), "reason": "abroad"}
    api.refused("cancel_card", body, "confirmation_required")
    api.refused("cancel_card", body, "not_supervisor", confirmer="HR0102")
    with pytest.raises(AssertionError, match="other_outlet"):  # cannot even sign in at this counter
        api.refused("cancel_card", body, "other_outlet", confirmer="HR0209")
    api.refused("cancel_card", body, "same_operator", at=("HR0109", "511102001", "01"), confirmer="HR0109")
    result = api.ok("cancel_card", body, confirmer=HR_SUPERVISOR)
    assert result["card"]["status"] == "cancelled"
    transactions = api.client.get(f"/persons/{person['id']}").json()["transactions"]
    assert transactions[-1]["confirmer_number"] == HR_SUPERVISOR


def test_cancel_card_on_death_may_be_asked_by_family_with_an_agent(api: Api) -> None:
    person = api.person(vulnerable_group="disability")
    card_id = api.card(person["id"], S.ACTIVE)
    body = {**card(card_id), "reason": "death", "requester": "other"}
    api.invalid("cancel_card", body, "agent_required", confirmer=HR_SUPERVISOR)
    agent = {"name": "家属", "id_number": id_number(), "relation": "子女"}
    assert (
        api.ok("cancel_card", {**body, "agent": agent}, confirmer=HR_SUPERVISOR)["card"]["status"]
        == "cancelled"
    )


# --------------------------------------------------------------------------------------------
# Person records
# --------------------------------------------------------------------------------------------


def test_change_key_info_checks_the_new_number_and_leads_into_exchange(api: Api) -> None:
    person = api.person(sex="1")
    api.card(person["id"], S.ACTIVE)
    new_number = id_number(birth=date(1961, 6, 1), sex="1")
    problem = api.invalid(
        "change_key_info",
        {"person": person["ref"], "new_id_number": new_number, "evidence": "公安证明"},
        "birth_date",
    )
    assert "出生日期" in problem["detail"]
    result = api.ok(
        "change_key_info",
        {
            "person": person["ref"],
            "new_id_number": new_number,
            "birth_date": "1961-06-01",
            "name": "张三丰",
            "evidence": "公安证明",
        },
    )
    assert result["data"]["after"]["id_number"] == new_number and result["data"]["before"]["name"] == "张三"
    assert any("换卡" in n for n in result["notices"])
    again = {"person": {"id_number": new_number}, "sex": "2", "evidence": "户口簿"}
    assert api.invalid("change_key_info", again, "id_number")["rule"] == "sex_mismatch"
    other = api.person()
    api.refused(
        "change_key_info",
        {
            "person": other["ref"],
            "new_id_number": new_number,
            "birth_date": "1961-06-01",
            "evidence": "公安证明",
        },
        "id_number_taken",
    )
    api.invalid(
        "change_key_info",
        {"person": {"id_number": new_number}, "name": "张三丰", "evidence": "无"},
        "no_change",
    )


def test_change_contact(api: Api) -> None:
    person = api.person()
    api.invalid("change_contact", {"person": person["ref"], "phone": "12345"}, "phone")
    api.invalid("change_contact", {"person": person["ref"]}, "no_change")
    result = api.ok(
        "change_contact", {"person": person["ref"], "phone": "0833-2101916", "address": "乐山市中区人民路8号"}
    )
    assert result["data"]["after"] == {"phone": "0833-2101916", "address": "乐山市中区人民路8号"}


def test_transfer_region_within_sichuan_only(api: Api) -> None:
    person = api.person(insured_region="511102")
    body = {"person": person["ref"], "certificate_number": "ZY-2026-001"}
    api.refused("transfer_region", {**body, "to_region": "110101"}, "cross_province")
    api.refused("transfer_region", {**body, "to_region": "511102"}, "same_region")
    result = api.ok("transfer_region", {**body, "to_region": "511181"})
    assert result["data"] == {
        "from_region": "511102",
        "to_region": "511181",
        "certificate_number": "ZY-2026-001",
    }
    looked_up = api.client.get(f"/persons/{person['id']}").json()
    assert (looked_up["insured_region"], looked_up["insured_region_name"]) == ("511181", "峨眉山市")


# --------------------------------------------------------------------------------------------
# PINs, agents and custody
# --------------------------------------------------------------------------------------------


def test_pin_services_are_recorded_and_counted(api: Api) -> None:
    person = api.person()
    card_id = api.card(person["id"], S.ACTIVE)
    api.ok("pin_change", card(card_id))
    assert api.ok("pin_reset", card(card_id))["data"] == {"pin_resets": 1, "pin_unblocks": 0}
    assert api.ok("pin_unblock", card(card_id))["data"] == {"pin_resets": 1, "pin_unblocks": 1}
    lost = api.card(api.person()["id"], S.TEMP_LOSS)
    api.refused("pin_reset", card(lost), "card_not_usable")


def test_pin_reset_by_someone_else(api: Api) -> None:
    adult = api.person()
    card_id = api.card(adult["id"], S.ACTIVE)
    agent = {"name": "代办人", "id_number": id_number(), "relation": "朋友"}
    api.refused("pin_reset", {**card(card_id), "requester": "other", "agent": agent}, "pin_reset_holder_only")
    api.refused(
        "pin_reset", {**card(card_id), "requester": "guardian", "agent": agent}, "pin_reset_holder_only"
    )
    minor = api.person(birth_date=date(2015, 5, 5))
    minor_card = api.card(minor["id"], S.ACTIVE)
    body = {**card(minor_card), "requester": "guardian", "agent": {**agent, "relation": "父亲"}}
    api.refused("pin_reset", body, "confirmation_required")
    assert api.ok("pin_reset", body, confirmer=HR_SUPERVISOR)["data"]["pin_resets"] == 1


def test_custody_authorisation_for_the_four_groups(api: Api) -> None:
    holder = api.person(vulnerable_group="subsistence_allowance")
    card_id = api.card(holder["id"], S.ACTIVE)
    custodian = {"name": "李监护", "id_number": id_number()}
    agent = {"name": "李监护", "id_number": custodian["id_number"], "relation": "女儿"}
    reset = {**card(card_id), "requester": "custodian", "agent": agent}
    api.refused("pin_reset", reset, "custody_not_authorised", confirmer=HR_SUPERVISOR)
    authorisation = {
        "person": holder["ref"],
        "custodian": custodian,
        "relation": "女儿",
        "reason": "持卡人年老行动不便",
        "valid_from": "2026-11-01",
        "valid_until": "2027-10-31",
    }
    api.refused("authorise_custody", authorisation, "confirmation_required")
    api.refused(
        "authorise_custody",
        {**authorisation, "person": api.person()["ref"]},
        "custody_not_eligible",
        confirmer=HR_SUPERVISOR,
    )
    api.ok("authorise_custody", authorisation, confirmer=HR_SUPERVISOR)
    assert api.ok("pin_reset", reset, confirmer=HR_SUPERVISOR)["data"]["pin_resets"] == 1
    stranger = {"name": "村干部", "id_number": id_number(), "relation": "村干部"}
    api.refused(
        "report_loss",
        {**card(card_id), "kind": "temporary", "requester": "other", "agent": stranger},
        "custody_not_authorised",
    )
    looked_up = api.client.get(f"/persons/{holder['id']}").json()
    assert looked_up["custody_authorisations"][0]["active"] is True


def test_agents_are_recorded_and_many_principals_raise_an_alert(api: Api) -> None:
    agent = {"name": "代办人", "id_number": id_number(), "relation": "亲属", "documents": ["身份证"]}
    alerts = []
    for _ in range(4):
        person = api.person()
        card_id = api.card(person["id"], S.ISSUED_INACTIVE)
        result = api.ok(
            "activate", {**card(card_id), "functions": ["social"], "requester": "other", "agent": agent}
        )
        alerts.append(result["alerts"])
    assert alerts[:3] == [[], [], []] and "强制代领" in alerts[3][0]
    api.invalid(
        "activate", {**card(card_id), "functions": ["social"], "requester": "other"}, "agent_required"
    )


# --------------------------------------------------------------------------------------------
# 受理编号 and the wire
# --------------------------------------------------------------------------------------------


def test_acceptance_numbers_belong_to_the_counter_and_are_used_once(api: Api) -> None:
    person = api.person()
    card_id = api.card(person["id"], S.ACTIVE)
    api.invalid("pin_change", {**card(card_id), "acceptance_number": "不是编号"}, "acceptance_number")
    api.invalid(
        "pin_change", {**card(card_id), "acceptance_number": api.acceptance_number(HR2)}, "acceptance_number"
    )
    number = api.acceptance_number(HR)
    api.ok("pin_change", {**card(card_id), "acceptance_number": number})
    api.refused("pin_reset", {**card(card_id), "acceptance_number": number}, "duplicate_acceptance_number")


def test_malformed_requests_are_problems(api: Api) -> None:
    response = api.command("activate", {"card": {"card_id": 1, "card_number": "L00000003"}, "functions": []})
    problem = assert_problem(response, 422, "invalid/request")
    assert {tuple(e["loc"][:2]) for e in problem["errors"]} >= {("body", "card"), ("body", "functions")}
    problem = assert_problem(api.client.get("/nowhere"), 404, "http/404")
    assert problem["code"] == "http_404"
    assert_problem(api.client.get("/commands/apply"), 405, "http/405")
    assert api.command("apply", {"person": {"id_number": "x"}, "unexpected": 1}).status_code == 422


def test_problem_base_is_configurable(api: Api) -> None:
    api.client.app.state.settings.problem_base = "https://example.test/p"  # type: ignore[attr-defined]
    response = api.command("activate", {"card": {"card_id": 424242}, "functions": ["social"]})
    assert response.json()["type"] == "https://example.test/p/refused/unknown_card"


# --------------------------------------------------------------------------------------------
# The partial unique indexes as the last word
# --------------------------------------------------------------------------------------------


def test_a_violated_pipeline_index_is_answered_as_the_domain_refusal(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even if the rule check were skipped, the index refuses: ``refused/in_production``, not a 500."""
    import central.services.lifecycle as lifecycle

    monkeypatch.setattr(lifecycle, "check_one_card_rule", lambda cards, command: None)
    person = api.person()
    api.card(person["id"], S.IN_PRODUCTION)
    problem = api.refused("apply", {"person": person["ref"], "bank": "农业银行"}, "in_production")
    assert "制卡流程" in problem["detail"]


def test_a_violated_issued_index_is_answered_as_the_domain_refusal(api: Api) -> None:
    """An unlinked second card cannot be issued while one is issued: ``refused/has_card``."""
    person = api.person()
    api.card(person["id"], S.ACTIVE)
    stray = api.card(person["id"], S.APPLIED)  # allowed by the indexes: one in each set
    api.refused("instant_issue", {**card(stray), "card_identifier_read": blank_identifier(99)}, "has_card")
