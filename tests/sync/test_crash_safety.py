"""kill -9 of the counter at every named fault point (each at least 5 times) and at random instants:
after a restart every transaction the counter committed is on the server exactly once, and the audit
chain verifies, also against the head the server acknowledged."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from counter_app.store import OutboxStatus, Store
from counter_app.store.models import transactions
from tests.store.memory_keyring import MemoryKeyring
from tests.sync.crash_child import POINTS
from tests.sync.helpers import open_counter, seeder, server_transactions
from tests.sync.server import ROOT, CentralProcess

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.integration,
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL"),
]

RUNS_PER_POINT = 5
RANDOM_KILLS = 8


def _child(
    db: Path, url: str, point: str, skip: int, count: int, env: dict[str, str]
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.sync.crash_child", str(db), url, point, str(skip), str(count)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_kill_9_at_every_fault_point_and_at_random_instants(
    central: CentralProcess, central_db: str, tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    rng = random.Random(20261127)
    api, db = seeder(central_db)
    persons = [api.person() for _ in range(4)]
    counter = open_counter(central.url, tmp_path / "counter")
    path = counter.path
    counter.close()
    env = {
        **__import__("os").environ,
        "SYNC_CRASH_KEYRING": json.dumps([[s, u, p] for (s, u), p in memory_keyring.items.items()]),
        "SYNC_CRASH_PERSONS": json.dumps([{"id_number": p["id_number"]} for p in persons]),
    }
    hits: dict[str, int] = dict.fromkeys(POINTS, 0)
    for point in POINTS:
        for _ in range(RUNS_PER_POINT):
            child = _child(path, central.url, point, rng.randrange(2), 2, env)
            out, err = child.communicate(timeout=120)
            assert child.returncode == -signal.SIGKILL, f"{point}: did not die there\n{out}\n{err}"
            hits[point] += 1
    for _ in range(RANDOM_KILLS):
        child = _child(path, central.url, "none", 0, 3, env)
        time.sleep(rng.uniform(0.4, 2.0))
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=60)
    recovery = _child(path, central.url, "none", 0, 0, env)
    out, err = recovery.communicate(timeout=120)
    assert recovery.returncode == 0, err
    assert all(count >= RUNS_PER_POINT for count in hits.values()), hits

    store = Store.open(path)
    try:
        with store.engine.connect() as connection:
            numbers = list(
                connection.execute(
                    transactions.select().with_only_columns(transactions.c.acceptance_number)
                ).scalars()
            )
        assert len(numbers) >= 2 * RUNS_PER_POINT * len(POINTS) - RUNS_PER_POINT  # every run committed some
        messages = store.outbox.messages()
        assert {m.status for m in messages} == {OutboxStatus.ACKNOWLEDGED}
        assert server_transactions(db, numbers) == dict.fromkeys(numbers, 1)  # each exactly once
        assert store.verify_audit().intact
        counter = open_counter(central.url, tmp_path / "counter", enrol=False)
        try:
            server_head = counter.sync.anchor.server_head()
            assert server_head is not None and server_head == store.last_acknowledged_head()
            assert counter.sync.anchor.check().intact
        finally:
            counter.close()
    finally:
        store.close()
        db.dispose()


def test_the_fault_points_are_where_the_relay_and_the_store_call_them() -> None:
    """The names the child arms are the ones the code calls (a renamed point would never fire)."""
    import inspect

    from counter_app.store import journal
    from counter_app.sync import relay

    sources = inspect.getsource(relay) + inspect.getsource(journal)
    for where, name in POINTS.values():
        assert f'fault_hook("{name}")' in sources, (where, name)
