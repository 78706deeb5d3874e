"""The hot lookups' fast paths answer exactly what the ordinary ones do (PostgreSQL).

Three apps on one database, request by request, byte for byte (status, content type, body):

- ``fast``: the route shortcuts (``central.api.fast``) reading through the async pool
  (``central.services.lookups_pg``) — what production runs;
- ``ordinary``: FastAPI's own parameter and dependency handling, the same async reads;
- ``orm``: FastAPI's own handling and the synchronous SQLAlchemy lookups (``central.services.lookups``),
  as on SQLite.

The records cover what the answers are made of: households with a deceased member, cards in
several states (a 临时挂失 with its expiry, a replaced card), history written by commands, 业务流水 with
a masked agent, 代管代持 (active and revoked), subsidy payments (failed, re-sent, household), feed
entries. The requests cover the shapes a shortcut must hand to FastAPI (repeated, unknown or invalid
parameters, no or foreign credentials) as well as the plain ones it answers itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from central.api import fast
from central.app import create_app
from central.core.config import Settings
from central.core.db import Database
from central.models import CardRow, CustodyAuthorisationRow, SubsidyPaymentRow
from counter_app.domain.card_lifecycle import SocialStatus
from tests.central.conftest import pg_admin, truncate_population
from tests.central.helpers import ADMIN, HR, HR_SUPERVISOR, Api, AuthedClient, FakeClock, id_number

pytestmark = [pytest.mark.postgres, pytest.mark.integration]
S = SocialStatus


@pytest.fixture
def pg_url(pg_central: str) -> str:
    truncate_population(pg_central)
    return pg_central


@pytest.fixture
def used_shortcuts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the endpoints whose fast path answered (each registered fast path wrapped)."""
    calls: list[str] = []
    for endpoint, path in list(fast.FAST_PATHS.items()):

        async def counted(request: Any, route: Any, _path: Any = path, _name: str = endpoint.__name__) -> Any:
            response = await _path(request, route)
            if response is not None:
                calls.append(_name)
            return response

        monkeypatch.setitem(fast.FAST_PATHS, endpoint, counted)
    return calls


@pytest.fixture
def apps(pg_url: str, clock: FakeClock) -> Iterator[dict[str, TestClient]]:
    variants = {
        "fast": Settings(database_url=pg_url, expiry_sweep_seconds=0, sign_in_limit=10_000),
        "ordinary": Settings(
            database_url=pg_url, expiry_sweep_seconds=0, sign_in_limit=10_000, fast_routes=False
        ),
        "orm": Settings(
            database_url=pg_url,
            expiry_sweep_seconds=0,
            sign_in_limit=10_000,
            fast_routes=False,
            read_pool_size=0,
        ),
    }
    clients = {name: TestClient(create_app(settings, clock=clock)) for name, settings in variants.items()}
    for client in clients.values():
        client.__enter__()
    try:
        assert clients["fast"].app.state.reads is not None  # type: ignore[attr-defined]
        assert clients["ordinary"].app.state.reads is not None  # type: ignore[attr-defined]
        assert clients["orm"].app.state.reads is None  # type: ignore[attr-defined]
        yield clients
    finally:
        for client in clients.values():
            client.__exit__(None, None, None)


