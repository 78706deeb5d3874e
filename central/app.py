"""The FastAPI application of the central server (中心服务).

``create_app()`` reads the settings from the environment (``central.core.config``); tests pass
their own settings and clock. The database must be migrated first (``counter-central migrate``;
``serve`` does it before starting its workers). Each worker runs a small thread that lifts expired
临时挂失 every ``CENTRAL_EXPIRY_SWEEP_SECONDS``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from central import __doc__ as central_doc
from central.api.routes import cards, commands, persons, receipts, utils
from central.core.clock import Clock, SystemClock
from central.core.config import Settings
from central.core.db import Database
from central.core.problems import install_problem_handlers
from central.services.production import expire_temp_losses

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
        with self.db.write() as session:
            ids = expire_temp_losses(session, self.clock.now(), self.settings.lifecycle_policy())
        if ids:
            log.info("临时挂失到期自动解除 %d 张卡", len(ids))
        return ids

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
    db = Database(settings.url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        sweeper = ExpirySweeper(db, settings, clock)
        app.state.sweeper = sweeper
        sweeper.start()
        try:
            yield
        finally:
            sweeper.stop()
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
    install_problem_handlers(app)
    for router in (utils.router, persons.router, cards.router, commands.router, receipts.router):
        app.include_router(router)
    return app
