"""The central server's entry point and a real run of it on loopback."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import requests

from tests.harness.services import free_tcp_port


def test_counter_central_help_names_serve() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "central.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "serve" in out and "中心服务" in out


@pytest.mark.integration
def test_serve_answers_health_and_openapi_on_loopback() -> None:
    port = free_tcp_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "central.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = requests.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except requests.ConnectionError:
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        assert health.json() == {"status": "ok"}
        schema = requests.get(f"http://127.0.0.1:{port}/openapi.json", timeout=5).json()
        assert schema["info"]["title"] == "乐山市社会保障卡中心服务"
        assert "/health" in schema["paths"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
