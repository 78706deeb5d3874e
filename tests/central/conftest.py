"""Fixtures of the central server's tests: one database per test, on SQLite and on real PostgreSQL.

- ``central_url``: a migrated database with the subsidy catalog and the training outlets, counters
  and operators, and no population. SQLite: a copy of a template file per test. PostgreSQL: one
  database per session (created with the harness's admin URL), population tables truncated per test.
- ``api``: the real FastAPI app on that database, through an in-process HTTP client, with a clock
  the test can move.
- Every test fails if the ``central`` loggers recorded an ERROR (an unhandled exception is logged
  there at ERROR), unless it is marked ``expected_server_errors``.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from central.app import create_app
from central.core.config import Settings
from central.core.db import Database
from central.migrations import upgrade
from central.seed.training import create_training_data, issue_training_credentials
from central.services.reference_data import sync_subsidy_catalog
from tests.central.helpers import TEST_SEAL_KEY, Api, FakeClock, counter_secret
from tests.harness.fixtures import ServiceBroker

#: Population tables, emptied between PostgreSQL tests (outlets, operators and the catalog stay).
POPULATION = (
    "supervisor_notices",
    "feed_entries",
    "idempotency_keys",
    "sign_in_windows",
    "operator_sessions",
    "subsidy_payments",
    "custody_authorisations",
    "card_events",
    "transactions",
    "cards",
    "persons",
    "households",
)
BACKENDS = ["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.integration])]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "expected_server_errors: the test provokes ERROR records on purpose")


# --------------------------------------------------------------------------------------------
# The server log must stay free of errors
# --------------------------------------------------------------------------------------------


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def server_errors(request: pytest.FixtureRequest) -> Iterator[list[logging.LogRecord]]:
    """ERROR records of the ``central`` loggers during the test (none allowed unless marked)."""
    handler = _Collect()
    logger = logging.getLogger("central")
    logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)
    if request.node.get_closest_marker("expected_server_errors") is None:
        formatted = [logging.Formatter().format(r) for r in handler.records]
        assert not formatted, "the server logged errors:\n" + "\n".join(formatted)


# --------------------------------------------------------------------------------------------
# Databases
# --------------------------------------------------------------------------------------------

#: Every central server these tests start — in process or as ``counter-central serve`` — seals the
#: counters' receipt keys with one key: the PostgreSQL test database outlives a test.
os.environ["CENTRAL_RECEIPT_SEAL_KEY"] = TEST_SEAL_KEY

TEST_KDF_N = 2**10  # fast password hashes for the many test sign-ins (the server default is 2**15)


def prepare(url: str) -> None:
    """Migrate, load the catalog and the training outlets/operators."""
    upgrade(url)
    db = Database(url)
    try:
        with db.write() as session:
            sync_subsidy_catalog(session)
            create_training_data(session, kdf_n=TEST_KDF_N)
            issue_training_credentials(session, counter_secret)
    finally:
        db.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("central-template") / "central.db"
    prepare(f"sqlite:///{path}")
    return path


def pg_admin(services: ServiceBroker) -> str:
    return services.require("postgres")["COUNTER_TEST_PG_ADMIN_URL"]


def create_pg_database(admin_url: str, postgres_url: str, name: str) -> str:
    """A new empty database on the harness's cluster; returns its SQLAlchemy URL."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(postgres_url).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_central(services: ServiceBroker, postgres_url: str) -> Iterator[str]:
    admin = pg_admin(services)
    url = create_pg_database(admin, postgres_url, "central_tests")
    prepare(url)
    yield url
    drop_pg_database(admin, "central_tests")


@pytest.fixture
def fresh_pg_database(services: ServiceBroker, postgres_url: str) -> Iterator[str]:
    """A database of its own for one test (e.g. a server in another process), prepared."""
    admin = pg_admin(services)
    name = f"central_{uuid.uuid4().hex[:10]}"
    url = create_pg_database(admin, postgres_url, name)
    prepare(url)
    yield url
    drop_pg_database(admin, name)


def truncate_population(url: str) -> None:
    db = Database(url)
    try:
        with db.write() as session:
            session.execute(text(f"TRUNCATE {', '.join(POPULATION)} RESTART IDENTITY CASCADE"))
            session.execute(text("UPDATE feed_state SET last_seq = 0, horizon_seq = 0"))
            session.execute(
                text(
                    "UPDATE counters SET audit_head_seq = NULL, audit_head_hash = NULL, audit_head_at = NULL"
                )
            )
            session.execute(text("UPDATE operators SET failed_sign_ins = 0, locked_until = NULL"))
    finally:
        db.dispose()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A ``concurrent_writers`` test is not collected on SQLite (one writer at a time): no skip."""
    dropped = [
        item
        for item in items
        if item.get_closest_marker("concurrent_writers") is not None
        and getattr(item, "callspec", None) is not None
        and item.callspec.params.get("central_url") == "sqlite"  # type: ignore[attr-defined]
    ]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


@pytest.fixture(params=BACKENDS)
def central_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A prepared central database (training data, no population) on the parametrised backend."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "central.db"
        shutil.copyfile(template, target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("pg_central")
    truncate_population(url)
    return url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(central_url: str) -> Settings:
    return Settings(database_url=central_url, expiry_sweep_seconds=0)


@pytest.fixture
def client(settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    app = create_app(settings, clock=clock)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def db(central_url: str) -> Iterator[Database]:
    """Direct access to the same database (to arrange records and to check what changed)."""
    database = Database(central_url)
    yield database
    database.dispose()


@pytest.fixture
def api(client: TestClient, db: Database, clock: FakeClock) -> Api:
    return Api(client, db, clock)
