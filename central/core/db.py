"""The database (数据库): engine set-up for SQLite and PostgreSQL, and read/write sessions.

SQLite (the embedded default) gets WAL, ``synchronous=FULL``, foreign keys and a busy timeout on
every connection. pysqlite's own transaction handling is switched off and SQLAlchemy emits the
``BEGIN`` itself: plain (deferred) for reads, ``BEGIN IMMEDIATE`` for writes, so two writers queue
on the write lock instead of failing to upgrade a read snapshot. PostgreSQL runs READ COMMITTED;
the one-card rule is held by partial unique indexes and card updates by a row version. Lookups on
PostgreSQL run in autocommit (one round trip per statement instead of BEGIN … ROLLBACK around it);
each statement sees what was committed when it started.
"""

from __future__ import annotations

import select
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

_BEGIN_OPTION = "central_sqlite_begin"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; creates the SQLite file's folder when needed."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        _configure_sqlite(engine)
        return engine
    if "pool_pre_ping" in kwargs:  # the caller's choice of pinging
        return create_engine(url, **kwargs)
    engine = create_engine(url, **kwargs)
    _check_on_checkout(engine)
    return engine


def _check_on_checkout(engine: Engine) -> None:
    """Before a pooled PostgreSQL connection is handed out, make sure the server has not closed it.

    Like ``pool_pre_ping`` — a dead connection invalidates the pool and a fresh one is made — but
    without a round trip per checkout (two per command): an idle connection has nothing to read, so
    one that is readable has been closed by the server (``pg_terminate_backend``, a restart, a
    failover: PostgreSQL sends its FATAL message or closes the socket). Only then is the real ping
    sent, which decides; a closed or broken connection is replaced at once.
    """
    dialect = engine.dialect

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if getattr(dbapi_connection, "closed", False) or getattr(dbapi_connection, "broken", False):
            raise exc.InvalidatePoolError()
        try:
            poller = select.poll()
            poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLPRI)
            quiet = not poller.poll(0)
        except (AttributeError, OSError, ValueError):
            quiet = False
        if quiet:
            return
        try:
            alive = dialect._do_ping_w_event(dbapi_connection)
        except Exception:
            alive = False
        if not alive:
            raise exc.InvalidatePoolError()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """One engine with a session factory for reads and one for writes."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = create_db_engine(url, **engine_kwargs)
        self.sqlite = self.engine.dialect.name == "sqlite"
        write_engine = self.engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"}) if self.sqlite else None
        read_engine = (
            self.engine if self.sqlite else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self._read = sessionmaker(read_engine, expire_on_commit=False)
        self._write = sessionmaker(write_engine or self.engine, expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for lookups; rolled back at the end."""
        with self._read() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session for one command: committed when the block ends normally, else rolled back."""
        with self._write() as session, session.begin():
            yield session

    @contextmanager
    def single(self) -> Iterator[Session]:
        """A session for one self-contained write statement that commits by itself.

        PostgreSQL: autocommit (one round trip instead of BEGIN, the statement, COMMIT); SQLite: a
        write transaction committed at the end of the block.
        """
        if self.sqlite:
            with self.write() as session:
                yield session
        else:
            with self._read() as session:
                yield session

    @property
    def write_factory(self) -> sessionmaker[Session]:
        """The factory of write sessions (the change feed listens on it)."""
        return self._write

    def dispose(self) -> None:
        self.engine.dispose()
