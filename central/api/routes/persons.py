"""``/persons``: a person with their cards and history; their (household's) subsidy payments."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Path, Query, Request

from central.api.deps import COUNTER_ROLES, Access, AccessDep, read
from central.api.fast import FastRoute, choice, integer, shortcut, text
from central.api.problem_docs import LOOKUP_ERRORS
from central.core.clock import Clock
from central.core.config import Settings
from central.schemas import IdType, PaymentsReport, PersonDetail, PersonRef
from central.services import lookups, lookups_pg
from counter_app.domain.card_lifecycle import LifecyclePolicy

PERSON_ID_MAX = 2_147_483_647
PersonId = Annotated[int, Path(ge=1, le=PERSON_ID_MAX, description="人员编号")]
router = APIRouter(prefix="/persons", tags=["人员查询"], responses=LOOKUP_ERRORS, route_class=FastRoute)


@router.get("", response_model=PersonDetail, summary="按证件查询人员")
async def find_person(
    id_number: Annotated[str, Query(min_length=1, max_length=40, description="证件号码")],
    access: AccessDep,
    id_type: Annotated[IdType, Query(description="证件类型")] = "resident_id",
) -> dict[str, Any]:
    await access.require_async(COUNTER_ROLES)
    return await _by_document(access.request, PersonRef(id_type=id_type, id_number=id_number))


@shortcut(
    find_person,
    roles=COUNTER_ROLES,
    query={"id_number": text(1, 40), "id_type": choice(*get_args(IdType))},
    required=("id_number",),
)
async def _find_person(access: Access, arguments: dict[str, Any]) -> dict[str, Any]:
    ref = PersonRef(id_type=arguments.get("id_type", "resident_id"), id_number=arguments["id_number"])
    return await _by_document(access.request, ref)


@router.get("/{person_id}", response_model=PersonDetail, summary="按编号查询人员")
async def get_person(person_id: PersonId, access: AccessDep) -> dict[str, Any]:
    await access.require_async(COUNTER_ROLES)
    return await _by_id(access.request, person_id)


@shortcut(get_person, roles=COUNTER_ROLES, path={"person_id": integer(1, PERSON_ID_MAX)})
async def _get_person(access: Access, arguments: dict[str, Any]) -> dict[str, Any]:
    return await _by_id(access.request, arguments["person_id"])


@router.get("/{person_id}/subsidy-payments", response_model=PaymentsReport, summary="补贴发放查询")
async def subsidy_payments(
    person_id: PersonId,
    access: AccessDep,
    household: Annotated[bool, Query(description="查询全户（户主及家庭成员）")] = False,
    period_from: Annotated[str | None, Query(max_length=20, description="起始期间 YYYYMM")] = None,
    period_to: Annotated[str | None, Query(max_length=20, description="截止期间 YYYYMM")] = None,
) -> dict[str, Any]:
    """Payments with totals by status and the outstanding failures with their reasons and fixes."""
    await access.require_async(COUNTER_ROLES)
    return await _payments(access.request, person_id, household, period_from, period_to)


@shortcut(
    subsidy_payments,
    roles=COUNTER_ROLES,
    path={"person_id": integer(1, PERSON_ID_MAX)},
    query={"period_from": text(0, 20), "period_to": text(0, 20)},
)
async def _subsidy_payments(access: Access, arguments: dict[str, Any]) -> dict[str, Any]:
    return await _payments(
        access.request,
        arguments["person_id"],
        False,  # ``household`` given (any spelling FastAPI accepts): the ordinary way
        arguments.get("period_from"),
        arguments.get("period_to"),
    )


def _policy_today(request: Request) -> tuple[LifecyclePolicy, date]:
    settings: Settings = request.app.state.settings
    clock: Clock = request.app.state.clock
    return settings.lifecycle_policy(), clock.now().date()


async def _by_document(request: Request, ref: PersonRef) -> dict[str, Any]:
    policy, today = _policy_today(request)
    return await read(
        request,
        lambda conn: lookups_pg.person_by_document(conn, ref, policy, today),
        lambda session: lookups.person_detail(
            session, lookups.person_by_document(session, ref), policy, today
        ),
    )


async def _by_id(request: Request, person_id: int) -> dict[str, Any]:
    policy, today = _policy_today(request)
    return await read(
        request,
        lambda conn: lookups_pg.person_by_id(conn, person_id, policy, today),
        lambda session: lookups.person_detail(
            session, lookups.person_by_id(session, person_id), policy, today
        ),
    )


async def _payments(
    request: Request, person_id: int, household: bool, period_from: str | None, period_to: str | None
) -> dict[str, Any]:
    return await read(
        request,
        lambda conn: lookups_pg.subsidy_payments(
            conn, person_id, household=household, period_from=period_from, period_to=period_to
        ),
        lambda session: lookups.subsidy_payments(
            session, person_id, household=household, period_from=period_from, period_to=period_to
        ),
    )
