"""The outcome of a flow as the journal stores it (业务流水 + 业务受理表数据).

`transaction` builds the `TransactionRecord` with the form data (`AcceptanceForm`) inside its
details, so one ``Journal.record`` call writes the transaction, its audit entry and (for queued
items) its outbox message together, and a reprint rebuilds the very same form from the journal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from counter_app.workflows.context import Context
from counter_app.workflows.people import Record, id_type_label, sex_label, text
from counter_app.workflows.ports import (
    FORM_DETAILS_KEY,
    AcceptanceForm,
    FieldChange,
    FormAgent,
    FormPerson,
    MaterialCheck,
    TransactionRecord,
)
from counter_app.workflows.proxy import Agent, Document


@dataclass(frozen=True)
class TransactionFacts:
    """What a flow hands to `transaction`: the item's own facts besides holder, agent and materials."""

    result: str
    variant: str = ""
    item_details: Mapping[str, str] = field(default_factory=dict)
    changes: tuple[FieldChange, ...] = ()
    remarks: str = ""
    server_command: str | None = None  # queued for the outbox when set
    server_payload: Mapping[str, Any] = field(default_factory=dict)
    queued: bool = False
    fee_amount_fen: int | None = None
    details: Mapping[str, Any] = field(default_factory=dict)  # journal-only facts (no form)


def form_person(person: Record | None, card: Record | None, *, phone: str = "") -> FormPerson:
    return FormPerson(
        name=text(person, "name"),
        id_type=id_type_label(text(person, "id_type") or "resident_id"),
        id_number=text(person, "id_number"),
        sex=sex_label(text(person, "sex")),
        card_number=text(card, "card_number"),
        phone=phone or text(person, "phone"),
    )


def form_agent(agent: Agent | None, documents: Sequence[Document], *, relation: str = "") -> FormAgent | None:
    if agent is None:
        return None
    return FormAgent(
        name=agent.name,
        id_type=id_type_label(agent.id_type),
        id_number=agent.id_number,
        phone=agent.phone,
        relation=relation or agent.relation,
        documents=tuple(d.label for d in documents),
    )


def transaction(
    ctx: Context,
    *,
    item_code: str,
    acceptance_number: str,
    holder: FormPerson,
    holder_ref: str,
    agent: FormAgent | None,
    materials: Sequence[MaterialCheck],
    facts: TransactionFacts,
    flow_id: str,
) -> TransactionRecord:
    """The journal record of one transaction, with the 业务受理表 data in its details."""
    now = ctx.now()
    form = AcceptanceForm(
        acceptance_number=acceptance_number,
        verification_code=ctx.verification_code(acceptance_number),
        item_code=item_code,
        holder=holder,
        accepted_at=now,
        outlet_code=ctx.outlet.code,
        outlet_name=ctx.outlet.name,
        counter_number=ctx.counter_number,
        operator_number=ctx.operator.number,
        operator_name=ctx.operator.name,
        result=facts.result,
        variant=facts.variant,
        agent=agent,
        materials=tuple(materials),
        item_details=dict(facts.item_details),
        changes=facts.changes,
        fee_amount_fen=facts.fee_amount_fen,
        offline=facts.queued,
        training=ctx.training,
        remarks=facts.remarks,
    )
    details: dict[str, Any] = {FORM_DETAILS_KEY: form.to_mapping(), "flow_id": flow_id}
    details.update(facts.details)
    return TransactionRecord(
        acceptance_number=acceptance_number,
        item_code=item_code,
        operator_number=ctx.operator.number,
        outlet_code=ctx.outlet.code,
        counter_number=ctx.counter_number,
        occurred_at=now,
        holder_ref=holder_ref,
        result=facts.result,
        details=details,
        server_command=facts.server_command,
        server_payload=dict(facts.server_payload),
    )
