"""Every connection the store opens runs with WAL, synchronous=FULL and foreign keys."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from counter_app.store import MigrationError, Store, StoreNotDurable, make_engine, read_pragmas
from counter_app.store.engine import reading
from counter_app.store.migrate import upgrade
from tests.store.conftest import make_record


def test_every_pooled_connection_is_durable(store: Store) -> None:
    # held at once: four distinct pool connections (three readers and the one writer)
    connections = [reading(store.engine).connect() for _ in range(3)] + [store.engine.connect()]
    try:
        assert len({id(c.connection.dbapi_connection) for c in connections}) == 4
        for connection in connections:
            pragmas = read_pragmas(connection)
            assert (pragmas.journal_mode, pragmas.synchronous, pragmas.foreign_keys) == ("wal", 2, 1)
    finally:
        for connection in connections:
            connection.close()


def test_a_connection_opened_on_another_thread_is_durable(store: Store) -> None:
    seen = []

    def probe() -> None:
        with store.engine.connect() as connection:
            seen.append(read_pragmas(connection))

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    assert seen and seen[0].durable


def test_the_migration_runner_connection_is_durable(tmp_path: Path) -> None:
    engine = make_engine(tmp_path / "m.sqlite")
    try:
        pragmas = upgrade(engine)
    finally:
        engine.dispose()
    assert (pragmas.journal_mode, pragmas.synchronous, pragmas.foreign_keys) == ("wal", 2, 1)


def test_the_migration_runner_refuses_a_connection_that_is_not_durable(tmp_path: Path) -> None:
    plain = sa.create_engine(f"sqlite:///{tmp_path / 'plain.sqlite'}")
    try:
        with pytest.raises(MigrationError, match="not durable"):
            upgrade(plain)
    finally:
        plain.dispose()


def test_foreign_keys_are_enforced(store: Store) -> None:
    with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO outbox_messages (id, created_at, command, payload, acceptance_number,"
                " audit_head_seq, audit_head_hash) VALUES ('x', 't', 'c', x'00', 'no-such-number', 1, 'h')"
            )
        )


def test_a_database_that_cannot_use_wal_is_refused_in_chinese() -> None:
    engine = make_engine(
        Path(":memory:")
    )  # SQLite keeps journal_mode=memory there, as on some network drives
    try:
        with pytest.raises(StoreNotDurable, match="无法启用预写日志") as refused, engine.connect():
            pass
        assert refused.value.hint and "本机磁盘" in refused.value.hint
    finally:
        engine.dispose()


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_only_the_owner_may_read_the_database_files(store: Store, store_path: Path) -> None:
    store.record(make_record("P1"))
    files = [p for p in store_path.parent.iterdir() if p.name.startswith(store_path.name)]
    assert {p.name for p in files} >= {store_path.name, store_path.name + "-wal", store_path.name + "-shm"}
    assert all(p.stat().st_mode & 0o077 == 0 for p in files), [oct(p.stat().st_mode) for p in files]
