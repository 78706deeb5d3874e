"""Child process of the crash tests: records transactions and kills itself (SIGKILL) at a fault point.

    python -m tests.store.crash_child DB POINT      one transaction; die at POINT (or never: "none")
    python -m tests.store.crash_child DB loop       record until killed; print "ack N" after each commit

The master secret comes from ``STORE_TEST_SECRET`` (base64) through an in-memory keyring.
"""

from __future__ import annotations

import base64
import os
import signal
import sys
from pathlib import Path

import keyring

from counter_app.store import Store
from tests.store.conftest import CANARY_NAME, make_record
from tests.store.memory_keyring import holding


def _die_at(target: str) -> object:
    def hook(point: str) -> None:
        if point == target:
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


def main(db: str, mode: str) -> None:
    keyring.set_keyring(holding(base64.b64decode(os.environ["STORE_TEST_SECRET"])))
    store = Store.open(Path(db))
    if mode == "loop":
        for i in range(1, 100_000):
            number = f"L{os.getpid()}-{i}"
            store.record(
                make_record(number, details={"name": CANARY_NAME}, command="report_loss" if i % 3 else None)
            )
            print(f"ack {number}", flush=True)
        return
    store.fault_hook = _die_at(mode)  # type: ignore[assignment]
    store.record(make_record("C1"))
    print("recorded", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
