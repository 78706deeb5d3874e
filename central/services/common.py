"""What every command shares (公共处理): context, lookups by reference, checks, history, 业务流水."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from central.core.problems import invalid
from central.models import (
    CardEventRow,
    CardRow,
    CustodyAuthorisationRow,
    PersonRow,
    SupervisorNoticeRow,
    TransactionRow,
)
from central.schemas import CardRef, CommandIn, PersonRef
from central.services.actors import Actor, capabilities_of
from central.services.masking import mask_id_number
from central.services.notices import record_notice
from counter_app.domain.card_lifecycle import (
    CardFacts,
    CardSummary,
    Command,
    LifecyclePolicy,
    ReplaceKind,
    SocialStatus,
    Transition,
    decide,
    temp_loss_expired,
)
from counter_app.domain.catalog import load_catalog
from counter_app.domain.errors import DomainError
from counter_app.domain.identity import DocumentType, check_document
from counter_app.domain.operators import (
    ActionKind,
    NotPermitted,
    check_scope,
    needs_supervisor,
)
from counter_app.domain.receipt_code import ReceiptCodeError, parse_acceptance_number

ID_TYPES: dict[str, DocumentType] = {
    "resident_id": DocumentType.RESIDENT_ID,
    "hmt_residence_permit": DocumentType.HMT_RESIDENCE_PERMIT,
    "foreign_permanent_resident_id": DocumentType.FOREIGN_PERMANENT_RESIDENT_ID,
    "passport": DocumentType.PASSPORT,
}


class NotFound(DomainError):
    """The person or card a command names does not exist (a refusal: ``refused/unknown_*``)."""


@dataclass
class CommandContext:
    """One command's world: its transaction, who acts, when, and under which policy."""

    session: Session
    actor: Actor
    now: datetime
    policy: LifecyclePolicy
    alert_principals: int = 3
    alert_days: int = 30
    notices: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)

    @property
    def today(self) -> date:
        return self.now.date()


# --------------------------------------------------------------------------------------------
# Lookups by reference
# --------------------------------------------------------------------------------------------


def normalised_id_number(id_type: str, number: str) -> str:
    """The 证件号码 as stored (NFKC, no spaces, upper-case X), whatever its validity."""
    return check_document(ID_TYPES[id_type], number).value


#: Statements built once (SQLAlchemy memoises a built statement's cache key; building one per call costs).
_PERSON_BY_DOCUMENT = select(PersonRow).where(
    PersonRow.id_type == bindparam("id_type"), PersonRow.id_number == bindparam("id_number")
)
_PERSON_BY_DOCUMENT_LOCKED = _PERSON_BY_DOCUMENT.with_for_update()
_CARD_LOCKED_BY = {
    "id": select(CardRow).where(CardRow.id == bindparam("value")).with_for_update(),
    "card_number": select(CardRow).where(CardRow.card_number == bindparam("value")).with_for_update(),
    "card_identifier": select(CardRow).where(CardRow.card_identifier == bindparam("value")).with_for_update(),
}


def find_person(session: Session, ref: PersonRef, *, lock: bool = False) -> PersonRow | None:
    query = _PERSON_BY_DOCUMENT_LOCKED if lock else _PERSON_BY_DOCUMENT
    params = {"id_type": ref.id_type, "id_number": normalised_id_number(ref.id_type, ref.id_number)}
    return session.scalar(query, params)


def get_person(session: Session, ref: PersonRef, *, lock: bool = False) -> PersonRow:
    person = find_person(session, ref, lock=lock)
    if person is None:
        raise NotFound(
            "unknown_person",
            f"系统中没有证件号码为 {ref.id_number} 的人员信息。",
            "请核对证件类型和号码；首次办卡请办理申领。",
        )
    return person


def get_card(session: Session, ref: CardRef) -> CardRow:
    """The card named by ``ref``, locked for the command (row lock on PostgreSQL)."""
    by: str
    value: int | str
    if ref.card_id is not None:
        by, value = "id", ref.card_id
        shown = f"编号 {ref.card_id}"
    elif ref.card_number is not None:
        by, value = "card_number", ref.card_number.strip().upper()
        shown = f"卡号 {value}"
    else:
        by, value = "card_identifier", (ref.card_identifier or "").strip().upper()
        shown = f"卡识别码 {value}"
    card = session.scalar(_CARD_LOCKED_BY[by], {"value": value})
    if card is None:
        raise NotFound("unknown_card", f"系统中没有{shown}的社会保障卡。", "请核对卡号或重新读卡。")
    return card


