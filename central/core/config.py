"""Settings of the central server (中心服务配置), from the environment (pydantic-settings).

| Variable | Default | Meaning |
|---|---|---|
| ``DATABASE_URL`` (or ``CENTRAL_DATABASE_URL``) | SQLite file ``central.db`` in the data folder | SQLAlchemy URL; PostgreSQL as ``postgresql+psycopg://user@host/db`` |
| ``CENTRAL_DATA_DIR`` | ``$XDG_DATA_HOME/leshan-sscard-central`` (``~/.local/share/…``; Windows ``%LOCALAPPDATA%``) | where the SQLite file lives |
| ``CENTRAL_PROBLEM_BASE`` | ``https://sbk.leshan.example/problems/`` | base URI of problem+json ``type`` s |
| ``CENTRAL_FORMAL_LOSS_CANCELLABLE`` | ``true`` | policy: may a 正式挂失 be cancelled |
| ``CENTRAL_CANCEL_LOSS_AFTER_REPLACEMENT_APPLIED`` | ``false`` | policy: 解挂 after a 补换卡 application |
| ``CENTRAL_TEMP_LOSS_DAYS`` | ``7`` | how long a 临时挂失 lasts |
| ``CENTRAL_EXPIRY_SWEEP_SECONDS`` | ``60`` | how often each worker lifts expired 临时挂失 (0: never; commands still do it lazily) |
| ``CENTRAL_AGENT_ALERT_PRINCIPALS`` / ``CENTRAL_AGENT_ALERT_DAYS`` | ``3`` / ``30`` | forced-collection alert (DOMAIN §6) |
| ``CENTRAL_LOG_LEVEL`` | ``INFO`` | level of the ``central`` logger |
| ``CENTRAL_TOKEN_MINUTES`` / ``CENTRAL_TOKEN_MAX_HOURS`` | ``30`` / ``12`` | operator token lifetime (renewed while in use) and its hard limit |
| ``CENTRAL_RECEIPT_SEAL_KEY`` | (none) | Base64 of the 16-byte key that seals counter receipt keys in the database (``central.core.key_seal``); unset: ``receipt-seal.key`` in the data folder, made on first start. Servers sharing one database need the same key |
| ``CENTRAL_AUTH_CACHE_SECONDS`` | ``2`` | how long a worker may reuse a verified token (a sign-out reaches the other workers within it) |
| ``CENTRAL_SIGN_IN_LIMIT`` / ``CENTRAL_SIGN_IN_WINDOW_SECONDS`` | ``20`` / ``60`` | sign-in attempts per client address and per counter in one window |
| ``CENTRAL_LOCKOUT_FAILURES`` / ``CENTRAL_LOCKOUT_MINUTES`` | ``5`` / ``15`` | failed sign-ins in a row that lock an account, and for how long |
| ``CENTRAL_IDEMPOTENCY_RETENTION_HOURS`` | ``720`` (30 days) | how long an ``Idempotency-Key`` and its answer are kept |
| ``CENTRAL_IDEMPOTENCY_LEASE_SECONDS`` | ``60`` | after this a request still "in flight" is taken as dead and its key may be retried |
| ``CENTRAL_FEED_RETENTION_DAYS`` | ``90`` | change-feed history kept; an older cursor gets ``410 Gone`` |
| ``CENTRAL_FEED_PAGE_MAX`` / ``CENTRAL_SNAPSHOT_PAGE_MAX`` | ``1000`` / ``2000`` | largest page of the feed and of the snapshot |
| ``CENTRAL_DB_POOL_SIZE`` / ``CENTRAL_DB_MAX_OVERFLOW`` | ``10`` / ``10`` | PostgreSQL: SQLAlchemy connections per worker kept open / opened beyond them under load (commands, other routes) |
| ``CENTRAL_READ_POOL_SIZE`` | ``5`` | PostgreSQL: async connections per worker for the hot lookups (``central.core.reads``); ``0``: lookups use the SQLAlchemy path |
| ``CENTRAL_THREADS`` | ``8`` | worker threads per worker process for the synchronous routes (commands); more cost CPU without more throughput |
| ``CENTRAL_DB_POOL_TIMEOUT`` | ``10`` | seconds a request waits for a free connection before ``503 unavailable/database`` |
| ``CENTRAL_FAST_ROUTES`` | ``true`` | answer plain hot lookups without FastAPI's parameter machinery (``central.api.fast``; same answers) |
| ``CENTRAL_BENCH_ENDPOINTS`` | ``false`` | expose ``GET /bench/*`` (the ceiling of ``bench/central_load.py``; benchmarks only) |

Connections: each worker holds up to ``DB_POOL_SIZE + DB_MAX_OVERFLOW + READ_POOL_SIZE`` (25 by
default); keep ``workers × that`` below PostgreSQL's ``max_connections`` (default 100) minus what
administrators and other clients need.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from central.core.key_seal import KeySeal
from counter_app.domain.card_lifecycle import LifecyclePolicy

APP_DIR_NAME = "leshan-sscard-central"
DEFAULT_PROBLEM_BASE = "https://sbk.leshan.example/problems/"


def default_data_dir() -> Path:
    """The platform's per-user data folder for the server (overridden by ``CENTRAL_DATA_DIR``)."""
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home())) / APP_DIR_NAME
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local/share") / APP_DIR_NAME


