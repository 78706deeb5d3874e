"""Who is acting (经办人): the operator, their outlet and counter, and a confirming supervisor.

The claim comes from verified credentials only (``central.api.commanding``): the operator token and
the counter credential, and a supervisor's token for a confirmation (``central.services.auth``).
Everything from :func:`resolve_actor` on — the operator at their own outlet, the supervisor rule,
scope — is domain logic.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

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
class Actor:
    """A resolved actor: domain objects plus the rows commands record."""

    operator: Operator
    outlet: Outlet | None
    outlet_row: OutletRow | None
    counter_row: CounterRow | None
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


def outlet_of(row: OutletRow) -> Outlet:
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


def _operator(session: Session, number: str) -> tuple[Operator, OperatorRow]:
    row = session.scalar(select(OperatorRow).where(OperatorRow.number == number))
    if row is None or not row.active:
        raise NotPermitted(
            "unknown_operator", f"工号 {number} 不存在或已停用。", "请使用有效的工号登录，或联系管理员。"
        )
    outlet_code = None
    if row.outlet_id is not None:
        outlet_code = session.scalar(select(OutletRow.code).where(OutletRow.id == row.outlet_id))
    return Operator(number=row.number, name=row.name, role=Role(row.role), outlet_code=outlet_code), row


def resolve_actor(session: Session, claim: ActorClaim, *, need_counter: bool) -> Actor:
    """Load and check the claimed operator, outlet, counter and confirmer (refusals are NotPermitted)."""
    if not claim.operator_number:
        raise NotPermitted("not_signed_in", "未登录工号，不能办理业务。", "请先用本人工号登录。")
    operator, _ = _operator(session, claim.operator_number)
    outlet_row = None
    outlet = None
    if claim.outlet_code:
        outlet_row = session.scalar(select(OutletRow).where(OutletRow.code == claim.outlet_code))
        if outlet_row is None:
            raise NotPermitted("unknown_outlet", f"网点编号 {claim.outlet_code} 不存在。", "请核对柜台配置。")
        outlet = outlet_of(outlet_row)
        check_operator_at_outlet(operator, outlet)
    elif operator.role is not Role.ADMIN:
        raise NotPermitted("outlet_required", "此业务须在网点柜台办理，请求中缺少网点编号。")
    counter_row = None
    if need_counter:
        if outlet_row is None or not claim.counter_number:
            raise NotPermitted(
                "counter_required", "此业务须在柜台办理，请求中缺少柜台号。", "请核对柜台配置。"
            )
        counter_row = session.scalar(
            select(CounterRow).where(
                CounterRow.outlet_id == outlet_row.id, CounterRow.number == claim.counter_number
            )
        )
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
