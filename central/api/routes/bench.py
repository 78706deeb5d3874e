"""``/bench/ceiling``: a no-database answer of about 1 KB, the ceiling a benchmark compares with.

Only present with ``CENTRAL_BENCH_ENDPOINTS=true``; not part of the API. It is a ``def`` route
returning a dict through FastAPI's encoder, like the lookups, so the comparison is like for like.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)

_PAYLOAD: dict[str, Any] = {
    "id": 0,
    "name": "乐山市社会保障卡中心服务基准",
    "fields": {f"field_{i:02d}": f"value-{i:02d}-" + "x" * 16 for i in range(24)},
}


@router.get("/bench/ceiling")
def ceiling(item: int = 0) -> dict[str, Any]:
    return {**_PAYLOAD, "id": item}
