"""``/persons``: a person with their cards and history; their (household's) subsidy payments."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from central.api.deps import COUNTER_ROLES, AccessDep, ClockDep, DbDep, SettingsDep
from central.api.problem_docs import LOOKUP_ERRORS
from central.schemas import IdType, PaymentsReport, PersonDetail, PersonRef
from central.services import lookups

PersonId = Annotated[int, Path(ge=1, le=2_147_483_647, description="人员编号")]
router = APIRouter(prefix="/persons", tags=["人员查询"], responses=LOOKUP_ERRORS)


@router.get("", response_model=PersonDetail, summary="按证件查询人员")
def find_person(
    id_number: Annotated[str, Query(min_length=1, max_length=40, description="证件号码")],
    access: AccessDep,
    db: DbDep,
    settings: SettingsDep,
    clock: ClockDep,
    id_type: Annotated[IdType, Query(description="证件类型")] = "resident_id",
) -> dict[str, Any]:
    access.require(COUNTER_ROLES)
    with db.read() as session:
        person = lookups.person_by_document(session, PersonRef(id_type=id_type, id_number=id_number))
        return lookups.person_detail(session, person, settings.lifecycle_policy(), clock.now().date())


@router.get("/{person_id}", response_model=PersonDetail, summary="按编号查询人员")
def get_person(
    person_id: PersonId, access: AccessDep, db: DbDep, settings: SettingsDep, clock: ClockDep
) -> dict[str, Any]:
    access.require(COUNTER_ROLES)
    with db.read() as session:
        person = lookups.person_by_id(session, person_id)
        return lookups.person_detail(session, person, settings.lifecycle_policy(), clock.now().date())


@router.get("/{person_id}/subsidy-payments", response_model=PaymentsReport, summary="补贴发放查询")
def subsidy_payments(
    person_id: PersonId,
    access: AccessDep,
    db: DbDep,
    household: Annotated[bool, Query(description="查询全户（户主及家庭成员）")] = False,
    period_from: Annotated[str | None, Query(max_length=20, description="起始期间 YYYYMM")] = None,
    period_to: Annotated[str | None, Query(max_length=20, description="截止期间 YYYYMM")] = None,
) -> dict[str, Any]:
    """Payments with totals by status and the outstanding failures with their reasons and fixes."""
    access.require(COUNTER_ROLES)
    with db.read() as session:
        return lookups.subsidy_payments(
            session, person_id, household=household, period_from=period_from, period_to=period_to
        )
