"""Dependencies of the routes (依赖注入): database, settings, clock and the acting operator.

``ActorDep`` is the seam for part 2 (issue 9): today it reads the TEMPORARY headers ``X-Operator``,
``X-Outlet``, ``X-Counter`` and ``X-Confirmer`` and trusts them; operator tokens will replace this
one function, and the commands will not change.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from central.core.clock import Clock
from central.core.config import Settings
from central.core.db import Database
from central.services.actors import ActorClaim


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def get_actor_claim(
    x_operator: Annotated[str | None, Header(description="经办人工号（临时：第二部分改为工号令牌）")] = None,
    x_outlet: Annotated[str | None, Header(description="网点编号（临时）")] = None,
    x_counter: Annotated[str | None, Header(description="柜台号（临时）")] = None,
    x_confirmer: Annotated[str | None, Header(description="复核/授权人员工号（临时）")] = None,
) -> ActorClaim:
    return ActorClaim(
        operator_number=x_operator or None,
        outlet_code=x_outlet or None,
        counter_number=x_counter or None,
        confirmer_number=x_confirmer or None,
    )


DbDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ClockDep = Annotated[Clock, Depends(get_clock)]
ActorDep = Annotated[ActorClaim, Depends(get_actor_claim)]
