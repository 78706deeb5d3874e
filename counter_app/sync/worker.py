"""The sync worker (后台同步): one background thread that keeps the counter in step with the server.

While online, every round takes an offline sign-in online, checks the audit chain against the
server's head (first round after each reconnection), drains the outbox and pulls the change feed,
then sleeps ``poll_seconds`` (or until woken). While offline it probes ``/health`` every
``probe_seconds``; any successful call (a probe, or a flow's lookup) turns the counter online and
wakes it. After each round it publishes a `SyncStatus` to the UI's callbacks (only when it changed).
`run_once` does one round on the caller's thread (tests, "同步" button).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from counter_app.store import OutboxStatus, Store
from counter_app.sync.anchor import AuditAnchor
from counter_app.sync.client import CentralClient
from counter_app.sync.config import SyncConfig
from counter_app.sync.offline import Connectivity, Unsubscribe
from counter_app.sync.problems import SignInRequired
from counter_app.sync.puller import Puller, PullReport
from counter_app.sync.relay import Alarm, DrainReport, Rejection, Relay
from counter_app.sync.replica_view import FEED
from counter_app.sync.signin import SignIn
from counter_app.workflows.ports import CentralUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncStatus:
    """What the UI's status bar shows (同步状态)."""

    online: bool
    since: datetime
    reason: str  # why offline ("" online)
    operator: str | None  # signed-in 工号
    session_online: bool  # the operator holds a server token (False: 离线登录)
    sign_in_problem: str  # e.g. the server refused an offline session's password ("" none)
    pending: int  # 待上传
    rejected: int  # 中心拒绝
    flagged: int  # 需核对
    waiting: str  # why the relay waits (see `DrainReport.waiting`)
    replica_as_of: datetime | None  # 数据截至
    audit_intact: bool | None  # None: not checked since the last reconnection
    alarms: tuple[Alarm, ...] = ()

    @property
    def text(self) -> str:
        """One line for the status bar (Chinese)."""
        parts = ["已联网" if self.online else f"离线（{self.reason}）"]
        if self.operator and not self.session_online:
            parts.append(self.sign_in_problem or "离线登录")
        if self.pending:
            parts.append(f"待上传 {self.pending} 笔")
        if self.waiting.startswith("operator:"):
            parts.append(f"须工号 {self.waiting.partition(':')[2]} 联网登录后上传")
        if self.rejected:
            parts.append(f"中心拒绝 {self.rejected} 笔")
        if self.flagged:
            parts.append(f"需核对 {self.flagged} 笔")
        if self.replica_as_of is not None:
            parts.append(f"本地数据截至 {self.replica_as_of:%m-%d %H:%M}")
        if self.audit_intact is False:
            parts.append("审计链异常，请联系信息科")
        return "；".join(parts)


@dataclass
class RoundReport:
    """One round of the worker."""

    online: bool = False
    drained: DrainReport | None = None
    pulled: PullReport | None = None
    error: str = ""
    alarms: list[Alarm] = field(default_factory=list)


