"""``/changes`` and ``/snapshot``: the change feed and the paged full resync (变更流与全量同步).

See ``central.services.feed`` for the design (numbers taken at commit, no gaps, 410 for an expired
cursor, snapshot ``as_of`` taken before each page).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from central.api.deps import COUNTER_ROLES, Access, AccessDep, read
from central.api.fast import FastRoute, choice, integer, shortcut
from central.api.problem_docs import FEED_ERRORS
from central.core.config import Settings
from central.schemas import FeedPage, SnapshotPage
from central.services import feed, lookups_pg

router = APIRouter(tags=["同步"], responses=FEED_ERRORS, route_class=FastRoute)

Cursor = Annotated[int, Query(ge=0, le=2**62, description="上次取到的 next（首次为全量同步的 as_of）")]


@router.get("/changes", response_model=FeedPage, summary="变更流：人员、卡片、补贴发放")
async def changes(
    since: Cursor,
    access: AccessDep,
    limit: Annotated[int, Query(ge=1, le=10_000, description="本页最多条数")] = 500,
) -> Response:
    """Entries after ``since`` in commit order; ``next`` is the cursor for the next call."""
    await access.require_async(COUNTER_ROLES)
    return await _changes(access.request, since, limit)


@shortcut(
    changes,
    roles=COUNTER_ROLES,
    query={"since": integer(0, 2**62), "limit": integer(1, 10_000)},
    required=("since",),
)
async def _changes_fast(access: Access, arguments: dict[str, Any]) -> Response:
    return await _changes(access.request, arguments["since"], arguments.get("limit", 500))


async def _changes(request: Request, since: int, limit: int) -> Response:
    settings: Settings = request.app.state.settings
    limit = min(limit, settings.feed_page_max)
    text = await read(
        request,
        lambda conn: lookups_pg.changes_page(conn, since, limit),
        lambda session: feed.changes_page(session, since, limit),
    )
    return Response(text, media_type="application/json")


@router.get("/snapshot", response_model=SnapshotPage, summary="全量同步（分页）")
async def snapshot(
    entity: Annotated[feed.Entity, Query(description="person、card 或 payment")],
    access: AccessDep,
    after: Annotated[int, Query(ge=0, le=2_147_483_647, description="上页的 next_after（首页为 0）")] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    region: Annotated[
        str | None,
        Query(
            min_length=6,
            max_length=6,
            pattern=r"^[0-9]{6}$",
            description="只取此参保地（行政区划）的人员、其卡片和发放给其的补贴（区县柜台的副本）",
        ),
    ] = None,
    shape: Annotated[
        Literal["records", "rows"],
        Query(
            description="records：每条记录一个对象（items）；rows：字段名列一次（columns），每条一个数组（rows）"
        ),
    ] = "records",
) -> Response:
    """One page of one kind of record by id; keep the first page's ``as_of`` and replay from it."""
    await access.require_async(COUNTER_ROLES)
    return await _snapshot(access.request, entity, after, limit, region, shape == "rows")


def _region(value: str) -> str:
    if not (len(value) == 6 and value.isascii() and value.isdigit()):
        raise ValueError(value)
    return value


@shortcut(
    snapshot,
    roles=COUNTER_ROLES,
    query={
        "entity": choice(*feed.MODELS),
        "after": integer(0, 2_147_483_647),
        "limit": integer(1, 10_000),
        "region": _region,
        "shape": choice("records", "rows"),
    },
    required=("entity",),
)
async def _snapshot_fast(access: Access, arguments: dict[str, Any]) -> Response:
    return await _snapshot(
        access.request,
        arguments["entity"],
        arguments.get("after", 0),
        arguments.get("limit", 1000),
        arguments.get("region"),
        arguments.get("shape") == "rows",
    )


async def _snapshot(
    request: Request, entity: feed.Entity, after: int, limit: int, region: str | None, as_rows: bool
) -> Response:
    """The page as JSON text: serialised by PostgreSQL on the read pool, else from the ORM records."""
    settings: Settings = request.app.state.settings
    limit = min(limit, settings.snapshot_page_max)
    text = await read(
        request,
        lambda conn: lookups_pg.snapshot_page(conn, entity, after, limit, region, as_rows),
        lambda session: feed.snapshot_text(session, entity, after, limit, region, as_rows),
    )
    return Response(text, media_type="application/json")
