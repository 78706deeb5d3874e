"""The BOLA/BFLA matrix: every route of the OpenAPI × every role and outlet type × own and other objects.

The list of routes comes from the OpenAPI document, so a new route without a matrix entry fails
``test_every_route_has_a_matrix_entry``. For each route and actor the expectation is written down
here from DOMAIN §1 (not computed with the server's own rules): HR windows act on every card, bank
outlets query every card but change only their own bank's, only ``admin`` runs the back office,
only supervisors see their outlet's notices. "Objects": a card of 农业银行 (the bank of the NH
outlet: *own*) and one of 建设银行 (*other* for every bank outlet); for notices, one of the actor's
own outlet and one of another outlet. A denial is 401/403/404 or a 409 refusal with a permission
code, and a denied request changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from httpx import Response
from sqlalchemy import select

from central.models import CounterRow, OutletRow, SubsidyPaymentRow
from central.services.notices import record_notice
from central.upstream import province
from counter_app.domain.card_lifecycle import FinancialStatus, SocialStatus
from counter_app.domain.receipt_code import format_acceptance_number, qr_text
from tests.central.helpers import (
    PASSWORDS,
    Api,
    counter_credential,
    counter_key,
    id_number,
    sign_in,
    snapshot,
)

S = SocialStatus
OWN_BANK, OTHER_BANK = "农业银行", "建设银行"
PERMISSION_CODES = {
    "out_of_scope",
    "item_not_offered",
    "role_not_allowed",
    "role_outlet_mismatch",
    "variant_not_offered",
    "capability_missing",
    "no_variant_available",
    "back_office_only",
}


@dataclass(frozen=True)
class Actor:
    name: str
    operator: str | None
    outlet: str | None
    counter: str | None
    kind: (
        str  # hr, nh (农业银行, quick issuance + social activation), gh (工商银行, neither), admin, anonymous
    )
    confirmer: str | None = None

    @property
    def supervisor(self) -> bool:
        return self.name.endswith("supervisor")

    @property
    def counter_role(self) -> bool:
        return self.kind in ("hr", "nh", "gh")


ACTORS = (
    Actor("hr_clerk", "HR0101", "511102001", "01", "hr", "HR0109"),
    Actor("hr_supervisor", "HR0109", "511102001", "01", "hr", "HR0108"),
    Actor("nh_clerk", "NH0101", "511102101", "01", "nh", "NH0109"),
    Actor("nh_supervisor", "NH0109", "511102101", "01", "nh", None),
    Actor("gh_clerk", "GH0101", "511102102", "01", "gh", "GH0109"),
    Actor("admin", "ADMIN01", None, None, "admin"),
    Actor("anonymous", None, None, None, "anonymous"),
)
OBJECTS = ("own", "other")


def in_scope(actor: Actor, obj: str) -> bool:
    """May this actor change a card of the object's bank? (HR: every card; a bank: its own bank's.)"""
    return actor.kind == "hr" or (actor.kind == "nh" and obj == "own")


Expect = Callable[[Actor, str], bool | None]  # True: allowed, False: denied, None: not applicable
everyone: Expect = lambda a, o: a.kind != "anonymous"  # noqa: E731
counters_only: Expect = lambda a, o: a.counter_role  # noqa: E731
hr_only: Expect = lambda a, o: a.kind == "hr"  # noqa: E731
admin_only: Expect = lambda a, o: a.kind == "admin"  # noqa: E731
scoped: Expect = lambda a, o: a.counter_role and in_scope(a, o)  # noqa: E731


def needs_confirmer(expect: Expect) -> Expect:
    return lambda a, o: None if a.counter_role and a.confirmer is None else expect(a, o)


# --------------------------------------------------------------------------------------------
# Request builders: (method, path, params/json, headers) for one actor and object
# --------------------------------------------------------------------------------------------


@dataclass
class Call:
    api: Api
    actor: Actor
    obj: str

    @property
    def bank(self) -> str:
        return OWN_BANK if self.obj == "own" else OTHER_BANK

    def person(self, **kw: Any) -> dict[str, Any]:
        return self.api.person(**kw)

    def card(self, status: SocialStatus, **kw: Any) -> tuple[dict[str, Any], int]:
        person = self.person(**kw)
        return person, self.api.card(person["id"], status, bank=self.bank)

    def acceptance(self) -> str:
        outlet, counter = self.actor.outlet or "511102001", self.actor.counter or "01"
        return format_acceptance_number(outlet, counter, self.api.clock.now().date(), next(_sequence))


_sequence = iter(range(1, 10**6))


def _card_body(call: Call, status: SocialStatus, **extra: Any) -> dict[str, Any]:
    _, card_id = call.card(status)
    return {"acceptance_number": call.acceptance(), "card": {"card_id": card_id}, **extra}


def _person_body(call: Call, **extra: Any) -> dict[str, Any]:
    person, _ = call.card(S.ACTIVE)
    return {"acceptance_number": call.acceptance(), "person": person["ref"], **extra}


def _resend_body(call: Call) -> dict[str, Any]:
    person, card_id = call.card(S.ACTIVE)
    with call.api.db.write() as session:
        session.add(
            SubsidyPaymentRow(
                item_code="16.1",
                beneficiary_person_id=person["id"],
                recipient_person_id=person["id"],
                period="202609",
                amount_fen=7000,
                status="failed",
                failure_reason="card_lost",
                batch_number=f"M{uuid.uuid4().hex[:10]}",
            )
        )
    return {"acceptance_number": call.acceptance(), "person": person["ref"], "card": {"card_id": card_id}}


def _production_done(call: Call) -> dict[str, Any]:
    _, card_id = call.card(S.IN_PRODUCTION)
    return {
        "batch_number": "B-TEST",
        "records": [
            {
                "card_id": card_id,
                "card_number": province.card_number_for(card_id + 7_000_000),
                "card_identifier": province.card_identifier("511102"),
                "issued_on": call.api.clock.now().date().isoformat(),
            }
        ],
    }


def _notice(call: Call) -> int:
    """A notice of the actor's own outlet (``own``) or of another outlet (``other``)."""
    mine = call.actor.outlet or "511102001"
    code = mine if call.obj == "own" else ("511102101" if mine == "511102001" else "511102001")
    with call.api.db.write() as session:
        outlet_id = session.scalar(select(OutletRow.id).where(OutletRow.code == code))
        return record_notice(
            session, "forced_collection", "测试提醒", call.api.clock.now(), outlet_id=outlet_id
        ).id


