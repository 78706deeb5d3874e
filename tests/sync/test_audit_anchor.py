"""Audit anchoring against the real server: a truncated tail and a fully recomputed local chain are
both found against the head the server acknowledged, and the worker raises the alarm."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from counter_app.store import BreakKind, Store
from counter_app.store.audit import GENESIS_HASH, AuditEntry, entry_hash
from counter_app.store.models import audit_entries
from counter_app.sync import Alarm
from tests.sync.helpers import (
    Counter,
    forget_audit_heads,
    open_counter,
    record_change_contact,
    seeder,
    sign_in,
)
from tests.sync.server import CentralProcess

pytestmark = [pytest.mark.postgres, pytest.mark.integration]


@pytest.fixture
def anchored(central: CentralProcess, central_db: str, tmp_path: Path) -> Iterator[Counter]:
    """A counter with four transactions delivered: the server holds its audit head."""
    api, db = seeder(central_db)
    person = api.person()
    forget_audit_heads(db)
    db.dispose()
    counter = open_counter(central.url, tmp_path / "counter")
    sign_in(counter)
    for i in range(4):
        record_change_contact(counter.store, person, f"1370000000{i}")
    assert counter.sync.relay.drain().acknowledged == 4
    assert counter.sync.anchor.server_head() == counter.store.audit_head()
    assert counter.sync.anchor.check().intact
    yield counter
    counter.close()


def _rows(store: Store) -> list[dict[str, object]]:
    with store.engine.connect() as connection:
        return [
            dict(r._mapping)
            for r in connection.execute(sa.select(audit_entries).order_by(audit_entries.c.seq))
        ]


def test_a_truncated_tail_is_found_against_the_server_head(anchored: Counter) -> None:
    store = anchored.store
    with store.engine.begin() as connection:
        last = connection.execute(sa.select(sa.func.max(audit_entries.c.seq))).scalar_one()
        connection.execute(sa.delete(audit_entries).where(audit_entries.c.seq > last - 2))
    assert store.verify_audit().intact  # what is left is a valid chain on its own
    report = anchored.sync.anchor.check()
    assert report.first_break is not None and report.first_break.kind is BreakKind.TRUNCATED


def test_a_recomputed_chain_is_found_against_the_server_head(anchored: Counter) -> None:
    store = anchored.store
    rows = _rows(store)
    fields = AuditEntry.__dataclass_fields__
    prev = GENESIS_HASH
    with store.engine.begin() as connection:
        for index, row in enumerate(rows):
            entry = AuditEntry(**{k: row[k] for k in fields})  # type: ignore[arg-type]
            if index == 0:
                entry = replace(entry, result="未办理")  # the edit someone wants to hide
            digest = entry_hash(entry, prev)
            connection.execute(
                sa.update(audit_entries)
                .where(audit_entries.c.seq == row["seq"])
                .values(result=entry.result, prev_hash=prev, entry_hash=digest)
            )
            prev = digest
    assert store.verify_audit().intact  # locally consistent again
    report = anchored.sync.anchor.check()
    assert report.first_break is not None and report.first_break.kind is BreakKind.DIVERGED


def test_the_worker_checks_after_reconnecting_and_raises_the_alarm(anchored: Counter) -> None:
    alarms: list[Alarm] = []
    anchored.sync.on_alarm(alarms.append)
    with anchored.store.engine.begin() as connection:
        last = connection.execute(sa.select(sa.func.max(audit_entries.c.seq))).scalar_one()
        connection.execute(sa.delete(audit_entries).where(audit_entries.c.seq == last))
    anchored.sync.connectivity.unreachable("test")
    anchored.sync.connectivity.reachable()
    anchored.sync.worker.run_once()
    status = anchored.sync.status()
    assert status.audit_intact is False and "审计链异常" in status.text
    assert [a.code for a in alarms] == ["audit_chain_broken"]
