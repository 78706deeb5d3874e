"""One transaction = one audit entry = one outbox message, or none: the writer is killed mid-way."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from counter_app.store import Store
from counter_app.store.engine import reading

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

ROOT = Path(__file__).resolve().parents[2]


def _child(db: Path, mode: str, env: dict[str, str], **kwargs: object) -> subprocess.Popen[str]:
    child: subprocess.Popen[str] = subprocess.Popen(
        [sys.executable, "-m", "tests.store.crash_child", str(db), mode],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,  # type: ignore[call-overload]
    )
    return child


def _table_counts(store: Store) -> dict[str, int]:
    with reading(store.engine).connect() as connection:
        return {
            table: connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("transactions", "audit_entries", "outbox_messages")
        }


@pytest.mark.parametrize(
    ("point", "survives"),
    [
        ("transaction_written", False),
        ("audit_written", False),
        ("outbox_written", False),
        ("committed", True),
        ("none", True),
    ],
)
def test_killed_between_statements_leaves_all_three_rows_or_none(
    store_path: Path, shared_secret: tuple[bytes, dict[str, str]], point: str, survives: bool
) -> None:
    Store.open(store_path).close()  # the database exists before the child starts
    child = _child(store_path, point, shared_secret[1])
    out, err = child.communicate(timeout=60)
    if point == "none":
        assert child.returncode == 0, err
    else:
        assert child.returncode == -signal.SIGKILL, err
        assert "recorded" not in out
    with Store.open(store_path) as store:
        expected = 1 if survives else 0
        assert _table_counts(store) == dict.fromkeys(
            ("transactions", "audit_entries", "outbox_messages"), expected
        )
        assert (store.find("C1") is not None) is survives
        assert store.verify_audit().intact
        if survives:
            (message,) = store.outbox.messages()
            assert message.acceptance_number == "C1" and message.audit_head == store.audit_head()


@pytest.mark.slow
def test_random_kills_lose_no_acknowledged_transaction_and_split_none(
    store_path: Path, shared_secret: tuple[bytes, dict[str, str]]
) -> None:
    Store.open(store_path).close()
    rng = random.Random(20261127)
    acknowledged: list[str] = []
    for _ in range(4):
        child = _child(store_path, "loop", shared_secret[1], bufsize=1)
        assert child.stdout is not None
        for _ in range(rng.randint(1, 25)):
            line = child.stdout.readline()
            assert line.startswith("ack "), child.stderr.read() if child.stderr else line
            acknowledged.append(line.split()[1])
        child.send_signal(signal.SIGKILL)  # somewhere in the next transaction, or between two
        rest, _ = child.communicate(timeout=60)
        acknowledged += [line.split()[1] for line in rest.splitlines() if line.startswith("ack ")]
    with Store.open(store_path) as store:
        assert all(store.find(number) is not None for number in acknowledged)
        with reading(store.engine).connect() as connection:
            numbers = set(connection.execute(sa.text("SELECT acceptance_number FROM transactions")).scalars())
            audited = set(
                connection.execute(sa.text("SELECT acceptance_number FROM audit_entries")).scalars()
            )
            queued = set(
                connection.execute(sa.text("SELECT acceptance_number FROM outbox_messages")).scalars()
            )
            commands = set(
                connection.execute(
                    sa.text("SELECT acceptance_number FROM transactions WHERE server_command IS NOT NULL")
                ).scalars()
            )
        assert numbers == audited and queued == commands
        assert store.verify_audit().intact
