"""The outbox relay (待上传消息发送): every queued command reaches the server exactly once, in order.

Each message goes as ``POST /commands/<command>`` with ``Idempotency-Key`` = the message id. Order:
messages leave in queue order, and a message never goes before an earlier one on the same holder or
card (`_keys`); up to ``relay_window`` messages on different holders and cards are in flight together
(a "window"; 1 = strictly one by one), and the next window starts when this one is settled. A
message that must wait (its retry time, an answer still missing) holds back everything behind it.
Audit head: the window's last message carries its stored head as ``X-Audit-Head`` (the server keeps
the highest and records a notice when one goes backwards, so no lower head ever follows). Each
message goes under the token of the operator who recorded it (the server records who did it);
while that operator is not signed in online, the queue waits (`DrainReport.waiting`).

How an answer settles a message:

- 200 → acknowledged, with the head the server acknowledged, in one local transaction;
- ``idempotency/in-flight`` → retried after ``Retry-After``; the queue waits behind it;
- ``idempotency/key-reused`` (a bug: the same id with another body) → flagged for reconciliation
  and an alarm; never retried;
- a refusal (``refused/…``, ``invalid/…``, ``forbidden/…``) → rejected, with the server's code and
  Chinese message for the UI (`Rejection`); never retried;
- no answer (network, 5xx, 429, sign-in expired) → stays queued with a growing retry time; the
  queue waits behind it.

Crash safety: a window's messages are marked sent (attempts + 1) before the requests, and the
answered ones acknowledged together afterwards (with the highest head the server acknowledged, in
one transaction); whatever instant the counter dies at, a message is unsettled or acknowledged, and
an unsettled one is sent again with the same key, which the server answers from its stored answer.
A message that may have reached the server longer ago than the server keeps keys
(``key_retention_hours`` less a margin) is not replayed blindly: it is flagged for reconciliation,
and `Relay.reconcile` asks the server (``GET /receipts/verify`` by its 受理编号) whether it took effect.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import requests

from counter_app.domain.receipt_code import qr_text
from counter_app.store import AuditHead, OutboxMessage, OutboxStatus, Store
from counter_app.sync.client import AUDIT_HEAD_ACKNOWLEDGED, CentralClient, parse_audit_head
from counter_app.sync.config import SyncConfig
from counter_app.sync.credentials import CounterCredentials, TokenStore
from counter_app.sync.problems import Problem, ServerUnreachable
from counter_app.workflows.ports import Clock

log = logging.getLogger(__name__)

CONFIRMER_FIELD = "confirmer_number"
FaultHook = Callable[[str], None]


def _no_fault(point: str) -> None:
    return None


@dataclass(frozen=True)
class Rejection:
    """A queued transaction the server refused (中心拒绝受理), as the UI shows it."""

    message_id: str
    acceptance_number: str | None
    command: str
    code: str
    message: str
    hint: str | None = None


@dataclass(frozen=True)
class Alarm:
    """Something a person must look at (需人工处理): a bug or an unresolved message."""

    code: str
    message: str
    message_id: str | None = None


@dataclass
class DrainReport:
    """What one pass of the relay did."""

    acknowledged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)
    #: Why it stopped with messages left: "" (queue empty), "offline", "in_flight", "retry_later",
    #: "sign_in_required", "server_error", "deadline", or "operator:<工号>" (waits for that sign-in).
    waiting: str = ""


def _error_text(code: str, message: str, hint: str | None = None) -> str:
    return json.dumps({"code": code, "message": message, "hint": hint}, ensure_ascii=False)


def _error_fields(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "")
    except ValueError:
        value = None
    if isinstance(value, dict):
        return value
    return {"code": "unknown", "message": text or "", "hint": None}


def _keys(message: OutboxMessage) -> set[str]:
    """What a message acts on (持卡人或卡片): two messages with a key in common keep their order."""
    payload = message.payload
    keys = set()
    for field_name in ("person", "card"):
        value = payload.get(field_name)
        if isinstance(value, Mapping) and value:
            keys.add(field_name + ":" + json.dumps(dict(value), sort_keys=True, ensure_ascii=False))
    return keys


@dataclass(eq=False)
class _Outgoing:
    """One message of a window on its way: its token and head, then the answer or the error."""

    message: OutboxMessage
    token: str
    head: AuditHead | None = None
    response: requests.Response | None = None
    error: str | None = None


class Relay:
    """Sends the outbox (see the module docstring). ``drain`` is safe to call from any thread."""

    def __init__(
        self,
        store: Store,
        client: CentralClient,
        tokens: TokenStore,
        config: SyncConfig,
        clock: Clock,
        credentials: CounterCredentials | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.tokens = tokens
        self.config = config
        self.clock = clock
        self.credentials = credentials or client.credentials
        self.fault_hook: FaultHook = _no_fault
        self.on_rejected: Callable[[Rejection], None] = lambda rejection: None
        self.on_alarm: Callable[[Alarm], None] = lambda alarm: log.error("%s: %s", alarm.code, alarm.message)
        self._lock = threading.Lock()
        self._rng = random.Random()
        #: Why the last pass stopped (`DrainReport.waiting`), for the status bar.
        self.waiting = ""
        self._executor: ThreadPoolExecutor | None = None

    # -- sending ---------------------------------------------------------------------------------

    def drain(self, *, seconds: float | None = None) -> DrainReport:
        """Send what is due, in order, until the queue is empty, something makes it wait, or
        ``seconds`` passed."""
        report = DrainReport()
        with self._lock:
            report.waiting = self._drain(report, None if seconds is None else time.monotonic() + seconds)
            self.waiting = report.waiting
        return report

    def _drain(self, report: DrainReport, deadline: float | None) -> str:
        while True:
            if deadline is not None and time.monotonic() > deadline:
                return "deadline"
            batch = self.store.outbox.unsettled(self.config.relay_batch)
            if not batch:
                return ""
            window, stop = self._window(batch, report)
            if window:
                stop = self._send_window(window, report) or stop
            if stop:
                return stop

    def _retry_at(self, attempts: int, at_least: float = 0.0) -> datetime:
        base = self.config.relay_retry_seconds * 2 ** max(0, attempts - 1)
        delay = min(base, self.config.relay_retry_max_seconds) * (0.75 + 0.5 * self._rng.random())
        return self.clock.now() + timedelta(seconds=max(delay, at_least))

    def _retention_passed(self, message: OutboxMessage) -> bool:
        if message.attempts == 0:  # never left the counter: not a replay
            return False
        keep = timedelta(hours=self.config.key_retention_hours - self.config.key_retention_margin_hours)
        return self.clock.now() - datetime.fromisoformat(message.created_at) > keep

    def _flag_retention(self, message: OutboxMessage, report: DrainReport) -> None:
        text = _error_text(
            "key_retention_passed",
            "此消息可能已送达中心，但已超过中心保留幂等键的期限，不能自动重发；须核对中心是否已办理。",
            "请在“待上传业务”中点击核对。",
        )
        self.store.outbox.mark_needs_reconciliation(message.id, text)
        report.flagged.append(message.id)
        self.on_alarm(Alarm("key_retention_passed", _error_fields(text)["message"], message.id))

    def _token_for(self, message: OutboxMessage) -> tuple[str | None, str | None]:
        """(token, 工号): the sign-in of the operator who recorded the message."""
        operator = (
            self.store.outbox.recorded_by(message.acceptance_number) if message.acceptance_number else None
        )
        return (self.tokens.token_of(operator) if operator else self.tokens.any_token()), operator

    def _window(self, batch: list[OutboxMessage], report: DrainReport) -> tuple[list[_Outgoing], str]:
        """The next messages that may be in flight together, and why the queue waits after them.

        In queue order: independent messages (no two on the same holder or card, see `_keys`) up to
        ``relay_window``; a message waiting for its retry time or for its operator's sign-in ends the
        window and holds the queue.
        """
        window: list[_Outgoing] = []
        keys: set[str] = set()
        for message in batch:
            if message.next_attempt_at and datetime.fromisoformat(message.next_attempt_at) > self.clock.now():
                return window, "retry_later"
            if self._retention_passed(message):
                if window:  # settled in order: after the window before it
                    return window, ""
                self._flag_retention(message, report)
                continue
            token, operator = self._token_for(message)
            if token is None:
                return window, f"operator:{operator}" if operator else "sign_in_required"
            mine = _keys(message)
            if window and (not mine or mine & keys or not keys or len(window) >= self.config.relay_window):
                return window, ""
            window.append(_Outgoing(message, token))
            keys |= mine
            if not mine:  # a message that names neither holder nor card goes alone
                return window, ""
        return window, ""

    def _send_window(self, window: list[_Outgoing], report: DrainReport) -> str:
        """Send a window of messages (concurrently) and settle each; returns why the queue must wait."""
        self.store.outbox.mark_sent_many([o.message.id for o in window])
        self.fault_hook("before_send")
        acknowledged_head = self.store.last_acknowledged_head()
        last = window[-1].message.audit_head
        for outgoing in window:
            # the server keeps the highest head: only the window's last (highest) one goes along, and
            # none that the server already passed (a retried message of an earlier window)
            head = outgoing.message.audit_head
            outgoing.head = (
                head
                if head == last and (acknowledged_head is None or head.seq > acknowledged_head.seq)
                else None
            )
        if len(window) == 1:
            self._post(window[0])
        else:
            list(self._pool().map(self._post, window))
        self.fault_hook("after_send")
        done = [o for o in window if o.response is not None and o.response.status_code == 200]
        if done:
            heads = [
                parse_audit_head(o.response.headers.get(AUDIT_HEAD_ACKNOWLEDGED)) for o in done if o.response
            ]
            highest = max((h for h in heads if h is not None), key=lambda h: h.seq, default=None)
            self.fault_hook("before_acknowledgement")
            self.store.acknowledge([o.message.id for o in done], highest)
            self.fault_hook("acknowledged")
            report.acknowledged += len(done)
        stop = ""
        for outgoing in window:
            if outgoing in done:
                continue
            if outgoing.error is not None:
                self.store.outbox.mark_failed(
                    outgoing.message.id, outgoing.error, self._retry_at(outgoing.message.attempts + 1)
                )
                stop = stop or "offline"
                continue
            assert outgoing.response is not None
            problem = Problem.of(outgoing.response)
            stop = self._settle_problem(outgoing.message, problem, report, outgoing.token) or stop
        return stop

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=self.config.relay_window, thread_name_prefix="relay"
            )
        return self._executor

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def _post(self, outgoing: _Outgoing) -> None:
        message = outgoing.message
        body = dict(message.payload)
        confirmer_number = body.pop(CONFIRMER_FIELD, None)
        confirmer = self.tokens.confirmer(str(confirmer_number)) if confirmer_number else None
        confirmer_token = confirmer.token.reveal() if confirmer is not None and confirmer.token else None
        try:
            outgoing.response = self.client.post(
                f"/commands/{message.command}",
                body,
                token=outgoing.token,
                idempotency_key=message.id,
                audit_head=outgoing.head,
                confirmer_token=confirmer_token,
            )
        except ServerUnreachable as exc:
            outgoing.error = str(exc)

    def _settle_problem(
        self, message: OutboxMessage, problem: Problem, report: DrainReport, token: str | None = None
    ) -> str:
        outbox = self.store.outbox
        if problem.in_flight:
            outbox.mark_failed(message.id, problem.as_text(), self._retry_at(1, problem.retry_after or 1.0))
            return "in_flight"
        if problem.key_reused or problem.kind.startswith("idempotency/"):
            outbox.mark_needs_reconciliation(message.id, problem.as_text())
            report.flagged.append(message.id)
            self.on_alarm(Alarm(problem.code, f"待上传消息 {message.id}：{problem.detail}", message.id))
            return ""
        if problem.sign_in_needed:
            outbox.mark_failed(message.id, problem.as_text(), self._retry_at(1))
            if token is not None:
                self.tokens.expire(token, f"{problem.detail}（请重新登录，待上传的业务随后发送）")
            return "sign_in_required"
        if problem.refusal:
            outbox.mark_rejected(message.id, problem.as_text())
            rejection = Rejection(
                message.id,
                message.acceptance_number,
                message.command,
                problem.code,
                problem.detail,
                problem.hint,
            )
            report.rejected.append(rejection)
            self.on_rejected(rejection)
            return ""
        log.warning("message %s: the server answered %s; retrying later", message.id, problem)
        outbox.mark_failed(
            message.id, problem.as_text(), self._retry_at(message.attempts + 1, problem.retry_after or 0.0)
        )
        return "server_error"

    # -- what the UI lists --------------------------------------------------------------------------

    def rejections(self) -> list[Rejection]:
        """Every queued transaction the server refused, oldest first."""
        out = []
        for m in self.store.outbox.messages(OutboxStatus.REJECTED):
            error = _error_fields(m.last_error)
            out.append(
                Rejection(
                    m.id,
                    m.acceptance_number,
                    m.command,
                    str(error.get("code") or "unknown"),
                    str(error.get("message") or ""),
                    error.get("hint"),
                )
            )
        return out

    def flagged(self) -> list[OutboxMessage]:
        """Messages a person must reconcile (需人工核对)."""
        return self.store.outbox.messages(OutboxStatus.NEEDS_RECONCILIATION)

    # -- reconciliation -----------------------------------------------------------------------------

    def reconcile(self, message_id: str) -> str:
        """Ask the server whether a flagged message took effect: acknowledged if it did, else sent
        now (its old key is gone from the server, so this is a first delivery). Returns the outcome:
        "acknowledged", "rejected", "flagged" (still unresolved) or "offline"."""
        with self._lock:
            message = self.store.outbox.get(message_id)
            if message is None or message.status is not OutboxStatus.NEEDS_RECONCILIATION:
                raise ValueError(f"message {message_id} is not waiting for reconciliation")
            if message.acceptance_number is None:
                return "flagged"
            operator = self.store.outbox.recorded_by(message.acceptance_number)
            token = self.tokens.token_of(operator) if operator else self.tokens.any_token()
            if token is None:
                token = self.tokens.any_token()
            if token is None:
                return "flagged"
            code = qr_text(self.credentials.receipt_key(), message.acceptance_number)
            try:
                response = self.client.get("/receipts/verify", params={"code": code}, token=token)
            except ServerUnreachable:
                return "offline"
            if response.status_code != 200:
                return "flagged"
            if response.json().get("recorded"):
                self.store.acknowledge(message.id, None)
                return "acknowledged"
            report = DrainReport()
            stop = self._send_window([_Outgoing(message, token)], report)
            if report.acknowledged:
                return "acknowledged"
            if report.rejected:
                return "rejected"
            current = self.store.outbox.get(message_id)
            if current is not None and current.status is not OutboxStatus.NEEDS_RECONCILIATION:
                self.store.outbox.mark_needs_reconciliation(message.id, current.last_error or stop)
            return "offline" if stop == "offline" else "flagged"
