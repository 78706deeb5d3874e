"""The embedded central server of 培训模式 (内置培训服务器) — TRAINING only.

The real ``central`` FastAPI application, run by uvicorn on a thread of this process, listening on
127.0.0.1 at a free port, on a SQLite file in the training data folder.

The seeded population is built once per schema revision and seed parameters into a cache file
(``seed-cache/central-<revision>-<persons>-<seed>.db``); the working database is a copy of it, so a
trainee's 挂失 and 补卡 stay until `reset_working_copy` (重置培训数据) and a new program version
with a new schema gets a fresh copy without anyone deleting files. A cache being built is written
under a temporary name and renamed at the end: an interrupted build leaves nothing half-made.

The training counter (网点 511102001, 柜台 01: the city's HR centre, every item) is enrolled
against the working copy: its credential (``X-Counter-Key``) lives in the keyring, as a real
counter's does (``counter_app.sync.credentials``, training service name); a credential the working
copy no longer knows is replaced. The receipt key is fetched by the sync service's ``enrol``.
"""

from __future__ import annotations

import logging
import shutil
import socket
import threading
import time as clock
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from counter_app.clock import SHANGHAI
from counter_app.training.holders import add_test_card_holders

if TYPE_CHECKING:
    from counter_app.sync.credentials import CounterCredentials

log = logging.getLogger(__name__)

TRAINING_OUTLET = "511102001"
TRAINING_COUNTER = "01"
DEFAULT_PERSONS = 2_000
DEFAULT_SEED = 1
#: A fixed base date keeps the cached population identical from day to day.
SEED_AS_OF = date(2026, 1, 1)
#: Bumped when what the training cache holds besides the seed changes (the test-card holders).
CACHE_FORMAT = 1

Progress = Callable[[str], None]