def person_cards(session: Session, person_id: int) -> list[CardRow]:
    return list(session.scalars(select(CardRow).where(CardRow.person_id == person_id).order_by(CardRow.id)))


def card_summaries(cards: list[CardRow]) -> list[CardSummary]:
    """The one-card rule's view of a person's cards."""
    return [CardSummary(SocialStatus(c.status), c.known_duplicate) for c in cards]


def person_of(session: Session, card: CardRow) -> PersonRow:
    person = session.get(PersonRow, card.person_id)
    assert person is not None
    return person


def age_on(birth_date: date, today: date) -> int:
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------


def check_item(ctx: CommandContext, item_code: str, variant: str | None = None) -> None:
    """The service-item catalog's rule: role, outlet type, item offered, variant capabilities."""
    outlet = ctx.actor.require_outlet()
    load_catalog().check_access(
        item_code,
        role=ctx.actor.operator.role.value,
        outlet_type=outlet.type.value,
        capabilities=capabilities_of(outlet),
        variant=variant,
    ).raise_if_refused()


def check_change_scope(ctx: CommandContext, card_bank: str | None) -> None:
    """Bank outlets change only their own bank's cards (operators.check_scope)."""
    check_scope(ctx.actor.require_outlet(), ActionKind.CHANGE, card_bank)


def check_confirmation(ctx: CommandContext, item_code: str, *, requested_by_holder: bool) -> None:
    """A supervisor's second sign-in where the rule asks for one (checked in resolve_actor)."""
    if needs_supervisor(item_code, requested_by_holder=requested_by_holder) and ctx.actor.confirmer is None:
        raise NotPermitted(
            "confirmation_required",
            "此业务须由本网点的复核/授权人员登录确认后办理。",
            "请复核/授权人员在本柜台登录确认。",
        )


def active_custody(
    ctx: CommandContext, person: PersonRow, custodian_id_number: str | None
) -> CustodyAuthorisationRow | None:
    """A valid 代管代持 authorisation of ``person`` for the custodian with that ID number."""
    if not custodian_id_number:
        return None
    return ctx.session.scalar(
        select(CustodyAuthorisationRow).where(
            CustodyAuthorisationRow.person_id == person.id,
            CustodyAuthorisationRow.custodian_id_number == custodian_id_number,
            CustodyAuthorisationRow.revoked_at.is_(None),
            CustodyAuthorisationRow.valid_from <= ctx.today,
            CustodyAuthorisationRow.valid_until >= ctx.today,
        )
    )


def check_presenter(ctx: CommandContext, body: CommandIn, person: PersonRow) -> None:
    """Who stands at the counter: an agent must be named; a 四类人's card needs their custodian.

    Decision (DOMAIN §6): when the holder is one of the 四类人 and someone else presents the card, a
    valid 代管代持 authorisation for that person is required.
    """
    if body.requester == "holder":
        return
    if body.agent is None:
        raise invalid(
            "agent_required", "非本人办理时须登记代办人的姓名、证件和与持卡人的关系。", field="agent"
        )
    if person.vulnerable_group and active_custody(ctx, person, agent_id_number(body)) is None:
        raise NotPermitted(
            "custody_not_authorised",
            "持卡人属于低保户、特困群众、残疾人或建档立卡贫困户，非本人办理须由经授权的代管代持人办理。",
            "请核对代管代持授权；尚未授权的，请先办理代管代持授权（须复核确认）。",
        )


def agent_id_number(body: CommandIn) -> str | None:
    if body.agent is None:
        return None
    return normalised_id_number(body.agent.id_type, body.agent.id_number)


# --------------------------------------------------------------------------------------------
# Card state changes and history
# --------------------------------------------------------------------------------------------


def card_facts(card: CardRow, **extra: Any) -> CardFacts:
    before = SocialStatus(card.state_before_loss) if card.state_before_loss else None
    return CardFacts(
        state_before_loss=before,
        replacement_applied=card.replacement_applied,
        known_duplicate=card.known_duplicate,
        **extra,
    )


def status_of(card: CardRow) -> SocialStatus:
    return SocialStatus(card.status)


