"""Start-up timing log for ``bench/startup.py`` (启动计时), off unless ``COUNTER_APP_TIMING`` is set.

``COUNTER_APP_TIMING=<file>`` makes the program append one line per milestone: ``<name> <value>``,
where the value is the wall-clock time (``time.time()``) of the milestone, or a figure such as the
longest event-loop stall in milliseconds. The benchmark takes its own clock reading before it starts
the process and subtracts. Nothing is written, and nothing is imported, when the variable is unset.
"""

from __future__ import annotations

import os
import threading
import time

ENV = "COUNTER_APP_TIMING"
#: Bench only: a scripted session (``card`` = insert test cards and read them, then quit).
SCRIPT_ENV = "COUNTER_APP_TIMING_SCRIPT"

_lock = threading.Lock()


def enabled() -> bool:
    return bool(os.environ.get(ENV))


def record(name: str, value: float) -> None:
    path = os.environ.get(ENV)
    if not path:
        return
    with _lock, open(path, "a", encoding="utf-8") as out:
        out.write(f"{name} {value:.6f}\n")


def mark(name: str) -> None:
    """Record that milestone ``name`` happened now."""
    record(name, time.time())


def script() -> str:
    return os.environ.get(SCRIPT_ENV, "") if enabled() else ""
