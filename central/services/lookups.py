"""Lookups the counters need (查询): a person with cards and history, a card, subsidy payments."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased

from central.core.problems import Problem, invalid, not_found
from central.models import (
    CardRow,
    CounterRow,
    CustodyAuthorisationRow,
    OutletRow,
    PersonRow,
    SubsidyItemRow,
    SubsidyPaymentRow,
)
from central.schemas import PersonRef
from central.services.common import find_person
from central.services.views import (
    card_view,
    custody_view,
    events_view,
    household_view,
    person_summary,
    person_view,
    transactions_view,
)
from counter_app.domain.card_lifecycle import LifecyclePolicy
from counter_app.domain.identity import check_card_identifier, check_card_number
from counter_app.domain.operators import OutletType
from counter_app.domain.subsidies import FailureReason, OverrideReason, PaymentStatus

_PAID = (PaymentStatus.PAID.value, PaymentStatus.RESENT.value)
_FAILED = (PaymentStatus.FAILED.value, PaymentStatus.RETURNED.value)


def person_detail(
    session: Session, person: PersonRow, policy: LifecyclePolicy, today: date
) -> dict[str, Any]:
    cards = session.scalars(select(CardRow).where(CardRow.person_id == person.id).order_by(CardRow.id)).all()
    custody = session.scalars(
        select(CustodyAuthorisationRow)
        .where(CustodyAuthorisationRow.person_id == person.id)
        .order_by(CustodyAuthorisationRow.id)
    ).all()
    return person_out(
        person,
        household_view(session, person),
        cards,
        events_view(session, [c.id for c in cards]),
        transactions_view(session, person.id),
        custody,
        policy,
        today,
    )


def person_out(
    person: Any,
    household: dict[str, Any] | None,
    cards: Iterable[Any],
    history: list[dict[str, Any]],
    transactions: list[dict[str, Any]],
    custody: Iterable[Any],
    policy: LifecyclePolicy,
    today: date,
) -> dict[str, Any]:
    """The answer of a person lookup (``person``, ``cards``, ``custody``: rows or their columns)."""
    return {
        **person_view(person),
        "household": household,
        "cards": [card_view(c, policy) for c in cards],
        "history": history,
        "transactions": transactions,
        "custody_authorisations": custody_view(custody, today),
    }


def person_by_document(session: Session, ref: PersonRef) -> PersonRow:
    person = find_person(session, ref)
    if person is None:
        raise unknown_person_document(ref)
    return person


def unknown_person_document(ref: PersonRef) -> Problem:
    return not_found(f"系统中没有证件号码为 {ref.id_number} 的人员信息。", "unknown_person")


def unknown_person_id(person_id: int) -> Problem:
    return not_found(f"没有编号为 {person_id} 的人员。", "unknown_person")


def person_by_id(session: Session, person_id: int) -> PersonRow:
    person = session.get(PersonRow, person_id)
    if person is None:
        raise unknown_person_id(person_id)
    return person


def card_query(card_number: str | None, card_identifier: str | None) -> tuple[str, str, str]:
    """(column, checked value, how to name it) of a card lookup; 422 unless exactly one is given."""
    if (card_number is None) == (card_identifier is None):
        raise invalid("card_query", "请按卡号或卡识别码之一查询。")
    if card_number is not None:
        value = check_card_number(card_number).value
        return "card_number", value, f"卡号 {value}"
    value = check_card_identifier(card_identifier or "").value
    return "card_identifier", value, f"卡识别码 {value}"


def unknown_card(shown: str) -> Problem:
    return not_found(f"系统中没有{shown}的社会保障卡。", "unknown_card")


def card_detail(
    session: Session, policy: LifecyclePolicy, *, card_number: str | None, card_identifier: str | None
) -> dict[str, Any]:
    column, value, shown = card_query(card_number, card_identifier)
    by = CardRow.card_number if column == "card_number" else CardRow.card_identifier
    card = session.scalar(select(CardRow).where(by == value))
    if card is None:
        raise unknown_card(shown)
    holder = session.get(PersonRow, card.person_id)
    assert holder is not None
    return {
        **card_view(card, policy),
        "holder": person_summary(holder),
        "history": events_view(session, [card.id]),
    }


def check_periods(period_from: str | None, period_to: str | None) -> None:
    """422 ``invalid/period`` unless each given period is YYYYMM."""
    for value, field in ((period_from, "period_from"), (period_to, "period_to")):
        if value is not None and not (len(value) == 6 and value.isdigit() and 1 <= int(value[4:]) <= 12):
            raise invalid("period", f"期间“{value}”格式不正确，应为 YYYYMM。", field=field)


def subsidy_payments(
    session: Session,
    person_id: int,
    *,
    household: bool,
    period_from: str | None,
    period_to: str | None,
) -> dict[str, Any]:
    """补贴发放查询 for a person (as beneficiary or recipient) or for their whole household."""
    check_periods(period_from, period_to)
    person = person_by_id(session, person_id)
    beneficiary = aliased(PersonRow)
    recipient = aliased(PersonRow)
    query = (
        select(SubsidyPaymentRow, SubsidyItemRow, beneficiary.name, recipient.name)
        .join(SubsidyItemRow, SubsidyItemRow.code == SubsidyPaymentRow.item_code)
        .join(beneficiary, beneficiary.id == SubsidyPaymentRow.beneficiary_person_id)
        .join(recipient, recipient.id == SubsidyPaymentRow.recipient_person_id)
    )
    by_household = household and person.household_id is not None
    if by_household:
        members = select(PersonRow.id).where(PersonRow.household_id == person.household_id)
        query = query.where(
            or_(
                SubsidyPaymentRow.household_id == person.household_id,
                SubsidyPaymentRow.beneficiary_person_id.in_(members),
                SubsidyPaymentRow.recipient_person_id.in_(members),
            )
        )
    else:
        query = query.where(
            or_(
                SubsidyPaymentRow.beneficiary_person_id == person.id,
                SubsidyPaymentRow.recipient_person_id == person.id,
            )
        )
    if period_from:
        query = query.where(SubsidyPaymentRow.period >= period_from)
    if period_to:
        query = query.where(SubsidyPaymentRow.period <= period_to)
    rows = session.execute(query.order_by(SubsidyPaymentRow.period.desc(), SubsidyPaymentRow.id)).all()
    return payments_report(
        person.id,
        person.household_id,
        by_household,
        period_from,
        period_to,
        [(p, item, b, r) for p, item, b, r in rows],
    )


def payments_report(
    person_id: int,
    household_id: int | None,
    by_household: bool,
    period_from: str | None,
    period_to: str | None,
    rows: list[tuple[Any, Any, str, str]],
) -> dict[str, Any]:
    """The answer of 补贴发放查询 from its rows (payment, item, beneficiary's and recipient's names)."""
    resent_ids = {p.resent_from_id for p, *_ in rows if p.resent_from_id is not None}
    payments = [_payment(p, item, b, r, p.id in resent_ids) for p, item, b, r in rows]
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    failures: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for p, *_ in rows:
        totals[p.status][0] += 1
        totals[p.status][1] += p.amount_fen
        if p.status in _FAILED and p.id not in resent_ids and p.failure_reason:
            failures[p.failure_reason][0] += 1
            failures[p.failure_reason][1] += p.amount_fen
    return {
        "person_id": person_id,
        "household_id": household_id,
        "household": by_household,
        "period_from": period_from,
        "period_to": period_to,
        "payments": payments,
        "totals": [
            {"status": s.value, "status_label": s.label, "count": totals[s][0], "amount_fen": totals[s][1]}
            for s in PaymentStatus
            if s in totals
        ],
        "paid_fen": sum(totals[s][1] for s in _PAID if s in totals),
        "failures": [
            {
                "reason": r.value,
                "reason_label": r.label,
                "hint": r.hint,
                "fixes": list(r.fixes),
                "count": failures[r][0],
                "amount_fen": failures[r][1],
            }
            for r in FailureReason
            if r in failures
        ],
    }


def _payment(p: Any, item: Any, beneficiary: str, recipient: str, resent: bool) -> dict[str, Any]:
    """One payment (``p``: a ``SubsidyPaymentRow``, ``item``: its ``SubsidyItemRow``, or rows alike)."""
    reason = FailureReason(p.failure_reason) if p.failure_reason else None
    override = OverrideReason(p.override_reason) if p.override_reason else None
    return {
        "id": p.id,
        "item_code": p.item_code,
        "item_name": item.full_name,
        "placeholder_item": item.placeholder,
        "department": p.department,
        "beneficiary_person_id": p.beneficiary_person_id,
        "beneficiary_name": beneficiary,
        "recipient_person_id": p.recipient_person_id,
        "recipient_name": recipient,
        "override_reason": p.override_reason,
        "override_reason_label": override.label if override else None,
        "period": p.period,
        "amount_fen": p.amount_fen,
        "status": p.status,
        "status_label": PaymentStatus(p.status).label,
        "paid_on": p.paid_on,
        "bank": p.bank,
        "account_masked": p.account_masked,
        "failure_reason": p.failure_reason,
        "failure_reason_label": reason.label if reason else None,
        "failure_hint": reason.hint if reason else None,
        "batch_number": p.batch_number,
        "resent_from_id": p.resent_from_id,
        "resent": resent,
    }


def outlets(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(OutletRow).order_by(OutletRow.code)).all()
    counters: dict[int, list[str]] = defaultdict(list)
    for outlet_id, number in session.execute(
        select(CounterRow.outlet_id, CounterRow.number).order_by(CounterRow.number)
    ):
        counters[outlet_id].append(number)
    return [
        {
            "code": o.code,
            "name": o.name,
            "type": o.type,
            "type_label": OutletType(o.type).label,
            "region_code": o.region_code,
            "bank": o.bank,
            "can_activate_social": o.can_activate_social,
            "instant_issuance": o.instant_issuance,
            "counters": counters[o.id],
        }
        for o in rows
    ]
