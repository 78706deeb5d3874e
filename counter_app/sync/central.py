"""The `CentralApi` port on the real server (中心接口适配器): lookups, commands, subsidy payments.

- Lookups use the signed-in operator's token; a person looked up is remembered in the replica
  (the replica covers the counter's county *and the persons it has served*, and the change feed
  keeps them current from then on).
- Commands: the flow's idempotency key goes as ``Idempotency-Key``; a ``confirmer_number`` in the
  payload (the flows' record of the supervisor's second sign-in) is taken out of the body — the
  server accepts no unknown field — and replaced by that supervisor's token in ``X-Confirmer-Token``.
  The counter's audit head goes along only while the outbox is empty: the server keeps the highest
  head, and a queued message (which carries the older head of its time) must not follow a newer one.
  ``idempotency/in-flight`` is waited out (``Retry-After``) for up to ``in_flight_wait_seconds``.
- Subsidy payments come from the server while online (and are kept in the replica for a person it
  holds); offline they come from the replica, for the persons it holds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from counter_app.store import AuditHead, OutboxStatus, Store
from counter_app.sync.client import AUDIT_HEAD_ACKNOWLEDGED, CentralClient, parse_audit_head
from counter_app.sync.config import SyncConfig
from counter_app.sync.credentials import TokenStore
from counter_app.sync.offline import Connectivity
from counter_app.sync.problems import Problem, ServerUnreachable, SignInRequired, problem_error
from counter_app.sync.replica_view import (
    FEED,
    ReplicaView,
    card_from_record,
    payment_from_record,
    person_from_record,
)
from counter_app.workflows.ports import CentralUnavailable, CommandResult

log = logging.getLogger(__name__)

CONFIRMER_FIELD = "confirmer_number"


def _log_alarm(problem: Problem) -> None:
    log.error("central server alarm: %s", problem)


class SyncedCentral:
    """`CentralApi` for the flows, on `CentralClient` (see the module docstring)."""

    def __init__(
        self,
        client: CentralClient,
        tokens: TokenStore,
        store: Store,
        connectivity: Connectivity,
        config: SyncConfig,
    ) -> None:
        self.client = client
        self.tokens = tokens
        self.store = store
        self.connectivity = connectivity
        self.config = config
        self.replica = ReplicaView(store)
        #: Called with a `Problem` the counter must never see (key reused): the worker's alarm.
        self.alarm: Callable[[Problem], None] = _log_alarm

    def _token(self) -> str:
        token = self.tokens.any_token()
        if token is None:
            session = self.tokens.current
            if session is not None and session.online_refusal:
                raise SignInRequired(session.online_refusal)
            raise SignInRequired("尚未联网登录：离线登录的工号须待连上社保卡中心系统后才能使用联网业务。")
        return token

    def _unexpected(self, problem: Problem, token: str) -> CentralUnavailable:
        if problem.sign_in_needed:
            message = f"{problem.detail}（请重新登录后重试）"
            self.tokens.expire(token, message)
            return SignInRequired(message)
        return CentralUnavailable(f"社保卡中心系统返回错误：{problem.detail}")

    # -- lookups ----------------------------------------------------------------------------------

    def _lookup(self, path: str, params: Mapping[str, Any]) -> Mapping[str, Any] | None:
        token = self._token()
        response = self.client.get(path, params=params, token=token)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            problem = Problem.of(response)
            if problem.refusal:
                raise problem_error(problem)
            raise self._unexpected(problem, token)
        body: Mapping[str, Any] = response.json()
        return body

    def find_person(self, id_type: str, id_number: str) -> Mapping[str, Any] | None:
        person = self._lookup("/persons", {"id_type": id_type, "id_number": id_number})
        if person is not None:
            self._remember(person)
        return person

    def find_card(
        self, *, card_number: str | None = None, card_id: str | None = None
    ) -> Mapping[str, Any] | None:
        params = {"card_number": card_number} if card_number is not None else {"card_identifier": card_id}
        return self._lookup("/cards", params)

    def _remember(self, person: Mapping[str, Any]) -> None:
        """A served person joins the replica (at the feed's position: the feed brings what follows)."""
        try:
            version = self.store.replica.cursor(FEED)
            self.store.replica.apply(
                persons=[person_from_record(person, version)],
                cards=[
                    card_from_record({**c, "person_id": person["id"]}, version)
                    for c in person.get("cards") or ()
                ],
            )
        except Exception:  # the lookup itself succeeded; a replica problem must not fail the flow
            log.exception("could not remember person %s in the replica", person.get("id"))

    # -- commands ---------------------------------------------------------------------------------

    def _audit_head(self) -> AuditHead | None:
        if self.store.outbox.count(OutboxStatus.PENDING, OutboxStatus.SENT):
            return None
        return self.store.audit_head()

    def send_command(self, command: str, payload: Mapping[str, Any], idempotency_key: str) -> CommandResult:
        body = dict(payload)
        confirmer_token = None
        confirmer_number = body.pop(CONFIRMER_FIELD, None)
        if confirmer_number:
            confirmer = self.tokens.confirmer(str(confirmer_number))
            if confirmer is None or not confirmer.online:
                raise SignInRequired(f"复核人员 {confirmer_number} 须在本柜台重新登录确认后重试。")
            assert confirmer.token is not None
            confirmer_token = confirmer.token.reveal()
        deadline = time.monotonic() + self.config.in_flight_wait_seconds
        while True:
            token = self._token()
            response = self.client.post(
                f"/commands/{command}",
                body,
                token=token,
                idempotency_key=idempotency_key,
                audit_head=self._audit_head(),
                confirmer_token=confirmer_token,
            )
            if response.status_code == 200:
                acknowledged = parse_audit_head(response.headers.get(AUDIT_HEAD_ACKNOWLEDGED))
                if acknowledged is not None:
                    self.store.record_acknowledged_head(acknowledged)
                return CommandResult(True, response.json())
            problem = Problem.of(response)
            if problem.in_flight and time.monotonic() < deadline:
                time.sleep(min(problem.retry_after or 1.0, max(0.0, deadline - time.monotonic())))
                continue
            if problem.in_flight:
                raise CentralUnavailable("中心仍在处理此前提交的同一请求，请稍后重试（不会重复办理）。")
            if problem.key_reused:
                self.alarm(problem)
                return CommandResult(False, problem.body, problem.code, problem.detail)
            if problem.refusal:
                message = problem.detail + (f"（{problem.hint}）" if problem.hint else "")
                return CommandResult(False, problem.body, problem.code, message)
            raise self._unexpected(problem, token)

    # -- subsidy payments --------------------------------------------------------------------------

    def subsidy_payments(
        self, person_id: str, *, household: bool, period_from: str, period_to: str
    ) -> Sequence[Mapping[str, Any]]:
        if self.connectivity.offline:
            local = self.replica.subsidy_payments(
                person_id, household=household, period_from=period_from, period_to=period_to
            )
            if local is None:
                raise ServerUnreachable("离线：本地数据副本中没有此人的补贴发放记录。")
            return local
        params = {"household": str(household).lower(), "period_from": period_from, "period_to": period_to}
        report = self._lookup(f"/persons/{int(person_id)}/subsidy-payments", params)
        payments: list[Mapping[str, Any]] = list((report or {}).get("payments") or [])
        if payments:
            try:
                known = self.store.replica.known_persons(str(p["recipient_person_id"]) for p in payments)
                version = self.store.replica.cursor(FEED)
                self.store.replica.apply(
                    payments=[
                        payment_from_record(p, version)
                        for p in payments
                        if str(p["recipient_person_id"]) in known
                    ]
                )
            except Exception:
                log.exception("could not keep the payments of person %s in the replica", person_id)
        return payments
