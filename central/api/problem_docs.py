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


COMMAND_ERRORS: dict[int | str, dict[str, Any]] = {
    409: _problem(
        "业务不予办理：type 为 …/refused/<code>，detail 为中文原因，hint 为下一步建议；未做任何修改"
    ),
    422: _problem(
        "数据不符合规则：type 为 …/invalid/<rule>（如 invalid/id_number，failures 列出未通过的规则）"
    ),
}
LOOKUP_ERRORS: dict[int | str, dict[str, Any]] = {
    404: _problem("未找到（type …/not-found）"),
    422: _problem("查询参数不符合规则（type …/invalid/<rule>）"),
}
