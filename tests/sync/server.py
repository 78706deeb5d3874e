"""A real ``counter-central serve`` the sync tests can kill and restart, and a proxy that loses answers.

`CentralProcess` runs the server in its own process on a fixed loopback port (so the counter's URL
stays the same across restarts) and checks its log for errors. `LossyProxy` sits between the
counter and the server: it forwards every byte, and on command drops the next answer of a matching
request after the server sent it ("response lost"), or calls a hook the moment the request has
been forwarded (the test kills the server there: "server killed mid-request").
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests

from tests.harness.services import free_tcp_port

BAD_LINE = re.compile(r"Traceback|\bERROR\b|Exception in ASGI application")
ROOT = Path(__file__).resolve().parents[2]

#: Server settings for the sync tests: a dead request's key is taken over after 2 s; sign-ins are
#: not rate-limited (many test counters sign in from 127.0.0.1).
SERVER_ENV = {
    "CENTRAL_IDEMPOTENCY_LEASE_SECONDS": "2",
    "CENTRAL_SIGN_IN_LIMIT": "100000",
    "CENTRAL_LOG_LEVEL": "INFO",
    "CENTRAL_EXPIRY_SWEEP_SECONDS": "0",
}


class CentralProcess:
    """The central server on ``database_url`` at a fixed port, started, killed and restarted at will."""

    def __init__(self, database_url: str, log: Path, *, extra_env: dict[str, str] | None = None) -> None:
        self.database_url = database_url
        self.log = log
        self.port = free_tcp_port()
        self.env = {**os.environ, "DATABASE_URL": database_url, **SERVER_ENV, **(extra_env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.allowed_errors = 0
        self._logs: list[Path] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, migrate: bool = False) -> None:
        log = self.log.with_name(f"{self.log.stem}.{len(self._logs)}{self.log.suffix}")
        self._logs.append(log)
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "central.cli",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    *([] if migrate else ["--no-migrate"]),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=ROOT,
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            assert self.proc.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, "server did not start:\n" + log.read_text(errors="replace")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: the server dies wherever it is (no clean shutdown, no answer)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def restart(self) -> None:
        self.kill()
        self.start()

    def bad_lines(self) -> list[str]:
        return [
            line
            for log in self._logs
            if log.exists()
            for line in log.read_text(errors="replace").splitlines()
            if BAD_LINE.search(line)
        ]


class LossyProxy:
    """A loopback TCP proxy to ``target_port`` (one thread per connection).

    ``drop_response(marker)``: the next request whose bytes contain ``marker`` is forwarded and its
    answer read from the server, then the counter's connection is closed without it.
    ``on_request(marker, hook)``: when such a request has been forwarded, ``hook()`` runs (e.g. kills
    the server) before anything is read back.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_tcp_port()
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._server.settimeout(0.2)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._drop: list[bytes] = []
        self._hooks: list[tuple[bytes, Callable[[], None]]] = []
        self.dropped = 0
        self.hooked = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def drop_response(self, marker: bytes) -> None:
        with self._lock:
            self._drop.append(marker)

    def on_request(self, marker: bytes, hook: Callable[[], None]) -> None:
        with self._lock:
            self._hooks.append((marker, hook))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._server.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _take(self, data: bytes) -> tuple[bool, Callable[[], None] | None]:
        with self._lock:
            drop = next((m for m in self._drop if m in data), None)
            if drop is not None:
                self._drop.remove(drop)
            hook = next(((m, h) for m, h in self._hooks if m in data), None)
            if hook is not None:
                self._hooks.remove(hook)
        return drop is not None, None if hook is None else hook[1]

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
        except OSError:
            client.close()
            return
        drop = False
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([client, upstream], [], [], 0.2)
                if client in ready:
                    data = client.recv(65536)
                    if not data:
                        return
                    upstream.sendall(data)
                    dropping, hook = self._take(data)
                    drop = drop or dropping
                    if hook is not None:
                        self.hooked += 1
                        hook()
                if upstream in ready:
                    data = upstream.recv(65536)
                    if not data:
                        return
                    if drop:  # the server answered; the counter never hears it
                        self.dropped += 1
                        time.sleep(0.05)
                        return
                    client.sendall(data)
        except OSError:
            return
        finally:
            for s in (client, upstream):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
