"""Sync benchmark of the counter (柜台同步压测): initial sync, delta sync, outbox drain, replica query.

    .venv/bin/python bench/sync.py                          # 200,000 persons, 2,000,000 payments
    .venv/bin/python bench/sync.py --quick                  # 20,000 persons, 200,000 payments
    .venv/bin/python bench/sync.py --persons 300000 --payments 3000000

What it does, by itself, and stops again (every process by its id):

1. starts a throw-away PostgreSQL cluster (``tests.harness.services.Postgres``), migrates a database,
   loads the training outlets, counters and operators, and seeds one county (市中区 511102: every
   person lives there) with ``bench/central_load.py``'s COPY loader: persons, a card each, payments;
2. runs ``counter-central serve`` (one worker; snapshot and feed pages of up to 10,000 rows);
3. a counter (its own SQLite store in a temporary folder, an in-memory keyring) enrols, signs in and
   does the **initial sync** (snapshot of persons, cards and payments, then the feed): rows/s and the
   store's size on disk;
4. **delta sync**: 1,000 changes written on the server (one transaction, through the server's own
   change-feed hooks), then one pull;
5. **drain**: 1,000 queued 非关键信息变更 recorded in the store, then one relay pass to the server;
6. **subsidy query** on the replica: 1,000 random holders, 12 months, p50/p95;

and prints each figure beside its goal: ≥ 50,000 rows/s, delta ≤ 1 s, drain ≤ 10 s, query ≤ 10 ms.
Server, PostgreSQL and counter share the machine's cores: the figures are for this hardware.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import central_load  # noqa: E402  (the COPY seeding is reused, not copied)

COUNTY = "511102"
OUTLET, COUNTER, WRITER_COUNTER = "511102001", "01", "02"
CLERK = "HR0101"
PASSWORD = "peixun-jingban"


class _MemoryKeyring:
    """A keyring backend in a dict for this process only (never keyrings.alt, never a file)."""

    @staticmethod
    def install() -> None:
        from keyring import set_keyring
        from keyring.backend import KeyringBackend

        class Memory(KeyringBackend):
            priority = -1

            def __init__(self) -> None:
                super().__init__()  # type: ignore[no-untyped-call]
                self.items: dict[tuple[str, str], str] = {}

            def get_password(self, service: str, username: str) -> str | None:
                return self.items.get((service, username))

            def set_password(self, service: str, username: str, password: str) -> None:
                self.items[(service, username)] = password

            def delete_password(self, service: str, username: str) -> None:
                self.items.pop((service, username), None)

        set_keyring(Memory())


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def _verdict(ok: bool) -> str:
    return "达到" if ok else "未达到"


def _store_size(path: Path) -> int:
    import sqlite3

    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())


def _delta_changes(url: str, count: int) -> None:
    """``count`` persons of the county get a new phone in one server transaction (feed hooks on)."""
    from sqlalchemy import select

    from central.core.db import Database
    from central.models import PersonRow
    from central.services import feed
    from counter_app.clock import SystemClock

    db = Database(url)
    feed.install(db.write_factory, SystemClock().now)
    try:
        with db.write() as session:
            persons = session.scalars(
                select(PersonRow)
                .where(PersonRow.insured_region == COUNTY)
                .order_by(PersonRow.id)
                .limit(count)
            ).all()
            for i, person in enumerate(persons):
                person.phone = f"139{i:08d}"
    finally:
        db.dispose()


def run(args: argparse.Namespace) -> int:
    import psycopg
    import requests

    from central.core.db import Database
    from central.migrations import upgrade
    from central.seed.training import create_training_data, issue_training_credentials
    from central.services.reference_data import sync_subsidy_catalog
    from counter_app.clock import SHANGHAI, SystemClock
    from counter_app.store import Store, database_path
    from counter_app.sync import SyncConfig, SyncService
    from counter_app.workflows.ports import TransactionRecord
    from tests.harness.services import Postgres, free_tcp_port

    print(
        f"乐山市社保卡柜台同步压测：一个区县（{COUNTY}）{args.persons:,} 人、{args.payments:,} 条补贴发放记录；"
        f"CPU {os.cpu_count()} 核"
    )
    postgres = Postgres()
    server: subprocess.Popen[bytes] | None = None
    workdir = Path(tempfile.mkdtemp(prefix="sync-bench-"))
    store: Store | None = None
    sync: SyncService | None = None
    try:
        env = postgres.start()
        admin = env["COUNTER_TEST_PG_ADMIN_URL"]
        database = "sync_bench"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        url = env["COUNTER_TEST_PG_URL"].rsplit("/", 1)[0] + f"/{database}"
        upgrade(url)
        db = Database(url)
        with db.write() as session:
            sync_subsidy_catalog(session)
            create_training_data(session)
            keys = issue_training_credentials(session, central_load.secret_for)
        db.dispose()
        print("\n服务端数据生成（bench/central_load.py 的 COPY，全部人员参保地为本区县）:")
        central_load.REGIONS = (COUNTY,)  # type: ignore[assignment]  # one county holds everyone
        central_load.seed(admin, database, args.persons, args.payments)

        port = free_tcp_port()
        log = workdir / "server.log"
        server_env = {
            **os.environ,
            "DATABASE_URL": url,
            "CENTRAL_LOG_LEVEL": "WARNING",
            "CENTRAL_SIGN_IN_LIMIT": "1000",
            "CENTRAL_SNAPSHOT_PAGE_MAX": "10000",
            "CENTRAL_FEED_PAGE_MAX": "10000",
        }
        with log.open("wb") as out:
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "central.cli",
                    "serve",
                    "--no-migrate",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=server_env,
                cwd=ROOT,
            )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start:\n" + log.read_text(errors="replace")[-3000:])
            time.sleep(0.2)

        _MemoryKeyring.install()
        clock = SystemClock()
        path = database_path(workdir / "counter")
        store = Store.open(path, clock=clock)
        config = SyncConfig(
            server_url=base,
            outlet_code=OUTLET,
            counter_number=COUNTER,
            read_timeout=120.0,
            snapshot_page=args.page,
            feed_page=args.page,
            relay_batch=200,
        )
        sync = SyncService(config, store, clock=clock)
        sync.enrol(keys[f"{OUTLET}-{COUNTER}"])
        assert sync.sign_in(CLERK, PASSWORD).online

        # 1. initial sync --------------------------------------------------------------------------------
        print("\n首次同步（全量快照 + 变更流回放）:", flush=True)
        watch = {"server": server.pid}
        if postgres.process is not None:
            watch["postgres"] = postgres.process.pid
        before = central_load.cpu_snapshot(watch)
        started = time.perf_counter()
        report = sync.puller.pull()
        initial = time.perf_counter() - started
        cores = central_load.cpu_used(before, central_load.cpu_snapshot(watch))
        rows = report.snapshot_rows
        size = _store_size(path)
        rate = rows / initial
        print(f"  {rows:,} 行（人员、卡片、补贴发放）  {initial:.1f} s  {rate:,.0f} 行/s")
        print(
            f"  其中等待中心分页 {report.waited_seconds:.1f} s，本机解析后写入 {report.applying_seconds:.1f} s"
            f"（本机写入 {rows / max(report.applying_seconds, 1e-9):,.0f} 行/s）"
        )
        print(f"  本地库占用 {size / 2**20:,.0f} MiB（{size / max(rows, 1):.0f} 字节/行，含索引与加密字段）")
        if cores:
            print(
                f"  CPU（首次同步期间，核）：柜台进程 {cores['generator']:.2f}，中心服务 {cores.get('server', 0.0):.2f}，"
                f"PostgreSQL {cores.get('postgres', 0.0):.2f}，本机其他进程 {cores['other']:.2f}"
            )
            if cores["other"] > 0.15:
                print(f"  注意：本机其他进程占用 {cores['other']:.2f} 核，结果偏低，宜在空闲时重测。")

        # 2. delta sync -----------------------------------------------------------------------------------
        _delta_changes(url, 1000)
        started = time.perf_counter()
        delta = sync.puller.pull()
        delta_seconds = time.perf_counter() - started
        print(f"\n增量同步: {delta.entries:,} 条变更  {delta_seconds * 1000:.0f} ms")

        # 3. drain ----------------------------------------------------------------------------------------
        today = datetime.now(SHANGHAI)
        rng = random.Random(7)
        ids = rng.sample(range(1, args.persons + 1), 1000)
        for i, pid in enumerate(ids):
            number = store.next_acceptance_number(OUTLET, COUNTER, today.date())
            id_number = central_load.id_number_of(pid)[0]
            store.record(
                TransactionRecord(
                    acceptance_number=number,
                    item_code="change_contact",
                    operator_number=CLERK,
                    outlet_code=OUTLET,
                    counter_number=COUNTER,
                    occurred_at=today,
                    holder_ref=store.holder_ref_for("resident_id", id_number),
                    result="已受理，待上传确认",
                    details={"bench": i},
                    server_command="change_contact",
                    server_payload={
                        "acceptance_number": number,
                        "requester": "holder",
                        "agent": None,
                        "person": {"id_type": "resident_id", "id_number": id_number},
                        "phone": f"137{i:08d}",
                    },
                )
            )
        started = time.perf_counter()
        drained = sync.relay.drain()
        drain_seconds = time.perf_counter() - started
        print(
            f"\n待上传队列: {drained.acknowledged:,} 条确认，{len(drained.rejected)} 条拒绝，"
            f"{drain_seconds:.1f} s（{drained.acknowledged / drain_seconds:,.0f} 条/s）"
        )

        # 4. subsidy query on the replica --------------------------------------------------------------------
        view = sync.replica
        samples = rng.sample(range(1, args.persons + 1), 1000)
        timings: list[float] = []
        found = 0
        for pid in samples:
            started = time.perf_counter()
            payments = view.subsidy_payments(
                str(pid), household=False, period_from="202401", period_to="202512"
            )
            timings.append((time.perf_counter() - started) * 1000)
            found += len(payments or [])
        timings.sort()
        p50, p95 = statistics.median(timings), timings[int(len(timings) * 0.95) - 1]
        print(
            f"\n副本补贴查询: 1,000 位持卡人（近 24 个月，共 {found:,} 条）  p50 {p50:.2f} ms  p95 {p95:.2f} ms"
        )

        print("\n目标:")
        print(f"  首次同步 ≥ 50,000 行/s      {rate:>10,.0f} 行/s  {_verdict(rate >= 50_000)}")
        print(f"  增量同步 1,000 条 ≤ 1 s     {delta_seconds:>10.2f} s     {_verdict(delta_seconds <= 1)}")
        print(f"  1,000 条待上传 ≤ 10 s        {drain_seconds:>10.2f} s     {_verdict(drain_seconds <= 10)}")
        print(f"  副本补贴查询 p95 ≤ 10 ms    {p95:>10.2f} ms    {_verdict(p95 <= 10)}")
        bad = [
            line
            for line in log.read_text(errors="replace").splitlines()
            if "Traceback" in line or " ERROR " in line
        ]
        print(f"  服务日志中的错误          {len(bad)}")
        return 0
    finally:
        if sync is not None:
            sync.stop()
        if store is not None:
            store.close()
        _stop(server)
        postgres.stop()
        shutil.rmtree(workdir, ignore_errors=True)  # the counter's store: hundreds of MiB


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--payments", type=int, default=2_000_000)
    parser.add_argument("--quick", action="store_true", help="20,000 persons, 200,000 payments")
    parser.add_argument("--page", type=int, default=10_000, help="snapshot and feed page size")
    args = parser.parse_args(argv)
    if args.quick:
        args.persons, args.payments = 20_000, 200_000
    _ = uuid  # (kept for symmetry with central_load's CLI)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
