"""The 一卡通 platform's batch import (idempotent by its key), 重发 after an account change, and the
forced-collection notice for supervisors."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from central.models import SubsidyPaymentRow
from counter_app.domain.card_lifecycle import FinancialStatus, SocialStatus
from tests.central.helpers import ADMIN, HR, Api, assert_problem, id_number

S = SocialStatus


def _import(api: Api, body: dict[str, Any], key: str | None = None) -> dict[str, Any]:
    response = api.command("import", body, at=ADMIN, key=key, path="/subsidies/payments/import")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _record(person: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "beneficiary": person["ref"],
        "item_code": "16.1",
        "period": "202610",
        "amount_fen": 7000,
        **extra,
    }


def _payments(api: Api) -> list[SubsidyPaymentRow]:
    with api.db.read() as session:
        return list(session.scalars(select(SubsidyPaymentRow).order_by(SubsidyPaymentRow.id)))


def test_a_batch_imports_once_and_a_later_result_updates_by_key(api: Api) -> None:
    a, b = api.person(), api.person()
    api.card(a["id"], S.ACTIVE)
    batch = {
        "batch_number": "202610-16.1-511102",
        "records": [_record(a, status="pending"), _record(b, status="pending")],
    }
    first = _import(api, batch)
    assert (first["inserted"], first["updated"], first["unchanged"]) == (2, 0, 0)
    again = _import(api, batch)  # the platform sends the batch again (another Idempotency-Key)
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 2)
    results = {
        "batch_number": batch["batch_number"],
        "records": [
            _record(a, status="paid", paid_on="2026-10-15"),
            _record(b, status="failed", failure_reason="no_card"),
        ],
    }
    assert _import(api, results)["updated"] == 2
    rows = _payments(api)
    assert [(r.status, r.failure_reason) for r in rows] == [("paid", None), ("failed", "no_card")]
    assert rows[0].card_id is not None and rows[0].bank == "农业银行"


def test_unmatched_records_are_listed_and_the_rest_imported(api: Api) -> None:
    a = api.person()
    stranger = {"ref": {"id_number": id_number()}}
    body = {
        "batch_number": "B2",
        "records": [
            _record(a, status="pending"),
            _record(stranger, status="pending"),
            _record(a, status="failed"),  # same key again, and no reason
            {**_record(a, status="pending"), "item_code": "99.9"},
        ],
    }
    result = _import(api, body)
    assert result["inserted"] == 1
    assert [(r["index"], r["code"]) for r in result["rejected"]] == [
        (1, "unknown_person"),
        (2, "failure_reason_required"),
        (3, "unknown_item"),
    ]


def test_household_items_go_to_the_head(api: Api) -> None:
    head = api.person()
    member = api.person(household_id=head["household_id"])
    _import(api, {"batch_number": "B3", "records": [{**_record(member, status="pending"), "item_code": "1"}]})
    assert _payments(api)[0].recipient_person_id == head["id"]


def test_the_import_is_for_the_back_office_only(api: Api) -> None:
    a = api.person()
    response = api.command(
        "import",
        {"batch_number": "B4", "records": [_record(a, status="pending")]},
        at=HR,
        path="/subsidies/payments/import",
    )
    assert_problem(response, 403, "forbidden/role_not_allowed")


def test_resend_after_an_account_change(api: Api) -> None:
    person = api.person()
    old = api.card(person["id"], S.REPLACED)
    new = api.card(person["id"], S.ACTIVE, financial=FinancialStatus.ACTIVE)
    _import(
        api,
        {
            "batch_number": "202609-16.1-511102",
            "records": [_record(person, period="202609", status="failed", failure_reason="card_lost")],
        },
    )
    assert _payments(api)[0].card_id in (None, new, old)
    result = api.ok("resend_payments", {"person": person["ref"], "card": {"card_id": new}})
    assert result["data"]["amount_fen"] == 7000
    resend = _payments(api)[1]
    assert (resend.status, resend.card_id, resend.batch_number) == ("pending", new, "202609-16.1-511102-R1")
    api.refused("resend_payments", {"person": person["ref"], "card": {"card_id": new}}, "nothing_to_resend")
    # The platform's result for the re-sent payment comes back through the import.
    outcome = _import(
        api,
        {
            "batch_number": "202609-16.1-511102-R1",
            "records": [
                _record(
                    person,
                    period="202609",
                    status="resent",
                    paid_on="2026-11-20",
                    resent_from_batch="202609-16.1-511102",
                )
            ],
        },
    )
    assert outcome["updated"] == 1
    report = api.client.get(f"/persons/{person['id']}/subsidy-payments").json()
    assert {p["status"] for p in report["payments"]} == {"failed", "resent"} and report["failures"] == []


def test_resend_needs_an_active_card_of_the_person(api: Api) -> None:
    person = api.person()
    inactive = api.card(person["id"], S.ISSUED_INACTIVE)
    api.refused(
        "resend_payments", {"person": person["ref"], "card": {"card_id": inactive}}, "card_not_usable"
    )


def test_forced_collection_warns_and_records_a_notice_for_supervisors(api: Api) -> None:
    agent = {"name": "王代办", "id_number": id_number(), "relation": "邻居"}
    threshold = api.client.app.state.settings.agent_alert_principals
    alerts = []
    for _ in range(threshold + 1):
        person = api.person()
        body = {"person": person["ref"], "phone": "13911112222", "requester": "other", "agent": agent}
        alerts.append(api.ok("change_contact", body)["alerts"])
    assert alerts[-1] and not any(alerts[:-1])
    supervisor = ("HR0109", "511102001", "01")
    notices = api.client.get("/notices", desk=supervisor).json()
    assert [n["kind"] for n in notices] == ["forced_collection"]
    masked = notices[0]["detail"]["agent_id_number"]
    assert (
        masked.startswith(agent["id_number"][:4]) and "*" in masked and agent["id_number"] not in str(notices)
    )
    assert_problem(api.client.get("/notices"), 403, "forbidden/role_not_allowed")  # a clerk
    other_outlet = ("NH0109", "511102101", "01")
    assert api.client.get("/notices", desk=other_outlet).json() == []
    foreign = api.command("acknowledge", {}, at=other_outlet, path=f"/notices/{notices[0]['id']}/acknowledge")
    assert_problem(foreign, 404, "not-found")  # another outlet's notice: as if it did not exist
    done = api.command("acknowledge", {}, at=supervisor, path=f"/notices/{notices[0]['id']}/acknowledge")
    assert done.status_code == 200 and done.json()["acknowledged_by"] == "HR0109"
    assert api.client.get("/notices", desk=supervisor).json() == []


def test_an_agent_over_the_threshold_keeps_one_open_notice_with_the_latest_count(api: Api) -> None:
    """A unit's 经办人 applying for a class (or a cadre collecting a village's cards): the clerk is
    warned on every one beyond the threshold, the supervisor gets one notice, kept at the latest count;
    once acknowledged, the next one opens a new notice."""
    agent = {"name": "李经办", "id_number": id_number(), "relation": "单位经办人"}
    threshold = api.client.app.state.settings.agent_alert_principals
    supervisor = ("HR0109", "511102001", "01")

    def serve_one() -> list[str]:
        person = api.person()
        body = {"person": person["ref"], "phone": "13911113333", "requester": "other", "agent": agent}
        return list(api.ok("change_contact", body)["alerts"])

    warned = [serve_one() for _ in range(threshold + 3)]
    assert [bool(w) for w in warned] == [False] * threshold + [True] * 3
    (notice,) = api.client.get("/notices", desk=supervisor).json()
    assert notice["detail"]["principals"] == threshold + 3 and str(threshold + 3) in notice["message"]
    path = f"/notices/{notice['id']}/acknowledge"
    assert api.command("acknowledge", {}, at=supervisor, path=path).status_code == 200
    assert serve_one()
    (again,) = api.client.get("/notices", desk=supervisor).json()
    assert again["id"] != notice["id"] and again["detail"]["principals"] == threshold + 4
