"""Back-office transitions (后台处理): 送制卡, 制卡完成（回盘导入）, and the end of 临时挂失.

送制卡 and 回盘 are the city's batch production with the (simulated) card factory; the import is
all-or-nothing: one bad record refuses the whole 回盘 and names every bad record. The 临时挂失
expiry is driven by the clock: each worker sweeps periodically, and every command lifts an overdue
loss on the card it touches before it decides (``common.current_card``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.core.problems import Problem
from central.models import CardRow, PersonRow
from central.schemas import ProductionDoneIn, StartProductionIn
from central.services.actors import require_admin
from central.services.common import CommandContext, apply_transition, card_facts, expire_if_due, record_event
from central.services.outcome import outcome
from central.upstream import banks, province
from counter_app.domain.card_lifecycle import Command, LifecyclePolicy, SocialStatus, decide
from counter_app.domain.errors import DomainError
from counter_app.domain.identity import check_card_identifier, check_card_number


def _rejected(code: str, message: str, hint: str, errors: list[dict[str, Any]]) -> Problem:
    return Problem(409, f"refused/{code}", "业务不予办理", message, code=code, hint=hint, errors=errors)


def start_production(ctx: CommandContext, body: StartProductionIn) -> dict[str, Any]:
    """送制卡: the applied cards (named, or the oldest ``limit``) become one production batch."""
    require_admin(ctx.actor)
    query = select(CardRow).where(CardRow.status == SocialStatus.APPLIED.value).with_for_update()
    if body.card_ids is not None:
        chosen = list(
            ctx.session.scalars(select(CardRow).where(CardRow.id.in_(body.card_ids)).with_for_update())
        )
        found = {c.id for c in chosen}
        errors: list[dict[str, Any]] = [
            {"card_id": i, "code": "unknown_card", "message": f"编号 {i} 的卡不存在。"}
            for i in body.card_ids
            if i not in found
        ]
        for card in chosen:
            try:
                decide(SocialStatus(card.status), Command.START_PRODUCTION, facts=card_facts(card))
            except DomainError as refusal:
                errors.append({"card_id": card.id, "code": refusal.code, "message": refusal.message})
        if errors:
            raise _rejected(
                "batch_rejected",
                "送制卡批次中有不能制卡的卡，整批未送出。",
                "请剔除所列的卡后重新送制。",
                errors,
            )
    else:
        chosen = list(ctx.session.scalars(query.order_by(CardRow.applied_at, CardRow.id).limit(body.limit)))
    if not chosen:
        raise DomainError("nothing_to_produce", "没有待送制的已申领卡。")
    batch = f"P{ctx.now:%Y%m%d%H%M%S}{chosen[0].id:06d}"[:32]
    for card in chosen:
        transition = decide(SocialStatus(card.status), Command.START_PRODUCTION, facts=card_facts(card))
        from_status = card.status
        card.production_batch = batch
        apply_transition(card, transition, ctx.now)
        record_event(
            ctx,
            card,
            Command.START_PRODUCTION.value,
            from_status,
            detail={"batch_number": batch},
        )
    people = holders(ctx.session, chosen)
    data: dict[str, Any] = {
        "batch_number": batch,
        "count": len(chosen),
        "card_ids": [c.id for c in chosen],
        "cards": [
            {
                "card_id": c.id,
                "name": people[c.person_id].name,
                "id_number": people[c.person_id].id_number,
                "bank": c.bank,
                "region": c.issuing_region,
            }
            for c in chosen
        ],
    }
    if body.simulate_return:
        data["simulated_return"] = simulated_return(ctx, chosen)
    return outcome(ctx, Command.START_PRODUCTION.value, data=data)


def simulated_return(ctx: CommandContext, cards: list[CardRow]) -> list[dict[str, Any]]:
    """What the simulated factory would send back for these cards (a 回盘 to import)."""
    issued = ctx.today
    return [
        {
            "card_id": card.id,
            "card_number": province.card_number_for(card.id),
            "card_identifier": province.card_identifier(card.issuing_region),
            "account_masked": banks.open_account(card.bank or ""),
            "issued_on": issued.isoformat(),
            "expires_on": province.expiry_for(issued).isoformat(),
            "spec_version": "3.00",
        }
        for card in cards
    ]


def production_done(ctx: CommandContext, body: ProductionDoneIn) -> dict[str, Any]:
    """制卡完成（回盘导入）: every record of the batch becomes READY_FOR_PICKUP, or nothing does."""
    require_admin(ctx.actor)
    ids = [r.card_id for r in body.records]
    cards = {
        c.id: c for c in ctx.session.scalars(select(CardRow).where(CardRow.id.in_(ids)).with_for_update())
    }
    errors: list[dict[str, Any]] = []
    seen_numbers: set[str] = set()
    seen_identifiers: set[str] = set()
    checked: list[tuple[CardRow, str, str]] = []
    for record in body.records:
        card = cards.get(record.card_id)

        def fail(code: str, message: str, card_id: int = record.card_id) -> None:
            errors.append({"card_id": card_id, "code": code, "message": message})

        if card is None:
            fail("unknown_card", f"编号 {record.card_id} 的卡不存在。")
            continue
        if card.production_batch != body.batch_number:
            fail("not_in_batch", f"编号 {card.id} 的卡不属于批次 {body.batch_number}。")
            continue
        try:
            decide(SocialStatus(card.status), Command.PRODUCTION_DONE, facts=card_facts(card))
        except DomainError as refusal:
            fail(refusal.code, refusal.message)
            continue
        number = check_card_number(record.card_number)
        identifier = check_card_identifier(record.card_identifier)
        if number.blocking:
            fail("card_number", "卡号" + "；".join(f.message for f in number.failures))
            continue
        if not number.ok:
            ctx.notices.append(
                f"卡 {card.id} 的卡号 {number.value}：" + "；".join(f.message for f in number.failures)
            )
        if identifier.blocking:
            fail("card_identifier", "卡识别码" + "；".join(f.message for f in identifier.failures))
            continue
        if number.value in seen_numbers or identifier.value in seen_identifiers:
            fail("duplicate_in_return", "回盘中卡号或卡识别码重复。")
            continue
        seen_numbers.add(number.value)
        seen_identifiers.add(identifier.value)
        checked.append((card, number.value, identifier.value))
    taken = set(
        ctx.session.scalars(
            select(CardRow.card_number).where(CardRow.card_number.in_(seen_numbers), CardRow.id.not_in(ids))
        )
    ) | set(
        ctx.session.scalars(
            select(CardRow.card_identifier).where(
                CardRow.card_identifier.in_(seen_identifiers), CardRow.id.not_in(ids)
            )
        )
    )
    for card, number_value, identifier_value in checked:
        if number_value in taken or identifier_value in taken:
            errors.append(
                {"card_id": card.id, "code": "already_used", "message": "卡号或卡识别码已属于另一张卡。"}
            )
    if errors:
        raise _rejected(
            "return_rejected", "回盘数据有误，整批未导入。", "请将所列问题反馈制卡厂更正后重新导入。", errors
        )
    records = {r.card_id: r for r in body.records}
    for card, number_value, identifier_value in checked:
        record = records[card.id]
        transition = decide(SocialStatus(card.status), Command.PRODUCTION_DONE, facts=card_facts(card))
        from_status = card.status
        card.card_number = number_value
        card.card_identifier = identifier_value
        card.issuing_region = identifier_value[:6]
        card.spec_version = record.spec_version
        card.account_masked = record.account_masked
        card.issued_on = record.issued_on
        card.expires_on = record.expires_on or province.expiry_for(record.issued_on)
        apply_transition(card, transition, ctx.now)
        record_event(
            ctx,
            card,
            Command.PRODUCTION_DONE.value,
            from_status,
            detail={"batch_number": body.batch_number},
        )
    return outcome(
        ctx, Command.PRODUCTION_DONE.value, data={"batch_number": body.batch_number, "count": len(checked)}
    )


def expire_temp_losses(
    session: Session, now: datetime, policy: LifecyclePolicy, *, limit: int = 1000
) -> list[int]:
    """Lift every 临时挂失 whose time is up (the clock-driven transition); returns the card ids."""
    cutoff = now - timedelta(days=policy.temp_loss_days)
    due = session.scalars(
        select(CardRow)
        .where(CardRow.status == SocialStatus.TEMP_LOSS.value, CardRow.loss_reported_at <= cutoff)
        .order_by(CardRow.id)
        .limit(limit)
        .with_for_update()
    ).all()
    return [card.id for card in due if expire_if_due(session, card, now, policy)]


def temp_loss_expiry(ctx: CommandContext) -> dict[str, Any]:
    """临时挂失到期处理, run now by an administrator (the sweeper does the same on its own)."""
    require_admin(ctx.actor)
    ids = expire_temp_losses(ctx.session, ctx.now, ctx.policy, limit=100_000)
    return outcome(ctx, Command.TEMP_LOSS_EXPIRY.value, data={"card_ids": ids, "count": len(ids)})


def holders(session: Session, cards: list[CardRow]) -> dict[int, PersonRow]:
    """The holders of ``cards`` by person id (the factory prints their names on the cards)."""
    ids = {c.person_id for c in cards}
    return {p.id: p for p in session.scalars(select(PersonRow).where(PersonRow.id.in_(ids)))}
