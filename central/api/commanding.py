"""Running a state-changing request (修改类请求): who, which key, the command, the stored answer.

``Runner`` is the one way a route changes data: it checks the operator (and a confirming
supervisor), claims the ``Idempotency-Key`` for the counter, runs the command in one write
transaction that also stores the answer and the counter's audit head, and answers — or replays the
stored answer for a key it has seen (``Idempotent-Replayed: true``). See
``central.services.idempotency`` for the rules.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from typing import Annotated, Any, get_type_hints

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from central.api.deps import Access, AccessDep, ConfirmerHeader
from central.api.fast import FAST_PATHS, FastPath
from central.core.problems import MEDIA_TYPE, Problem, refusal
from central.services.actors import ActorClaim
from central.services.auth import CONFIRMER_HEADER, COUNTER_KEY_HEADER, confirmer_number
from central.services.common import CommandContext
from central.services.idempotency import (
    HEADER,
    KEY_PATTERN,
    Claim,
    IdempotencyStore,
    IdempotentRequest,
    StoredAnswer,
)
from central.services.notices import (
    AUDIT_HEAD_HEADER,
    AUDIT_HEAD_PATTERN,
    AuditHead,
    acknowledged_head,
    anchor_audit_head,
    parse_audit_head,
)
from central.services.runner import run_command
from counter_app.domain.errors import DomainError
from counter_app.domain.operators import Role

REPLAYED = "Idempotent-Replayed"
ACKNOWLEDGED = "X-Audit-Head-Acknowledged"
#: Problems that are not an answer to store: a retry must run again (or is itself about the key).
_TRANSIENT_KINDS = ("conflict/", "idempotency/", "unavailable/", "auth/")

IdempotencyHeader = Annotated[
    str,
    Header(
        alias=HEADER,
        min_length=1,
        max_length=257,
        pattern=KEY_PATTERN,
        description="幂等键（柜台待上传消息的编号）。同键同内容只办理一次并返回原结果；"
        "同键不同内容 422 idempotency/key-reused；首个请求尚未完成 409 idempotency/in-flight",
    ),
]
AuditHeadHeader = Annotated[
    str | None,
    Header(
        alias=AUDIT_HEAD_HEADER,
        pattern=AUDIT_HEAD_PATTERN,
        description="柜台审计链头“序号:SM3 哈希”（随每条待上传消息），中心保存已确认的最新链头",
    ),
]


class Runner:
    """One state-changing request, ready to run in the route's thread."""

    def __init__(
        self,
        request: Request,
        access: Access,
        idempotent: IdempotentRequest,
        confirmer_token: str | None,
        audit_head: str | None,
    ) -> None:
        self.request = request
        self.access = access
        self.idempotent = idempotent
        self.confirmer_token = confirmer_token
        self.audit_head_text = audit_head
        state = request.app.state
        self.db, self.settings, self.clock = state.db, state.settings, state.clock
        self.store: IdempotencyStore = state.idempotency

    def __call__(
        self,
        action: Callable[[CommandContext], dict[str, Any]],
        *,
        model: type[BaseModel],
        need_counter: bool = True,
        roles: frozenset[Role] | None = None,
    ) -> JSONResponse:
        principal = self.access.require(roles, counter=need_counter)
        head = parse_audit_head(self.audit_head_text) if principal.counter_id is not None else None
        confirmer = confirmer_number(
            self.access.authenticator, principal, self.confirmer_token, self.access.counter_key
        )
        claim_of_actor = ActorClaim(
            operator_number=principal.operator_number,
            outlet_code=principal.outlet_code,
            counter_number=principal.counter_number,
            confirmer_number=confirmer,
        )
        now = self.clock.now()
        claimed = self.store.claim(principal.idempotency_scope, self.idempotent, now)
        if isinstance(claimed, StoredAnswer):
            replay = self._answer(claimed.status, claimed.body, replayed=True)
            if principal.counter_id is not None:
                # the first answer (with its acknowledged head) may never have reached the counter:
                # a replay tells the head the server holds now, so the counter can anchor it
                with self.db.read() as session:
                    held = acknowledged_head(session, principal.counter_id)
                if held is not None:
                    replay.headers[ACKNOWLEDGED] = str(held)
            return replay
        acknowledged: list[AuditHead] = []

        def finish(session: Session, result: dict[str, Any]) -> dict[str, Any]:
            body: dict[str, Any] = model.model_validate(result).model_dump(mode="json")
            if head is not None and principal.counter_id is not None:
                acknowledged.append(anchor_audit_head(session, principal.counter_id, head, now))
            self.store.complete(session, claimed, 200, body, now)
            return body

        try:
            body = run_command(
                self.db,
                self.settings,
                self.clock,
                claim_of_actor,
                action,
                need_counter=need_counter,
                finish=finish,
            )
        except DomainError as error:
            self._store_problem(claimed, refusal(error), head, principal.counter_id, now)
            raise
        except Problem as problem:
            if problem.status < 500 and not problem.kind.startswith(_TRANSIENT_KINDS):
                self._store_problem(claimed, problem, head, principal.counter_id, now)
            else:
                self.store.release(claimed)
            raise
        except BaseException:
            self.store.release(claimed)
            raise
        response = self._answer(200, body, replayed=False)
        if acknowledged:
            response.headers[ACKNOWLEDGED] = str(acknowledged[0])
        return response

    def _store_problem(
        self, claimed: Claim, problem: Problem, head: AuditHead | None, counter_id: int | None, now: Any
    ) -> None:
        body = jsonable_encoder(problem.body(self.settings.problem_base_uri))
        with self.db.write() as session:
            if head is not None and counter_id is not None:
                anchor_audit_head(session, counter_id, head, now)
            self.store.complete(session, claimed, problem.status, body, now)

    @staticmethod
    def _answer(status: int, body: Any, *, replayed: bool) -> JSONResponse:
        media = "application/json" if status < 400 else MEDIA_TYPE
        response = JSONResponse(body, status_code=status, media_type=media)
        if replayed:
            response.headers[REPLAYED] = "true"
        return response