def _receipt_code(call: Call) -> str:
    number = format_acceptance_number("511102001", "01", date(2026, 11, 27), 1)
    return qr_text(counter_key(call.api, "511102001", "01"), number)


def _import(call: Call) -> dict[str, Any]:
    person = call.person()
    record = {"beneficiary": person["ref"], "item_code": "16.1", "period": "202610", "amount_fen": 7000}
    return {"batch_number": f"I{uuid.uuid4().hex[:8]}", "records": [{**record, "status": "pending"}]}


Builder = Callable[[Call], dict[str, Any]]
GET, POST = "GET", "POST"


@dataclass(frozen=True)
class Entry:
    expect: Expect
    build: Builder | None = None  # json body (POST) or query params (GET); path parameters via ``path``
    path: Callable[[Call], dict[str, Any]] | None = None
    confirm: bool = False


MATRIX: dict[tuple[str, str], Entry] = {
    (GET, "/health"): Entry(lambda a, o: True),
    (GET, "/outlets"): Entry(everyone),
    (GET, "/subsidies/items"): Entry(everyone),
    (POST, "/auth/sign-in"): Entry(everyone),
    (GET, "/auth/me"): Entry(everyone),
    (POST, "/auth/sign-out"): Entry(everyone),
    (GET, "/counters/me/receipt-key"): Entry(counters_only),
    (GET, "/counters/me/audit-head"): Entry(counters_only),
    (GET, "/persons"): Entry(counters_only, lambda c: {"id_number": c.card(S.ACTIVE)[0]["id_number"]}),
    (GET, "/persons/{person_id}"): Entry(
        counters_only, path=lambda c: {"person_id": c.card(S.ACTIVE)[0]["id"]}
    ),
    (GET, "/persons/{person_id}/subsidy-payments"): Entry(
        counters_only, path=lambda c: {"person_id": c.card(S.ACTIVE)[0]["id"]}
    ),
    (GET, "/cards"): Entry(
        counters_only, lambda c: {"card_number": c.api.card_row(c.card(S.ACTIVE)[1]).card_number}
    ),
    (GET, "/receipts/verify"): Entry(counters_only, lambda c: {"code": _receipt_code(c)}),
    (GET, "/changes"): Entry(counters_only, lambda c: {"since": 0}),
    (GET, "/snapshot"): Entry(counters_only, lambda c: {"entity": "card"}),
    (GET, "/notices"): Entry(lambda a, o: a.supervisor),
    (POST, "/notices/{notice_id}/acknowledge"): Entry(
        lambda a, o: a.supervisor and o == "own", lambda c: {}, path=lambda c: {"notice_id": _notice(c)}
    ),
    (POST, "/commands/apply"): Entry(
        scoped,
        lambda c: {
            "acceptance_number": c.acceptance(),
            "person": {"id_number": id_number(), "name": "矩阵", "ethnicity": "01"},
            "bank": c.bank,
        },
    ),
    (POST, "/commands/instant_issue"): Entry(
        lambda a, o: scoped(a, o) and a.kind != "gh",
        lambda c: _card_body(c, S.APPLIED, card_identifier_read=f"511102D156000005{next(_sequence):016X}"),
    ),
    (POST, "/commands/hand_over"): Entry(scoped, lambda c: _card_body(c, S.READY_FOR_PICKUP)),
    (POST, "/commands/activate"): Entry(
        lambda a, o: scoped(a, o) and a.kind != "gh",
        lambda c: _card_body(c, S.ISSUED_INACTIVE, functions=["social"]),
    ),
    (POST, "/commands/change_key_info"): Entry(
        hr_only, lambda c: _person_body(c, name="新名字", evidence="户口簿")
    ),
    (POST, "/commands/change_contact"): Entry(hr_only, lambda c: _person_body(c, phone="13911112222")),
    (POST, "/commands/pin_change"): Entry(scoped, lambda c: _card_body(c, S.ACTIVE)),
    (POST, "/commands/pin_reset"): Entry(scoped, lambda c: _card_body(c, S.ACTIVE)),
    (POST, "/commands/pin_unblock"): Entry(scoped, lambda c: _card_body(c, S.ACTIVE)),
    (POST, "/commands/report_loss"): Entry(scoped, lambda c: _card_body(c, S.ACTIVE, kind="temporary")),
    (POST, "/commands/cancel_loss"): Entry(scoped, lambda c: _card_body(c, S.TEMP_LOSS)),
    (POST, "/commands/replace"): Entry(
        scoped, lambda c: _card_body(c, S.ACTIVE, kind="exchange", reason="损坏")
    ),
    (POST, "/commands/transfer_region"): Entry(
        hr_only, lambda c: _person_body(c, to_region="511132", certificate_number="ZY-1")
    ),
    (POST, "/commands/cancel_card"): Entry(
        needs_confirmer(hr_only), lambda c: _card_body(c, S.ACTIVE, reason="abroad"), confirm=True
    ),
    (POST, "/commands/authorise_custody"): Entry(
        needs_confirmer(hr_only),
        lambda c: {
            "acceptance_number": c.acceptance(),
            "person": c.card(S.ACTIVE, vulnerable_group="disability")[0]["ref"],
            "custodian": {"name": "代管人", "id_number": id_number()},
            "relation": "子女",
            "reason": "行动不便",
            "valid_from": c.api.clock.now().date().isoformat(),
            "valid_until": (c.api.clock.now().date() + timedelta(days=365)).isoformat(),
        },
        confirm=True,
    ),
    (POST, "/commands/start_production"): Entry(admin_only, lambda c: {"card_ids": [c.card(S.APPLIED)[1]]}),
    (POST, "/commands/production_done"): Entry(admin_only, _production_done),
    (POST, "/commands/temp_loss_expiry"): Entry(admin_only, lambda c: {}),
    (POST, "/commands/resend_payments"): Entry(scoped, _resend_body),
    (POST, "/subsidies/payments/import"): Entry(admin_only, _import),
}


