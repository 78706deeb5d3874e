"""Rows → response dictionaries (视图), with a Chinese label beside every code."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.models import (
    CardEventRow,
    CardRow,
    CounterRow,
    CustodyAuthorisationRow,
    HouseholdRow,
    OutletRow,
    PersonRow,
    TransactionRow,
)
from central.services.common import ID_TYPES
from central.services.masking import mask_id_number
from counter_app.domain.card_lifecycle import (
    Command,
    FinancialStatus,
    LifecyclePolicy,
    SocialStatus,
    temp_loss_expires_at,
)
from counter_app.domain.identity import Sex, ethnicity_name, region_name
from counter_app.domain.operators import ItemCode

#: Labels of commands that are not life-cycle ``Command`` s.
_EXTRA_COMMAND_LABELS = {
    "change_key_info": "关键信息变更",
    "change_contact": "非关键信息变更",
    "transfer_region": "参保地变更",
    "pin_change": "密码修改",
    "pin_reset": "密码重置",
    "pin_unblock": "密码解锁",
    "activate_financial": "激活金融功能",
    "authorise_custody": "代管代持授权",
    "replacement_withdrawn": "撤销换卡申请",
    "seed": "历史数据导入",
    "resend_payments": "补贴重发申请",
    "subsidy_resend": "补贴重发申请",
}


def command_label(command: str) -> str:
    try:
        return Command(command).label
    except ValueError:
        return _EXTRA_COMMAND_LABELS.get(command, command)


def item_label(item_code: str) -> str:
    try:
        return ItemCode(item_code).label
    except ValueError:
        return _EXTRA_COMMAND_LABELS.get(item_code, item_code)


def person_summary(person: PersonRow) -> dict[str, Any]:
    return {
        "id": person.id,
        "id_type": person.id_type,
        "id_type_label": ID_TYPES[person.id_type].value,
        "id_number": person.id_number,
        "name": person.name,
    }


def person_view(person: PersonRow) -> dict[str, Any]:
    return {
        **person_summary(person),
        "social_security_number": person.social_security_number,
        "sex": person.sex,
        "sex_label": Sex(person.sex).label,
        "ethnicity": person.ethnicity,
        "ethnicity_label": ethnicity_name(person.ethnicity),
        "birth_date": person.birth_date,
        "birthplace": person.birthplace,
        "phone": person.phone,
        "address": person.address,
        "insured_region": person.insured_region,
        "insured_region_name": region_name(person.insured_region),
        "vulnerable_group": person.vulnerable_group,
        "deceased_on": person.deceased_on,
    }


def card_view(card: CardRow, policy: LifecyclePolicy) -> dict[str, Any]:
    expires_at = None
    if card.status == SocialStatus.TEMP_LOSS and card.loss_reported_at is not None:
        expires_at = temp_loss_expires_at(card.loss_reported_at, policy)
    return {
        "id": card.id,
        "person_id": card.person_id,
        "card_number": card.card_number,
        "card_identifier": card.card_identifier,
        "spec_version": card.spec_version,
        "issuing_region": card.issuing_region,
        "bank": card.bank,
        "account_masked": card.account_masked,
        "status": card.status,
        "status_label": SocialStatus(card.status).label,
        "state_before_loss": card.state_before_loss,
        "loss_reported_at": card.loss_reported_at,
        "temp_loss_expires_at": expires_at,
        "financial_status": card.financial_status,
        "financial_status_label": FinancialStatus(card.financial_status).label,
        "replacement_applied": card.replacement_applied,
        "known_duplicate": card.known_duplicate,
        "replaces_card_id": card.replaces_card_id,
        "replace_kind": card.replace_kind,
        "applied_at": card.applied_at,
        "production_batch": card.production_batch,
        "issued_on": card.issued_on,
        "expires_on": card.expires_on,
        "pin_resets": card.pin_resets,
        "pin_unblocks": card.pin_unblocks,
    }


def events_view(session: Session, card_ids: list[int]) -> list[dict[str, Any]]:
    if not card_ids:
        return []
    rows = session.execute(
        select(CardEventRow, TransactionRow.acceptance_number)
        .outerjoin(TransactionRow, TransactionRow.id == CardEventRow.transaction_id)
        .where(CardEventRow.card_id.in_(card_ids))
        .order_by(CardEventRow.at, CardEventRow.id)
    ).all()
    return [event_out(event, number) for event, number in rows]


def event_out(event: Any, acceptance_number: str | None) -> dict[str, Any]:
    """One history entry (``event``: a ``CardEventRow`` or a row with its columns)."""
    return {
        "id": event.id,
        "card_id": event.card_id,
        "at": event.at,
        "command": event.command,
        "command_label": command_label(event.command),
        "from_status": event.from_status,
        "to_status": event.to_status,
        "acceptance_number": acceptance_number,
        "operator_number": event.operator_number,
        "detail": event.detail,
    }


def transactions_view(session: Session, person_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(TransactionRow, OutletRow.code, CounterRow.number)
        .join(OutletRow, OutletRow.id == TransactionRow.outlet_id)
        .outerjoin(CounterRow, CounterRow.id == TransactionRow.counter_id)
        .where(TransactionRow.person_id == person_id)
        .order_by(TransactionRow.occurred_at, TransactionRow.id)
    ).all()
    return [transaction_out(t, outlet_code, counter_number) for t, outlet_code, counter_number in rows]


def transaction_out(t: Any, outlet_code: str, counter_number: str | None) -> dict[str, Any]:
    """One 业务流水 (``t``: a ``TransactionRow`` or a row with its columns)."""
    return {
        "id": t.id,
        "acceptance_number": t.acceptance_number,
        "item_code": t.item_code,
        "item_label": item_label(t.item_code),
        "command": t.command,
        "card_id": t.card_id,
        "outlet_code": outlet_code,
        "counter_number": counter_number,
        "operator_number": t.operator_number,
        "confirmer_number": t.confirmer_number,
        "requester": t.requester,
        "agent": _masked_agent(t.agent),
        "occurred_at": t.occurred_at,
        "details": t.details,
    }


def _masked_agent(agent: dict[str, Any] | None) -> dict[str, Any] | None:
    """List views mask the agent's ID number (the full one stays on the 业务受理表 留存联)."""
    if agent is None:
        return None
    return {**agent, "id_number": mask_id_number(agent.get("id_number"))}


