"""``/notices``: supervisor notices of the own outlet (复核提醒), and marking one as seen."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from central.api.commanding import RunnerDep
from central.api.deps import SUPERVISOR_ROLES, AccessDep, ClockDep, DbDep
from central.api.problem_docs import COMMAND_ERRORS, LOOKUP_ERRORS
from central.schemas import NoticeOut
from central.services import notices
from central.services.common import CommandContext

router = APIRouter(prefix="/notices", tags=["复核提醒"])


@router.get("", response_model=list[NoticeOut], summary="本网点的复核提醒", responses=LOOKUP_ERRORS)
def list_notices(
    access: AccessDep,
    db: DbDep,
    open_only: Annotated[bool, Query(description="只列未处理的")] = True,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    principal = access.require(SUPERVISOR_ROLES)
    assert principal.outlet_id is not None
    with db.read() as session:
        return notices.outlet_notices(session, principal.outlet_id, open_only=open_only, limit=limit)


@router.post(
    "/{notice_id}/acknowledge",
    response_model=NoticeOut,
    summary="复核提醒已处理",
    responses={**COMMAND_ERRORS, **{404: LOOKUP_ERRORS[404]}},
)
def acknowledge(
    notice_id: Annotated[int, Path(ge=1, le=2_147_483_647)], run: RunnerDep, clock: ClockDep
) -> JSONResponse:
    def action(ctx: CommandContext) -> dict[str, Any]:
        return notices.acknowledge(
            ctx.session, notice_id, ctx.actor.outlet_id, ctx.actor.operator.number, ctx.now
        )

    return run(action, model=NoticeOut, roles=SUPERVISOR_ROLES)
