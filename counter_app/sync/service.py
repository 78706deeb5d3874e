"""The sync service (同步服务): the one object the UI and ``app.py`` use for everything central.

It wires the client, credentials, sign-in, the `CentralApi` adapter, the replica view, the relay,
the puller and the worker for one counter, and offers the UI:

- ``sign_in`` / ``confirm`` (a supervisor's second sign-in) / ``sign_out``;
- ``on_online`` / ``on_offline`` / ``on_status`` / ``on_rejected`` / ``on_alarm`` callbacks and
  ``status()``; ``bind(ctx)`` keeps a flow context's offline flag in step;
- ``availability(catalog)`` for the menu, ``rejections()`` / ``flagged()`` / ``reconcile(id)`` for
  the "待上传业务" list, ``receipt_code(number)`` for the receipts' verification code;
- ``enrol(credential)`` once per PC: keeps the counter credential and fetches the receipt key.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from typing import Any

from counter_app.clock import SystemClock
from counter_app.domain.catalog import Catalog
from counter_app.domain.operators import Operator
from counter_app.domain.receipt_code import verification_code
from counter_app.store import OutboxMessage, Store
from counter_app.sync.anchor import AuditAnchor
from counter_app.sync.central import SyncedCentral
from counter_app.sync.client import CentralClient
from counter_app.sync.config import SyncConfig
from counter_app.sync.credentials import CounterCredentials, TokenStore
from counter_app.sync.offline import Connectivity, ItemAvailability, Unsubscribe, availability, bind_context
from counter_app.sync.problems import Problem, ServerUnreachable
from counter_app.sync.puller import Puller
from counter_app.sync.relay import Alarm, Rejection, Relay
from counter_app.sync.replica_view import ReplicaView
from counter_app.sync.signin import ConfirmerDirectory, SignedIn, SignIn
from counter_app.sync.worker import SyncStatus, SyncWorker
from counter_app.workflows.context import Context
from counter_app.workflows.ports import Clock

log = logging.getLogger(__name__)


class SyncService:
    """Everything between this counter and the central server (see the module docstring)."""

    def __init__(
        self,
        config: SyncConfig,
        store: Store,
        *,
        clock: Clock | None = None,
        credentials: CounterCredentials | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock or SystemClock()
        self.credentials = credentials or CounterCredentials()
        self.client = CentralClient(config, self.credentials)
        self.connectivity = Connectivity(self.clock)
        self.client.observer = self.connectivity
        self.tokens = TokenStore()
        self.signin = SignIn(self.client, store, self.tokens, config, self.clock)
        self.central = SyncedCentral(self.client, self.tokens, store, self.connectivity, config)
        self.replica: ReplicaView = self.central.replica
        self.confirmers = ConfirmerDirectory(self.tokens)
        self.relay = Relay(store, self.client, self.tokens, config, self.clock, self.credentials)
        self.puller = Puller(store, self.client, self.tokens, config, county=lambda: self.signin.county)
        self.anchor = AuditAnchor(store, self.client)
        self.worker = SyncWorker(
            store=store,
            client=self.client,
            connectivity=self.connectivity,
            signin=self.signin,
            relay=self.relay,
            puller=self.puller,
            anchor=self.anchor,
            config=config,
        )
        self.central.alarm = lambda problem: self.relay.on_alarm(Alarm(problem.code, problem.detail))

    # -- life cycle -----------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the background worker (it probes the server at once)."""
        self.worker.start()

    def stop(self) -> None:
        self.worker.stop()
        self.relay.close()
        self.client.close()

    def enrol(self, credential: str) -> None:
        """登记本机: keep the counter credential and fetch the receipt key (once per PC, online)."""
        self.credentials.save_counter_key(credential)
        response = self.client.get("/counters/me/receipt-key")
        if response.status_code != 200:
            raise ServerUnreachable(f"柜台登记失败：{Problem.of(response).detail}")
        self.credentials.save_receipt_key(base64.b64decode(response.json()["receipt_key"]))

    # -- operators -----------------------------------------------------------------------------------

    def sign_in(self, operator_number: str, password: str) -> SignedIn:
        """工号登录: online when the server answers, otherwise offline (see ``signin``)."""
        result = self.signin.sign_in(operator_number, password)
        self.worker.wake()
        self.worker.publish()
        return result

    def confirm(self, operator_number: str, password: str) -> Operator:
        """A supervisor's second sign-in (复核/授权) for the flow at hand; online only."""
        return self.signin.confirm(operator_number, password)

    def sign_out(self, *, flush_seconds: float = 5.0) -> None:
        """退出登录: first try to send this operator's queued transactions, then end every token."""
        if self.connectivity.online and self.tokens.any_token() is not None:
            try:
                self.relay.drain(seconds=flush_seconds)
            except Exception:
                log.exception("could not flush the outbox before sign-out")
        self.signin.sign_out()
        self.worker.publish()

    # -- for the UI ----------------------------------------------------------------------------------

    def status(self) -> SyncStatus:
        return self.worker.status()

    def on_online(self, callback: Callable[[], None]) -> Unsubscribe:
        return self.connectivity.subscribe(lambda online: callback() if online else None)

    def on_offline(self, callback: Callable[[str], None]) -> Unsubscribe:
        return self.connectivity.subscribe(
            lambda online: None if online else callback(self.connectivity.reason)
        )

    def on_status(self, callback: Callable[[SyncStatus], None]) -> Unsubscribe:
        return self.worker.on_status(callback)

    def on_rejected(self, callback: Callable[[Rejection], None]) -> Unsubscribe:
        return self.worker.on_rejected(callback)

    def on_alarm(self, callback: Callable[[Alarm], None]) -> Unsubscribe:
        return self.worker.on_alarm(callback)

    def bind(self, ctx: Context) -> Unsubscribe:
        """Keep ``ctx.offline`` equal to the counter's online/offline state."""
        return bind_context(self.connectivity, ctx)

    def availability(self, catalog: Catalog) -> list[ItemAvailability]:
        """Which service items can be started now (the flows' own offline rule)."""
        return availability(catalog, offline=self.connectivity.offline)

    def rejections(self) -> list[Rejection]:
        return self.relay.rejections()

    def flagged(self) -> list[OutboxMessage]:
        return self.relay.flagged()

    def reconcile(self, message_id: str) -> str:
        return self.relay.reconcile(message_id)

    def receipt_code(self, acceptance_number: str) -> str:
        """回执校验码 of a 受理编号 with this counter's receipt key (``Context.verification_code``)."""
        return verification_code(self.credentials.receipt_key(), acceptance_number)

    def context_ports(self) -> dict[str, Any]:
        """The ports a flow context takes from here (``Context(**sync.context_ports(), …)``): the
        caller adds the operator, outlet, devices, journal, renderer and clock, then calls `bind`."""
        return {
            "central": self.central,
            "replica": self.replica,
            "operators": self.confirmers,
            "verification_code": self.receipt_code,
            "offline": self.connectivity.offline,
        }
