"""Load benchmark of the central server on PostgreSQL (中心服务压测): seeding, then a counter workload.

    .venv/bin/python bench/central_load.py                      # 1,000,000 persons, 10,000,000 payments
    .venv/bin/python bench/central_load.py --quick              # 20,000 persons, 200,000 payments
    .venv/bin/python bench/central_load.py --persons 200000 --payments 2000000
    .venv/bin/python bench/central_load.py --database-url postgresql+psycopg://…/central_bench
                                                        # drive a database seeded before (no seeding)

What it does, by itself, and stops again (every process by its id):

1. starts a throw-away PostgreSQL cluster (``tests.harness.services.Postgres``: fsync off, as in the
   tests), migrates a database and loads the training outlets, counters and operators;
2. seeds households, persons, one card each (with one history entry) and the payments with COPY
   (secondary indexes dropped during the load and rebuilt after, foreign-key triggers off for the
   load session only), prints rows/s per table and the seeding time, then VACUUM ANALYZE;
3. runs ``counter-central serve --workers 2`` with the benchmark endpoints (``/bench/*``: no
   database, no credentials) switched on;
4. drives it from a separate process (an asyncio HTTP/1.1 keep-alive generator, 64 connections;
   ``wrk`` is not required): first the generator's own ceiling against a canned responder; then, one
   after another on the same 64 connections — spread evenly over the workers (each connection asks
   ``/bench/worker`` who holds it; the kernel alone gave splits like 48:16, and each worker can use
   about one core) — the server's phases:

   - ``ceiling``: ``GET /bench/ceiling``, ~1 KB from a ``def`` route through FastAPI's default
     encoder, no credentials — the ceiling as the issue defines it; the goals are ratios to it;
   - ``ceiling_async``: the same answer from an ``async def`` route, printed for comparison only
     (the lookups are async routes now);
   - ``lookups``: cards by 卡号 and persons by 证件号码 (2:1), with operator token and counter credential;
   - ``mixed``: the counter workload — card and person lookups, subsidy queries, keyed commands
     (``change_contact`` with a fresh ``Idempotency-Key``, one in ten a replay of the previous one)
     and change-feed pulls;

5. prints req/s and p50/p95/p99 per endpoint, the connection split, and per phase the CPU the server
   workers, PostgreSQL, the generator and everything else on the machine used (so a run disturbed by
   other work shows it), then the goals: lookups ≥ 40 % and the mix ≥ 25 % of the ceiling, p95 ≤ 100 ms.

All of it shares the machine's cores (server, PostgreSQL and generator); the figures are upper
bounds for this hardware, not capacity figures (see shared/reference/server-ceiling.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REGIONS = (
    "511102",
    "511111",
    "511112",
    "511113",
    "511123",
    "511124",
    "511126",
    "511129",
    "511132",
    "511133",
    "511181",
)
BANKS = ("农业银行", "四川农信", "邮储银行", "工商银行", "建设银行", "中国银行", "乐山市商业银行")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬建华文斌宇浩凯鑫"
ITEMS = ("16.1", "16.2", "15.2", "20", "22", "30")
WEIGHTS17 = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
#: The desks the connections act at (人社 windows: change_contact is not a bank outlet's item).
DESKS = (("HR0101", "511102001", "01"), ("HR0102", "511102001", "02"), ("HR0109", "511102001", "03"))
PASSWORDS = {"HR0101": "peixun-jingban", "HR0102": "peixun-jingban", "HR0109": "peixun-fuhe"}


def secret_for(outlet: str, counter: str) -> str:
    return f"bench-{outlet}-{counter}-" + "k" * 24


def check_char(body: str) -> str:
    total = sum(int(c) * w for c, w in zip(body, WEIGHTS17, strict=True))
    return "10X98765432"[total % 11]


def id_number_of(i: int) -> tuple[str, str, date]:
    region = REGIONS[i % len(REGIONS)]
    birth = date(1940, 1, 1) + timedelta(days=(i // 1000) % 25000)
    body = f"{region}{birth:%Y%m%d}{i % 1000:03d}"
    return body + check_char(body), region, birth


# --------------------------------------------------------------------------------------------
# Seeding with COPY
# --------------------------------------------------------------------------------------------

SEEDED = ("households", "persons", "cards", "card_events", "subsidy_payments")


def _rebuildable(conn: Any) -> tuple[list[str], list[str]]:
    """Drop the secondary indexes and unique constraints of the seeded tables; the statements to rebuild."""
    tables = list(SEEDED)
    constraints = conn.execute(
        "SELECT conname, conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'u' AND conrelid::regclass::text = ANY(%s)",
        (tables,),
    ).fetchall()
    indexes = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) AND indexname NOT IN "
        "(SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'))",
        (tables,),
    ).fetchall()
    for name, table, _ in constraints:
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    rebuild = [definition for _, definition in indexes]
    rebuild += [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}' for name, table, definition in constraints
    ]
    return rebuild, [name for name, _ in indexes]


def _copy(conn: Any, table: str, columns: str, rows: Any, total: int) -> float:
    started = time.perf_counter()
    with conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        chunk: list[str] = []
        for line in rows:
            chunk.append(line)
            if len(chunk) >= 20_000:
                copy.write("".join(chunk))
                chunk.clear()
        if chunk:
            copy.write("".join(chunk))
    elapsed = time.perf_counter() - started
    print(
        f"  {table:<17} {total:>11,} 行  {elapsed:7.1f} s  {total / max(elapsed, 1e-9):>10,.0f} 行/s",
        flush=True,
    )
    return elapsed


def seed(admin_url: str, database: str, persons: int, payments: int) -> float:
    """COPY the synthetic city; returns the seeding time in seconds (load + index rebuild + analyze)."""
    import psycopg

    from central.upstream.province import card_number_for

    households = (persons + 2) // 3
    url = admin_url.rsplit("/", 1)[0] + f"/{database}"
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET max_parallel_maintenance_workers = 2")
        conn.execute("SET session_replication_role = replica")  # no FK triggers while loading (this session)
        rebuild, _ = _rebuildable(conn)
        _copy(
            conn,
            "households",
            "id, number, region_code, head_person_id",
            (f"{h}\tH{h:012d}\t{REGIONS[h % len(REGIONS)]}\t{3 * h - 2}\n" for h in range(1, households + 1)),
            households,
        )

        def person_rows() -> Any:
            for i in range(1, persons + 1):
                number, region, birth = id_number_of(i)
                name = (
                    SURNAMES[i % len(SURNAMES)] + GIVEN[(i // 7) % len(GIVEN)] + GIVEN[(i // 13) % len(GIVEN)]
                )
                sex = "1" if int(number[16]) % 2 else "2"
                yield (
                    f"{i}\tresident_id\t{number}\t{number}\t{name}\t{sex}\t01\t{region}\t{birth}\t"
                    f"138{i:08d}\t四川省乐山市嘉定路{i % 400}号\t{region}\t{(i - 1) // 3 + 1}\t\\N\t\\N\t1\n"
                )

        _copy(
            conn,
            "persons",
            "id, id_type, id_number, social_security_number, name, sex, ethnicity, birthplace, birth_date, "
            "phone, address, insured_region, household_id, vulnerable_group, deceased_on, row_version",
            person_rows(),
            persons,
        )

        def card_rows() -> Any:
            for i in range(1, persons + 1):
                region = REGIONS[i % len(REGIONS)]
                issued = date(2015, 1, 1) + timedelta(days=i % 3000)
                expires = date(issued.year + 10, issued.month, min(issued.day, 28))
                yield (
                    f"{i}\t{i}\t{card_number_for(i)}\t{region}D156000005{i:016X}\t3.00\t{region}\t{BANKS[i % len(BANKS)]}\t"
                    f"6228****{i % 10000:04d}\tactive\t\\N\t\\N\tactive\tf\tf\t\\N\t\\N\t"
                    f"{issued} 09:00:00+08\t\\N\tP{issued:%Y%m}\t{issued}\t{expires}\t\\N\t0\t0\t"
                    f"{issued} 10:00:00+08\t1\n"
                )

        _copy(
            conn,
            "cards",
            "id, person_id, card_number, card_identifier, spec_version, issuing_region, bank, account_masked, "
            "status, state_before_loss, loss_reported_at, financial_status, replacement_applied, known_duplicate, "
            "replaces_card_id, replace_kind, applied_at, applied_outlet_id, production_batch, issued_on, "
            "expires_on, issued_outlet_id, pin_resets, pin_unblocks, updated_at, row_version",
            card_rows(),
            persons,
        )
        _copy(
            conn,
            "card_events",
            "id, card_id, at, command, from_status, to_status, transaction_id, operator_number, detail",
            (
                f'{i}\t{i}\t2020-01-01 10:00:00+08\tseed\t\\N\tactive\t\\N\t\\N\t{{"source": "seed"}}\n'
                for i in range(1, persons + 1)
            ),
            persons,
        )
        months = [f"{2024 + (m // 12)}{m % 12 + 1:02d}" for m in range(24)]

        def payment_rows() -> Any:
            for j in range(payments):
                p = j % persons + 1
                k = j // persons
                item = ITEMS[k % len(ITEMS)]
                period = months[(k // len(ITEMS) + p) % 24]
                region = REGIONS[p % len(REGIONS)]
                failed = j % 50 == 0
                status, reason, paid = (
                    ("failed", "account_inactive", "\\N")
                    if failed
                    else ("paid", "\\N", f"{period[:4]}-{period[4:]}-15")
                )
                yield (
                    f"{j + 1}\t{item}\t{p}\t{(p - 1) // 3 + 1}\t{p}\t\\N\t\\N\t{p}\t民政局\t{period}\t{7000 + (j % 50) * 100}\t"
                    f"{status}\t{paid}\t{BANKS[p % len(BANKS)]}\t6228****{p % 10000:04d}\t{reason}\t{period}-{item}-{region}\t\\N\n"
                )

        _copy(
            conn,
            "subsidy_payments",
            "id, item_code, beneficiary_person_id, household_id, recipient_person_id, override_reason, "
            "override_note, card_id, department, period, amount_fen, status, paid_on, bank, account_masked, "
            "failure_reason, batch_number, resent_from_id",
            payment_rows(),
            payments,
        )
        conn.execute("SET session_replication_role = origin")
        rebuilt = time.perf_counter()
        for statement in rebuild:
            conn.execute(statement)
        print(
            f"  索引与约束重建       {len(rebuild):>3} 个  {time.perf_counter() - rebuilt:7.1f} s", flush=True
        )
        for table in SEEDED:
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(max(id), 0) + 1 FROM {table}), false)"
            )
        analysed = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        print(f"  VACUUM ANALYZE              {time.perf_counter() - analysed:7.1f} s", flush=True)
    return time.perf_counter() - started


# --------------------------------------------------------------------------------------------
# The load generator (a separate process)
# --------------------------------------------------------------------------------------------


@dataclass
class Plan:
    """Phases run one after another on the same connections: each is a warm-up, then measured."""

    host: str
    port: int
    connections: int
    warmup: float
    seconds: float
    #: (name, mix) per phase: the mix weights the kinds of request.
    phases: list[tuple[str, dict[str, int]]]
    data: dict[str, Any]
    #: Process trees whose CPU the generator measures over each measured window (name → root pid).
    watch: dict[str, int] | None = None
    #: The server's worker processes: the connections are spread evenly over them (0: as they come).
    workers: int = 0


# --------------------------------------------------------------------------------------------
# CPU accounting (Linux /proc): who used the machine while a phase was measured
# --------------------------------------------------------------------------------------------


def _proc_table() -> dict[int, tuple[int, int]]:
    """pid → (parent pid, CPU ticks incl. reaped children) of every process."""
    table: dict[int, tuple[int, int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                raw = f.read()
        except OSError:
            continue
        fields = raw[raw.rindex(b")") + 2 :].split()
        # fields[0] is the state (stat field 3): utime, stime, cutime, cstime are fields 14-17
        table[int(entry)] = (int(fields[1]), sum(int(x) for x in fields[11:15]))
    return table


def _tree_ticks(table: dict[int, tuple[int, int]], root: int) -> int:
    """CPU ticks of ``root`` and its live descendants (an exited one's are in its parent's cutime)."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        if pid in table:
            total += table[pid][1]
            todo.extend(children.get(pid, ()))
    return total


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine (/proc/stat; iowait counts as idle)."""
    with open("/proc/stat") as f:
        values = [int(x) for x in f.readline().split()[1:]]
    total = sum(values[:8])
    return total - values[3] - values[4], total


def cpu_snapshot(watch: dict[str, int]) -> dict[str, float] | None:
    """CPU seconds so far of each watched tree, of this process and of the machine (None off Linux)."""
    try:
        table = _proc_table()
        busy, total = _machine_ticks()
    except OSError:
        return None
    hz = os.sysconf("SC_CLK_TCK")
    snap = {name: _tree_ticks(table, pid) / hz for name, pid in watch.items()}
    snap["generator"] = time.process_time()
    snap["machine_busy"] = busy / hz
    snap["machine_total"] = total / hz
    return snap


def cpu_used(before: dict[str, float] | None, after: dict[str, float] | None) -> dict[str, float] | None:
    """Cores used per watched tree over the window, the generator, and everything else on the machine."""
    if before is None or after is None:
        return None
    wall = (after["machine_total"] - before["machine_total"]) / (os.cpu_count() or 1)
    if wall <= 0:
        return None
    used = {k: (after[k] - before[k]) / wall for k in before if not k.startswith("machine_")}
    used["other"] = max(0.0, (after["machine_busy"] - before["machine_busy"]) / wall - sum(used.values()))
    return used


def _request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: bench"] + [f"{k}: {v}" for k, v in headers.items()]
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


class Workload:
    """Makes the next request of a connection (each connection is one counter desk)."""

    def __init__(self, plan: Plan, index: int) -> None:
        self.plan = plan
        self.rng = random.Random(index)
        data = plan.data
        desk = data["desks"][index % len(data["desks"])] if data.get("desks") else None
        self.auth = {"Authorization": f"Bearer {desk['token']}", "X-Counter-Key": desk["key"]} if desk else {}
        self.desk = desk
        self.names = [[name for name, weight in mix.items() for _ in range(weight)] for _, mix in plan.phases]
        self.cursor = 0
        self.last_command: bytes | None = None
        self.sequence = index * 10_000_000 + 1

    def next(self, phase: int) -> tuple[str, bytes]:
        name = self.rng.choice(self.names[phase])
        sample = self.rng.choice(self.plan.data["samples"]) if self.plan.data.get("samples") else None
        if name == "ceiling":
            return name, _request("GET", f"/bench/ceiling?item={self.rng.randrange(10**6)}", {})
        if name == "ceiling_async":
            return name, _request("GET", f"/bench/ceiling-async?item={self.rng.randrange(10**6)}", {})
        assert sample is not None
        if name == "card_lookup":
            return name, _request("GET", f"/cards?card_number={sample['card_number']}", self.auth)
        if name == "person_lookup":
            return name, _request("GET", f"/persons?id_number={sample['id_number']}", self.auth)
        if name == "subsidy_query":
            return name, _request("GET", f"/persons/{sample['id']}/subsidy-payments", self.auth)
        if name == "feed_pull":
            return name, _request("GET", f"/changes?since={self.cursor}&limit=100", self.auth)
        if name == "command":
            if self.last_command is not None and self.rng.random() < 0.1:
                return "command_replay", self.last_command
            assert self.desk is not None
            self.sequence += 1
            number = (
                f"{self.desk['outlet']}-{self.desk['counter']}-{self.plan.data['day']}-{self.sequence:04d}"
            )
            body = json.dumps(
                {
                    "acceptance_number": number,
                    "person": {"id_number": sample["id_number"]},
                    "phone": f"139{self.rng.randrange(10**8):08d}",
                }
            ).encode()
            headers = {**self.auth, "Idempotency-Key": uuid.uuid4().hex}
            self.last_command = _request("POST", "/commands/change_contact", headers, body)
            return name, self.last_command
        raise ValueError(name)

    def saw(self, name: str, body: bytes) -> None:
        if name == "feed_pull":
            match = re.search(rb'"next":(\d+)', body)
            if match:
                self.cursor = int(match.group(1))


async def _balanced_connection(
    plan: Plan, held: dict[int, int]
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A keep-alive connection to a worker that holds fewer than its share of the connections.

    Which worker accepts a new connection is a race in the kernel; with 64 connections opened at once
    splits like 48:16 happened, and as each worker can use about one core, the phase then measured
    the split more than the server. So a connection asks ``/bench/worker`` who holds it and is
    closed and opened again while that worker has its share already (after many tries it is kept).
    """
    if plan.workers <= 1:
        return await asyncio.open_connection(plan.host, plan.port)
    share = -(-plan.connections // plan.workers)
    for _ in range(200):
        reader, writer = await asyncio.open_connection(plan.host, plan.port)
        writer.write(_request("GET", "/bench/worker", {}))
        head = await reader.readuntil(b"\r\n\r\n")
        match = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
        body = await reader.readexactly(int(match.group(1))) if match else b"{}"
        pid = int(json.loads(body).get("pid", 0))
        if held.get(pid, 0) < share:
            held[pid] = held.get(pid, 0) + 1
            return reader, writer
        writer.close()
    return await asyncio.open_connection(plan.host, plan.port)


async def _connection(
    plan: Plan,
    index: int,
    start: float,
    results: list[dict[str, list[Any]]],
    ports: list[int],
    held: dict[int, int],
) -> None:
    reader, writer = await _balanced_connection(plan, held)
    ports.append(writer.get_extra_info("sockname")[1])
    work = Workload(plan, index)
    span = plan.warmup + plan.seconds
    end = start + span * len(plan.phases)
    try:
        while True:
            now = time.perf_counter()
            if now >= end:
                return
            phase = int((now - start) // span)
            name, request = work.next(phase)
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            match = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
            body = await reader.readexactly(int(match.group(1))) if match else b""
            done = time.perf_counter()
            work.saw(name, body)
            if now >= start + phase * span + plan.warmup and done < start + (phase + 1) * span:
                entry = results[phase].setdefault(name, [[], {}])
                entry[0].append(done - now)
                entry[1][status] = entry[1].get(status, 0) + 1
    finally:
        writer.close()


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def connection_split(root: int, port: int, client_ports: list[int]) -> list[int] | None:
    """How many of the generator's connections each worker process (child of ``root``) holds."""
    try:
        established: dict[str, int] = {}  # socket inode → client port, our connections to ``port``
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as f:
                for line in f.readlines()[1:]:
                    fields = line.split()
                    local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
                    if state == "01" and int(local.rsplit(":", 1)[1], 16) == port:
                        established[inode] = int(remote.rsplit(":", 1)[1], 16)
        wanted = set(client_ports)
        table_ = _proc_table()
        split = []
        for pid, (ppid, _) in sorted(table_.items()):
            if ppid != root:
                continue
            held = 0
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if target.startswith("socket:[") and established.get(target[8:-1]) in wanted:
                    held += 1
            if held:
                split.append(held)
        return split
    except OSError:
        return None


def run_generator(plan: Plan) -> dict[str, Any]:
    results: list[dict[str, list[Any]]] = [{} for _ in plan.phases]
    snapshots: list[list[dict[str, float] | None]] = [[] for _ in plan.phases]
    ports: list[int] = []
    held: dict[int, int] = {}
    split: list[list[int] | None] = []

    async def watch(start: float) -> None:
        span = plan.warmup + plan.seconds
        for phase in range(len(plan.phases)):
            for at in (start + phase * span + plan.warmup, start + (phase + 1) * span):
                await asyncio.sleep(max(0.0, at - time.perf_counter()))
                snapshots[phase].append(cpu_snapshot(plan.watch or {}))
            if phase == 0 and plan.watch and "server" in plan.watch:
                split.append(connection_split(plan.watch["server"], plan.port, ports))

    async def main() -> None:
        start = time.perf_counter()
        await asyncio.gather(
            watch(start),
            *(_connection(plan, i, start, results, ports, held) for i in range(plan.connections)),
        )

    asyncio.run(main())
    phases: dict[str, Any] = {}
    for (phase_name, _), found, snaps in zip(plan.phases, results, snapshots, strict=True):
        cores = cpu_used(*snaps) if len(snaps) == 2 else None
        out: dict[str, Any] = {
            "seconds": plan.seconds,
            "generator_cpu_s": (cores or {}).get("generator", 0.0) * plan.seconds,
            "cpu_cores": cores,
            "connection_split": split[0] if split else None,
            "endpoints": {},
        }
        for name, (latencies, statuses) in found.items():
            out["endpoints"][name] = {
                "count": len(latencies),
                "rps": len(latencies) / plan.seconds,
                "p50": _percentile(latencies, 0.50),
                "p95": _percentile(latencies, 0.95),
                "p99": _percentile(latencies, 0.99),
                "statuses": {str(k): v for k, v in sorted(statuses.items())},
            }
        out["total_rps"] = sum(e["count"] for e in out["endpoints"].values()) / plan.seconds
        all_latencies = [x for latencies, _ in found.values() for x in latencies]
        out["p50"], out["p95"], out["p99"] = (_percentile(all_latencies, q) for q in (0.5, 0.95, 0.99))
        phases[phase_name] = out
    return phases


async def _canned_server(port: int) -> None:
    """A responder that costs almost nothing: the generator's own ceiling is measured against it."""
    body = json.dumps({"id": 0, "fields": {f"f{i:02d}": "x" * 30 for i in range(24)}}).encode()
    answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (
        len(body),
        body,
    )

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                match = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
                if match:
                    await reader.readexactly(int(match.group(1)))
                writer.write(answer)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


# --------------------------------------------------------------------------------------------
# The orchestration
# --------------------------------------------------------------------------------------------

#: The server's phases, in order, on the same connections.
PHASES: list[tuple[str, dict[str, int]]] = [
    ("ceiling", {"ceiling": 1}),
    ("ceiling_async", {"ceiling_async": 1}),
    ("lookups", {"card_lookup": 2, "person_lookup": 1}),
    ("mixed", {"card_lookup": 30, "person_lookup": 15, "subsidy_query": 20, "command": 15, "feed_pull": 20}),
    # the ceiling once more at the end: it wanders by ±15 % between phases on a shared machine, and the
    # goals take the higher of the two (the stricter reading)
    ("ceiling_again", {"ceiling": 1}),
]


def _spawn(args: list[str], **kw: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, *args], **kw)


def _stop(process: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def _wait_http(url: str, process: subprocess.Popen[bytes], log: Path | None = None) -> None:
    import requests

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        if process.poll() is not None:
            raise RuntimeError("server exited:\n" + (log.read_text(errors="replace")[-3000:] if log else ""))
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def _run(name: str, plan: Plan, workdir: Path) -> dict[str, Any]:
    """Run the generator process on ``plan``; the results per phase."""
    spec = workdir / f"{name}.json"
    spec.write_text(json.dumps(plan.__dict__, ensure_ascii=False))
    done = subprocess.run(
        [sys.executable, __file__, "--generator", str(spec)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"generator failed in {name}:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _row(label: str, r: dict[str, Any]) -> str:
    statuses = ",".join(f"{k}×{v}" for k, v in r["statuses"].items())
    return f"  {label:<22} {r['rps']:>9,.0f} {r['p50']:>8.1f} {r['p95']:>8.1f} {r['p99']:>8.1f}   {statuses}"


def _print_phase(title: str, result: dict[str, Any]) -> None:
    print(
        f"\n{title}: {result['total_rps']:,.0f} req/s 合计（p50 {result['p50']:.1f} / p95 {result['p95']:.1f} / "
        f"p99 {result['p99']:.1f} ms；压测进程 CPU {result['generator_cpu_s'] / result['seconds']:.2f} 核）"
    )
    print(f"  {'端点':<22} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}   状态码")
    for name, r in sorted(result["endpoints"].items(), key=lambda kv: -kv[1]["count"]):
        print(_row(name, r))
    cores = result.get("cpu_cores")
    if cores:
        serving = cores.get("server", 0.0) + cores.get("postgres", 0.0)
        per_request = serving / result["total_rps"] * 1000 if result["total_rps"] else float("nan")
        print(
            f"  CPU（测量期间，核）：服务进程 {cores.get('server', 0.0):.2f}，PostgreSQL {cores.get('postgres', 0.0):.2f}，"
            f"压测进程 {cores.get('generator', 0.0):.2f}，本机其他进程 {cores['other']:.2f}；"
            f"每请求 服务+数据库 {per_request:.2f} ms CPU"
        )
        if cores["other"] > 0.15:
            print(f"  注意：测量期间本机其他进程占用 {cores['other']:.2f} 核，结果偏低，宜在空闲时重测。")


def _unused_day(url: str) -> str:
    """A 受理编号 date (YYYYMMDD) no earlier run used: a database driven again keeps their numbers."""
    import psycopg

    with psycopg.connect(url) as conn:
        used = {
            row[0]
            for row in conn.execute(
                "SELECT DISTINCT split_part(acceptance_number, '-', 3) FROM transactions"
            ).fetchall()
        }
    day = date(2026, 11, 27)
    while f"{day:%Y%m%d}" in used:
        day -= timedelta(days=1)
    return f"{day:%Y%m%d}"


def _quarter_of_memory() -> str:
    """A quarter of this machine's memory in PostgreSQL's units (``5888MB``); 1GB if unknown."""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return "1GB"
    return f"{pages * size // 4 // 2**20}MB"


def _postmaster_pid(conn: Any) -> int | None:
    """The PostgreSQL server's process id (first line of postmaster.pid), if this process may read it."""
    import psycopg

    try:
        folder = conn.execute("SHOW data_directory").fetchone()[0]
        return int((Path(folder) / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError, psycopg.Error):
        return None


def orchestrate(args: argparse.Namespace) -> int:
    import psycopg
    import requests

    from central.core.db import Database
    from central.migrations import upgrade
    from central.seed.training import create_training_data, issue_training_credentials
    from central.services.reference_data import sync_subsidy_catalog
    from tests.harness.services import Postgres, free_tcp_port

    size = "已生成的数据库" if args.database_url else f"{args.persons:,} 人，{args.payments:,} 条补贴发放记录"
    print(
        f"乐山市社保卡中心服务压测：{size}，"
        f"{args.connections} 连接，每阶段预热 {args.warmup:.0f} s + 测量 {args.seconds:.0f} s；CPU {os.cpu_count()} 核"
    )
    postgres = Postgres({"shared_buffers": args.pg_shared_buffers})
    server: subprocess.Popen[bytes] | None = None
    canned: subprocess.Popen[bytes] | None = None
    workdir = Path(tempfile.mkdtemp(prefix="central-bench-"))
    postgres_pid: int | None = None
    try:
        if args.database_url:  # a database this script seeded before (kept running by whoever started it)
            url = args.database_url
            db = Database(url)
            with db.write() as session:
                keys = issue_training_credentials(session, secret_for)
            db.dispose()
            seconds = float("nan")
            libpq_url = url.replace("postgresql+psycopg://", "postgresql://", 1)
            with psycopg.connect(libpq_url, autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")  # what earlier runs wrote counts like the seeded rows
                postgres_pid = _postmaster_pid(conn)
                counts = [
                    conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
                    for table in ("persons", "subsidy_payments")
                ]
            print(
                f"\n数据：沿用已生成的数据库（--database-url）：{counts[0]:,} 人，{counts[1]:,} 条补贴发放记录"
            )
        else:
            env = postgres.start()
            print(
                f"PostgreSQL：shared_buffers = {args.pg_shared_buffers}（数据库服务器的常规设置：内存的 1/4）"
            )
            admin = env["COUNTER_TEST_PG_ADMIN_URL"]
            database = "central_bench"
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{database}"')
            url = env["COUNTER_TEST_PG_URL"].rsplit("/", 1)[0] + f"/{database}"
            libpq_url = admin.rsplit("/", 1)[0] + f"/{database}"
            upgrade(url)
            db = Database(url)
            with db.write() as session:
                sync_subsidy_catalog(session)
                create_training_data(session)
                keys = issue_training_credentials(session, secret_for)
            db.dispose()
            print("\n数据生成（COPY）:")
            seconds = seed(admin, database, args.persons, args.payments)
            rows = args.persons * 4 // 3 + args.persons * 2 + args.payments
            print(
                f"  合计 {rows:,} 行，用时 {seconds:.1f} s（{rows / seconds:,.0f} 行/s，含索引重建与 ANALYZE）"
            )
            postgres_pid = postgres.process.pid if postgres.process is not None else None

        with psycopg.connect(libpq_url) as conn:
            persons = int(conn.execute("SELECT max(id) FROM persons").fetchone()[0] or 0)  # type: ignore[index]
            ids = random.Random(7).sample(range(1, persons + 1), min(20_000, persons))
            samples = [
                {"id": i, "id_number": n, "card_number": c}
                for i, n, c in conn.execute(
                    "SELECT p.id, p.id_number, c.card_number FROM persons p JOIN cards c ON c.person_id = p.id "
                    "WHERE p.id = ANY(%s)",
                    (ids,),
                ).fetchall()
            ]

        port = free_tcp_port()
        log = workdir / "server.log"
        server_env = {
            **os.environ,
            "DATABASE_URL": url,
            "CENTRAL_BENCH_ENDPOINTS": "true",
            "CENTRAL_LOG_LEVEL": "WARNING",
            "CENTRAL_SIGN_IN_LIMIT": "1000",
        }
        with log.open("wb") as out:
            server = _spawn(
                [
                    "-m",
                    "central.cli",
                    "serve",
                    "--no-migrate",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--workers",
                    str(args.workers),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=server_env,
                cwd=ROOT,
            )
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/health", server, log)
        desks = []
        for operator, outlet, counter in DESKS:
            key = keys[f"{outlet}-{counter}"]
            answer = requests.post(
                f"{base}/auth/sign-in",
                json={"operator_number": operator, "password": PASSWORDS[operator]},
                headers={"X-Counter-Key": key},
                timeout=30,
            )
            answer.raise_for_status()
            desks.append({"token": answer.json()["token"], "key": key, "outlet": outlet, "counter": counter})
        data = {"samples": samples, "desks": desks, "day": _unused_day(libpq_url)}

        watch = {"server": server.pid}
        if postgres_pid is not None:
            watch["postgres"] = postgres_pid

        def plan(phases: list[tuple[str, dict[str, int]]], target_port: int = port) -> Plan:
            workers = args.workers if target_port == port else 0
            return Plan(
                "127.0.0.1",
                target_port,
                args.connections,
                args.warmup,
                args.seconds,
                phases,
                data,
                watch,
                workers,
            )

        canned_port = free_tcp_port()
        canned = _spawn([__file__, "--canned-server", str(canned_port)])
        time.sleep(0.5)
        generator = _run("generator", plan([("generator", {"ceiling": 1})], canned_port), workdir)[
            "generator"
        ]
        _stop(canned)
        canned = None
        _print_phase("压测进程自身上限（对一个几乎不耗 CPU 的应答进程）", generator)
        # All server phases run one after another on the same 64 keep-alive connections: how the kernel
        # spread them over the workers (each can use about one core) is then the same for the ceiling
        # and for the workloads, so it cannot tilt their ratio.
        measured = _run("server", plan(PHASES), workdir)
        ceiling, ceiling_async = measured["ceiling"], measured["ceiling_async"]
        lookups, mixed = measured["lookups"], measured["mixed"]
        split = ceiling.get("connection_split")
        if split:
            print(f"\n连接在工作进程间的分布：{' / '.join(str(n) for n in split)}（各阶段相同）")
        _print_phase(
            "天花板：同一服务的无数据库端点 GET /bench/ceiling（约 1 KB；同步 def 路由、FastAPI 默认编码，"
            "不认证——议题定义的天花板，目标按它计算）",
            ceiling,
        )
        _print_phase(
            "参考：同样约 1 KB 的 async 路由 GET /bench/ceiling-async（不认证；查询走的也是 async 路由，"
            "仅作对照，不参与目标）",
            ceiling_async,
        )
        _print_phase("查询：按卡号查卡、按证件号码查人（含令牌与柜台凭据校验）", lookups)
        _print_phase("柜面混合负载：查卡、查人、补贴查询、带幂等键的命令、变更流拉取", mixed)

        ceiling_again = measured["ceiling_again"]
        _print_phase("天花板（最后再测一次）", ceiling_again)
        top = max(ceiling["total_rps"], ceiling_again["total_rps"])
        print(
            f"\n天花板取两次中较高者：{top:,.0f} req/s"
            f"（开始 {ceiling['total_rps']:,.0f}，最后 {ceiling_again['total_rps']:,.0f}）"
        )
        print("\n目标:")
        checks = [
            ("查询 ≥ 天花板的 40%", lookups["total_rps"] / top, 0.40),
            ("混合负载 ≥ 天花板的 25%", mixed["total_rps"] / top, 0.25),
        ]
        for label, ratio, goal in checks:
            print(f"  {label:<24} {ratio * 100:5.1f}%  {'达到' if ratio >= goal else '未达到'}")
        async_top = ceiling_async["total_rps"]
        print(
            f"  （对照 async 天花板 {async_top:,.0f} req/s：查询 {lookups['total_rps'] / async_top * 100:.1f}%，"
            f"混合负载 {mixed['total_rps'] / async_top * 100:.1f}%）"
        )
        for label, result in (("查询", lookups), ("混合负载", mixed)):
            print(
                f"  {label} p95 ≤ 100 ms           {result['p95']:6.1f} ms  {'达到' if result['p95'] <= 100 else '未达到'}"
            )
        errors = sum(
            v
            for r in (lookups, mixed)
            for e in r["endpoints"].values()
            for k, v in e["statuses"].items()
            if k.startswith("5")
        )
        print(f"  5xx 应答                  {errors}")
        bad = [
            line
            for line in log.read_text(errors="replace").splitlines()
            if "Traceback" in line or " ERROR " in line
        ]
        print(f"  服务日志中的错误          {len(bad)}")
        if args.json:
            Path(args.json).write_text(
                json.dumps(
                    {"seed_seconds": seconds, "generator": generator, **measured},
                    indent=1,
                )
            )
        return 0
    finally:
        _stop(canned)
        _stop(server)
        postgres.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--payments", type=int, default=10_000_000)
    parser.add_argument(
        "--quick", action="store_true", help="20,000 persons, 200,000 payments, shorter phases"
    )
    parser.add_argument(
        "--pg-shared-buffers",
        default=_quarter_of_memory(),
        help="PostgreSQL's shared_buffers for the seeded cluster (default: a quarter of the memory, "
        "PostgreSQL's own advice for a database server; its built-in 128MB is for a laptop)",
    )
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument(
        "--database-url",
        help="drive an already seeded database (SQLAlchemy URL) instead of starting and seeding one",
    )
    parser.add_argument("--generator", help=argparse.SUPPRESS)
    parser.add_argument("--canned-server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.generator:
        spec = json.loads(Path(args.generator).read_text())
        spec["phases"] = [(name, mix) for name, mix in spec["phases"]]
        print(json.dumps(run_generator(Plan(**spec))))
        return 0
    if args.canned_server:
        asyncio.run(_canned_server(args.canned_server))
        return 0
    if args.quick:
        args.persons, args.payments, args.seconds, args.warmup = 20_000, 200_000, 8.0, 2.0
    return orchestrate(args)


if __name__ == "__main__":
    sys.exit(main())
