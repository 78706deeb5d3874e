"""Errors on the wire (错误响应): ``application/problem+json`` (RFC 9457).

Types, under the configurable base ``CENTRAL_PROBLEM_BASE`` (default
``https://sbk.leshan.example/problems/``):

| type | status | when |
|---|---|---|
| ``refused/<code>`` | 409 | a domain refusal (life cycle, scope, role, one-card rule, unknown card …); nothing changed |
| ``invalid/<rule>`` | 422 | a value breaks a rule, e.g. ``invalid/id_number`` with the failed rules in ``failures`` |
| ``invalid/request`` | 422 | the request does not match the schema (``errors`` lists where) |
| ``not-found`` | 404 | a lookup found nothing |
| ``conflict/concurrent_update`` | 409 | the record changed under the command twice in a row; retry |
| ``idempotency/key-missing`` | 400 | a state-changing request without ``Idempotency-Key`` |
| ``idempotency/key-reused`` | 422 | the key was used before with a different request (alarm: never retry) |
| ``idempotency/in-flight`` | 409 | the first request with this key is still running (retry later) |
| ``auth/<code>`` | 401 | no, a wrong or an expired operator token or counter credential (``WWW-Authenticate``) |
| ``auth/account-locked`` | 403 | too many failed sign-ins; ``locked_until`` says until when |
| ``forbidden/<code>`` | 403 | this role or counter may not call this function at all (BFLA) |
| ``rate-limited`` | 429 | too many sign-in attempts; ``Retry-After`` |
| ``feed/cursor-expired`` | 410 | the change-feed cursor is older than the kept history (or unknown): resync |
| ``unavailable/database`` | 503 | the database cannot be reached; ``Retry-After``; logged as a WARNING with ``reference`` |
| ``internal`` | 500 | an unhandled error; ``reference`` is in the server log with the traceback |
| ``http/<status>`` | any | other HTTP errors (unknown route, wrong method) |

Decision: every refusal is 409 Conflict — the request was well formed but the city's rules or the
record's current state forbid it; clients branch on ``type`` (and its ``code``), never on the status
alone. Every problem has ``title``, ``status``, ``detail`` (Chinese, for the clerk) and ``code``;
refusals also ``hint`` (what to do next) when the rule gives one.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from central.core.reads import ReadPoolTimeout
from counter_app.domain.errors import DomainError
from counter_app.domain.identity import CheckResult

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("central.errors")


class Problem(Exception):
    """An error answered as problem+json; ``kind`` is the type's path below the base URI."""

    def __init__(
        self,
        status: int,
        kind: str,
        title: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.title = title
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra

    def body(self, base: str) -> dict[str, Any]:
        return {
            "type": base + self.kind,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.extra,
        }


def refusal(error: DomainError) -> Problem:
    """The problem for a domain refusal (``refused/<code>``, 409)."""
    extra: dict[str, Any] = {"code": error.code, "hint": error.hint}
    return Problem(409, f"refused/{error.code}", "业务不予办理", error.message, **extra)


def not_found(detail: str, code: str = "not_found") -> Problem:
    return Problem(404, "not-found", "未找到", detail, code=code)


def invalid(name: str, detail: str, **extra: Any) -> Problem:
    """A value that breaks a rule (``invalid/<name>``, 422)."""
    extra.setdefault("code", name)
    return Problem(422, f"invalid/{name}", "数据不符合规则", detail, **extra)


def invalid_document(field: str, label: str, result: CheckResult, rule: str = "id_number") -> Problem:
    """``invalid/<rule>`` for a 证件号码 (or 卡识别码 …) that fails its check; names every failed rule.

    ``rule`` names the value (``id_number``, ``card_identifier``); the member ``rule`` names the first
    blocking check that failed (``check_character``, ``birth_date`` …) and ``failures`` lists them all.
    """
    failures = [{"rule": f.code.value, "message": f.message, "blocking": f.blocking} for f in result.failures]
    first = next(f for f in result.failures if f.blocking)
    return invalid(
        rule,
        f"{label}校验不通过：{first.message}",
        code=rule,
        rule=first.code.value,
        field=field,
        failures=failures,
    )


def unauthorized(code: str, detail: str) -> Problem:
    """401 ``auth/<code>``: no, a wrong or an expired credential."""
    return Problem(
        401,
        f"auth/{code}",
        "未登录或登录已失效",
        detail,
        code=code,
        headers={"WWW-Authenticate": 'Bearer realm="sbk"'},
    )


def forbidden(code: str, detail: str, hint: str | None = None) -> Problem:
    """403 ``forbidden/<code>``: this role or counter may not call the function at all."""
    return Problem(403, f"forbidden/{code}", "无权使用此功能", detail, code=code, hint=hint)


def problem_response(problem: Problem, request: Request | None = None, base: str | None = None) -> Response:
    if base is None:
        base = _base(request)
    return JSONResponse(
        jsonable_encoder(problem.body(base)),
        status_code=problem.status,
        media_type=MEDIA_TYPE,
        headers=problem.headers or None,
    )


def _base(request: Request | None) -> str:
    settings = getattr(request.app.state, "settings", None) if request is not None else None
    return str(getattr(settings, "problem_base_uri", "https://sbk.leshan.example/problems/"))


_HTTP_TEXTS = {
    404: ("未找到", "请求的地址不存在。"),
    405: ("不支持的请求方法", "此地址不支持该请求方法。"),
}


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error as problem+json; catch what nothing else caught as ``internal``."""

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        return problem_response(exc, request)

    async def on_domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        return problem_response(refusal(exc), request)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in exc.errors()
        ]
        if any(
            [str(p).lower() for p in e["loc"]] == ["header", "idempotency-key"] and e["type"] == "missing"
            for e in errors
        ):
            missing = Problem(
                400,
                "idempotency/key-missing",
                "缺少幂等键",
                "修改数据的请求须带 Idempotency-Key 请求头（每条待上传消息一个，重试时不变）。",
                code="idempotency_key_missing",
            )
            return problem_response(missing, request)
        where = "、".join(".".join(str(p) for p in e["loc"]) for e in errors[:5])
        problem = invalid("request", f"请求数据不完整或格式不正确：{where}", errors=errors)
        return problem_response(problem, request)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        title, default = _HTTP_TEXTS.get(exc.status_code, ("请求错误", "请求未能处理。"))
        detail = str(exc.detail)
        if not any("\u4e00" <= c <= "\u9fff" for c in detail):
            detail = f"{default}（{exc.status_code} {detail}）"
        problem = Problem(
            exc.status_code, f"http/{exc.status_code}", title, detail, code=f"http_{exc.status_code}"
        )
        response = problem_response(problem, request)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def on_database_down(request: Request, exc: Exception) -> Response:
        return problem_response(database_unavailable(exc, request.method, request.url.path), request)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    for kind in DATABASE_DOWN:
        app.add_exception_handler(kind, on_database_down)
    app.add_middleware(UnhandledErrorMiddleware)
    app.add_middleware(RequestGuardMiddleware)


#: Errors that mean "the database cannot be reached or is overloaded", not "the program is wrong":
#: SQLAlchemy's, and psycopg's own from the async lookups (``central.core.reads``).
DATABASE_DOWN: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    PoolTimeout,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    ReadPoolTimeout,
)


def database_unavailable(exc: BaseException, method: str, path: str) -> Problem:
    """503 ``unavailable/database``; logged once as a WARNING with its reference, no traceback."""
    reference = uuid.uuid4().hex[:12].upper()
    cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    log.warning(
        "database unavailable %s on %s %s: %s: %s",
        reference,
        method,
        path,
        type(exc).__name__,
        cause[0][:200] if cause else "",
    )
    return Problem(
        503,
        "unavailable/database",
        "系统暂时不可用",
        f"中心数据库暂时无法访问，请稍后重试；如持续出现请联系信息科（编号 {reference}）。",
        code="database_unavailable",
        reference=reference,
        headers={"Retry-After": "5"},
    )


#: Largest request body accepted (a 回盘 or a payment batch of a few thousand records fits).
MAX_BODY_BYTES = 8 * 1024 * 1024


class RequestGuardMiddleware:
    """Refuses bodies over ``MAX_BODY_BYTES`` (413) and NUL characters in the query or body (422).

    PostgreSQL cannot store NUL in text, so one would otherwise surface as a database error.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        if b"%00" in query or rb"\u0000" in query.lower():
            await self._refuse(scope, receive, send, 422, "请求参数中含有不允许的空字符（NUL）。")
            return
        if scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                await self._refuse(scope, receive, send, 413, "请求数据过大。")
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if b"\x00" in body or rb"\u0000" in body.lower():
            await self._refuse(scope, receive, send, 422, "请求数据中含有不允许的空字符（NUL）。")
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
        kind = "request" if status == 422 else "too-large"
        problem = Problem(status, f"invalid/{kind}", "数据不符合规则", detail, code=kind.replace("-", "_"))
        app = scope.get("app")
        settings = getattr(getattr(app, "state", None), "settings", None)
        base = str(getattr(settings, "problem_base_uri", "https://sbk.leshan.example/problems/"))
        await problem_response(problem, base=base)(scope, receive, send)


class UnhandledErrorMiddleware:
    """Turns an exception no handler took into a 500 ``internal`` problem with an error reference.

    The traceback is logged once, on ``central.errors`` at ERROR, with the reference, method, path
    and the signed-in operator and counter, so "系统错误，编号 N" at the counter leads to the log line.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            reference = uuid.uuid4().hex[:12].upper()
            principal = scope.get("state", {}).get("principal")
            log.exception(
                "unhandled error %s on %s %s (%s)",
                reference,
                scope.get("method"),
                scope.get("path"),
                principal or "not signed in",
            )
            if started:
                raise
            problem = Problem(
                500,
                "internal",
                "系统错误",
                f"系统错误，编号 {reference}。请记下编号并联系信息科。",
                code="internal",
                reference=reference,
            )
            app = scope.get("app")
            settings = getattr(getattr(app, "state", None), "settings", None)
            base = str(getattr(settings, "problem_base_uri", "https://sbk.leshan.example/problems/"))
            response = problem_response(problem, base=base)
            await response(scope, receive, send)