class Settings(BaseSettings):
    """Everything the server reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="CENTRAL_", extra="ignore", populate_by_name=True)

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("database_url", "DATABASE_URL", "CENTRAL_DATABASE_URL")
    )
    data_dir: Path = Field(default_factory=default_data_dir)
    problem_base: str = DEFAULT_PROBLEM_BASE
    formal_loss_cancellable: bool = True
    cancel_loss_after_replacement_applied: bool = False
    temp_loss_days: int = Field(default=7, ge=1)
    expiry_sweep_seconds: float = Field(default=60.0, ge=0)
    agent_alert_principals: int = Field(default=3, ge=1)
    agent_alert_days: int = Field(default=30, ge=1)
    log_level: str = "INFO"
    token_minutes: float = Field(default=30.0, gt=0)
    token_max_hours: float = Field(default=12.0, gt=0)
    auth_cache_seconds: float = Field(default=2.0, ge=0)
    sign_in_limit: int = Field(default=20, ge=1)
    sign_in_window_seconds: int = Field(default=60, ge=1)
    lockout_failures: int = Field(default=5, ge=1)
    lockout_minutes: float = Field(default=15.0, gt=0)
    idempotency_retention_hours: float = Field(default=720.0, gt=0)
    idempotency_lease_seconds: float = Field(default=60.0, gt=0)
    feed_retention_days: float = Field(default=90.0, gt=0)
    feed_page_max: int = Field(default=1000, ge=1)
    snapshot_page_max: int = Field(default=2000, ge=1)
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    read_pool_size: int = Field(default=5, ge=0)
    db_pool_timeout: float = Field(default=10.0, gt=0)
    threads: int = Field(default=8, ge=1)
    receipt_seal_key: str | None = Field(default=None, repr=False)
    fast_routes: bool = True
    bench_endpoints: bool = False

    @property
    def url(self) -> str:
        """The database URL: ``DATABASE_URL``, or the SQLite file in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'central.db'}"

    @property
    def problem_base_uri(self) -> str:
        return self.problem_base if self.problem_base.endswith("/") else self.problem_base + "/"

    def engine_options(self) -> dict[str, Any]:
        """Pool options of the SQLAlchemy engine (PostgreSQL; SQLite keeps SQLAlchemy's defaults)."""
        if make_url(self.url).get_backend_name() == "sqlite":
            return {}
        return {
            "pool_size": self.db_pool_size,
            "max_overflow": self.db_max_overflow,
            "pool_timeout": self.db_pool_timeout,
        }

    def receipt_seal(self) -> KeySeal:
        """The seal of the counters' receipt keys (``central.core.key_seal``)."""
        return KeySeal.load(self.receipt_seal_key, self.data_dir)

    def lifecycle_policy(self) -> LifecyclePolicy:
        return LifecyclePolicy(
            formal_loss_cancellable=self.formal_loss_cancellable,
            cancel_loss_after_replacement_applied=self.cancel_loss_after_replacement_applied,
            temp_loss_days=self.temp_loss_days,
        )