def openapi_routes(api: Api) -> set[tuple[str, str]]:
    schema = api.client.app.openapi()
    return {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops}


def test_every_route_has_a_matrix_entry(api: Api) -> None:
    assert openapi_routes(api) == set(MATRIX), "add the new route to MATRIX with its expectations"


def _headers(api: Api, actor: Actor, entry: Entry, path: str) -> dict[str, str]:
    if actor.kind == "anonymous":
        return {}
    desk = (actor.operator or "", actor.outlet, actor.counter)
    if path in ("/auth/sign-out",):
        token = sign_in(api.raw, *desk)  # its own token: signing out must not end the matrix's
        headers = {"Authorization": f"Bearer {token}"}
        if actor.outlet and actor.counter:
            headers["X-Counter-Key"] = counter_credential(actor.outlet, actor.counter)
        return headers
    headers = dict(api.client.headers(desk))
    if entry.confirm and actor.confirmer and actor.outlet and actor.counter:
        confirmer = api.client.headers((actor.confirmer, actor.outlet, actor.counter))
        headers["X-Confirmer-Token"] = confirmer["Authorization"][7:]
    return headers


def _prepare(api: Api, method: str, path: str, entry: Entry, call: Call) -> Callable[[], Response]:
    """Arrange the objects and build the request; the returned function sends it."""
    headers = _headers(api, call.actor, entry, path)
    url = path.format(**(entry.path(call) if entry.path else {}))
    if path == "/auth/sign-in":
        actor = call.actor
        key = (
            {"X-Counter-Key": counter_credential(actor.outlet, actor.counter)}
            if actor.outlet and actor.counter
            else {}
        )
        body = {
            "operator_number": actor.operator or "NOBODY",
            "password": PASSWORDS.get(actor.operator or "", "x"),
        }
        return lambda: api.raw.post(url, json=body, headers=key)
    data = entry.build(call) if entry.build else None
    if method == GET:
        return lambda: api.raw.get(url, params=data, headers=headers)
    headers["Idempotency-Key"] = str(uuid.uuid4())
    return lambda: api.raw.post(url, json=data or {}, headers=headers)


