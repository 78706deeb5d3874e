"""The relay's other answers, through the real server: a message older than the server keeps its keys
is flagged and reconciled (by its 受理编号) instead of replayed; a key reused with another body
raises the alarm; each message goes under the sign-in of the operator who recorded it; an expired
sign-in holds the queue; the background worker reports offline and online."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from central.core.db import Database
from central.models import TransactionRow
from counter_app.store import OutboxStatus
from counter_app.store.models import outbox_messages
from counter_app.sync import Alarm
from tests.central.helpers import PASSWORDS
from tests.sync.helpers import (
    CLERK,
    CLERK2,
    Counter,
    MovableClock,
    forget_audit_heads,
    open_counter,
    record_change_contact,
    seeder,
    server_transactions,
    sign_in,
)
from tests.sync.server import CentralProcess

pytestmark = [pytest.mark.postgres, pytest.mark.integration]


@pytest.fixture
def db(central_db: str) -> Iterator[Database]:
    database = Database(central_db)
    forget_audit_heads(database)
    yield database
    database.dispose()


@pytest.fixture
def person(central_db: str) -> dict[str, Any]:
    api, database = seeder(central_db)
    try:
        return api.person()
    finally:
        database.dispose()


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def counter(central: CentralProcess, tmp_path: Path, db: Database, clock: MovableClock) -> Iterator[Counter]:
    c = open_counter(central.url, tmp_path / "counter", clock=clock)
    sign_in(c)
    yield c
    c.close()


def test_a_message_older_than_the_key_retention_is_flagged_then_reconciled(
    counter: Counter, clock: MovableClock, person: dict[str, Any], db: Database
) -> None:
    store, sync = counter.store, counter.sync
    delivered = record_change_contact(store, person, "13711110001")
    assert sync.relay.drain().acknowledged == 1
    lost = record_change_contact(store, person, "13711110002")
    [m_delivered, m_lost] = store.outbox.messages()
    store.outbox.mark_failed(m_delivered.id, "test: answer never written", clock.now())  # was it applied?
    store.outbox.mark_sent(m_lost.id)  # it left the counter once; nobody knows whether it arrived
    store.outbox.mark_failed(m_lost.id, "test: no answer", clock.now())
    alarms: list[Alarm] = []
    sync.on_alarm(alarms.append)
    clock.offset = timedelta(hours=sync.config.key_retention_hours)
    report = sync.relay.drain()
    assert report.acknowledged == 0 and set(report.flagged) == {m_delivered.id, m_lost.id}
    assert {a.code for a in alarms} == {"key_retention_passed"}
    assert sync.status().flagged == 2
    assert sync.reconcile(m_delivered.id) == "acknowledged"  # the server has it: not sent again
    assert sync.reconcile(m_lost.id) == "acknowledged"  # the server has not: delivered now
    numbers = [delivered.acceptance_number, lost.acceptance_number]
    assert server_transactions(db, numbers) == dict.fromkeys(numbers, 1)
    assert {m.status for m in store.outbox.messages()} == {OutboxStatus.ACKNOWLEDGED}


def test_a_key_reused_with_another_body_raises_the_alarm_and_is_never_retried(
    counter: Counter, person: dict[str, Any], db: Database
) -> None:
    store, sync = counter.store, counter.sync
    record = record_change_contact(store, person, "13711110003")
    assert sync.relay.drain().acknowledged == 1
    [message] = store.outbox.messages()
    changed = {**message.payload, "phone": "13711119999"}  # the same id, another body: a bug
    blob = store._cipher.encrypt_json(changed, f"outbox_messages.payload:{message.id}")
    with store.engine.begin() as connection:
        connection.execute(
            sa.update(outbox_messages)
            .where(outbox_messages.c.id == message.id)
            .values(payload=blob, status="pending")
        )
    alarms: list[Alarm] = []
    sync.on_alarm(alarms.append)
    report = sync.relay.drain()
    assert report.flagged == [message.id] and [a.code for a in alarms] == ["idempotency_key_reused"]
    assert store.outbox.get(message.id).status is OutboxStatus.NEEDS_RECONCILIATION  # type: ignore[union-attr]
    assert sync.relay.drain().flagged == []  # not sent again
    assert server_transactions(db, [record.acceptance_number]) == {record.acceptance_number: 1}


def test_each_message_goes_under_its_own_operators_sign_in(
    counter: Counter, person: dict[str, Any], db: Database
) -> None:
    store, sync = counter.store, counter.sync
    theirs = record_change_contact(store, person, "13711110004", operator=CLERK2)
    mine = record_change_contact(store, person, "13711110005", operator=CLERK)
    report = sync.relay.drain()
    assert report.acknowledged == 0 and report.waiting == f"operator:{CLERK2}"  # in order: it waits
    assert f"须工号 {CLERK2} 联网登录后上传" in sync.status().text
    sync.sign_out()
    assert sync.sign_in(CLERK2, PASSWORDS[CLERK2]).online
    report = sync.relay.drain()
    assert report.acknowledged == 1 and report.waiting == f"operator:{CLERK}"
    sync.sign_in(CLERK, PASSWORDS[CLERK])
    assert sync.relay.drain().acknowledged == 1
    with db.read() as session:
        operators = dict(
            session.execute(
                select(TransactionRow.acceptance_number, TransactionRow.operator_number).where(
                    TransactionRow.acceptance_number.in_([theirs.acceptance_number, mine.acceptance_number])
                )
            ).all()
        )
    assert operators == {theirs.acceptance_number: CLERK2, mine.acceptance_number: CLERK}


def test_a_revoked_sign_in_holds_the_queue(
    counter: Counter, person: dict[str, Any], central: CentralProcess
) -> None:
    import requests

    store, sync = counter.store, counter.sync
    token = sync.tokens.any_token()
    requests.post(
        f"{central.url}/auth/sign-out",
        headers={"Authorization": f"Bearer {token}", "X-Counter-Key": sync.credentials.counter_key()},
        timeout=5,
    )
    record_change_contact(store, person, "13711110006")
    report = sync.relay.drain()
    assert report.waiting == "sign_in_required" and store.outbox.count(OutboxStatus.PENDING) == 1
    sign_in(counter)
    for _ in range(50):
        if sync.relay.drain().acknowledged:
            break
        threading.Event().wait(0.05)
    assert store.outbox.count(OutboxStatus.PENDING) == 0


def test_the_background_worker_reports_offline_and_online(
    counter: Counter, person: dict[str, Any], central: CentralProcess, db: Database
) -> None:
    sync = counter.sync
    changes: list[bool] = []
    went_online, went_offline = threading.Event(), threading.Event()

    def offline(reason: str) -> None:
        changes.append(False)
        went_offline.set()

    def online() -> None:
        changes.append(True)
        went_online.set()

    sync.on_offline(offline)
    sync.on_online(online)
    statuses: list[Any] = []
    sync.on_status(statuses.append)
    sync.start()
    try:
        central.kill()
        record = record_change_contact(counter.store, person, "13711110007")
        sync.worker.wake()
        assert went_offline.wait(20)
        central.start()
        assert went_online.wait(20)
        for _ in range(100):
            if counter.store.outbox.count(OutboxStatus.PENDING, OutboxStatus.SENT) == 0:
                break
            threading.Event().wait(0.1)
    finally:
        sync.worker.stop()
    assert changes[:2] == [False, True]
    assert server_transactions(db, [record.acceptance_number]) == {record.acceptance_number: 1}
    assert any(not s.online for s in statuses) and statuses[-1].online
