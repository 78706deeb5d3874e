"""A database outage answers 503 problem+json with a Chinese detail and a reference, never a 500 or a
traceback; the server recovers by itself when the database is back."""

from __future__ import annotations

import logging
from pathlib import Path

import psycopg
import pytest
import requests
from fastapi.testclient import TestClient

from central.app import create_app
from central.core.config import Settings
from tests.central.helpers import HR, assert_problem, counter_credential, sign_in
from tests.central.server import running_server
from tests.harness.services import free_tcp_port

DEAD = "postgresql+psycopg://postgres@127.0.0.1:{port}/nowhere?connect_timeout=2"
TOKEN = {"Authorization": "Bearer " + "t" * 43, "X-Counter-Key": counter_credential(*HR[1:])}  # type: ignore[arg-type]


def test_no_database_is_a_503_problem_logged_as_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(database_url=DEAD.format(port=free_tcp_port()), expiry_sweep_seconds=0)
    with caplog.at_level(logging.WARNING, logger="central"), TestClient(create_app(settings)) as client:
        lookup = client.get("/persons/1", headers=TOKEN)
        signing_in = client.post(
            "/auth/sign-in",
            json={"operator_number": "HR0101", "password": "x"},
            headers={"X-Counter-Key": TOKEN["X-Counter-Key"]},
        )
    for response in (lookup, signing_in):
        problem = assert_problem(response, 503, "unavailable/database")
        assert "数据库" in problem["detail"] and problem["reference"] in problem["detail"]
        assert response.headers["Retry-After"] == "5"
    warnings = [r for r in caplog.records if r.name == "central.errors"]
    assert warnings and all(r.levelno == logging.WARNING and r.exc_info is None for r in warnings)
    assert lookup.json()["reference"] in warnings[0].getMessage()


@pytest.mark.integration
def test_a_real_server_without_its_database_answers_503_without_a_traceback(tmp_path: Path) -> None:
    url = DEAD.format(port=free_tcp_port())
    with running_server(url, tmp_path / "server.log", migrate=False) as base:  # fails on a traceback
        response = requests.get(f"{base}/changes", params={"since": 0}, headers=TOKEN, timeout=30)
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("application/problem+json")
    assert "database unavailable" in (tmp_path / "server.log").read_text()


@pytest.mark.postgres
@pytest.mark.integration
def test_killed_connections_are_replaced_without_errors(
    fresh_pg_database: str, tmp_path: Path, services: object
) -> None:
    from tests.central.conftest import pg_admin

    admin = pg_admin(services)  # type: ignore[arg-type]
    with running_server(fresh_pg_database, tmp_path / "server.log", workers=2) as base:
        token = sign_in(requests, *HR, base=base)
        headers = {"Authorization": f"Bearer {token}", "X-Counter-Key": TOKEN["X-Counter-Key"]}
        assert requests.get(f"{base}/outlets", headers=headers, timeout=10).status_code == 200
        database = fresh_pg_database.rsplit("/", 1)[1]
        with psycopg.connect(admin, autocommit=True) as conn:  # the DBA (or a failover) ends every session
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            )
        statuses = [
            requests.get(f"{base}/outlets", headers=headers, timeout=10).status_code for _ in range(20)
        ]
    assert set(statuses) <= {200, 503} and statuses[-1] == 200, statuses
