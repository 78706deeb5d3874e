"""The FastAPI application of the central server (中心服务).

``create_app()`` reads the settings from the environment (``central.core.config``); tests pass
their own settings and clock. The database must be migrated first (``counter-central migrate``;
``serve`` does it before starting its workers). Each worker runs a small thread that lifts expired
临时挂失 every ``CENTRAL_EXPIRY_SWEEP_SECONDS`` and, on the same beat, forgets expired idempotency
keys and prunes the change feed beyond its retention. On PostgreSQL each worker also keeps a small
async pool for the counters' hot lookups (``central.core.reads``), opened and closed with the lifespan.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from anyio import to_thread
from fastapi import FastAPI
from fastapi.routing import APIRoute

from central import __doc__ as central_doc
from central.api.routes import (
    auth,
    bench,
    cards,
    commands,
    counters,
    notices,
    persons,
    receipts,
    subsidies,
    utils,
)
from central.api.routes import feed as feed_routes
from central.core.clock import Clock, SystemClock
from central.core.config import Settings
from central.core.db import Database
from central.core.problems import install_problem_handlers
from central.core.reads import ReadPool
from central.services import feed
from central.services.auth import Authenticator
from central.services.idempotency import IdempotencyStore
from central.services.production import expire_temp_losses
from central.services.receipts import seal_plain_keys

log = logging.getLogger("central")


class ExpirySweeper:
    """Lifts overdue 临时挂失 periodically (one per worker; concurrent sweeps are harmless)."""

    def __init__(self, db: Database, settings: Settings, clock: Clock) -> None:
        self.db, self.settings, self.clock = db, settings, clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="temp-loss-expiry", daemon=True)

    def start(self) -> None:
        if self.settings.expiry_sweep_seconds > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def sweep(self) -> list[int]:
        now = self.clock.now()
        with self.db.write() as session:
            ids = expire_temp_losses(session, now, self.settings.lifecycle_policy())
        if ids:
            log.info("临时挂失到期自动解除 %d 张卡", len(ids))
        self.housekeeping()
        return ids

    def housekeeping(self) -> None:
        """Forget idempotency keys past their retention; prune the change feed past its retention."""
        now = self.clock.now()
        keys = IdempotencyStore(self.db, timedelta(0), timedelta(0)).sweep(now)
        with self.db.write() as session:
            pruned = feed.prune(session, now, self.settings.feed_retention_days)
        if keys or pruned:
            log.info("清理过期幂等键 %d 个、变更流记录 %d 条", keys, pruned)

    def _run(self) -> None:
        while not self._stop.wait(self.settings.expiry_sweep_seconds):
            try:
                self.sweep()
            except Exception:
                log.exception("temporary-loss sweep failed; retrying at the next interval")


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """Build the application with its routers, problem handlers and expiry sweeper."""
    settings = settings or Settings()
    clock = clock or SystemClock()
    db = Database(settings.url, **settings.engine_options())
    feed.install(db.write_factory, clock.now)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await to_thread.run_sync(seal_plain_keys, db, app.state.receipt_seal)
        sweeper = ExpirySweeper(db, settings, clock)
        app.state.sweeper = sweeper
        # the async read pool belongs to this worker's event loop: made here, not in create_app
        reads = ReadPool.for_engine(db.engine, settings.read_pool_size, settings.db_pool_timeout)
        # Synchronous routes (the commands) run in this loop's worker threads: a few run faster than
        # many — each thread waiting on the database wants the interpreter back, and 40 threads
        # (anyio's default) fighting the event loop for it made a command cost nearly twice the CPU.
        to_thread.current_default_thread_limiter().total_tokens = settings.threads
        app.state.reads = reads
        sweeper.start()
        try:
            yield
        finally:
            app.state.reads = None
            sweeper.stop()
            if reads is not None:
                await reads.close()
            db.dispose()

    app = FastAPI(
        title="乐山市社会保障卡中心服务",
        description=central_doc or "",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.db = db
    app.state.reads = None  # until the lifespan starts (without it, lookups take the synchronous path)
    app.state.receipt_seal = settings.receipt_seal()
    app.state.auth = Authenticator(db, settings, clock)
    app.state.idempotency = IdempotencyStore(
        db,
        retention=timedelta(hours=settings.idempotency_retention_hours),
        lease=timedelta(seconds=settings.idempotency_lease_seconds),
    )
    install_problem_handlers(app)
    # Routes are matched in the order they are included and FastAPI's matching costs per router, so
    # the counters' hot lookups come first (no two routers share a path, so the order changes nothing
    # else); the benchmark's ceiling, when switched on, with them — measured like for like. OpenAPI
    # lists the paths in the documented order all the same.
    hot = (cards.router, persons.router, feed_routes.router)
    documented = (
        utils.router,
        auth.router,
        counters.router,
        persons.router,
        cards.router,
        commands.router,
        subsidies.router,
        feed_routes.router,
        notices.router,
        receipts.router,
    )
    if settings.bench_endpoints:
        app.include_router(bench.router)
    for router in (*hot, *(r for r in documented if r not in hot)):
        app.include_router(router)
    documented_paths = [
        route.path for router in documented for route in router.routes if isinstance(route, APIRoute)
    ]
    _require_all_security_schemes(app, documented_paths)
    return app


def _require_all_security_schemes(app: FastAPI, documented_paths: list[str]) -> None:
    """OpenAPI: an operation needs the operator token **and** the counter credential together.

    FastAPI lists each scheme as an alternative (``[{a}, {b}]``); the server requires both (``[{a, b}]``).
    The paths are listed in ``documented_paths`` order (the routes are matched in another, see above).
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            paths = schema.get("paths", {})
            rank = {path: i for i, path in enumerate(dict.fromkeys(documented_paths))}
            schema["paths"] = dict(sorted(paths.items(), key=lambda item: rank.get(item[0], len(rank))))
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    alternatives = operation.get("security")
                    if alternatives and len(alternatives) > 1:
                        merged: dict[str, list[str]] = {}
                        for requirement in alternatives:
                            merged.update(requirement)
                        operation["security"] = [merged]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
