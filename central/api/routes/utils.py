"""Health, outlets and the subsidy catalog (运维与基础数据)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from central.api.deps import AccessDep, DbDep
from central.api.problem_docs import LOOKUP_ERRORS
from central.models import SubsidyItemRow
from central.schemas import OutletOut, SubsidyItemOut
from central.services import lookups

router = APIRouter()


@router.get("/health", tags=["运维"], summary="健康检查")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/outlets",
    tags=["基础数据"],
    response_model=list[OutletOut],
    summary="网点及其能力",
    responses=LOOKUP_ERRORS,
)
def outlets(access: AccessDep, db: DbDep) -> list[dict[str, Any]]:
    access.require(counter=False)
    with db.read() as session:
        return lookups.outlets(session)


@router.get(
    "/subsidies/items",
    tags=["基础数据"],
    response_model=list[SubsidyItemOut],
    summary="补贴项目目录",
    responses=LOOKUP_ERRORS,
)
def subsidy_items(access: AccessDep, db: DbDep) -> list[dict[str, Any]]:
    access.require(counter=False)
    with db.read() as session:
        rows = session.scalars(
            select(SubsidyItemRow).order_by(SubsidyItemRow.category_number, SubsidyItemRow.code)
        ).all()
        return [
            {
                "code": r.code,
                "category_number": r.category_number,
                "name": r.name,
                "full_name": r.full_name,
                "household": r.household,
                "placeholder": r.placeholder,
            }
            for r in rows
        ]
