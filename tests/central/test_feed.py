"""The change feed and the snapshot: commit order without gaps, 410 Gone, snapshot + replay.

The concurrency tests run on PostgreSQL (READ COMMITTED, real concurrent transactions): writers hold
their transactions open and commit in shuffled orders while a reader follows the feed.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from central.core.db import Database
from central.core.reads import ReadPool
from central.models import CardRow, PersonRow, SubsidyPaymentRow
from central.services import feed, lookups_pg
from counter_app.domain.card_lifecycle import SocialStatus
from tests.central.helpers import Api, FakeClock, assert_problem

Replica = dict[tuple[str, int], dict[str, Any]]


def pull(api: Api, since: int, limit: int = 500) -> dict[str, Any]:
    response = api.client.get("/changes", params={"since": since, "limit": limit})
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def test_commands_appear_in_the_feed_in_order_without_gaps(api: Api) -> None:
    person = api.person()
    card_id = api.card(person["id"], SocialStatus.ACTIVE)
    assert pull(api, 0)["entries"] == []  # records written directly (like seed) are not in the feed
    api.ok("report_loss", {"card": {"card_id": card_id}, "kind": "temporary"})
    api.ok("change_contact", {"person": person["ref"], "phone": "13911112222"})
    page = pull(api, 0)
    assert [e["seq"] for e in page["entries"]] == list(range(1, len(page["entries"]) + 1))
    kinds = [(e["entity"], e["id"]) for e in page["entries"]]
    assert ("card", card_id) in kinds and ("person", person["id"]) in kinds
    card_entry = next(e for e in page["entries"] if e["entity"] == "card")
    assert card_entry["data"]["status"] == "temp_loss"
    assert page["next"] == page["last_seq"] == len(kinds) and page["more"] is False
    assert pull(api, page["next"])["entries"] == []
    small = pull(api, 0, limit=1)
    assert len(small["entries"]) == 1 and small["next"] == 1 and small["more"] is True


def test_a_change_of_insured_region_brings_the_persons_cards_and_the_payments_to_them_into_the_feed(
    api: Api,
) -> None:
    mover, other = api.person(insured_region="511132"), api.person(insured_region="511132")
    card_id = api.card(mover["id"], SocialStatus.ACTIVE)
    api.card(other["id"], SocialStatus.ACTIVE)
    with api.db.write() as session:  # written directly: not in the feed yet
        payments = [
            SubsidyPaymentRow(
                item_code="16.1",
                beneficiary_person_id=beneficiary,
                recipient_person_id=recipient,
                period=period,
                amount_fen=7000,
                status="paid",
                batch_number=f"B{period}-{beneficiary}",
            )
            for beneficiary, recipient, period in (
                (mover["id"], mover["id"], "202609"),
                (mover["id"], mover["id"], "202610"),
                (other["id"], mover["id"], "202610"),  # paid to the mover's card (收款人)
                (mover["id"], other["id"], "202611"),  # the mover's, paid to someone else's card
            )
        ]
        session.add_all(payments)
        session.flush()
        to_mover = sorted(p.id for p in payments if p.recipient_person_id == mover["id"])
    api.ok("change_contact", {"person": mover["ref"], "phone": "13911112222"})
    assert [(e["entity"], e["id"]) for e in pull(api, 0)["entries"]] == [("person", mover["id"])]

    body = {"person": mover["ref"], "certificate_number": "ZY-2026-002", "to_region": "511102"}
    api.ok("transfer_region", body)
    entries = pull(api, 1)["entries"]
    assert sorted((e["entity"], e["id"]) for e in entries) == sorted(
        [("person", mover["id"]), ("card", card_id)] + [("payment", i) for i in to_mover]
    )
    assert [e["seq"] for e in entries] == [2, 3, 4, 5, 6]  # one transaction, numbered without gaps
    by_kind = {e["entity"]: e["data"] for e in entries}
    assert by_kind["person"]["insured_region"] == "511102" and by_kind["card"]["status"] == "active"
    assert {e["data"]["amount_fen"] for e in entries if e["entity"] == "payment"} == {7000}


def test_a_cursor_beyond_the_history_or_older_than_it_is_410(api: Api) -> None:
    person = api.person()
    api.ok("change_contact", {"person": person["ref"], "phone": "13911112222"})
    assert_problem(api.client.get("/changes", params={"since": 99}), 410, "feed/cursor-expired")
    settings = api.client.app.state.settings
    api.clock.advance(days=settings.feed_retention_days + 1)
    api.ok("change_contact", {"person": person["ref"], "phone": "13911113333"})
    api.client.app.state.sweeper.housekeeping()
    gone = assert_problem(api.client.get("/changes", params={"since": 0}), 410, "feed/cursor-expired")
    assert gone["horizon"] == 1
    assert [e["data"]["phone"] for e in pull(api, 1)["entries"]] == ["13911113333"]


def test_the_feed_is_for_counter_roles_only(api: Api) -> None:
    response = api.client.get("/changes", params={"since": 0}, desk=("ADMIN01", None, None))
    assert_problem(response, 403, "forbidden/role_not_allowed")
    assert_problem(api.raw.get("/changes", params={"since": 0}), 401, "auth/token_missing")


# --------------------------------------------------------------------------------------------
# Concurrent writers (PostgreSQL)
# --------------------------------------------------------------------------------------------


def _writer_db(url: str, clock: FakeClock) -> Database:
    db = Database(url)
    feed.install(db.write_factory, clock.now)
    return db


def _arrange(db: Database, people: int) -> list[int]:
    with db.write() as session:
        rows = [
            PersonRow(
                id_type="resident_id",
                id_number=f"FEED{i:08d}",
                social_security_number=f"FEED{i:08d}",
                name=f"变更{i}",
                sex="1",
                ethnicity="01",
                birth_date=FakeClock().now().date() - timedelta(days=365 * 40),
                insured_region="511102",
                row_version=1,
            )
            for i in range(people)
        ]
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows]


def _follow(db: Database, stop: threading.Event, seen: list[int], replica: Replica) -> None:
    """A client following the feed: asserts it never sees a number out of order or with a gap."""
    cursor = 0
    while True:
        finished = stop.is_set()
        with db.read() as session:
            page = json.loads(feed.changes_page(session, cursor, 50))
        for entry in page["entries"]:
            assert entry["seq"] == cursor + 1, f"gap or reorder: {cursor} → {entry['seq']}"
            cursor = entry["seq"]
            seen.append(cursor)
            replica[(entry["entity"], entry["id"])] = entry["data"]
        if finished and not page["more"]:
            return
        if not page["entries"]:
            time.sleep(0.002)


def _write(db: Database, person_ids: list[int], rounds: int, seed: int, start: threading.Barrier) -> None:
    """Change people in transactions held open for random times, so commits interleave in any order."""
    rng = random.Random(seed)
    start.wait()
    for n in range(rounds):
        with db.write() as session:
            for person_id in sorted(rng.sample(person_ids, 2)):  # row locks in id order: no deadlock
                person = session.get(PersonRow, person_id, with_for_update=True)
                assert person is not None
                person.phone = f"139{seed:02d}{n:06d}"
            time.sleep(rng.random() * 0.01)  # hold the transaction open before committing


def _server_state(db: Database) -> Replica:
    state: Replica = {}
    with db.read() as session:
        for entity, model in feed.MODELS.items():
            for row in session.scalars(select(model)):  # type: ignore[call-overload]
                state[(entity, row.id)] = json.loads(json.dumps(feed.record_data(row)))
    return state


@pytest.mark.postgres
@pytest.mark.integration
def test_a_follower_misses_nothing_while_writers_commit_out_of_order(fresh_pg_database: str) -> None:
    clock = FakeClock()
    db = _writer_db(fresh_pg_database, clock)
    people = _arrange(db, 12)
    writers, rounds = 6, 25
    stop = threading.Event()
    seen: list[int] = []
    replica: Replica = {}
    errors: list[BaseException] = []

    def guarded(target: Any, *args: Any) -> None:
        try:
            target(*args)
        except BaseException as exc:
            errors.append(exc)

    start = threading.Barrier(writers)
    follower = threading.Thread(target=guarded, args=(_follow, db, stop, seen, replica))
    threads = [
        threading.Thread(target=guarded, args=(_write, db, people, rounds, seed, start))
        for seed in range(writers)
    ]
    follower.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    stop.set()
    follower.join(60)
    assert not errors, errors
    with db.read() as session:
        last, _ = feed.feed_state(session)
    assert seen == list(range(1, last + 1))
    assert last == len(people) + writers * rounds * 2
    expected = {k: v for k, v in _server_state(db).items() if k[0] == "person"}
    assert {k: v for k, v in replica.items() if k[0] == "person"} == expected
    db.dispose()


def _snapshot_page(
    db: Database, path: str, entity: str, after: int, limit: int, region: str | None = None
) -> dict[str, Any]:
    """A snapshot page read the ORM way (``feed``) or as the read pool does (``lookups_pg``)."""
    if path == "orm":
        with db.read() as session:
            return feed.snapshot_page(session, entity, after, limit, region)  # type: ignore[arg-type]

    async def read() -> str:
        pool = ReadPool.for_engine(db.engine, 1, 10)
        assert pool is not None
        try:
            return await pool.run(lambda conn: lookups_pg.snapshot_page(conn, entity, after, limit, region))
        finally:
            await pool.close()

    page: dict[str, Any] = json.loads(asyncio.run(read()))
    return page


@pytest.mark.postgres
@pytest.mark.integration
@pytest.mark.parametrize("path", ["orm", "pg"])
def test_snapshot_during_concurrent_writes_plus_replay_equals_the_server(
    fresh_pg_database: str, path: str
) -> None:
    clock = FakeClock()
    db = _writer_db(fresh_pg_database, clock)
    people = _arrange(db, 40)
    with db.write() as session:  # a few cards and payments too
        for person_id in people[:10]:
            session.add(
                CardRow(
                    person_id=person_id,
                    status="active",
                    issuing_region="511102",
                    bank="农业银行",
                    financial_status="active",
                    applied_at=clock.now(),
                    updated_at=clock.now(),
                )
            )
    errors: list[BaseException] = []
    done = threading.Event()

    def keep_writing(seed: int) -> None:
        rng = random.Random(seed)
        try:
            n = 0
            while not done.is_set():
                with db.write() as session:
                    person = session.get(PersonRow, rng.choice(people), with_for_update=True)
                    assert person is not None
                    person.address = f"嘉定路{seed}-{n}"
                    if rng.random() < 0.3:
                        card = session.scalar(
                            select(CardRow)
                            .order_by(CardRow.id)
                            .limit(1)
                            .offset(rng.randrange(10))
                            .with_for_update()
                        )
                        assert card is not None
                        card.pin_resets += 1
                    time.sleep(rng.random() * 0.005)
                n += 1
        except BaseException as exc:
            errors.append(exc)

    writers = [threading.Thread(target=keep_writing, args=(seed,)) for seed in range(4)]
    for t in writers:
        t.start()
    time.sleep(0.1)
    # The client: a paged snapshot (small pages, so writes land between them), then the replay.
    replica: Replica = {}
    as_of: int | None = None
    for entity in ("person", "card", "payment"):
        after = 0
        while True:
            page = _snapshot_page(db, path, entity, after, 7)
            as_of = page["as_of"] if as_of is None else as_of
            for item in page["items"]:
                replica[(entity, item["id"])] = json.loads(json.dumps(item))
            after = page["next_after"]
            time.sleep(0.01)
            if not page["more"]:
                break
    done.set()
    for t in writers:
        t.join(60)
    assert not errors, errors
    assert as_of is not None
    cursor = as_of
    while True:
        with db.read() as session:
            page = json.loads(feed.changes_page(session, cursor, 100))
        for entry in page["entries"]:
            replica[(entry["entity"], entry["id"])] = entry["data"]
        cursor = page["next"]
        if not page["more"]:
            break
    assert cursor > as_of  # writes really happened during the snapshot
    server = _server_state(db)
    diffs = {
        k: {f: (v[f], (server.get(k) or {}).get(f)) for f in v if v[f] != (server.get(k) or {}).get(f)}
        for k, v in replica.items()
        if server.get(k) != v
    }
    assert diffs == {}
    assert replica == server
    assert not any(k[0] == "payment" for k in replica)
    db.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("path", ["orm", "pg"])
def test_a_snapshot_narrowed_to_a_county_has_its_persons_their_cards_and_payments_to_them(
    fresh_pg_database: str, path: str
) -> None:
    clock = FakeClock()
    db = _writer_db(fresh_pg_database, clock)
    people = _arrange(db, 12)
    with db.write() as session:
        here = set(people[::3])
        for person_id in people:
            session.get_one(PersonRow, person_id).insured_region = "511102" if person_id in here else "511132"
            session.add(
                CardRow(
                    person_id=person_id,
                    status="active",
                    issuing_region="511102",
                    financial_status="active",
                    applied_at=clock.now(),
                    updated_at=clock.now(),
                )
            )
        for beneficiary, recipient in zip(people, reversed(people), strict=True):  # 收款人 decides
            session.add(
                SubsidyPaymentRow(
                    item_code="16.1",
                    beneficiary_person_id=beneficiary,
                    recipient_person_id=recipient,
                    period="202610",
                    amount_fen=7000,
                    status="paid",
                    batch_number=f"B{beneficiary}",
                )
            )
    owner = {"person": "id", "card": "person_id", "payment": "recipient_person_id"}
    for entity in ("person", "card", "payment"):
        got, after = [], 0
        while True:
            page = _snapshot_page(db, path, entity, after, 2, region="511102")
            got += page["items"]
            after = page["next_after"]
            if not page["more"]:
                break
        assert sorted(item[owner[entity]] for item in got) == sorted(here), entity
        assert [item["id"] for item in got] == sorted(item["id"] for item in got)
        assert _snapshot_page(db, path, entity, 0, 100, region="511181")["items"] == []
    db.dispose()


def test_snapshot_pages_every_kind_by_id(api: Api) -> None:
    people = [api.person() for _ in range(5)]
    api.card(people[0]["id"], SocialStatus.ACTIVE)
    with api.db.write() as session:
        session.add(
            SubsidyPaymentRow(
                item_code="16.1",
                beneficiary_person_id=people[0]["id"],
                recipient_person_id=people[0]["id"],
                period="202610",
                amount_fen=7000,
                status="paid",
                batch_number="B1",
            )
        )
    ids = []
    after = 0
    while True:
        page = api.client.get("/snapshot", params={"entity": "person", "after": after, "limit": 2}).json()
        ids += [p["id"] for p in page["items"]]
        after = page["next_after"]
        if not page["more"]:
            break
    assert ids == sorted(p["id"] for p in people)
    cards = api.client.get("/snapshot", params={"entity": "card"}).json()
    assert len(cards["items"]) == 1 and cards["as_of"] == 0
    payments = api.client.get("/snapshot", params={"entity": "payment"}).json()
    assert payments["items"][0]["amount_fen"] == 7000