def _denied(response: Response) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    return response.status_code == 409 and response.json().get("code") in PERMISSION_CODES


@pytest.mark.parametrize("route", sorted(MATRIX), ids=lambda r: f"{r[0]} {r[1]}")
def test_access_matrix(api: Api, route: tuple[str, str]) -> None:
    method, path = route
    entry = MATRIX[route]
    api.client.app.state.settings.sign_in_limit = 10_000
    wrong: list[str] = []
    for actor in ACTORS:
        for obj in OBJECTS:
            expected = entry.expect(actor, obj)
            if expected is None:
                continue
            call = Call(api, actor, obj)
            send = _prepare(api, method, path, entry, call)
            before = snapshot(api.db) if method == POST else None
            response = send()
            if expected and not 200 <= response.status_code < 300:
                wrong.append(
                    f"{actor.name}/{obj}: expected allowed, got {response.status_code} {response.text[:200]}"
                )
            if not expected:
                if not _denied(response):
                    wrong.append(
                        f"{actor.name}/{obj}: expected denied, got {response.status_code} {response.text[:200]}"
                    )
                elif before is not None and path.startswith("/commands") and snapshot(api.db) != before:
                    wrong.append(f"{actor.name}/{obj}: denied but the database changed")
    assert not wrong, "\n".join(wrong)


def test_a_counter_token_used_from_another_counter_is_refused(api: Api) -> None:
    """BOLA on the session itself: a token lifted from counter 01 is useless at counter 02."""
    token = api.client.headers(("HR0101", "511102001", "01"))["Authorization"]
    response = api.raw.get(
        "/persons/1", headers={"Authorization": token, "X-Counter-Key": counter_credential("511102001", "02")}
    )
    assert response.status_code == 401


def test_matrix_objects_are_what_they_claim(api: Api) -> None:
    """The NH outlet's bank is the *own* bank and no bank outlet of the training data has the other."""
    with api.db.read() as session:
        banks = dict(session.execute(select(OutletRow.code, OutletRow.bank)).all())
        counters = session.scalars(select(CounterRow.number)).all()
    assert banks["511102101"] == OWN_BANK and OTHER_BANK not in banks.values()
    assert counters
    assert FinancialStatus.ACTIVE  # the builders rely on the helpers' default financial status
