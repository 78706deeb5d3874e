"""The central server's entry point and a real run of it on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from central.migrations import current_revision, head_revision
from tests.central.server import running_server


def test_counter_central_help_names_serve() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "central.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "serve" in out and "中心服务" in out
    assert "migrate" in out and "seed" in out


def test_migrate_creates_the_default_sqlite_database_in_the_data_dir(tmp_path: Path) -> None:
    env = {**os.environ, "CENTRAL_DATA_DIR": str(tmp_path / "data")}
    env.pop("DATABASE_URL", None)
    out = subprocess.run(
        [sys.executable, "-m", "central.cli", "migrate"], capture_output=True, text=True, check=True, env=env
    ).stdout
    database = tmp_path / "data" / "central.db"
    assert str(database) in out
    assert current_revision(f"sqlite:///{database}") == head_revision()


@pytest.mark.integration
def test_serve_answers_health_and_openapi_on_loopback(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'central.db'}"
    with running_server(url, tmp_path / "server.log") as base:
        health = requests.get(f"{base}/health", timeout=5)
        assert health.json() == {"status": "ok"}
        schema = requests.get(f"{base}/openapi.json", timeout=5).json()
        assert schema["info"]["title"] == "乐山市社会保障卡中心服务"
        assert {"/health", "/commands/apply", "/persons", "/cards", "/receipts/verify"} <= set(
            schema["paths"]
        )
        problem = requests.get(f"{base}/persons", params={"id_number": "110101199001011234"}, timeout=5)
        assert problem.status_code == 401  # not signed in
        assert problem.headers["content-type"].startswith("application/problem+json")
        assert "/auth/sign-in" in schema["paths"]


@pytest.mark.integration
def test_the_access_log_masks_id_and_card_numbers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'central.db'}"
    log = tmp_path / "server.log"
    with running_server(url, log, extra_args=("--access-log",)) as base:
        requests.get(f"{base}/persons", params={"id_number": "511102199003071234", "id_type": "resident_id"})
        requests.get(f"{base}/cards", params={"card_number": "S11000018"})
        requests.get(f"{base}/cards", params={"card_identifier": "511100D15600000500BF7C7A"})
    text = log.read_text(encoding="utf-8")
    assert "/persons?id_number=5111**********1234&id_type=resident_id" in text  # which lookup: still there
    assert (
        "/cards?card_number=S1*****18" in text and "/cards?card_identifier=5111****************7C7A" in text
    )
    for clear in ("511102199003071234", "S11000018", "511100D15600000500BF7C7A"):
        assert clear not in text
