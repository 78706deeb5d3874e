"""SQLite connections of the local store (本地数据库连接): WAL, synchronous=FULL, foreign keys.

Every connection the store's engine opens gets the same PRAGMAs before it is used, and every
transaction starts with ``BEGIN IMMEDIATE`` so two writers (threads or processes) queue for the write
lock instead of failing half-way. Reads go through `reading` (same pool, deferred ``BEGIN``): in WAL
mode they neither wait for nor block a writer.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from counter_app.store.errors import StoreNotDurable

DATABASE_FILE_NAME = "counter-store.sqlite"
BUSY_TIMEOUT_MS = 10_000
SYNCHRONOUS_FULL = 2  # PRAGMA synchronous reports FULL as 2
_BEGIN_OPTION = "store_begin"


def database_path(data_dir: Path) -> Path:
    """Where the counter's local database lives inside its data folder."""
    return data_dir / DATABASE_FILE_NAME


def create_private(path: Path) -> None:
    """Make sure the database file exists and only its owner may read it (SQLite gives the -wal and
    -shm files the same mode). On Windows the per-user profile folder's ACL does this job."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    if os.name == "posix":
        path.chmod(0o600)


@dataclass(frozen=True)
class ConnectionPragmas:
    """The durability settings one connection runs with (as SQLite reports them)."""

    journal_mode: str
    synchronous: int
    foreign_keys: int

    @property
    def durable(self) -> bool:
        """WAL, synchronous=FULL (2) and foreign keys on."""
        return (
            self.journal_mode.lower() == "wal"
            and self.synchronous == SYNCHRONOUS_FULL
            and self.foreign_keys == 1
        )


def _configure(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # the driver never begins on its own; see _begin
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        mode = str(cursor.execute("PRAGMA journal_mode=WAL").fetchone()[0])
        if mode.lower() != "wal":
            raise StoreNotDurable(mode)
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA secure_delete=ON")  # 剩余信息保护: freed pages are zeroed
    finally:
        cursor.close()


def read_pragmas(connection: sa.Connection) -> ConnectionPragmas:
    """The PRAGMAs in force on one SQLAlchemy connection."""
    return ConnectionPragmas(
        journal_mode=str(connection.exec_driver_sql("PRAGMA journal_mode").scalar()),
        synchronous=int(connection.exec_driver_sql("PRAGMA synchronous").scalar() or 0),
        foreign_keys=int(connection.exec_driver_sql("PRAGMA foreign_keys").scalar() or 0),
    )


def reading(engine: sa.Engine) -> sa.Engine:
    """The same engine and pool, beginning deferred: for transactions that only read."""
    return engine.execution_options(**{_BEGIN_OPTION: "BEGIN"})


def make_engine(path: Path, *, immediate: bool = True) -> sa.Engine:
    """An engine on the database file whose every connection is durable (see module docstring)."""
    engine = sa.create_engine(
        f"sqlite:///{path}",
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
    )
    default_begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"
    event.listen(engine, "connect", _configure)

    def _begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql(connection.get_execution_options().get(_BEGIN_OPTION, default_begin))

    event.listen(engine, "begin", _begin)
    return engine