@pytest.fixture
def city(apps: dict[str, TestClient], pg_url: str, clock: FakeClock) -> Iterator[dict[str, Any]]:
    """Records for every part of the answers, made through the ``orm`` app and the database."""
    db = Database(pg_url)
    api = Api(apps["orm"], db, clock)
    head = api.person(name="王大", vulnerable_group="subsistence_allowance")
    wife = api.person(name="李二", household_id=head["household_id"], sex="2")
    late = api.person(name="王老", household_id=head["household_id"], deceased_on=date(2025, 3, 1))
    single = api.person(name="沙马阿依", insured_region="511132")
    old = api.card(head["id"], S.ACTIVE)
    api.ok("replace", {"card": {"card_id": old}, "kind": "exchange", "reason": "损坏"})
    lost = api.card(wife["id"], S.TEMP_LOSS)
    plain = api.card(single["id"], S.ACTIVE)
    agent = {"name": "代办人", "id_number": id_number(), "relation": "朋友"}
    api.ok(
        "change_contact",
        {"person": single["ref"], "phone": "13900000001", "requester": "other", "agent": agent},
    )
    api.ok("report_loss", {"card": {"card_id": plain}, "kind": "temporary"})
    with db.write() as session:
        for valid_until, revoked in (
            (clock.now().date() + timedelta(days=300), None),
            (date(2026, 1, 1), clock.now()),
        ):
            session.add(
                CustodyAuthorisationRow(
                    person_id=head["id"],
                    custodian_name="李监护",
                    custodian_id_type="resident_id",
                    custodian_id_number=id_number(),
                    relation="女儿",
                    reason="持卡人年老行动不便",
                    valid_from=date(2025, 11, 1),
                    valid_until=valid_until,
                    approved_by=HR_SUPERVISOR,
                    created_by=HR[0],
                    revoked_at=revoked,
                )
            )
        payment = {"amount_fen": 50000, "batch_number": "b1", "household_id": head["household_id"]}
        failed = SubsidyPaymentRow(
            item_code="15.1",
            beneficiary_person_id=head["id"],
            recipient_person_id=head["id"],
            period="202603",
            status="failed",
            failure_reason="card_lost",
            **payment,
        )
        session.add(failed)
        session.flush()
        session.add_all(
            [
                SubsidyPaymentRow(
                    item_code="15.1",
                    beneficiary_person_id=head["id"],
                    recipient_person_id=head["id"],
                    period="202603",
                    status="resent",
                    resent_from_id=failed.id,
                    **{**payment, "batch_number": "b1-R"},
                ),
                SubsidyPaymentRow(
                    item_code="16.1",
                    beneficiary_person_id=wife["id"],
                    recipient_person_id=head["id"],
                    period="202604",
                    status="failed",
                    failure_reason="account_inactive",
                    override_reason="head_without_card",
                    **payment,
                ),
                SubsidyPaymentRow(
                    item_code="1",
                    beneficiary_person_id=single["id"],
                    recipient_person_id=single["id"],
                    period="202512",
                    status="paid",
                    paid_on=date(2025, 12, 15),
                    bank="农业银行",
                    account_masked="6228****0001",
                    amount_fen=12000,
                    batch_number="b2",
                ),
            ]
        )
    with db.write() as session:  # a timestamp with a fraction of a second (the snapshot renders it)
        session.execute(
            update(CardRow)
            .where(CardRow.id == lost)
            .values(loss_reported_at=clock.now() + timedelta(seconds=3, microseconds=123400))
        )
    cards = {
        name: api.card_row(card_id) for name, card_id in (("old", old), ("lost", lost), ("plain", plain))
    }
    yield {
        "persons": {"head": head, "wife": wife, "late": late, "single": single},
        "cards": cards,
        "api": api,
    }
    db.dispose()


