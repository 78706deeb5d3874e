"""``/bench/ceiling``: a no-database answer of about 1 KB, the ceiling a benchmark compares with.

Only present with ``CENTRAL_BENCH_ENDPOINTS=true``; not part of the API, no credentials.
``/bench/ceiling`` is the ceiling as the benchmark's issue defines it: a ``def`` route returning a dict
through FastAPI's encoder (as the lookups were when it was written). The lookups are ``async`` routes
now, so ``/bench/ceiling-async`` — the same answer from an ``async def`` route — is measured beside it
for comparison (``bench/central_load.py`` prints both; its goals use the first). ``/bench/worker``
names the worker process that holds the connection, so the benchmark can spread its keep-alive
connections evenly over the workers.
"""

from __future__ import annotations

import os
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


@router.get("/bench/ceiling-async")
async def ceiling_async(item: int = 0) -> dict[str, Any]:
    return {**_PAYLOAD, "id": item}


@router.get("/bench/worker")
async def worker() -> dict[str, int]:
    return {"pid": os.getpid()}
