"""The harness really starts the services later issues build on (pcscd + vpcd, PostgreSQL)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.integration


@pytest.mark.pcsc
def test_pcscd_offers_both_vpcd_readers(pcscd: dict[str, str]) -> None:
    from smartcard.System import readers

    names = [str(r) for r in readers()]
    assert pcscd["COUNTER_TEST_PCSC_CARD_READER"] in names
    assert pcscd["COUNTER_TEST_PCSC_PSAM_READER"] in names


@pytest.mark.pcsc
def test_vpcd_accepts_a_card_connection(pcscd: dict[str, str]) -> None:
    """vpcd listens where the harness says, so an emulated card can be inserted there."""
    port = int(pcscd["COUNTER_TEST_VPCD_PORT"])
    with socket.create_connection((pcscd["COUNTER_TEST_VPCD_HOST"], port), timeout=5) as sock:
        assert sock.getpeername()[1] == port


@pytest.mark.postgres
def test_postgres_answers_and_is_a_fresh_database(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        version = conn.execute(sa.text("show server_version")).scalar_one()
        database = conn.execute(sa.text("select current_database()")).scalar_one()
    engine.dispose()
    assert int(str(version).split(".")[0]) >= 13
    assert database == "counter_test"


@pytest.mark.postgres
def test_postgres_cluster_is_private_and_not_owned_by_root(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        data_dir = Path(conn.execute(sa.text("show data_directory")).scalar_one())
        listen = conn.execute(sa.text("show listen_addresses")).scalar_one()
    engine.dispose()
    assert data_dir.name == "data" and data_dir.parent.name.startswith("counter-test-postgres-")
    assert data_dir.stat().st_uid != 0  # PostgreSQL refuses root; the harness runs it unprivileged
    assert listen == "127.0.0.1"


def test_runner_fails_a_pytest_run_that_collects_no_tests(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    run = subprocess.run(
        [sys.executable, "-m", "tests.harness", "run", "--only=", "--",
         sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "empty")],
        capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2], check=False,
    )  # fmt: skip
    assert run.returncode == 1
    assert "collected no tests" in run.stderr


def test_runner_passes_the_commands_exit_code_through(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "tests.harness", "run", "--only=", "--", sys.executable, "-c", "raise SystemExit(3)"],
        capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2], check=False,
    )  # fmt: skip
    assert run.returncode == 3
