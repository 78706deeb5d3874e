"""代管代持授权: a custodian may keep the card of one of the 四类人 (DOMAIN §6).

Only for holders flagged as 低保户、特困群众、残疾人 or 建档立卡贫困户 (decision: the flag is
``persons.vulnerable_group``); the authorisation names the custodian, the reason and a validity
period, and a supervisor confirms it (operators.needs_supervisor). Decision (part 2): only 人社 windows
record authorisations (DOMAIN §1 lists no such item for bank outlets).
"""

from __future__ import annotations

from typing import Any

from central.core.problems import invalid, invalid_document
from central.models import CustodyAuthorisationRow
from central.schemas import AuthoriseCustodyIn
from central.services.common import (
    ID_TYPES,
    CommandContext,
    check_confirmation,
    get_person,
    record_transaction,
)
from central.services.outcome import outcome
from counter_app.domain.errors import DomainError
from counter_app.domain.identity import check_document
from counter_app.domain.operators import CUSTODY_AUTHORISATION, NotPermitted, OutletType, Role

#: Longest authorisation the city allows before it must be renewed (decision, configurable later).
MAX_DAYS = 3 * 366


def authorise_custody(ctx: CommandContext, body: AuthoriseCustodyIn) -> dict[str, Any]:
    if ctx.actor.operator.role is Role.ADMIN:
        raise NotPermitted(
            "role_not_allowed", "系统管理员工号不能办理代管代持授权。", "请由经办人办理并由复核人员确认。"
        )
    outlet = ctx.actor.require_outlet()
    if outlet.type is not OutletType.HR_WINDOW:  # decision: the city's 管理办法 is run by 人社 windows
        raise NotPermitted(
            "item_not_offered",
            f"{outlet.type.label}（{outlet.name}）不办理代管代持授权。",
            "请引导办事人到人社社会保障卡服务窗口办理。",
        )
    check_confirmation(ctx, CUSTODY_AUTHORISATION, requested_by_holder=True)
    person = get_person(ctx.session, body.person, lock=True)
    if not person.vulnerable_group:
        raise DomainError(
            "custody_not_eligible",
            "代管代持只适用于低保户、特困群众、残疾人和建档立卡贫困户，此人不在其列。",
            "其他人员可由代办人按一次性代办规定办理。",
        )
    custodian = body.custodian
    check = check_document(ID_TYPES[custodian.id_type], custodian.id_number, today=ctx.today)
    if check.blocking:
        raise invalid_document("custodian.id_number", "代管代持人证件号码", check)
    if (custodian.id_type, check.value) == (person.id_type, person.id_number):
        raise invalid("custodian", "代管代持人不能是持卡人本人。", field="custodian")
    days = (body.valid_until - body.valid_from).days
    if days < 0 or days > MAX_DAYS:
        raise invalid(
            "period", "授权期限须从开始日期起不超过三年，且结束日期不早于开始日期。", field="valid_until"
        )
    transaction = record_transaction(
        ctx,
        body,
        item_code="custody_authorisation",
        command="authorise_custody",
        person=person,
        card=None,
        details={"custodian": custodian.name, "relation": body.relation},
    )
    row = CustodyAuthorisationRow(
        person_id=person.id,
        custodian_name=custodian.name,
        custodian_id_type=custodian.id_type,
        custodian_id_number=check.value,
        custodian_phone=custodian.phone,
        relation=body.relation,
        reason=body.reason,
        valid_from=body.valid_from,
        valid_until=body.valid_until,
        approved_by=ctx.actor.confirmer.number if ctx.actor.confirmer else "",
        created_by=ctx.actor.operator.number,
        transaction_id=transaction.id,
    )
    ctx.session.add(row)
    ctx.session.flush()
    return outcome(
        ctx, "authorise_custody", transaction=transaction, person=person, data={"authorisation_id": row.id}
    )
