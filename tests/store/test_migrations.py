"""Migrations: built in code, match the models, and an upgrade never loses an outbox message."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from counter_app.store import MigrationError, OutboxStatus, Store, make_engine, migrate
from counter_app.store.audit import GENESIS_HASH, AuditEntry, entry_hash
from counter_app.store.crypto import FieldCipher, StoreKeys
from counter_app.store.models import metadata
from tests.store.memory_keyring import MemoryKeyring, holding

OLD_STATUSES = ["pending", "pending", "sent", "acknowledged", "rejected", "needs_reconciliation", "pending"]


def _rows(connection: sa.Connection, table: str) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in connection.execute(sa.text(f"SELECT * FROM {table} ORDER BY 1"))]


def _database_at_0001(path: Path, secret: bytes) -> list[dict[str, Any]]:
    """A database made by migration 0001 with transactions, audit entries and outbox messages."""
    cipher = FieldCipher(StoreKeys.derive(secret))
    engine = make_engine(path)
    migrate.upgrade(engine, "0001")
    prev = GENESIS_HASH
    with engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO store_meta VALUES ('key_check', :v)"), {"v": cipher.check_value}
        )
        for seq, status in enumerate(OLD_STATUSES, start=1):
            number = f"51110200103202611270{seq:03d}"
            message_id = str(uuid.uuid4())
            entry = AuditEntry(
                "transaction", "report_loss", "1001", "511102001", "03",
                f"2026-11-27T09:{seq:02d}:00+08:00", "p1", "accepted", number, str(uuid.uuid4()),
            )  # fmt: skip
            digest = entry_hash(entry, prev)
            connection.execute(
                sa.text(
                    "INSERT INTO transactions (acceptance_number, item_code, operator_number, outlet_code,"
                    " counter_number, occurred_at, holder_ref, result, details, server_command,"
                    " server_payload, recorded_at) VALUES (:n, 'report_loss', '1001', '511102001', '03',"
                    " :t, 'p1', 'accepted', :d, 'report_loss', :p, :t)"
                ),
                {
                    "n": number,
                    "t": entry.occurred_at,
                    "d": cipher.encrypt_json({}, f"transactions.details:{number}"),
                    "p": cipher.encrypt_json({"seq": seq}, f"transactions.server_payload:{number}"),
                },
            )
            connection.execute(
                sa.text(
                    "INSERT INTO audit_entries (entry_id, event, acceptance_number, item_code,"
                    " operator_number, outlet_code, counter_number, occurred_at, holder_ref, result,"
                    " prev_hash, entry_hash) VALUES (:id, 'transaction', :n, 'report_loss', '1001',"
                    " '511102001', '03', :t, 'p1', 'accepted', :prev, :h)"
                ),
                {"id": entry.entry_id, "n": number, "t": entry.occurred_at, "prev": prev, "h": digest},
            )
            connection.execute(
                sa.text(
                    "INSERT INTO outbox_messages (id, created_at, command, payload, acceptance_number,"
                    " status, attempts, last_error, audit_head_seq, audit_head_hash)"
                    " VALUES (:id, :t, 'report_loss', :p, :n, :s, :a, :e, :hs, :h)"
                ),
                {
                    "id": message_id,
                    "t": entry.occurred_at,
                    "p": cipher.encrypt_json(
                        {"seq": seq, "姓名": "金丝燕"}, f"outbox_messages.payload:{message_id}"
                    ),
                    "n": number,
                    "s": status,
                    "a": seq % 3,
                    "e": None if status == "pending" else f"错误 {seq}",
                    "hs": seq,
                    "h": digest,
                },
            )
            prev = digest
        rows = _rows(connection, "outbox_messages")
    engine.dispose()
    return rows


@pytest.fixture
def old_database(tmp_path: Path, memory_keyring: MemoryKeyring) -> tuple[Path, list[dict[str, Any]]]:
    secret = os.urandom(32)
    memory_keyring.items.update(holding(secret).items)
    path = tmp_path / "old.sqlite"
    return path, _database_at_0001(path, secret)


def test_the_migrations_build_exactly_the_models(tmp_path: Path) -> None:
    engine = make_engine(tmp_path / "fresh.sqlite")
    try:
        migrate.upgrade(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
            assert migrate.current_revision(connection) == migrate.head_revision()
    finally:
        engine.dispose()


def test_there_are_at_least_two_migrations() -> None:
    from alembic.script import ScriptDirectory

    revisions = list(ScriptDirectory.from_config(migrate.alembic_config()).walk_revisions())
    assert len(revisions) >= 2


def test_upgrading_a_0001_database_keeps_every_outbox_message(
    old_database: tuple[Path, list[dict[str, Any]]],
) -> None:
    path, before = old_database
    with Store.open(path) as store:
        with store.engine.connect() as connection:
            assert migrate.current_revision(connection) == migrate.head_revision()
            after = _rows(connection, "outbox_messages")
        assert [{k: row[k] for k in before[0]} for row in after] == before
        assert all(row["next_attempt_at"] is None and row["acknowledged_at"] is None for row in after)
        messages = store.outbox.messages()
        assert [m.payload for m in messages] == [{"seq": i, "姓名": "金丝燕"} for i in range(1, 8)]
        assert [m.status for m in messages] == [OutboxStatus(s) for s in OLD_STATUSES]
        assert store.verify_audit().intact
        assert store.find("51110200103202611270003") is not None
    backup = path.with_name("old.sqlite.before-0002.bak")  # the copy taken before the upgrade
    assert backup.is_file() and (os.name != "posix" or backup.stat().st_mode & 0o077 == 0)


def test_a_failed_upgrade_leaves_the_old_database_and_its_outbox_untouched(
    old_database: tuple[Path, list[dict[str, Any]]],
) -> None:
    path, before = old_database
    engine = make_engine(path)
    with engine.begin() as connection:  # something in the way of 0002
        connection.execute(sa.text("CREATE TABLE replica_persons (x INTEGER)"))
    with pytest.raises(MigrationError, match="升级失败"):
        migrate.upgrade(engine)
    with engine.connect() as connection:
        assert migrate.current_revision(connection) == "0001"
        assert _rows(connection, "outbox_messages") == before  # no half-added columns either
    engine.dispose()


def test_an_upgrade_that_would_drop_outbox_messages_is_rolled_back(
    old_database: tuple[Path, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, before = old_database
    real_upgrade = command.upgrade

    def careless_upgrade(config: Any, revision: str) -> None:
        real_upgrade(config, revision)
        config.attributes["connection"].execute(
            sa.text("DELETE FROM outbox_messages WHERE status = 'pending'")
        )

    monkeypatch.setattr(command, "upgrade", careless_upgrade)
    engine = make_engine(path)
    with pytest.raises(MigrationError, match="丢失 3 条"):
        migrate.upgrade(engine)
    with engine.connect() as connection:
        assert migrate.current_revision(connection) == "0001"
        assert _rows(connection, "outbox_messages") == before
    engine.dispose()
