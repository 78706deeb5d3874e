"""Who is acting (经办人): the operator, their outlet and counter, and a confirming supervisor.

The claim comes from verified credentials only (``central.api.commanding``): the operator token and
the counter credential, and a supervisor's token for a confirmation (``central.services.auth``).
Everything from :func:`resolve_actor` on — the operator at their own outlet, the supervisor rule,
scope — is domain logic.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, aliased

from central.models import CounterRow, OperatorRow, OutletRow
from counter_app.domain.operators import (
    NotPermitted,
    Operator,
    Outlet,
    OutletCapabilities,
    OutletType,
    Role,
    check_confirmer,
    check_operator_at_outlet,
)


@dataclass(frozen=True)
class ActorClaim:
    """Who is acting, as proven by the request's tokens (see the module docstring)."""

    operator_number: str | None = None
    outlet_code: str | None = None
    counter_number: str | None = None
    confirmer_number: str | None = None


@dataclass(frozen=True)
class OutletRecord:
    """The claimed outlet as ``resolve_actor`` read it (the columns of ``OutletRow``; not a session object)."""

    id: int
    code: str
    name: str
    type: str
    region_code: str
    bank: str | None
    can_activate_social: bool
    instant_issuance: bool


@dataclass(frozen=True)
class CounterRecord:
    """The claimed counter as ``resolve_actor`` read it (not a session object)."""

    id: int
    outlet_id: int
    number: str
    active: bool


@dataclass(frozen=True)
class Actor:
    """A resolved actor: domain objects plus the records commands record."""

    operator: Operator
    outlet: Outlet | None
    outlet_row: OutletRecord | None
    counter_row: CounterRecord | None
    confirmer: Operator | None

    @property
    def outlet_id(self) -> int:
        if self.outlet_row is None:
            raise NotPermitted("outlet_required", "此业务须在网点柜台办理，请求中缺少网点编号。")
        return self.outlet_row.id

    def require_outlet(self) -> Outlet:
        if self.outlet is None:
            raise NotPermitted("outlet_required", "此业务须在网点柜台办理，请求中缺少网点编号。")
        return self.outlet


def outlet_of(row: OutletRow | OutletRecord) -> Outlet:
    """The domain view of an outlet row."""
    return Outlet(
        code=row.code,
        name=row.name,
        type=OutletType(row.type),
        capabilities=OutletCapabilities(
            can_activate_social=row.can_activate_social,
            instant_issuance=row.instant_issuance,
            bank=row.bank,
        ),
    )


def capabilities_of(outlet: Outlet) -> tuple[str, ...]:
    """Capability codes as the service-item catalog spells them."""
    caps = outlet.capabilities
    return tuple(
        code
        for code, present in (
            ("can_activate_social", caps.can_activate_social),
            ("instant_issuance", caps.instant_issuance),
        )
        if present
    )


def _unknown_operator(number: str) -> NotPermitted:
    return NotPermitted(
        "unknown_operator", f"工号 {number} 不存在或已停用。", "请使用有效的工号登录，或联系管理员。"
    )


def _operator(session: Session, number: str) -> tuple[Operator, OperatorRow]:
    row = session.scalar(select(OperatorRow).where(OperatorRow.number == number))
    if row is None or not row.active:
        raise _unknown_operator(number)
    outlet_code = None
    if row.outlet_id is not None:
        outlet_code = session.scalar(select(OutletRow.code).where(OutletRow.id == row.outlet_id))
    return Operator(number=row.number, name=row.name, role=Role(row.role), outlet_code=outlet_code), row


_OUTLET_FIELDS = [f.name for f in fields(OutletRecord)]
_COUNTER_FIELDS = [f.name for f in fields(CounterRecord)]


def _actor_query(with_outlet: bool, with_counter: bool) -> Any:
    """The operator with their own outlet's code, and the claimed outlet and counter, in one query.

    Plain columns, not ORM entities: nothing here is changed by a command, and loading three objects
    into the session cost more than the query.
    """
    home = aliased(OutletRow, name="home_outlet")
    columns: list[Any] = [
        OperatorRow.number,
        OperatorRow.name,
        OperatorRow.role,
        OperatorRow.active,
        home.code.label("home_code"),
    ]
    if with_outlet:
        columns += [getattr(OutletRow, f).label(f"outlet_{f}") for f in _OUTLET_FIELDS]
    if with_counter:
        columns += [getattr(CounterRow, f).label(f"counter_{f}") for f in _COUNTER_FIELDS]
    query = (
        select(*columns)
        .select_from(OperatorRow)
        .outerjoin(home, home.id == OperatorRow.outlet_id)
        .where(OperatorRow.number == bindparam("operator_number"))
    )
    if with_outlet:
        query = query.outerjoin(OutletRow, OutletRow.code == bindparam("outlet_code"))
    if with_counter:
        query = query.outerjoin(
            CounterRow,
            (CounterRow.outlet_id == OutletRow.id) & (CounterRow.number == bindparam("counter_number")),
        )
    return query


