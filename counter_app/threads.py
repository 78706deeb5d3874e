"""Which threads may block on a device or the network (线程守卫).

The GUI thread must never wait for a card, the PIN pad or the server: a slow or mute card would
freeze the counter. Adapters that block (the PC/SC transport, the in-process emulator transport,
the PIN pad, the HTTP client) call `assert_not_gui_thread` before they do; the composition root
(and the tests) name the GUI thread with `forbid_on_thread`. Nothing is forbidden until then, so
a command-line tool or a unit test without a GUI pays one set lookup per call and nothing else.

Two modes: *strict* raises `BlockingCallOnGuiThread` (tests, the benchmark, ``COUNTER_APP_STRICT_THREADS=1``);
otherwise the first offence per call site is logged with its stack (a counter in production
keeps working, and the log says where the bug is). No Qt here: adapters import it freely.
"""

from __future__ import annotations

import logging
import threading
import traceback

__all__ = [
    "BlockingCallOnGuiThread",
    "allow_on_thread",
    "assert_not_gui_thread",
    "forbid_on_thread",
    "forbidden_threads",
]

log = logging.getLogger(__name__)

_forbidden: frozenset[int] = frozenset()
_strict = True
_reported: set[str] = set()
_lock = threading.Lock()


class BlockingCallOnGuiThread(RuntimeError):
    """A device or network call was made on the GUI thread (界面线程上的阻塞调用)."""


def forbid_on_thread(ident: int | None = None, *, strict: bool = True) -> None:
    """Forbid blocking device and network calls on thread ``ident`` (default: the calling thread)."""
    global _forbidden, _strict
    with _lock:
        _forbidden = _forbidden | {threading.get_ident() if ident is None else ident}
        _strict = strict


def allow_on_thread(ident: int | None = None) -> None:
    """Lift `forbid_on_thread` for ``ident`` (default: the calling thread)."""
    global _forbidden
    with _lock:
        _forbidden = _forbidden - {threading.get_ident() if ident is None else ident}


def forbidden_threads() -> frozenset[int]:
    return _forbidden


def assert_not_gui_thread(what: str = "") -> None:
    """Raise (strict) or log (lenient) when called on a forbidden thread; ``what`` names the call."""
    if threading.get_ident() not in _forbidden:
        return
    message = f"blocking call on the GUI thread: {what or 'device/network I/O'}"
    if _strict:
        raise BlockingCallOnGuiThread(message)
    site = "".join(traceback.format_stack(limit=4)[:-1])
    with _lock:
        if site in _reported:
            return
        _reported.add(site)
    log.error("%s\n%s", message, site)