def free_loopback_socket(port: int = 0) -> socket.socket:
    """A listening TCP socket on 127.0.0.1 (at a port the system chose by default)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    return sock


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


class EmbeddedCentral:
    """Builds (or reuses) the training database and runs the central server on a thread."""

    def __init__(
        self,
        root: Path,
        *,
        persons: int = DEFAULT_PERSONS,
        seed: int = DEFAULT_SEED,
        kdf_n: int | None = None,
        credentials: CounterCredentials | None = None,
        outlet_code: str = TRAINING_OUTLET,
        counter_number: str = TRAINING_COUNTER,
    ) -> None:
        self.root = root
        #: The seeded counter this PC is enrolled as (培训模式: the 人社 window's first counter).
        self.outlet_code = outlet_code
        self.counter_number = counter_number
        self._credentials = credentials
        self.socket = free_loopback_socket()
        self.base_url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.persons = persons
        self.seed = seed
        self._kdf_n = kdf_n
        self.working = root / "central.db"
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def credentials(self) -> CounterCredentials:
        if self._credentials is None:
            from counter_app.sync.credentials import CounterCredentials

            self._credentials = CounterCredentials()
        return self._credentials

    @credentials.setter
    def credentials(self, value: CounterCredentials) -> None:
        self._credentials = value

    # -- the database --------------------------------------------------------------------------

    def cache_path(self, revision: str) -> Path:
        name = f"central-{revision}-{self.persons}-{self.seed}-t{CACHE_FORMAT}.db"
        return self.root / "seed-cache" / name

    def prepare(self, progress: Progress) -> bool:
        """Make sure the cache and the working copy exist and are current; True when built now."""
        from central.migrations import current_revision, head_revision

        head = head_revision() or "none"
        cache = self.cache_path(head)
        built = False
        if not cache.exists():
            progress("首次启动：正在生成培训数据（约 2 秒）…")
            self._build_cache(cache)
            built = True
        source_marker = self.working.with_name(self.working.name + ".source")
        current = source_marker.read_text(encoding="utf-8").strip() if source_marker.exists() else ""
        if (
            built
            or current != cache.name
            or not self.working.exists()
            or current_revision(_sqlite_url(self.working)) != head
        ):
            self._copy(cache, source_marker)
        return built

    def reset_working_copy(self) -> None:
        """重置培训数据: the working copy becomes the pristine cache again (server stopped first)."""
        from central.migrations import head_revision

        self._copy(self.cache_path(head_revision() or "none"), self.working.with_name("central.db.source"))

    def _copy(self, cache: Path, source_marker: Path) -> None:
        _remove_database(self.working)
        shutil.copyfile(cache, self.working)
        source_marker.write_text(cache.name + "\n", encoding="utf-8")

    def _build_cache(self, cache: Path) -> None:
        from central.core.db import Database
        from central.migrations import upgrade
        from central.seed import seed_database

        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_name(cache.name + ".partial")
        _remove_database(partial)
        url = _sqlite_url(partial)
        started = clock.monotonic()
        upgrade(url)
        db = Database(url)
        try:
            kwargs: dict[str, Any] = {} if self._kdf_n is None else {"kdf_n": self._kdf_n}
            stats = seed_database(db, persons=self.persons, seed=self.seed, as_of=SEED_AS_OF, **kwargs)
            add_test_card_holders(db, datetime.combine(SEED_AS_OF, time(9), SHANGHAI))
            with db.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            db.dispose()
        for suffix in ("-wal", "-shm"):
            Path(f"{partial}{suffix}").unlink(missing_ok=True)
        partial.replace(cache)
        log.info(
            "training population built in %.1f s: %d persons, %d cards",
            clock.monotonic() - started,
            stats.persons,
            stats.cards,
        )

    def enrol(self) -> str:
        """The counter's credential (`outlet_code`-`counter_number`): from the keyring when the
        working copy knows it as that counter's."""
        from sqlalchemy import select

        from central.core.db import Database
        from central.core.problems import Problem
        from central.models import CounterRow, OutletRow
        from central.services.auth import issue_counter_credential, verify_counter

        stored = self.credentials.counter_key() if self.credentials.enrolled else None
        db = Database(_sqlite_url(self.working))
        try:
            if stored is not None:
                try:
                    with db.read() as session:
                        known = verify_counter(session, stored)
                    if (known.outlet_code, known.counter_number) == (self.outlet_code, self.counter_number):
                        return stored
                    log.info("the keyring holds another counter's credential: enrolling again")
                except Problem:
                    log.info("training counter credential unknown to the working copy: enrolling again")
            with db.write() as session:
                counter = session.scalar(
                    select(CounterRow)
                    .join(OutletRow, OutletRow.id == CounterRow.outlet_id)
                    .where(OutletRow.code == self.outlet_code, CounterRow.number == self.counter_number)
                )
                if counter is None:
                    raise RuntimeError(f"training counter {self.outlet_code}-{self.counter_number} missing")
                credential = issue_counter_credential(session, counter)
        finally:
            db.dispose()
        self.credentials.save_counter_key(credential)
        return credential

    # -- the server ----------------------------------------------------------------------------

    def start(self, progress: Progress) -> str:
        """Prepare, enrol and serve on this object's socket; returns the counter credential once
        the server answers ``/health`` (at `base_url`)."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.prepare(progress)
        credential = self.enrol()
        progress("正在启动内置培训服务器…")
        import uvicorn

        from central.app import create_app
        from central.core.config import Settings

        if self.socket.fileno() == -1:  # closed by a previous run (重置培训数据): same port again
            port = int(self.base_url.rsplit(":", 1)[1])
            self.socket = free_loopback_socket(port)
        settings = Settings(database_url=_sqlite_url(self.working), data_dir=self.root)
        config = uvicorn.Config(
            create_app(settings), log_config=None, access_log=False, lifespan="on", log_level="warning"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self.socket]}, name="training-central", daemon=True
        )
        self._thread.start()
        self._wait_until_up()
        log.info("embedded training server answering at %s", self.base_url)
        return credential

    def _wait_until_up(self, timeout: float = 30.0) -> None:
        import requests

        deadline = clock.monotonic() + timeout
        while clock.monotonic() < deadline:
            if self._thread is not None and not self._thread.is_alive():
                raise RuntimeError("内置培训服务器启动失败（详见日志）")
            try:
                if requests.get(f"{self.base_url}/health", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            clock.sleep(0.02)
        raise RuntimeError(f"内置培训服务器 {timeout:.0f} 秒内未响应")

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None
