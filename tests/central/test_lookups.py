"""Lookups the counters need: a person with cards and history, a card, subsidy payments."""

from __future__ import annotations

from datetime import date

import pytest

from central.models import SubsidyPaymentRow
from counter_app.domain.card_lifecycle import SocialStatus
from tests.central.helpers import HR, Api, assert_problem

S = SocialStatus


def test_person_with_cards_household_and_history(api: Api) -> None:
    head = api.person(name="王大")
    member = api.person(name="王小", household_id=head["household_id"], birth_date=date(2012, 1, 1))
    old = api.card(head["id"], S.ACTIVE)
    api.ok("replace", {"card": {"card_id": old}, "kind": "exchange", "reason": "损坏"})
    by_document = api.client.get(
        "/persons", params={"id_type": "resident_id", "id_number": head["id_number"]}
    )
    assert by_document.status_code == 200
    person = by_document.json()
    assert person == api.client.get(f"/persons/{head['id']}").json()
    assert [c["status"] for c in person["cards"]] == ["active", "applied"]
    assert person["cards"][0]["replacement_applied"] and person["cards"][1]["replaces_card_id"] == old
    assert {h["command"] for h in person["history"]} == {"replace"}
    assert (
        person["transactions"][0]["item_label"] == "补换卡"
        and person["transactions"][0]["outlet_code"] == HR[1]
    )
    household = person["household"]
    assert household["head_person_id"] == head["id"]
    assert [(m["name"], m["is_head"]) for m in household["members"]] == [("王大", True), ("王小", False)]
    assert member["household_id"] == head["household_id"]


def test_person_lookup_normalises_and_answers_404_as_problem(api: Api) -> None:
    person = api.person()
    spaced = " ".join(person["id_number"][i : i + 6] for i in range(0, 18, 6)).lower()
    assert api.client.get("/persons", params={"id_number": spaced}).json()["id"] == person["id"]
    problem = assert_problem(
        api.client.get("/persons", params={"id_number": "110101199001011234"}), 404, "not-found"
    )
    assert problem["code"] == "unknown_person"
    assert_problem(api.client.get("/persons/999999"), 404, "not-found")


def test_card_by_number_or_identifier(api: Api) -> None:
    person = api.person(name="沙马阿依")
    card_id = api.card(person["id"], S.TEMP_LOSS)
    row = api.card_row(card_id)
    by_number = api.client.get("/cards", params={"card_number": row.card_number.lower()}).json()
    by_identifier = api.client.get("/cards", params={"card_identifier": row.card_identifier.lower()}).json()
    assert by_number == by_identifier
    assert by_number["holder"]["name"] == "沙马阿依" and by_number["status_label"] == "临时挂失"
    assert by_number["temp_loss_expires_at"] is not None
    assert_problem(api.client.get("/cards", params={"card_number": "L99999995"}), 404, "not-found")
    assert_problem(api.client.get("/cards"), 422, "invalid/card_query")


def _pay(api: Api, **fields: object) -> None:
    defaults: dict[str, object] = {
        "item_code": "1",
        "period": "202605",
        "amount_fen": 50000,
        "status": "paid",
        "batch_number": "202605-1-511102",
    }
    with api.db.write() as session:
        session.add(SubsidyPaymentRow(**{**defaults, **fields}))


@pytest.fixture
def family(api: Api) -> dict[str, dict[str, object]]:
    head = api.person(name="李户主", vulnerable_group="subsistence_allowance")
    wife = api.person(name="张妻", household_id=head["household_id"], sex="2")
    hh = head["household_id"]
    api.card(head["id"], S.ACTIVE)
    # household item to the head; a failure (card lost) re-sent later; the wife's own items
    _pay(api, beneficiary_person_id=head["id"], recipient_person_id=head["id"], household_id=hh)
    with api.db.write() as session:
        failed = SubsidyPaymentRow(
            item_code="15.1",
            beneficiary_person_id=head["id"],
            recipient_person_id=head["id"],
            household_id=hh,
            period="202603",
            amount_fen=60000,
            status="failed",
            failure_reason="card_lost",
            batch_number="b1",
        )
        session.add(failed)
        session.flush()
        session.add(
            SubsidyPaymentRow(
                item_code="15.1",
                beneficiary_person_id=head["id"],
                recipient_person_id=head["id"],
                household_id=hh,
                period="202603",
                amount_fen=60000,
                status="resent",
                batch_number="b1-R",
                resent_from_id=failed.id,
            )
        )
    _pay(
        api,
        item_code="16.1",
        beneficiary_person_id=wife["id"],
        recipient_person_id=wife["id"],
        household_id=hh,
        period="202604",
        amount_fen=8000,
        status="failed",
        failure_reason="account_inactive",
    )
    _pay(
        api,
        item_code="22",
        beneficiary_person_id=wife["id"],
        recipient_person_id=wife["id"],
        household_id=hh,
        period="202512",
        amount_fen=12000,
        status="returned",
        failure_reason="name_mismatch",
    )
    return {"head": head, "wife": wife}


def test_subsidy_payments_of_a_person(api: Api, family: dict[str, dict[str, object]]) -> None:
    report = api.client.get(f"/persons/{family['head']['id']}/subsidy-payments").json()
    assert report["household"] is False
    assert [p["item_code"] for p in report["payments"]] == ["1", "15.1", "15.1"]
    assert report["paid_fen"] == 50000 + 60000
    assert report["failures"] == []  # the failed one was re-sent
    failed = next(p for p in report["payments"] if p["status"] == "failed")
    assert failed["resent"] and failed["failure_reason_label"] == "卡挂失"
    assert report["payments"][1]["item_name"] == "困难群众救助资金—最低生活保障金"


def test_subsidy_payments_of_the_household_with_totals_and_reasons(
    api: Api, family: dict[str, dict[str, object]]
) -> None:
    report = api.client.get(
        f"/persons/{family['wife']['id']}/subsidy-payments", params={"household": "true"}
    ).json()
    assert report["household"] is True and len(report["payments"]) == 5
    totals = {t["status"]: (t["count"], t["amount_fen"]) for t in report["totals"]}
    assert totals == {"paid": (1, 50000), "failed": (2, 68000), "returned": (1, 12000), "resent": (1, 60000)}
    failures = {f["reason"]: (f["count"], f["amount_fen"], f["reason_label"]) for f in report["failures"]}
    assert failures == {"account_inactive": (1, 8000, "账户未激活"), "name_mismatch": (1, 12000, "户名不符")}
    assert "activate" in next(f for f in report["failures"] if f["reason"] == "account_inactive")["fixes"]
    window = api.client.get(
        f"/persons/{family['wife']['id']}/subsidy-payments",
        params={"household": "true", "period_from": "202601", "period_to": "202604"},
    ).json()
    assert sorted(p["period"] for p in window["payments"]) == ["202603", "202603", "202604"]
    assert_problem(
        api.client.get(
            f"/persons/{family['wife']['id']}/subsidy-payments", params={"period_from": "2026-01"}
        ),
        422,
        "invalid/period",
    )


def test_reference_data(api: Api) -> None:
    outlets = {o["code"]: o for o in api.client.get("/outlets").json()}
    assert outlets["511102101"]["instant_issuance"] and outlets["511102101"]["bank"] == "农业银行"
    assert outlets["511102001"]["counters"] == ["01", "02", "03"]
    items = api.client.get("/subsidies/items").json()
    assert len(items) == 65 and sum(i["placeholder"] for i in items) == 1
