"""Dependencies of the routes (依赖注入): database, settings, clock, who is asking, idempotency.

Every route except ``/health`` needs credentials: an operator token (``Authorization: Bearer``)
bound to the counter that sends its own credential (``X-Counter-Key``); ``/auth/sign-in`` and
``/counters/me/*`` need only the counter's. The dependencies here only *read* the headers and the
app's state (``async``, no I/O: FastAPI would run a plain ``def`` dependency in the thread pool);
the checks run in the route: ``Access.require`` in a synchronous route's worker thread, or
``await Access.require_async`` in the async lookups (a token this worker verified within
``CENTRAL_AUTH_CACHE_SECONDS`` without I/O, otherwise the same check in the thread pool).

``read`` runs a lookup: on the async read pool when there is one (PostgreSQL), else the
synchronous lookup in the thread pool (SQLite, or the pool switched off).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Request
from fastapi.security import APIKeyHeader, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from central.core.clock import Clock
from central.core.config import Settings
from central.core.db import Database
from central.core.problems import forbidden
from central.core.reads import Connection, ReadPool
from central.services.auth import COUNTER_KEY_HEADER, Authenticator, Principal
from counter_app.domain.operators import Role

#: Roles that serve citizens at counters (lookups, the change feed, counter commands).
COUNTER_ROLES = frozenset({Role.HR_CLERK, Role.HR_SUPERVISOR, Role.BANK_CLERK, Role.BANK_SUPERVISOR})
SUPERVISOR_ROLES = frozenset({Role.HR_SUPERVISOR, Role.BANK_SUPERVISOR})
ADMIN_ONLY = frozenset({Role.ADMIN})

bearer_scheme = HTTPBearer(
    auto_error=False, scheme_name="operatorToken", description="工号令牌：POST /auth/sign-in 取得，绑定本柜台"
)
counter_scheme = APIKeyHeader(
    name=COUNTER_KEY_HEADER,
    auto_error=False,
    scheme_name="counterKey",
    description="柜台凭据：<网点编号>-<柜台号>.<密钥>，柜台登记时发放",
)


T = TypeVar("T")


async def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


@dataclass
class Access:
    """The credentials a request carries; ``require`` checks them (call it in the route)."""

    request: Request
    authorization: str | None
    counter_key: str | None

    @property
    def authenticator(self) -> Authenticator:
        auth: Authenticator = self.request.app.state.auth
        return auth

    def require(self, roles: frozenset[Role] | None = None, *, counter: bool = True) -> Principal:
        """The signed-in operator (401 otherwise), of one of ``roles`` (403 otherwise), at a counter."""
        principal = self.authenticator.authenticate(self.authorization, self.counter_key)
        return self.admit(principal, roles, counter=counter)

    async def require_async(self, roles: frozenset[Role] | None = None, *, counter: bool = True) -> Principal:
        """``require`` for async routes: no I/O on the event loop (a cache miss checks in a thread)."""
        principal = self.authenticator.cached(self.authorization, self.counter_key)
        if principal is None:
            principal = await run_in_threadpool(
                self.authenticator.authenticate, self.authorization, self.counter_key
            )
        return self.admit(principal, roles, counter=counter)

    def admit(self, principal: Principal, roles: frozenset[Role] | None, *, counter: bool) -> Principal:
        """``principal``, if of one of ``roles`` (403 otherwise) and at a counter when ``counter``."""
        self.request.state.principal = str(principal)
        if roles is not None and principal.role not in roles:
            raise forbidden(
                "role_not_allowed",
                f"{principal.role.label}工号不能使用此功能。",
                "请使用有此权限的工号登录。",
            )
        if counter and principal.counter_id is None:
            raise forbidden("counter_required", "此功能须在登记过的柜台登录后使用。")
        return principal


async def read(
    request: Request, fast: Callable[[Connection], Awaitable[T]], slow: Callable[[Session], T]
) -> T:
    """A lookup: ``fast`` on the async read pool if the app has one, else ``slow`` in a read session."""
    pool: ReadPool | None = getattr(request.app.state, "reads", None)
    if pool is not None:
        return await pool.run(fast)
    db: Database = request.app.state.db

    def in_thread() -> T:
        with db.read() as session:
            return slow(session)

    return await run_in_threadpool(in_thread)


async def get_access(
    request: Request,
    authorization: Annotated[object, Depends(bearer_scheme)] = None,
    counter_key: Annotated[str | None, Depends(counter_scheme)] = None,
) -> Access:
    return Access(request, request.headers.get("authorization"), counter_key)


async def get_counter_key(counter_key: Annotated[str | None, Depends(counter_scheme)] = None) -> str | None:
    return counter_key


DbDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ClockDep = Annotated[Clock, Depends(get_clock)]
AccessDep = Annotated[Access, Depends(get_access)]
CounterKeyDep = Annotated[str | None, Depends(get_counter_key)]
ConfirmerHeader = Annotated[
    str | None,
    Header(
        alias="X-Confirmer-Token",
        max_length=200,
        description="复核/授权人员在本柜台登录取得的工号令牌（注销、代管代持授权、他人代办密码重置时）",
    ),
]