def _requests(city: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    persons, cards = city["persons"], city["cards"]
    spaced = " ".join(persons["head"]["id_number"][i : i + 6] for i in range(0, 18, 6)).lower()
    requests: list[tuple[str, dict[str, Any]]] = []
    for card in cards.values():
        requests += [
            ("/cards", {"card_number": card.card_number}),
            ("/cards", {"card_number": card.card_number.lower()}),
            ("/cards", {"card_identifier": card.card_identifier.lower()}),
        ]
    requests += [
        ("/cards", {}),
        ("/cards", {"card_number": ""}),
        ("/cards", {"card_number": "L99999995"}),
        ("/cards", {"card_number": "NOT-A-CARD"}),
        (
            "/cards",
            {"card_number": cards["plain"].card_number, "card_identifier": cards["plain"].card_identifier},
        ),
        ("/cards", {"card_number": [cards["plain"].card_number, cards["lost"].card_number]}),
        ("/cards", {"card_number": cards["plain"].card_number, "extra": "1"}),
        ("/cards", {"card_number": "X" * 21}),
    ]
    for person in persons.values():
        requests += [
            ("/persons", {"id_number": person["id_number"]}),
            ("/persons", {"id_number": person["id_number"], "id_type": "resident_id"}),
            (f"/persons/{person['id']}", {}),
            (f"/persons/{person['id']}/subsidy-payments", {}),
            (f"/persons/{person['id']}/subsidy-payments", {"household": "true"}),
        ]
    head = persons["head"]["id"]
    requests += [
        ("/persons", {"id_number": spaced}),
        ("/persons", {"id_number": persons["head"]["id_number"], "id_type": "passport"}),
        ("/persons", {"id_number": persons["head"]["id_number"], "id_type": "bogus"}),
        ("/persons", {"id_number": "110101199001011234"}),
        ("/persons", {"id_number": ""}),
        ("/persons", {"id_number": "1" * 41}),
        ("/persons", {}),
        ("/persons/999999", {}),
        ("/persons/0", {}),
        ("/persons/abc", {}),
        (f"/persons/{head}", {"x": "1"}),
        ("/persons/999999/subsidy-payments", {}),
        (f"/persons/{head}/subsidy-payments", {"period_from": "202601", "period_to": "202604"}),
        (f"/persons/{head}/subsidy-payments", {"period_from": "2026-01"}),
        (f"/persons/{head}/subsidy-payments", {"period_to": ""}),
        (f"/persons/{head}/subsidy-payments", {"household": "1", "period_from": "202604"}),
        ("/changes", {"since": "0"}),
        ("/changes", {"since": "0", "limit": "2"}),
        ("/changes", {"since": "2", "limit": "1"}),
        ("/changes", {"since": "00", "limit": "0003"}),
        ("/changes", {"since": "999999"}),
        ("/changes", {"since": "-1"}),
        ("/changes", {"since": "0", "limit": "0"}),
        ("/changes", {"since": "0", "limit": "10001"}),
        ("/changes", {}),
    ]
    for entity in ("person", "card", "payment"):
        requests += [
            ("/snapshot", {"entity": entity}),
            ("/snapshot", {"entity": entity, "limit": "2"}),
            ("/snapshot", {"entity": entity, "after": "2", "limit": "1"}),
            ("/snapshot", {"entity": entity, "after": "999999"}),
        ]
        requests += [
            ("/snapshot", {"entity": entity, "region": "511102"}),
            ("/snapshot", {"entity": entity, "region": "511132", "limit": "1"}),
            ("/snapshot", {"entity": entity, "region": "511132", "after": "1", "limit": "1"}),
            ("/snapshot", {"entity": entity, "shape": "rows"}),
            ("/snapshot", {"entity": entity, "region": "511102", "shape": "rows", "limit": "2"}),
            ("/snapshot", {"entity": entity, "shape": "records", "after": "1"}),
        ]
    requests += [
        ("/snapshot", {"entity": "card", "region": "5111"}),
        ("/snapshot", {"entity": "card", "region": "51110X"}),
        ("/snapshot", {"entity": "card", "region": "５１１１０２"}),
        ("/snapshot", {"entity": "card", "region": ["511102", "511132"]}),
        ("/snapshot", {}),
        ("/snapshot", {"entity": "household"}),
        ("/snapshot", {"entity": "card", "limit": "0"}),
        ("/snapshot", {"entity": "card", "after": "-1"}),
        ("/snapshot", {"entity": "card", "limit": "10001"}),
        ("/snapshot", {"entity": "card", "limit": "3", "extra": "1"}),
        ("/snapshot", {"entity": "card", "shape": "columns"}),
    ]
    return requests


def _answer(client: AuthedClient, path: str, params: dict[str, Any], **kw: Any) -> tuple[int, str, bytes]:
    response = client.get(path, params=params, **kw)
    return response.status_code, response.headers["content-type"], response.content


def test_the_fast_paths_answer_as_the_ordinary_ones(
    apps: dict[str, TestClient], city: dict[str, Any], used_shortcuts: list[str]
) -> None:
    clients = {name: AuthedClient(client) for name, client in apps.items()}
    requests = _requests(city)
    for client in clients.values():  # the first request of a token verifies it (the ordinary way)
        client.get("/changes", params={"since": 0})
    used_shortcuts.clear()
    statuses: dict[int, int] = {}
    for path, params in requests:
        answers = {name: _answer(client, path, params) for name, client in clients.items()}
        assert answers["fast"] == answers["ordinary"] == answers["orm"], (path, params, answers)
        statuses[answers["fast"][0]] = statuses.get(answers["fast"][0], 0) + 1
    assert statuses[200] >= 30 and statuses[404] >= 4 and statuses[422] >= 10 and statuses[410] == 1, statuses
    assert {"find_card", "find_person", "get_person", "subsidy_payments", "changes", "snapshot"} <= set(
        used_shortcuts
    )
    plain = [r for r in requests if r[1] and all(isinstance(v, str) for v in r[1].values())]
    assert len(used_shortcuts) >= len(plain) // 2, "the shortcuts answered too few of the plain requests"


def test_credentials_are_checked_on_every_fast_request(
    apps: dict[str, TestClient], city: dict[str, Any], used_shortcuts: list[str]
) -> None:
    card = city["cards"]["plain"].card_number
    clients = {name: AuthedClient(client) for name, client in apps.items()}
    for name, client in clients.items():
        assert client.get("/cards", params={"card_number": card}).status_code == 200, name
        as_admin = _answer(client, "/cards", {"card_number": card}, desk=ADMIN)
        assert as_admin[0] == 403 and b"role_not_allowed" in as_admin[2], (name, as_admin)
    for headers in (
        {"Authorization": "Bearer " + "t" * 43},
        {"X-Counter-Key": "511102001-02.test-secret-511102001-02-0123456789"},  # another counter's key
        {"Authorization": ""},
    ):
        answers = {
            name: (r.status_code, r.content)
            for name, client in clients.items()
            for r in [
                client.raw.get(
                    "/cards", params={"card_number": card}, headers={**client.headers(), **headers}
                )
            ]
        }
        assert answers["fast"] == answers["ordinary"] == answers["orm"], (headers, answers)
        assert answers["fast"][0] == 401, answers
    signed_out = clients["fast"].headers(fresh=True)
    assert apps["fast"].get("/cards", params={"card_number": card}, headers=signed_out).status_code == 200
    assert apps["fast"].post("/auth/sign-out", headers=signed_out).status_code == 204
    assert apps["fast"].get("/cards", params={"card_number": card}, headers=signed_out).status_code == 401


def test_reads_survive_killed_connections(
    apps: dict[str, TestClient], city: dict[str, Any], services: Any, pg_url: str
) -> None:
    client = AuthedClient(apps["fast"])
    card = city["cards"]["plain"].card_number
    for _ in range(10):  # fill the pool
        assert client.get("/cards", params={"card_number": card}).status_code == 200
    database = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(pg_admin(services), autocommit=True) as conn:  # a failover ends every session
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        )
    statuses = [client.get("/cards", params={"card_number": card}).status_code for _ in range(10)]
    assert statuses == [200] * 10, statuses


def test_a_snapshot_page_as_rows_carries_the_records_of_the_page_as_records(
    apps: dict[str, TestClient], city: dict[str, Any]
) -> None:
    for name, app in apps.items():
        client = AuthedClient(app)
        for entity in ("person", "card", "payment"):
            params = {"entity": entity, "limit": "5", "after": "1"}
            records = client.get("/snapshot", params=params).json()
            rows = client.get("/snapshot", params={**params, "shape": "rows"}).json()
            assert records["items"], (name, entity)
            assert [dict(zip(rows["columns"], row, strict=True)) for row in rows["rows"]] == records["items"]
            assert rows["items"] == [] and "rows" not in records
            assert {k: v for k, v in rows.items() if k not in ("items", "columns", "rows")} == {
                k: v for k, v in records.items() if k != "items"
            }
