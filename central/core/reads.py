"""Lookups on PostgreSQL on the event loop (异步只读连接): a small pool of autocommit connections.

The counters' hot lookups (a card, a person, subsidy payments, the change feed) are ``async`` routes
that read through this pool instead of a worker thread with a SQLAlchemy session: no thread hop, no
ORM, one network round trip per lookup (several statements in one psycopg pipeline). Commands and
everything else keep the synchronous SQLAlchemy path (``central.core.db``); SQLite has no async
driver here, so on SQLite — or when the pool is switched off (``CENTRAL_READ_POOL_SIZE=0``) or the
app runs without its lifespan — the same routes run the synchronous lookups in the thread pool.

Rules, as for SQLAlchemy's pool:

- Connections are made on demand, up to ``size`` per worker process; a request waits at most
  ``timeout`` seconds for a free one (then 503 ``unavailable/database``, like a pool timeout).
- Autocommit: each statement sees what was committed when it started; a lookup's statements are
  sent together in one pipeline, so they run one after the other on the same connection.
- Every connection's session time zone is Asia/Shanghai, so timestamps come back as aware datetimes
  in Asia/Shanghai, exactly as ``AwareDateTime`` reads them through SQLAlchemy.
- A connection that broke (server restart, ``pg_terminate_backend``, failover) is dropped together
  with every idle one — they are probably broken too — and the lookup, which changes nothing, runs
  once more on a fresh connection. If that fails as well, the database is down: 503.
- A connection returned in any state but idle is closed, not reused (psycopg itself cancels the
  statement of a request whose client went away and leaves its connection idle).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import namedtuple_row
from sqlalchemy import Engine

T = TypeVar("T")
Connection = psycopg.AsyncConnection[Any]


class ReadPoolTimeout(Exception):
    """No read connection became free in time (answered as 503 ``unavailable/database``)."""


class ReadPool:
    """Up to ``size`` autocommit connections of one worker process, used on its event loop only."""

    def __init__(self, connect_kwargs: dict[str, Any], size: int, timeout: float) -> None:
        self._connect_kwargs = connect_kwargs
        self.size = size
        self.timeout = timeout
        self._idle: list[Connection] = []
        self._free: asyncio.Semaphore | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self._closed = False

    @classmethod
    def for_engine(cls, engine: Engine, size: int, timeout: float) -> ReadPool | None:
        """A pool with the engine's connection parameters; None unless PostgreSQL through psycopg."""
        if size <= 0 or engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg":
            return None
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        if args:  # SQLAlchemy passes everything as keywords; anything else is not ours to interpret
            return None
        kwargs = {k: v for k, v in kwargs.items() if k != "context"}  # SQLAlchemy's own adapters
        return cls(kwargs, size, timeout)

    async def _connect(self) -> Connection:
        conn: Connection = await psycopg.AsyncConnection.connect(
            autocommit=True, row_factory=namedtuple_row, **self._connect_kwargs
        )
        try:
            await conn.execute("SET TIME ZONE 'Asia/Shanghai'")
        except BaseException:
            await conn.close()
            raise
        return conn

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """A connection for one lookup; back to the pool afterwards when it is still idle."""
        if self._closed:
            raise ReadPoolTimeout("the read pool is closed")
        if self._free is None:
            self._free = asyncio.Semaphore(self.size)
        free = self._free
        if free.locked():
            try:
                await asyncio.wait_for(free.acquire(), self.timeout)
            except TimeoutError:
                raise ReadPoolTimeout(
                    f"no read connection free within {self.timeout:g} s ({self.size} per worker)"
                ) from None
        else:
            await free.acquire()
        conn: Connection | None = None
        try:
            conn = self._idle.pop() if self._idle else await self._connect()
            yield conn
        finally:
            if conn is not None:
                if (
                    not self._closed
                    and not conn.closed
                    and conn.info.transaction_status == TransactionStatus.IDLE
                ):
                    self._idle.append(conn)
                else:
                    self._discard(conn)
            free.release()

    async def run(self, work: Callable[[Connection], Awaitable[T]]) -> T:
        """Run a read-only ``work`` on a pooled connection; once more on a fresh one if it broke."""
        for attempt in (1, 2):
            used: Connection | None = None
            try:
                async with self.connection() as conn:
                    used = conn
                    return await work(conn)
            except psycopg.OperationalError:
                if attempt == 2 or used is None or not used.closed:
                    raise
                self._drop_idle()
        raise AssertionError("unreachable")

    def _drop_idle(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            self._discard(conn)

    def _discard(self, conn: Connection) -> None:
        if conn.closed:
            return
        task = asyncio.get_running_loop().create_task(self._close_quietly(conn))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    @staticmethod
    async def _close_quietly(conn: Connection) -> None:
        try:
            await conn.close()
        except Exception:  # closing a broken connection: nothing left to do
            return

    async def close(self) -> None:
        """Close every idle connection (the worker is stopping); later lookups are refused."""
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            await self._close_quietly(conn)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
