"""The replica through the real server: snapshot of the county, the feed under concurrent writers,
``410 Gone`` and a cursor from another database → resync, a snapshot resumed after a crash, the
persons served, and subsidy payments fetched on demand or read offline."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from central.core.db import Database
from central.services import feed
from counter_app.clock import SHANGHAI
from counter_app.sync.replica_view import FEED
from tests.sync.helpers import (
    COUNTY,
    Counter,
    Writer,
    add_payment,
    county_phones,
    open_counter,
    seeder,
    sign_in,
)
from tests.sync.server import CentralProcess

pytestmark = [pytest.mark.postgres, pytest.mark.integration]
OTHER_COUNTY = "511132"


@pytest.fixture(scope="module")
def city(central_db: str) -> dict[str, Any]:
    """30 persons of the county and 10 of another one, each with a card and two payments."""
    api, db = seeder(central_db)
    from counter_app.domain.card_lifecycle import SocialStatus

    here = [api.person(insured_region=COUNTY) for _ in range(30)]
    there = [api.person(insured_region=OTHER_COUNTY) for _ in range(10)]
    for p in here + there:
        p["card_id"] = api.card(p["id"], SocialStatus.ACTIVE)
        p["payments"] = [
            add_payment(db, p, "202601", 7000),
            add_payment(db, p, "202602", 7100, status="failed"),
        ]
    db.dispose()
    return {"here": here, "there": there}


@pytest.fixture
def db(central_db: str) -> Iterator[Database]:
    database = Database(central_db)
    yield database
    database.dispose()


@pytest.fixture
def counter(central: CentralProcess, tmp_path: Path) -> Iterator[Counter]:
    c = open_counter(central.url, tmp_path / "counter")
    sign_in(c)
    yield c
    c.close()


def _replica_phones(counter: Counter, ids: list[str]) -> dict[str, str | None]:
    out = {}
    for pid in ids:
        person = counter.store.replica.person(pid)
        out[pid] = None if person is None else person.phone
    return out


def test_first_start_takes_the_county_from_the_snapshot(
    counter: Counter, city: dict[str, Any], db: Database
) -> None:
    report = counter.sync.puller.pull()
    assert report.resynced
    expected = county_phones(db)
    assert counter.store.replica.person_ids() == set(expected)
    assert _replica_phones(counter, list(expected)) == expected
    someone = city["here"][0]
    [card] = counter.store.replica.cards(person_id=str(someone["id"]))
    assert card.social_status == "active" and card.issuing_bank == "农业银行"
    assert counter.store.replica.cards(person_id=str(city["there"][0]["id"])) == []
    payments = counter.sync.replica.subsidy_payments(
        str(someone["id"]), household=False, period_from="202601", period_to="202612"
    )
    assert payments is not None
    assert [(p["period"], p["amount_fen"], p["status_label"]) for p in payments] == [
        ("202602", 7100, "失败"),
        ("202601", 7000, "已发"),
    ]
    assert counter.sync.replica.as_of() is not None
    snapshot = counter.sync.replica.person_snapshot("resident_id", someone["id_number"])
    assert snapshot is not None and snapshot.person["cards"][0]["status"] == "active"


def test_the_replica_follows_the_feed_under_concurrent_writers(
    counter: Counter, central: CentralProcess, city: dict[str, Any], db: Database
) -> None:
    counter.sync.puller.pull()
    writers = [Writer(central.url) for _ in range(3)]
    people = city["here"]
    done = threading.Event()
    failures: list[BaseException] = []

    def write(k: int) -> None:
        try:
            for i in range(20):
                person = people[(i * 3 + k) % len(people)]
                writers[k].change_phone(person["id_number"], f"1350{k}{i:06d}")
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    pulls = 0
    while any(t.is_alive() for t in threads):
        counter.sync.puller.pull()
        pulls += 1
    for t in threads:
        t.join()
    done.set()
    assert not failures, failures
    counter.sync.puller.pull()
    expected = county_phones(db)
    assert _replica_phones(counter, list(expected)) == expected
    assert pulls > 1 and counter.store.replica.cursor(FEED) > 0


def test_410_gone_leads_to_a_resync(
    counter: Counter, central: CentralProcess, city: dict[str, Any], db: Database
) -> None:
    counter.sync.puller.pull()
    writer = Writer(central.url)
    writer.change_phone(city["here"][1]["id_number"], "13611111111")
    with db.write() as session:  # the server prunes its feed history (as its sweeper does)
        feed.prune(session, datetime.now(SHANGHAI) + timedelta(days=365), 90)
    writer.change_phone(city["here"][2]["id_number"], "13622222222")
    report = counter.sync.puller.pull()
    assert report.resynced
    expected = county_phones(db)
    assert _replica_phones(counter, list(expected)) == expected


def test_a_cursor_from_another_database_wipes_and_resyncs(
    counter: Counter, city: dict[str, Any], db: Database
) -> None:
    counter.sync.puller.pull()
    counter.store.replica.apply(persons=[], cursor=(FEED, 10**9))
    served_elsewhere = counter.store.replica.person_ids()
    report = counter.sync.puller.pull()
    assert report.resynced
    assert (
        counter.store.replica.person_ids()
        == set(county_phones(db))
        <= served_elsewhere | set(county_phones(db))
    )


def test_a_snapshot_killed_half_way_resumes_where_it_stopped(
    central: CentralProcess,
    tmp_path: Path,
    city: dict[str, Any],
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from counter_app.sync import puller as puller_module
    from counter_app.sync.problems import ServerUnreachable

    counter = open_counter(central.url, tmp_path / "small-pages", snapshot_page=20)
    sign_in(counter)

    calls = {"n": 0}
    afters: list[int] = []
    real_get = counter.sync.client.get

    def flaky(path: str, **kw: Any) -> Any:
        if path == "/snapshot" and kw["params"]["entity"] == "payment":
            calls["n"] += 1
            afters.append(int(kw["params"]["after"]))
            if calls["n"] == 2:
                raise ServerUnreachable("test: the line dropped")
        return real_get(path, **kw)

    monkeypatch.setattr(counter.sync.client, "get", flaky)
    with pytest.raises(ServerUnreachable):
        counter.sync.puller.pull()
    assert counter.store.replica.cursor_or_none(puller_module.PHASE) == puller_module.SNAPSHOTTING
    progress = counter.store.replica.cursor("central.snapshot.payment")
    assert progress > 0  # the first page of payments was kept
    report = counter.sync.puller.pull()
    assert (
        report.resynced
        and counter.store.replica.cursor_or_none(puller_module.PHASE) == puller_module.FOLLOWING
    )
    expected = county_phones(db)
    assert counter.store.replica.person_ids() == set(expected)
    someone = city["here"][5]
    assert len(counter.store.replica.payments([str(someone["id"])], "202601", "202612")) == 2
    assert afters[0] == 0 and afters[2] == progress  # resumed after the kept page, not from the start
    counter.close()


def test_a_person_served_from_another_county_is_kept_and_followed(
    counter: Counter, central: CentralProcess, city: dict[str, Any]
) -> None:
    counter.sync.puller.pull()
    visitor = city["there"][3]
    assert counter.store.replica.person(str(visitor["id"])) is None
    assert counter.sync.central.find_person("resident_id", visitor["id_number"]) is not None
    assert counter.store.replica.person(str(visitor["id"])) is not None  # served: now in the replica
    payments = counter.sync.central.subsidy_payments(
        str(visitor["id"]), household=False, period_from="202601", period_to="202612"
    )  # online: fetched on demand
    assert len(payments) == 2
    assert len(counter.store.replica.payments([str(visitor["id"])], "202601", "202612")) == 2
    Writer(central.url).change_phone(visitor["id_number"], "13833333333")
    counter.sync.puller.pull()
    person = counter.store.replica.person(str(visitor["id"]))
    assert person is not None and person.phone == "13833333333"
    stranger = city["there"][4]  # never served: its changes are not kept
    Writer(central.url).change_phone(stranger["id_number"], "13844444444")
    counter.sync.puller.pull()
    assert counter.store.replica.person(str(stranger["id"])) is None


def test_someone_who_moves_into_the_county_comes_with_their_card_and_payments(
    counter: Counter, central: CentralProcess, city: dict[str, Any]
) -> None:
    counter.sync.puller.pull()
    mover = city["there"][8]
    person_id = str(mover["id"])
    assert counter.store.replica.person(person_id) is None
    assert counter.store.replica.cards(person_id=person_id) == []
    Writer(central.url).transfer_region(mover["id_number"], COUNTY)  # 参保地变更 into the county
    report = counter.sync.puller.pull()
    assert not report.resynced  # the feed alone brings them: their card and payments did not change
    person = counter.store.replica.person(person_id)
    assert person is not None and person.insured_region == COUNTY
    [card] = counter.store.replica.cards(person_id=person_id)
    assert card.social_status == "active"
    counter.sync.connectivity.unreachable("test: offline")  # what the clerk sees when the server is down
    payments = counter.sync.central.subsidy_payments(
        person_id, household=False, period_from="202601", period_to="202612"
    )
    assert sorted((p["period"], p["amount_fen"]) for p in payments) == [("202601", 7000), ("202602", 7100)]


def test_a_first_sync_asks_for_the_county_a_resync_of_a_served_visitor_for_the_city(
    counter: Counter,
    central: CentralProcess,
    city: dict[str, Any],
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    regions: list[str | None] = []
    real_get = counter.sync.client.get

    def watched(path: str, **kw: Any) -> Any:
        if path == "/snapshot":
            regions.append(kw["params"].get("region"))
        return real_get(path, **kw)

    monkeypatch.setattr(counter.sync.client, "get", watched)
    counter.sync.puller.pull()
    assert regions and set(regions) == {COUNTY}  # an empty replica: the county's pages only
    visitor = city["there"][6]
    assert counter.sync.central.find_person("resident_id", visitor["id_number"]) is not None  # served
    regions.clear()
    writer = Writer(central.url)
    writer.change_phone(visitor["id_number"], "13855555555")
    with db.write() as session:  # the feed history with that change is gone: 410, resync
        feed.prune(session, datetime.now(SHANGHAI) + timedelta(days=365), 90)
    writer.change_phone(city["here"][3]["id_number"], "13866666666")
    assert counter.sync.puller.pull().resynced
    assert regions and set(regions) == {None}  # it holds a visitor: the whole city's pages
    person = counter.store.replica.person(str(visitor["id"]))
    assert person is not None and person.phone == "13855555555"
    expected = county_phones(db)
    assert _replica_phones(counter, list(expected)) == expected


def test_offline_the_subsidy_query_reads_the_replica(counter: Counter, city: dict[str, Any]) -> None:
    counter.sync.puller.pull()
    someone, stranger = city["here"][7], city["there"][9]
    counter.sync.connectivity.unreachable("test: offline")
    payments = counter.sync.central.subsidy_payments(
        str(someone["id"]), household=True, period_from="202601", period_to="202612"
    )
    assert {p["amount_fen"] for p in payments} == {7000, 7100}
    from counter_app.workflows.ports import CentralUnavailable

    with pytest.raises(CentralUnavailable):
        counter.sync.central.subsidy_payments(
            str(stranger["id"]), household=False, period_from="202601", period_to="202612"
        )
