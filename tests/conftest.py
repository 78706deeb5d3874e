"""Session-wide test set-up: Qt offscreen, an isolated home for the program, the service broker."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.harness.fixtures import ServiceBroker


@pytest.fixture(autouse=True)
def isolated_counter_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty configuration and data folders (never the developer's)."""
    monkeypatch.setenv("COUNTER_APP_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("COUNTER_APP_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


@pytest.fixture(scope="session")
def services() -> Iterator[ServiceBroker]:
    broker = ServiceBroker()
    yield broker
    broker.close()


@pytest.fixture(scope="session")
def pcscd(services: ServiceBroker) -> dict[str, str]:
    """The real pcscd with the two vpcd readers (card, PSAM): how to reach them."""
    return services.require("pcscd")


@pytest.fixture(scope="session")
def postgres_url(services: ServiceBroker) -> str:
    """SQLAlchemy URL of the throw-away PostgreSQL database."""
    return services.require("postgres")["COUNTER_TEST_PG_URL"]


@pytest.fixture(scope="session")
def cups(services: ServiceBroker) -> dict[str, str]:
    """A private cupsd with one cups-pdf queue: its socket, the queue and where the PDFs land."""
    return services.require("cups")
