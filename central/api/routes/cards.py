"""``/cards``: a card by 卡号 or 卡识别码, with its holder and history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from central.api.deps import COUNTER_ROLES, Access, AccessDep, read
from central.api.fast import FastRoute, shortcut, text
from central.api.problem_docs import LOOKUP_ERRORS
from central.core.config import Settings
from central.schemas import CardDetail
from central.services import lookups, lookups_pg

router = APIRouter(prefix="/cards", tags=["卡片查询"], responses=LOOKUP_ERRORS, route_class=FastRoute)


@router.get("", response_model=CardDetail, summary="按卡号或卡识别码查询")
async def find_card(
    access: AccessDep,
    card_number: Annotated[str | None, Query(max_length=20, description="卡号")] = None,
    card_identifier: Annotated[str | None, Query(max_length=40, description="卡识别码")] = None,
) -> dict[str, Any]:
    await access.require_async(COUNTER_ROLES)
    return await _card(access.request, card_number, card_identifier)


@shortcut(find_card, roles=COUNTER_ROLES, query={"card_number": text(0, 20), "card_identifier": text(0, 40)})
async def _find_card(access: Access, arguments: dict[str, Any]) -> dict[str, Any]:
    return await _card(access.request, arguments.get("card_number"), arguments.get("card_identifier"))


async def _card(request: Request, card_number: str | None, card_identifier: str | None) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    policy = settings.lifecycle_policy()
    return await read(
        request,
        lambda conn: lookups_pg.card_detail(
            conn, policy, card_number=card_number, card_identifier=card_identifier
        ),
        lambda session: lookups.card_detail(
            session, policy, card_number=card_number, card_identifier=card_identifier
        ),
    )
