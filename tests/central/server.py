"""A real ``counter-central serve`` on a loopback port, its log captured for inspection."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.harness.services import free_tcp_port

#: Lines that betray an unhandled exception or an error in the server's log.
BAD_LINE = re.compile(r"Traceback|\bERROR\b|Exception in ASGI application")


@contextmanager
def running_server(
    database_url: str,
    log: Path,
    *,
    workers: int = 1,
    extra_env: dict[str, str] | None = None,
    migrate: bool = True,
    extra_args: tuple[str, ...] = (),
) -> Iterator[str]:
    """Start the server (migrating first), yield its base URL, stop it; fail on errors in its log."""
    port = free_tcp_port()
    env = {**os.environ, "DATABASE_URL": database_url, **(extra_env or {})}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "central.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
                *([] if migrate else ["--no-migrate"]),
                *extra_args,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, "server did not start:\n" + log.read_text(errors="replace")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    bad = [line for line in log.read_text(errors="replace").splitlines() if BAD_LINE.search(line)]
    assert not bad, "the server log has errors:\n" + "\n".join(bad)
