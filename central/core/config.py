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
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

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

    @property
    def url(self) -> str:
        """The database URL: ``DATABASE_URL``, or the SQLite file in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'central.db'}"

    @property
    def problem_base_uri(self) -> str:
        return self.problem_base if self.problem_base.endswith("/") else self.problem_base + "/"

    def lifecycle_policy(self) -> LifecyclePolicy:
        return LifecyclePolicy(
            formal_loss_cancellable=self.formal_loss_cancellable,
            cancel_loss_after_replacement_applied=self.cancel_loss_after_replacement_applied,
            temp_loss_days=self.temp_loss_days,
        )
