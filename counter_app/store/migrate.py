"""Schema upgrades at start-up (数据库升级), with Alembic configured in code (no alembic.ini).

The whole upgrade runs in one ``BEGIN IMMEDIATE`` transaction on a durable connection: it commits
completely or not at all. Before an existing database is changed it is copied (``VACUUM INTO``)
next to itself, and the upgrade is rolled back if any outbox message would be missing after it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from counter_app.store.engine import ConnectionPragmas
from counter_app.store.errors import MigrationError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    """An Alembic configuration pointing at the store's migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(connection: sa.Connection) -> str | None:
    """The revision the database is at (None: never migrated)."""
    return MigrationContext.configure(connection).get_current_revision()


def _outbox_ids(connection: sa.Connection) -> set[str]:
    if not sa.inspect(connection).has_table("outbox_messages"):
        return set()
    return set(connection.execute(sa.text("SELECT id FROM outbox_messages")).scalars())


def _backup(engine: sa.Engine, revision: str) -> Path | None:
    database = engine.url.database
    if not database:
        return None
    target = Path(database).with_name(f"{Path(database).name}.before-{revision}.bak")
    target.unlink(missing_ok=True)
    raw = engine.raw_connection()
    try:
        raw.driver_connection.execute("VACUUM INTO ?", (str(target),))  # type: ignore[union-attr]
    finally:
        raw.close()
    if os.name == "posix":
        target.chmod(0o600)
    return target


def upgrade(engine: sa.Engine, revision: str = "head") -> ConnectionPragmas:
    """Bring the database to ``revision``; returns the PRAGMAs the migration connection ran with."""
    config = alembic_config()
    target = head_revision() if revision == "head" else revision
    with engine.connect() as connection:
        current = current_revision(connection)
        connection.rollback()
    if current is not None and current != target:
        backup = _backup(engine, target)
        log.info("upgrading the local store from %s to %s; copy kept at %s", current, target, backup)
    with engine.connect() as connection:
        try:
            with connection.begin():
                before = _outbox_ids(connection)
                config.attributes["connection"] = connection
                command.upgrade(config, target)
                lost = before - _outbox_ids(connection)
                if lost:
                    raise MigrationError(f"升级会丢失 {len(lost)} 条待上传消息")
        except MigrationError:
            raise
        except Exception as exc:
            raise MigrationError(f"{type(exc).__name__}: {exc}") from exc
    pragmas = config.attributes["pragmas"]
    assert isinstance(pragmas, ConnectionPragmas)
    return pragmas