async def get_runner(
    request: Request,
    access: AccessDep,
    idempotency_key: IdempotencyHeader,
    confirmer_token: ConfirmerHeader = None,
    audit_head: AuditHeadHeader = None,
) -> Runner:
    body = await request.body()
    idempotent = IdempotentRequest.parse(idempotency_key, request.method, request.url.path, body)
    return Runner(request, access, idempotent, confirmer_token, audit_head)


RunnerDep = Annotated[Runner, Depends(get_runner)]


# --------------------------------------------------------------------------------------------
# The fast path of the commands (see central.api.fast)
# --------------------------------------------------------------------------------------------

_CONFIRMER_MAX = 200
_KEY_MAX = 257


def register_fast_commands(router: APIRouter) -> None:
    """Give every command of ``router`` shaped ``(body: <model>, run: RunnerDep) -> JSONResponse`` a fast path.

    The fast path reads what FastAPI would resolve — the JSON body validated by the same model, the
    ``Idempotency-Key``, ``X-Confirmer-Token`` and ``X-Audit-Head`` headers within the same limits,
    the credentials — without FastAPI's dependency machinery, and then runs the endpoint itself in the
    thread pool exactly as FastAPI does. A request of any other shape (another content type, a missing,
    repeated or malformed header, a body that does not validate …) is handed to FastAPI untouched, so
    every error answer stays FastAPI's own; nothing has been done when it is.
    """
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        hints = get_type_hints(route.endpoint)
        model = hints.get("body")
        if (
            list(inspect.signature(route.endpoint).parameters) == ["body", "run"]
            and isinstance(model, type)
            and issubclass(model, BaseModel)
            and hints.get("return") is JSONResponse
        ):
            FAST_PATHS[route.endpoint] = _command_path(route.endpoint, model)


def _command_path(endpoint: Callable[..., JSONResponse], model: type[BaseModel]) -> FastPath:
    async def answer(request: Request, route: APIRoute) -> Response | None:
        headers = request.headers
        if headers.get("content-type", "").partition(";")[0].strip().lower() != "application/json":
            return None
        keys = headers.getlist(HEADER)
        confirmers = headers.getlist(CONFIRMER_HEADER)
        heads = headers.getlist(AUDIT_HEAD_HEADER)
        if len(keys) != 1 or len(confirmers) > 1 or len(heads) > 1:
            return None
        key = keys[0]
        if not 1 <= len(key) <= _KEY_MAX or _KEY_RULE.search(key) is None:
            return None
        confirmer = confirmers[0] if confirmers else None
        head = heads[0] if heads else None
        if (confirmer is not None and len(confirmer) > _CONFIRMER_MAX) or (
            head is not None and _HEAD_RULE.search(head) is None
        ):
            return None
        raw = await request.body()
        if not raw:
            return None
        try:
            body = model.model_validate(json.loads(raw))
        except ValueError:  # not JSON, or does not validate (pydantic's ValidationError is a ValueError)
            return None
        access = Access(request, headers.get("authorization"), headers.get(COUNTER_KEY_HEADER) or None)
        idempotent = IdempotentRequest.parse(key, request.method, request.url.path, raw)
        runner = Runner(request, access, idempotent, confirmer, head)
        response: JSONResponse = await run_in_threadpool(endpoint, body=body, run=runner)
        return response

    return answer


_KEY_RULE = re.compile(KEY_PATTERN)
_HEAD_RULE = re.compile(AUDIT_HEAD_PATTERN)