def add_event(
    session: Session,
    card: CardRow,
    command: str,
    from_status: str | None,
    at: datetime,
    *,
    operator_number: str | None = None,
    transaction: TransactionRow | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry to the card's history (卡片历史); the card's current status is its target."""
    session.add(
        CardEventRow(
            card_id=card.id,
            at=at,
            command=command,
            from_status=from_status,
            to_status=card.status,
            transaction_id=transaction.id if transaction is not None else None,
            operator_number=operator_number,
            detail=detail,
        )
    )


def record_event(
    ctx: CommandContext,
    card: CardRow,
    command: str,
    from_status: str | None,
    *,
    transaction: TransactionRow | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """``add_event`` for a command: now, by the acting operator."""
    add_event(
        ctx.session,
        card,
        command,
        from_status,
        ctx.now,
        operator_number=ctx.actor.operator.number,
        transaction=transaction,
        detail=detail,
    )


def apply_transition(card: CardRow, transition: Transition, at: datetime) -> None:
    """Write a decided transition onto the card row (status, loss facts, time)."""
    card.status = transition.to_state.value
    card.state_before_loss = transition.state_before_loss.value if transition.state_before_loss else None
    if transition.to_state in (SocialStatus.TEMP_LOSS, SocialStatus.FORMAL_LOSS):
        if transition.from_state is not transition.to_state:
            card.loss_reported_at = at
    else:
        card.loss_reported_at = None
    card.updated_at = at


def expire_if_due(session: Session, card: CardRow, now: datetime, policy: LifecyclePolicy) -> bool:
    """The clock-driven end of a 临时挂失: lift it when its time is up (recorded as a system event)."""
    if card.status != SocialStatus.TEMP_LOSS or card.loss_reported_at is None:
        return False
    if not temp_loss_expired(card.loss_reported_at, now, policy):
        return False
    expired_at = card.loss_reported_at + timedelta(days=policy.temp_loss_days)
    transition = decide(
        SocialStatus.TEMP_LOSS, Command.TEMP_LOSS_EXPIRY, facts=card_facts(card), policy=policy
    )
    apply_transition(card, transition, now)
    add_event(
        session,
        card,
        Command.TEMP_LOSS_EXPIRY.value,
        SocialStatus.TEMP_LOSS.value,
        now,
        detail={"expired_at": expired_at.isoformat()},
    )
    return True


def current_card(ctx: CommandContext, ref: CardRef) -> CardRow:
    """The card a command acts on, with an overdue 临时挂失 lifted first."""
    card = get_card(ctx.session, ref)
    if expire_if_due(ctx.session, card, ctx.now, ctx.policy):
        ctx.notices.append("此卡临时挂失已到期，系统已自动解除临时挂失。")
        ctx.session.flush()
    return card


def retire_exchanged_card(
    ctx: CommandContext, new_card: CardRow, transaction: TransactionRow
) -> CardRow | None:
    """Issuing the new card of a 换 retires the old card (→ REPLACED) first (one issued card)."""
    if new_card.replaces_card_id is None:
        return None
    old = ctx.session.get(CardRow, new_card.replaces_card_id, with_for_update=True)
    if old is None or old.status in (SocialStatus.REPLACED, SocialStatus.CANCELLED):
        return None
    from_status = old.status
    old.status = SocialStatus.REPLACED.value
    old.state_before_loss = None
    old.loss_reported_at = None
    old.replacement_applied = False
    old.updated_at = ctx.now
    record_event(
        ctx,
        old,
        Command.REPLACE.value,
        from_status,
        transaction=transaction,
        detail={"retired_by_card_id": new_card.id},
    )
    ctx.session.flush()
    return old


def completes_exchange(session: Session, card: CardRow) -> bool:
    """Is ``card`` the new card of a pending 换 whose old card is still usable?"""
    if card.replaces_card_id is None or card.replace_kind != ReplaceKind.EXCHANGE:
        return False
    old = session.get(CardRow, card.replaces_card_id)
    return old is not None and old.status not in (SocialStatus.REPLACED, SocialStatus.CANCELLED)


# --------------------------------------------------------------------------------------------
# 业务流水
# --------------------------------------------------------------------------------------------


def record_transaction(
    ctx: CommandContext,
    body: CommandIn,
    *,
    item_code: str,
    command: str,
    person: PersonRow | None,
    card: CardRow | None,
    details: dict[str, Any] | None = None,
) -> TransactionRow:
    """Write the one 业务流水 of this service with its 受理编号 (checked against this counter)."""
    actor = ctx.actor
    number = check_acceptance_number(ctx, body.acceptance_number)
    agent_number = agent_id_number(body)
    agent = body.agent.model_dump() if body.agent is not None else None
    if agent is not None and agent_number is not None:
        agent["id_number"] = agent_number
    row = TransactionRow(
        acceptance_number=number,
        item_code=item_code,
        command=command,
        person_id=person.id if person is not None else None,
        card_id=card.id if card is not None else None,
        outlet_id=actor.outlet_id,
        counter_id=actor.counter_row.id if actor.counter_row is not None else None,
        operator_number=actor.operator.number,
        confirmer_number=actor.confirmer.number if actor.confirmer is not None else None,
        requester=body.requester,
        agent_id_number=agent_number,
        agent=agent,
        occurred_at=ctx.now,
        details=details,
    )
    ctx.session.add(row)
    ctx.session.flush()
    if agent_number is not None and person is not None:
        _forced_collection_alert(ctx, agent_number, row)
    return row


def check_acceptance_number(ctx: CommandContext, text: str) -> str:
    try:
        parsed = parse_acceptance_number(text)
    except ReceiptCodeError as exc:
        raise invalid("acceptance_number", str(exc), field="acceptance_number") from None
    outlet = ctx.actor.outlet
    counter = ctx.actor.counter_row
    if (
        outlet is None
        or counter is None
        or (parsed.outlet_code, parsed.counter_number)
        != (
            outlet.code,
            counter.number,
        )
    ):
        raise invalid(
            "acceptance_number",
            f"受理编号 {parsed} 不是本柜台（{outlet.code if outlet else '?'}-"
            f"{counter.number if counter else '?'}）生成的。",
            field="acceptance_number",
        )
    return str(parsed)


def _forced_collection_alert(ctx: CommandContext, agent_number: str, transaction: TransactionRow) -> None:
    """DOMAIN §6: more than N distinct principals for one agent in D days (all outlets) warns the
    clerk and records a notice for the outlet's supervisors."""
    since = ctx.now - timedelta(days=ctx.alert_days)
    count = ctx.session.scalar(
        select(func.count(func.distinct(TransactionRow.person_id))).where(
            TransactionRow.agent_id_number == agent_number,
            TransactionRow.occurred_at >= since,
        )
    )
    if count is not None and count > ctx.alert_principals:
        message = (
            f"代办人（证件号码尾号 {agent_number[-4:]}）近 {ctx.alert_days} 天已为 {count} 人办理业务，"
            f"超过 {ctx.alert_principals} 人，请核实是否存在强制代领，并报告复核人员。"
        )
        ctx.alerts.append(message)
        detail = {
            "agent_id_number": mask_id_number(agent_number),
            "principals": count,
            "days": ctx.alert_days,
            "threshold": ctx.alert_principals,
        }
        counter_id = ctx.actor.counter_row.id if ctx.actor.counter_row is not None else None
        pending = _open_forced_collection_notice(ctx, agent_number)
        if pending is None:
            record_notice(
                ctx.session,
                "forced_collection",
                message,
                ctx.now,
                outlet_id=ctx.actor.outlet_id,
                counter_id=counter_id,
                transaction_id=transaction.id,
                detail=detail,
            )
        else:  # one notice per agent until a supervisor looks at it, kept at the latest count
            pending.message, pending.detail = message, detail
            pending.counter_id, pending.transaction_id = counter_id, transaction.id


def _open_forced_collection_notice(ctx: CommandContext, agent_number: str) -> SupervisorNoticeRow | None:
    """This outlet's unacknowledged 疑似强制代领 notice about this agent, if any (a unit's batch 申领
    by one 经办人 raises the alert row after row: the supervisor gets one notice, not hundreds)."""
    notice = SupervisorNoticeRow
    query = (
        select(notice)
        .join(TransactionRow, TransactionRow.id == notice.transaction_id)
        .where(
            notice.kind == "forced_collection",
            notice.acknowledged_at.is_(None),
            notice.outlet_id == ctx.actor.outlet_id,
            TransactionRow.agent_id_number == agent_number,
        )
        .order_by(notice.id.desc())
        .limit(1)
    )
    return ctx.session.scalars(query).first()
