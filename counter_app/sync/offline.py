"""Online or offline (联网/离线状态), and what each service item does offline (DOMAIN §2).

`Connectivity` is the one online/offline state of the counter: every call to the central server
reports to it (the client's observer), the sync worker probes while offline, and the UI subscribes
to its changes. ``bind_context`` makes a flow context follow it, so the flows' own offline rule
(``counter_app.workflows.common.offline_refusal``, the one decision function) sees the worker's
state. `availability` asks that same function for the UI's menu: no second copy of the rule.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from counter_app.domain.catalog import Catalog, OfflineMode
from counter_app.workflows.common import offline_refusal
from counter_app.workflows.context import Context
from counter_app.workflows.ports import Clock

log = logging.getLogger(__name__)

Listener = Callable[[bool], None]
Unsubscribe = Callable[[], None]


class Connectivity:
    """The counter's online/offline state (联网状态) with callbacks; thread-safe.

    Starts offline (nothing is known yet) until the first answer from the server. Callbacks run on
    the thread that noticed the change (the sync worker or a flow's thread); the UI marshals them to
    its own thread (a queued Qt signal).
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._online = False
        self._since = clock.now()
        self._reason = "尚未连接社保卡中心系统"
        self._listeners: list[Listener] = []
        self.changed = threading.Event()  # set on every change (the worker wakes on it)

    @property
    def online(self) -> bool:
        with self._lock:
            return self._online

    @property
    def offline(self) -> bool:
        return not self.online

    @property
    def since(self) -> datetime:
        with self._lock:
            return self._since

    @property
    def reason(self) -> str:
        """Why the counter is offline (the last failure), or "" online."""
        with self._lock:
            return "" if self._online else self._reason

    def subscribe(self, listener: Listener) -> Unsubscribe:
        """Call ``listener(online)`` on every change; returns the function that unsubscribes it."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def _set(self, online: bool, reason: str) -> None:
        with self._lock:
            changed = online != self._online
            self._online = online
            if not online:
                self._reason = reason
            if changed:
                self._since = self._clock.now()
            listeners = list(self._listeners) if changed else []
        if not changed:
            return
        log.info("central server %s%s", "reachable" if online else "unreachable: ", "" if online else reason)
        self.changed.set()
        for listener in listeners:
            try:
                listener(online)
            except Exception:
                log.exception("an online/offline listener failed")

    # the client's observer
    def reachable(self) -> None:
        self._set(True, "")

    def unreachable(self, reason: str) -> None:
        self._set(False, reason or "无法连接社保卡中心系统")


def bind_context(connectivity: Connectivity, ctx: Context) -> Unsubscribe:
    """Keep ``ctx.offline`` equal to the counter's state from now on (the flows' offline rule reads it)."""

    def follow(online: bool) -> None:
        ctx.offline = not online

    unsubscribe = connectivity.subscribe(follow)
    follow(connectivity.online)
    return unsubscribe


@dataclass(frozen=True)
class ItemAvailability:
    """Whether a service item can be started now (事项可办理状态), and what it does offline."""

    item_code: str
    name: str
    mode: OfflineMode
    allowed: bool
    message: str  # why not, or what offline means for it (Chinese)


def availability(catalog: Catalog, *, offline: bool) -> list[ItemAvailability]:
    """Every item of the catalog with the flows' own offline decision (for the UI's menu)."""
    out = []
    for item in catalog.items:
        mode = item.offline.value
        refused = offline_refusal(item, offline=offline)
        message = refused.message if refused is not None else (mode.label if offline else "")
        out.append(ItemAvailability(item.code, item.short_name, mode, refused is None, message))
    return out