class SyncWorker:
    """The background loop (see the module docstring)."""

    def __init__(
        self,
        *,
        store: Store,
        client: CentralClient,
        connectivity: Connectivity,
        signin: SignIn,
        relay: Relay,
        puller: Puller,
        anchor: AuditAnchor,
        config: SyncConfig,
    ) -> None:
        self.store = store
        self.client = client
        self.connectivity = connectivity
        self.signin = signin
        self.relay = relay
        self.puller = puller
        self.anchor = anchor
        self.config = config
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._round_lock = threading.Lock()
        self._listeners: dict[str, list[Callable[..., None]]] = {"status": [], "rejected": [], "alarm": []}
        self._last: SyncStatus | None = None
        self._audit_intact: bool | None = None
        self._alarms: list[Alarm] = []
        connectivity.subscribe(self._on_connectivity)
        relay.on_rejected = lambda rejection: self._emit("rejected", rejection)
        relay.on_alarm = self._alarm

    # -- callbacks -----------------------------------------------------------------------------------

    def _subscribe(self, kind: str, listener: Callable[..., None]) -> Unsubscribe:
        self._listeners[kind].append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners[kind]:
                self._listeners[kind].remove(listener)

        return unsubscribe

    def on_status(self, listener: Callable[[SyncStatus], None]) -> Unsubscribe:
        return self._subscribe("status", listener)

    def on_rejected(self, listener: Callable[[Rejection], None]) -> Unsubscribe:
        return self._subscribe("rejected", listener)

    def on_alarm(self, listener: Callable[[Alarm], None]) -> Unsubscribe:
        return self._subscribe("alarm", listener)

    def _emit(self, kind: str, value: object) -> None:
        for listener in list(self._listeners[kind]):
            try:
                listener(value)
            except Exception:
                log.exception("a sync %s listener failed", kind)

    def _alarm(self, alarm: Alarm) -> None:
        log.error("sync alarm %s: %s", alarm.code, alarm.message)
        self._alarms = [*self._alarms[-9:], alarm]
        self._emit("alarm", alarm)

    def _on_connectivity(self, online: bool) -> None:
        if online:
            self._audit_intact = None  # check again after every reconnection
        self._wake.set()
        self.publish()

    # -- status --------------------------------------------------------------------------------------

    def status(self) -> SyncStatus:
        session = self.signin.tokens.current
        outbox = self.store.outbox
        return SyncStatus(
            online=self.connectivity.online,
            since=self.connectivity.since,
            reason=self.connectivity.reason,
            operator=None if session is None else session.operator.number,
            session_online=session is not None and session.online,
            sign_in_problem="" if session is None else session.online_refusal or "",
            pending=outbox.count(OutboxStatus.PENDING, OutboxStatus.SENT),
            rejected=outbox.count(OutboxStatus.REJECTED),
            flagged=outbox.count(OutboxStatus.NEEDS_RECONCILIATION),
            waiting=self.relay.waiting,
            replica_as_of=self.store.replica.cursor_time(FEED),
            audit_intact=self._audit_intact,
            alarms=tuple(self._alarms),
        )

    def publish(self) -> SyncStatus:
        """Tell the status listeners when something changed; returns the status."""
        status = self.status()
        if status != self._last:
            self._last = status
            self._emit("status", status)
        return status

    # -- one round -------------------------------------------------------------------------------------

    def run_once(self) -> RoundReport:
        """One round now, on this thread (see the module docstring)."""
        with self._round_lock:
            report = RoundReport()
            try:
                if self.connectivity.offline and not self.client.health():
                    return report
                report.online = True
                self.signin.go_online()
                if self._audit_intact is None:
                    checked = self.anchor.check()
                    self._audit_intact = checked.intact
                    if checked.first_break is not None:
                        self._alarm(
                            Alarm(
                                "audit_chain_broken",
                                f"本地审计链与中心确认的链头不符：{checked.first_break.message}",
                            )
                        )
                report.drained = self.relay.drain(seconds=max(self.config.poll_seconds, 5.0) * 6)
                report.pulled = self.puller.pull()
                if report.pulled.skipped == "sign_in_required":
                    report.online = self._still_there()
            except SignInRequired as exc:
                report.error = str(exc)
                report.online = self._still_there()
            except CentralUnavailable as exc:
                report.error = str(exc)
                report.online = self.connectivity.online
            except Exception as exc:  # a bug or a store fault: logged, the loop goes on
                log.exception("sync round failed")
                report.error = f"{type(exc).__name__}: {exc}"
            finally:
                self.publish()
            return report

    def _still_there(self) -> bool:
        """Nobody is signed in, so nothing this round reached the server: probe it, so the status
        bar does not say 联网 for a server that went away meanwhile."""
        return self.client.health()

    # -- the thread ------------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="counter-sync", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wake(self) -> None:
        """Run a round soon (e.g. after a queued transaction was recorded)."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            self.run_once()
            pause = self.config.poll_seconds if self.connectivity.online else self.config.probe_seconds
            self._wake.wait(pause)