def household_view(session: Session, person: PersonRow) -> dict[str, Any] | None:
    if person.household_id is None:
        return None
    household = session.get(HouseholdRow, person.household_id)
    assert household is not None
    members = session.scalars(
        select(PersonRow).where(PersonRow.household_id == household.id).order_by(PersonRow.id)
    ).all()
    return household_out(household.id, household.number, household.head_person_id, members)


def household_out(
    household_id: int, number: str, head_person_id: int | None, members: Iterable[Any]
) -> dict[str, Any]:
    """The household with its members (each with ``id``, ``name``, ``deceased_on``), ordered by id."""
    return {
        "id": household_id,
        "number": number,
        "head_person_id": head_person_id,
        "members": [
            {
                "id": m.id,
                "name": m.name,
                "is_head": m.id == head_person_id,
                "deceased": m.deceased_on is not None,
            }
            for m in members
        ],
    }


def custody_view(rows: Iterable[CustodyAuthorisationRow | Any], today: date) -> list[dict[str, Any]]:
    return [
        {
            "id": r.id,
            "custodian_name": r.custodian_name,
            "custodian_id_type": r.custodian_id_type,
            "custodian_id_number": mask_id_number(r.custodian_id_number),
            "relation": r.relation,
            "reason": r.reason,
            "valid_from": r.valid_from,
            "valid_until": r.valid_until,
            "approved_by": r.approved_by,
            "active": r.revoked_at is None and r.valid_from <= today <= r.valid_until,
        }
        for r in rows
    ]
