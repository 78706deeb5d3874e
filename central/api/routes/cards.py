"""``/cards``: a card by 卡号 or 卡识别码, with its holder and history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from central.api.deps import COUNTER_ROLES, AccessDep, DbDep, SettingsDep
from central.api.problem_docs import LOOKUP_ERRORS
from central.schemas import CardDetail
from central.services import lookups

router = APIRouter(prefix="/cards", tags=["卡片查询"], responses=LOOKUP_ERRORS)


@router.get("", response_model=CardDetail, summary="按卡号或卡识别码查询")
def find_card(
    access: AccessDep,
    db: DbDep,
    settings: SettingsDep,
    card_number: Annotated[str | None, Query(max_length=20, description="卡号")] = None,
    card_identifier: Annotated[str | None, Query(max_length=40, description="卡识别码")] = None,
) -> dict[str, Any]:
    access.require(COUNTER_ROLES)
    with db.read() as session:
        return lookups.card_detail(
            session, settings.lifecycle_policy(), card_number=card_number, card_identifier=card_identifier
        )
