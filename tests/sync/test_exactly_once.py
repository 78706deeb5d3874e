"""Exactly once through a real server: a killed server, a lost answer, a message sent twice, and an
``in-flight`` answer before the success. Every queued transaction ends on the server once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from central.core.db import Database
from counter_app.store import OutboxStatus
from tests.sync.helpers import (
    Counter,
    forget_audit_heads,
    open_counter,
    record_change_contact,
    seeder,
    server_phone,
    server_transactions,
    sign_in,
)
from tests.sync.server import CentralProcess, LossyProxy

pytestmark = [pytest.mark.postgres, pytest.mark.integration]


@pytest.fixture
def proxy(central: CentralProcess) -> Iterator[LossyProxy]:
    p = LossyProxy(central.port)
    yield p
    p.close()


@pytest.fixture
def db(central_db: str) -> Iterator[Database]:
    database = Database(central_db)
    yield database
    database.dispose()


@pytest.fixture
def counter(proxy: LossyProxy, tmp_path: Path, db: Database) -> Iterator[Counter]:
    forget_audit_heads(db)
    c = open_counter(proxy.url, tmp_path / "counter")
    sign_in(c)
    yield c
    c.close()


def _person(central_db: str) -> dict[str, object]:
    api, db = seeder(central_db)
    try:
        return api.person()
    finally:
        db.dispose()


def test_a_queued_transaction_is_delivered_and_acknowledged_with_the_audit_head(
    counter: Counter, central_db: str, db: Database
) -> None:
    person = _person(central_db)
    record = record_change_contact(counter.store, person, "13900000001")
    report = counter.sync.relay.drain()
    assert report.acknowledged == 1 and report.waiting == ""
    assert server_transactions(db, [record.acceptance_number]) == {record.acceptance_number: 1}
    assert server_phone(db, int(person["id"])) == "13900000001"  # type: ignore[call-overload]
    [message] = counter.store.outbox.messages()
    assert message.status is OutboxStatus.ACKNOWLEDGED
    assert counter.store.last_acknowledged_head() == message.audit_head == counter.sync.anchor.server_head()


def test_the_answer_is_lost_and_the_retry_gets_the_stored_answer(
    counter: Counter, proxy: LossyProxy, central_db: str, db: Database
) -> None:
    person = _person(central_db)
    record = record_change_contact(counter.store, person, "13900000002")
    [message] = counter.store.outbox.messages()
    proxy.drop_response(message.id.encode())
    report = counter.sync.relay.drain()
    assert proxy.dropped == 1
    assert report.acknowledged == 1  # the client's own retry (same key) got the stored answer
    assert server_transactions(db, [record.acceptance_number]) == {record.acceptance_number: 1}
    assert counter.store.outbox.get(message.id).attempts == 1  # type: ignore[union-attr]


def test_the_same_message_sent_twice_has_one_effect(counter: Counter, central_db: str, db: Database) -> None:
    person = _person(central_db)
    record = record_change_contact(counter.store, person, "13900000003")
    [message] = counter.store.outbox.messages()
    assert counter.sync.relay.drain().acknowledged == 1
    counter.store.outbox.mark_failed(
        message.id, "test: send again", counter.sync.clock.now()
    )  # pending again
    assert counter.sync.relay.drain().acknowledged == 1
    assert server_transactions(db, [record.acceptance_number]) == {record.acceptance_number: 1}


def test_the_server_killed_mid_request_then_in_flight_then_success(
    counter: Counter, proxy: LossyProxy, central: CentralProcess, central_db: str, db: Database
) -> None:
    person = _person(central_db)
    first = record_change_contact(counter.store, person, "13900000004")
    second = record_change_contact(counter.store, person, "13900000005")
    [m1, _] = counter.store.outbox.messages()
    killed = threading.Event()

    def kill() -> None:
        central.kill()
        killed.set()

    proxy.on_request(m1.id.encode(), kill)
    report = counter.sync.relay.drain()
    assert killed.is_set() and report.waiting == "offline" and report.acknowledged == 0
    assert counter.sync.connectivity.offline
    central.start()
    counter.sync.worker.run_once()  # probe → online
    for _ in range(100):
        report = counter.sync.relay.drain()
        if counter.store.outbox.count(OutboxStatus.PENDING, OutboxStatus.SENT) == 0:
            break
    numbers = [first.acceptance_number, second.acceptance_number]
    assert server_transactions(db, numbers) == dict.fromkeys(numbers, 1)
    assert server_phone(db, int(person["id"])) == "13900000005"  # type: ignore[call-overload]  # in order


def test_an_in_flight_answer_is_retried_until_the_first_request_finished(
    counter: Counter, central_db: str, db: Database
) -> None:
    """Another request with the same key holds it (in flight) on the server: the relay waits, then
    takes over after the lease (the holder died), and the command is applied once."""
    from datetime import datetime, timedelta

    from central.models import CounterRow, IdempotencyKeyRow, OutletRow
    from central.services.idempotency import fingerprint
    from counter_app.clock import SHANGHAI

    person = _person(central_db)
    record = record_change_contact(counter.store, person, "13900000006")
    [message] = counter.store.outbox.messages()
    body = dict(message.payload)
    import json

    now = datetime.now(SHANGHAI)
    with db.write() as session:
        counter_id = session.scalar(
            CounterRow.__table__.select()
            .with_only_columns(CounterRow.id)
            .join(OutletRow, OutletRow.id == CounterRow.outlet_id)
            .where(OutletRow.code == "511102001", CounterRow.number == "01")
        )
        session.add(
            IdempotencyKeyRow(
                scope=f"counter:{counter_id}",
                key=message.id,
                method="POST",
                path="/commands/change_contact",
                fingerprint=fingerprint("POST", "/commands/change_contact", json.dumps(body).encode()),
                state="in_flight",
                owner="someone-else",
                claimed_at=now,
                lease_until=now + timedelta(seconds=1.5),
                expires_at=now + timedelta(days=30),
            )
        )
    report = counter.sync.relay.drain()
    assert report.waiting == "in_flight" and report.acknowledged == 0
    for _ in range(100):
        report = counter.sync.relay.drain()
        if report.acknowledged:
            break
        threading.Event().wait(0.1)
    assert report.acknowledged == 1
    assert server_transactions(db, [record.acceptance_number]) == {record.acceptance_number: 1}
