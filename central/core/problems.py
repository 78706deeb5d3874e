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

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from counter_app.domain.errors import DomainError
from counter_app.domain.identity import CheckResult

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("central.errors")


class Problem(Exception):
    """An error answered as problem+json; ``kind`` is the type's path below the base URI."""

    def __init__(self, status: int, kind: str, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.title = title
        self.detail = detail
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


def problem_response(problem: Problem, request: Request | None = None, base: str | None = None) -> Response:
    if base is None:
        base = _base(request)
    return JSONResponse(
        jsonable_encoder(problem.body(base)), status_code=problem.status, media_type=MEDIA_TYPE
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

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_middleware(UnhandledErrorMiddleware)


class UnhandledErrorMiddleware:
    """Turns an exception no handler took into a 500 ``internal`` problem with an error reference.

    The traceback is logged once, on ``central.errors`` at ERROR, with the reference, method, path
    and the temporary operator headers, so "系统错误，编号 N" at the counter leads to the log line.
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
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
            log.exception(
                "unhandled error %s on %s %s (operator=%s outlet=%s counter=%s)",
                reference,
                scope.get("method"),
                scope.get("path"),
                headers.get("x-operator"),
                headers.get("x-outlet"),
                headers.get("x-counter"),
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
