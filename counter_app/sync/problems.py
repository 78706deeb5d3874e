"""What the server's answers mean to the counter (中心应答): problem+json and the sync layer's errors.

The server answers errors as ``application/problem+json`` whose ``type`` ends in a kind such as
``refused/card_lost`` or ``idempotency/in-flight`` (the base of the URI is configurable on the
server, so only the kind is compared). `Problem.of` reads one; the errors below are what the sync
layer raises to the flows and the UI, each with a Chinese message for the clerk.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

import requests

from counter_app.domain.errors import DomainError
from counter_app.workflows.ports import CentralUnavailable

#: The first path segment of every problem kind the server defines (central/core/problems.py).
_ROOTS = frozenset(
    {
        "refused",
        "invalid",
        "idempotency",
        "auth",
        "forbidden",
        "feed",
        "unavailable",
        "conflict",
        "rate-limited",
        "not-found",
        "internal",
        "http",
    }
)


@dataclass(frozen=True)
class Problem:
    """One problem+json answer (错误应答): HTTP status, kind, code and the Chinese texts."""

    status: int
    kind: str
    code: str
    detail: str
    hint: str | None = None
    retry_after: float | None = None
    body: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, response: requests.Response) -> Problem:
        """The problem in ``response`` (a non-problem error answer becomes kind ``http/<status>``)."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {}
        kind = _kind(str(body.get("type") or "")) or f"http/{response.status_code}"
        return cls(
            status=response.status_code,
            kind=kind,
            code=str(body.get("code") or kind.rsplit("/", 1)[-1]),
            detail=str(body.get("detail") or body.get("title") or f"中心返回错误 {response.status_code}"),
            hint=None if body.get("hint") is None else str(body["hint"]),
            retry_after=_retry_after(response.headers.get("Retry-After")),
            body=body,
        )

    # -- what kind of answer it is -------------------------------------------------------------

    @property
    def refusal(self) -> bool:
        """The city's rules or the record's state say no (不予办理): final, never retried."""
        return self.kind.startswith(("refused/", "invalid/", "forbidden/")) or self.kind == "not-found"

    @property
    def in_flight(self) -> bool:
        return self.kind == "idempotency/in-flight"

    @property
    def key_reused(self) -> bool:
        return self.kind == "idempotency/key-reused"

    @property
    def sign_in_needed(self) -> bool:
        return self.status == 401 or (self.kind.startswith("auth/") and self.status != 403)

    @property
    def server_down(self) -> bool:
        """The central system cannot serve now (database outage, gateway errors): counts as offline."""
        return self.status in (502, 503, 504) or self.kind.startswith("unavailable/")

    def as_text(self) -> str:
        """``code``, message and hint as one JSON text (what the outbox keeps as ``last_error``)."""
        return json.dumps({"code": self.code, "message": self.detail, "hint": self.hint}, ensure_ascii=False)

    def __str__(self) -> str:
        return f"{self.status} {self.kind}: {self.detail}"


def _kind(type_uri: str) -> str:
    segments = [s for s in urlparse(type_uri).path.split("/") if s]
    for index, segment in enumerate(segments):
        if segment in _ROOTS:
            return "/".join(segments[index:])
    return ""


def _retry_after(value: str | None) -> float | None:
    try:
        return None if value is None else max(0.0, float(value))
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------
# Errors of the sync layer
# --------------------------------------------------------------------------------------------


class ServerUnreachable(CentralUnavailable):
    """The network or the central system is down (中心不可达); the counter goes offline."""


class SignInRequired(CentralUnavailable):
    """The operator's sign-in is gone or expired on the server (需重新登录); the step can be retried."""

    def __init__(self, detail: str = "登录已失效，请重新登录后重试。") -> None:
        super().__init__(detail)


class CounterNotEnrolled(DomainError):
    """This PC holds no counter credential (柜台未登记)."""

    def __init__(self) -> None:
        super().__init__(
            "counter_not_enrolled",
            "本机尚未登记为柜台（系统密钥库中没有柜台凭据），不能连接社保卡中心系统。",
            "请信息科用 counter-central enrol-counter 发放凭据后在本机登记。",
        )


class SignInRefused(DomainError):
    """An operator's sign-in was refused (登录失败): wrong password, locked, disabled, offline too long.

    ``locked_until`` is when a locked 工号 may try again (the server's or the offline lock's).
    """

    def __init__(
        self, code: str, message: str, hint: str | None = None, *, locked_until: datetime | None = None
    ) -> None:
        super().__init__(code, message, hint)
        self.locked_until = locked_until


def locked_until_of(problem: Problem) -> datetime | None:
    """The ``locked_until`` a lockout answer carries (ISO 8601 with offset), None when absent or bad."""
    raw = problem.body.get("locked_until")
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def problem_error(problem: Problem) -> DomainError:
    """A refusal answer as the `DomainError` a clerk reads (code, Chinese message, hint)."""
    return DomainError(problem.code, problem.detail, problem.hint)
