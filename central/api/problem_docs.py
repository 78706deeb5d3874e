"""OpenAPI documentation of the problem+json answers (see central.core.problems)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class ProblemOut(BaseModel):
    """application/problem+json (RFC 9457) with ``code`` and, for refusals, ``hint``."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    code: str
    hint: str | None = None


def _problem(description: str) -> dict[str, Any]:
    return {"model": ProblemOut, "description": description, "content": {"application/problem+json": {}}}


_AUTH: dict[int | str, dict[str, Any]] = {
    401: _problem("未登录、登录已失效或柜台凭据无效（type …/auth/<code>）"),
    403: _problem("此角色或柜台无权使用此功能（type …/forbidden/<code>）"),
    422: _problem("请求数据不符合规则（type …/invalid/<rule>）"),
    503: _problem("中心数据库暂时不可用（type …/unavailable/database），请稍后重试"),
}
COMMAND_ERRORS: dict[int | str, dict[str, Any]] = {
    **_AUTH,
    400: _problem("缺少或格式错误的 Idempotency-Key（type …/idempotency/key-missing、key-invalid）"),
    409: _problem(
        "业务不予办理：type 为 …/refused/<code>，detail 为中文原因，hint 为下一步建议；未做任何修改。"
        "同一幂等键的首个请求仍在处理：type …/idempotency/in-flight（稍后重试）"
    ),
    413: _problem("请求数据过大"),
    422: _problem(
        "数据不符合规则：type 为 …/invalid/<rule>（如 invalid/id_number，failures 列出未通过的规则）；"
        "幂等键已用于内容不同的请求：type …/idempotency/key-reused"
    ),
}
LOOKUP_ERRORS: dict[int | str, dict[str, Any]] = {
    **_AUTH,
    404: _problem("未找到（type …/not-found）"),
    422: _problem("查询参数不符合规则（type …/invalid/<rule>）"),
}
FEED_ERRORS: dict[int | str, dict[str, Any]] = {
    **_AUTH,
    410: _problem("同步游标已失效（type …/feed/cursor-expired）：请全量同步（GET /snapshot）后从 as_of 回放"),
}
SIGN_IN_ERRORS: dict[int | str, dict[str, Any]] = {
    **_AUTH,
    403: _problem(
        "工号已锁定（type …/auth/account-locked）或不属于本柜台所在网点（…/forbidden/other_outlet）"
    ),
    429: _problem("登录尝试过于频繁（type …/rate-limited），见 Retry-After"),
}
COUNTER_ERRORS: dict[int | str, dict[str, Any]] = {
    401: _problem("柜台凭据无效（type …/auth/<code>）"),
    503: _problem("中心数据库暂时不可用（type …/unavailable/database）"),
}