#: Built once per shape (SQLAlchemy memoises a built statement's cache key; building one per call costs).
_ACTOR_QUERIES = {(o, c): _actor_query(o, c) for o, c in ((False, False), (True, False), (True, True))}


def _record(record: type[Any], names: list[str], prefix: str, row: Any) -> Any:
    """The joined record from ``row``'s ``<prefix>_<field>`` columns (None when the join found none)."""
    mapping = row._mapping
    if mapping[f"{prefix}_id"] is None:
        return None
    return record(**{name: mapping[f"{prefix}_{name}"] for name in names})


def resolve_actor(session: Session, claim: ActorClaim, *, need_counter: bool) -> Actor:
    """Load and check the claimed operator, outlet, counter and confirmer (refusals are NotPermitted).

    The operator (with their own outlet's code), the claimed outlet and counter come in one query.
    """
    if not claim.operator_number:
        raise NotPermitted("not_signed_in", "未登录工号，不能办理业务。", "请先用本人工号登录。")
    with_outlet = bool(claim.outlet_code)
    with_counter = with_outlet and need_counter and bool(claim.counter_number)
    query = _ACTOR_QUERIES[(with_outlet, with_counter)]
    params = {
        "operator_number": claim.operator_number,
        "outlet_code": claim.outlet_code,
        "counter_number": claim.counter_number,
    }
    found = session.connection().execute(query, params).first()
    if found is None or not found.active:
        raise _unknown_operator(claim.operator_number)
    claimed_outlet: OutletRecord | None = (
        _record(OutletRecord, _OUTLET_FIELDS, "outlet", found) if with_outlet else None
    )
    claimed_counter: CounterRecord | None = (
        _record(CounterRecord, _COUNTER_FIELDS, "counter", found) if with_counter else None
    )
    operator = Operator(
        number=found.number,
        name=found.name,
        role=Role(found.role),
        outlet_code=found.home_code,
    )
    outlet_row: OutletRecord | None = None
    outlet = None
    if claim.outlet_code:
        outlet_row = claimed_outlet
        if outlet_row is None:
            raise NotPermitted("unknown_outlet", f"网点编号 {claim.outlet_code} 不存在。", "请核对柜台配置。")
        outlet = outlet_of(outlet_row)
        check_operator_at_outlet(operator, outlet)
    elif operator.role is not Role.ADMIN:
        raise NotPermitted("outlet_required", "此业务须在网点柜台办理，请求中缺少网点编号。")
    counter_row: CounterRecord | None = None
    if need_counter:
        if outlet_row is None or not claim.counter_number:
            raise NotPermitted(
                "counter_required", "此业务须在柜台办理，请求中缺少柜台号。", "请核对柜台配置。"
            )
        counter_row = claimed_counter
        if counter_row is None or not counter_row.active:
            raise NotPermitted(
                "unknown_counter",
                f"网点 {outlet_row.code} 没有登记柜台 {claim.counter_number}。",
                "请联系管理员登记本柜台。",
            )
    confirmer = None
    if claim.confirmer_number:
        confirmer, _ = _operator(session, claim.confirmer_number)
        if outlet is None:
            raise NotPermitted("outlet_required", "复核/授权须在网点柜台办理，请求中缺少网点编号。")
        check_confirmer(confirmer, operator, outlet)
    return Actor(operator, outlet, outlet_row, counter_row, confirmer)


def require_admin(actor: Actor) -> None:
    """Back-office commands (送制卡, 回盘导入, 临时挂失到期处理) are for ``admin`` only (decision)."""
    if actor.operator.role is not Role.ADMIN:
        raise NotPermitted(
            "back_office_only",
            f"{actor.operator.role.label}不能办理制卡与系统处理业务。",
            "请由社保卡管理中心的系统管理员办理。",
        )
