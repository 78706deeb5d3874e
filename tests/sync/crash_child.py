"""Child process of the crash tests: records queued transactions and relays them, and kills itself
with SIGKILL at a named fault point (or is killed by the parent at a random instant).

    python -m tests.sync.crash_child DB URL POINT SKIP N

records ``N`` change_contact transactions for the persons in ``SYNC_CRASH_PERSONS`` and drains the
outbox; the ``SKIP+1``-th time ``POINT`` is reached the process kills itself. ``POINT`` is one of
``after_commit`` (a transaction committed locally, nothing sent), ``after_send`` (the server
answered, nothing written), ``before_acknowledgement``, ``mid_acknowledgement`` (inside the
acknowledging transaction), or ``none``. Prints ``recorded <受理编号>`` after each local commit and
``drained`` at the end. The keyring (store key, counter credential, receipt key) comes from
``SYNC_CRASH_KEYRING`` (JSON) into an in-memory backend.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import keyring

from counter_app.store import Store
from tests.central.helpers import PASSWORDS
from tests.store.memory_keyring import MemoryKeyring
from tests.sync.helpers import CLERK, fast_config, record_change_contact

#: Named fault point → (which hook, the hook's own point name).
POINTS = {
    "after_commit": ("store", "committed"),
    "after_send": ("relay", "after_send"),
    "before_acknowledgement": ("relay", "before_acknowledgement"),
    "mid_acknowledgement": ("store", "acknowledging"),
}


def _killer(target: str, skip: int) -> object:
    hits = [0]

    def hook(point: str) -> None:
        if point != target:
            return
        if hits[0] >= skip:
            sys.stdout.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        hits[0] += 1

    return hook


def main(db: str, url: str, point: str, skip: int, count: int) -> None:
    items = json.loads(os.environ["SYNC_CRASH_KEYRING"])
    keyring.set_keyring(MemoryKeyring({(s, u): p for s, u, p in items}))
    persons = json.loads(os.environ["SYNC_CRASH_PERSONS"])
    store = Store.open(Path(db))
    from counter_app.sync import SyncService

    sync = SyncService(fast_config(url), store)
    if point != "none":
        where, name = POINTS[point]
        hook = _killer(name, skip)
        if where == "store":
            store.fault_hook = hook  # type: ignore[assignment]
        else:
            sync.relay.fault_hook = hook  # type: ignore[assignment]
    assert sync.sign_in(CLERK, PASSWORDS[CLERK]).online
    for i in range(count):
        person = persons[i % len(persons)]
        record = record_change_contact(store, person, f"139{os.getpid() % 100000:05d}{i:03d}"[:11])
        print(f"recorded {record.acceptance_number}", flush=True)
    for _ in range(100):
        report = sync.relay.drain()
        if report.waiting == "":
            break
        time.sleep(0.1)
    print("drained", flush=True)
    sync.stop()
    store.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
