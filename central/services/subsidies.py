"""Subsidy payments (补贴发放): the 一卡通 platform's results imported in batches, and 重发.

**Import** (``POST /subsidies/payments/import``, back office): the platform sends payment results
in batches; each record is keyed by (batch number, beneficiary, item, period) — the unique
``uq_subsidy_payments_platform_key``. A new key is inserted, a known key with other values is
updated (a later result for the same payment: 待发 → 已发 or 失败), the same values change nothing,
so sending a batch again is harmless. Records that cannot be matched (unknown person or item, a
failure without its reason …) are listed as rejected and the rest is imported. The recipient of a
household item is the head of the beneficiary's household unless the record names another one
with an override reason (DOMAIN §6).

**重发** (``POST /commands/resend_payments``, a counter): after a 补换卡 gave the holder a new account,
the clerk records it: every failed or returned payment of that recipient not yet re-sent gets a new
record, status 待发, to the new card, in batch ``<original batch>-R<n>``, linked to the original.
The platform's result for it comes back through the import under that batch number.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from central.models import CardRow, HouseholdRow, PersonRow, SubsidyItemRow, SubsidyPaymentRow
from central.schemas import PaymentImportIn, PaymentResultIn, ResendPaymentsIn
from central.services.actors import require_admin
from central.services.common import (
    CommandContext,
    check_change_scope,
    check_item,
    check_presenter,
    current_card,
    find_person,
    get_person,
    record_transaction,
)
from central.services.outcome import outcome
from counter_app.domain.card_lifecycle import FinancialStatus, SocialStatus
from counter_app.domain.errors import DomainError
from counter_app.domain.subsidies import PaymentStatus

_COMPARED = (
    "household_id",
    "recipient_person_id",
    "override_reason",
    "card_id",
    "department",
    "amount_fen",
    "status",
    "paid_on",
    "bank",
    "account_masked",
    "failure_reason",
    "resent_from_id",
)


def _reject(index: int, code: str, message: str) -> dict[str, Any]:
    return {"index": index, "code": code, "message": message}


def _issued_card(ctx: CommandContext, person_id: int) -> CardRow | None:
    return ctx.session.scalar(
        select(CardRow)
        .where(
            CardRow.person_id == person_id,
            CardRow.status.in_([SocialStatus.ISSUED_INACTIVE.value, SocialStatus.ACTIVE.value]),
            CardRow.known_duplicate.is_(False),
        )
        .order_by(CardRow.id.desc())
        .limit(1)
    )


def import_payments(ctx: CommandContext, body: PaymentImportIn) -> dict[str, Any]:
    """Upsert the batch's records by their platform key; list the rejected ones."""
    require_admin(ctx.actor)
    items = {r.code: r for r in ctx.session.scalars(select(SubsidyItemRow))}
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    rejected: list[dict[str, Any]] = []
    seen: set[tuple[int, str, str]] = set()
    for index, record in enumerate(body.records):
        values = _values(ctx, body.batch_number, record, items, index, rejected)
        if values is None:
            continue
        key = (values["beneficiary_person_id"], values["item_code"], values["period"])
        if key in seen:
            rejected.append(_reject(index, "duplicate_in_batch", "同一批次中此人此项目此期间的记录重复。"))
            continue
        seen.add(key)
        row = ctx.session.scalar(
            select(SubsidyPaymentRow)
            .where(
                SubsidyPaymentRow.batch_number == body.batch_number,
                SubsidyPaymentRow.beneficiary_person_id == key[0],
                SubsidyPaymentRow.item_code == key[1],
                SubsidyPaymentRow.period == key[2],
            )
            .with_for_update()
        )
        if row is None:
            ctx.session.add(SubsidyPaymentRow(batch_number=body.batch_number, **values))
            counts["inserted"] += 1
        elif any(getattr(row, name) != values[name] for name in _COMPARED):
            for name in _COMPARED:
                setattr(row, name, values[name])
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    ctx.session.flush()
    return {"batch_number": body.batch_number, "received": len(body.records), **counts, "rejected": rejected}


def _values(
    ctx: CommandContext,
    batch: str,
    record: PaymentResultIn,
    items: dict[str, SubsidyItemRow],
    index: int,
    rejected: list[dict[str, Any]],
) -> dict[str, Any] | None:
    item = items.get(record.item_code)
    if item is None:
        rejected.append(_reject(index, "unknown_item", f"补贴项目代码 {record.item_code} 不在目录中。"))
        return None
    beneficiary = find_person(ctx.session, record.beneficiary)
    if beneficiary is None:
        rejected.append(_reject(index, "unknown_person", "补贴对象的证件号码在系统中不存在。"))
        return None
    status = PaymentStatus(record.status)
    if status.may_resend and record.failure_reason is None:
        rejected.append(_reject(index, "failure_reason_required", "失败或退回的记录须有失败原因。"))
        return None
    if status in (PaymentStatus.PAID, PaymentStatus.RESENT) and record.paid_on is None:
        rejected.append(_reject(index, "paid_on_required", "已发或重发的记录须有发放日期。"))
        return None
    recipient = beneficiary
    if record.recipient is not None:
        found = find_person(ctx.session, record.recipient)
        if found is None:
            rejected.append(_reject(index, "unknown_recipient", "收款人的证件号码在系统中不存在。"))
            return None
        if found.id != beneficiary.id and item.household and record.override_reason is None:
            rejected.append(
                _reject(index, "override_reason_required", "户类补贴改发给户主以外的人须说明原因。")
            )
            return None
        recipient = found
    elif item.household and beneficiary.household_id is not None:
        head = ctx.session.scalar(
            select(HouseholdRow.head_person_id).where(HouseholdRow.id == beneficiary.household_id)
        )
        if head is not None and head != beneficiary.id:
            recipient = ctx.session.get(PersonRow, head) or beneficiary
    resent_from = None
    if record.resent_from_batch:
        resent_from = ctx.session.scalar(
            select(SubsidyPaymentRow.id).where(
                SubsidyPaymentRow.batch_number == record.resent_from_batch,
                SubsidyPaymentRow.beneficiary_person_id == beneficiary.id,
                SubsidyPaymentRow.item_code == item.code,
                SubsidyPaymentRow.period == record.period,
            )
        )
        if resent_from is None:
            rejected.append(_reject(index, "unknown_original", "找不到被重发的原发放记录。"))
            return None
    card = _issued_card(ctx, recipient.id)
    return {
        "item_code": item.code,
        "beneficiary_person_id": beneficiary.id,
        "household_id": beneficiary.household_id,
        "recipient_person_id": recipient.id,
        "override_reason": record.override_reason,
        "card_id": card.id if card is not None else None,
        "department": record.department,
        "period": record.period,
        "amount_fen": record.amount_fen,
        "status": status.value,
        "paid_on": record.paid_on,
        "bank": record.bank or (card.bank if card is not None else None),
        "account_masked": record.account_masked or (card.account_masked if card is not None else None),
        "failure_reason": record.failure_reason,
        "resent_from_id": resent_from,
    }


def resend_payments(ctx: CommandContext, body: ResendPaymentsIn) -> dict[str, Any]:
    """重发: new 待发 records to the holder's new card for their failed or returned payments."""
    check_item(ctx, "query")
    person = get_person(ctx.session, body.person)
    card = current_card(ctx, body.card)
    check_change_scope(ctx, card.bank)
    check_presenter(ctx, body, person)
    if card.person_id != person.id:
        raise DomainError("card_of_other_person", "此卡不是该收款人的卡。", "请核对持卡人与卡号。")
    if card.status != SocialStatus.ACTIVE or card.financial_status != FinancialStatus.ACTIVE:
        raise DomainError(
            "card_not_usable",
            f"此卡社保功能为“{SocialStatus(card.status).label}”、金融功能为“{FinancialStatus(card.financial_status).label}”，"
            "不能接收补贴。",
            "请先为持卡人激活社保卡（金融功能在发卡银行网点激活）后再申请重发。",
        )
    already = select(SubsidyPaymentRow.resent_from_id).where(SubsidyPaymentRow.resent_from_id.is_not(None))
    query = select(SubsidyPaymentRow).where(
        SubsidyPaymentRow.recipient_person_id == person.id,
        SubsidyPaymentRow.status.in_([PaymentStatus.FAILED.value, PaymentStatus.RETURNED.value]),
        SubsidyPaymentRow.id.not_in(already),
    )
    eligible = list(ctx.session.scalars(query.order_by(SubsidyPaymentRow.id).with_for_update()))
    if body.payment_ids is not None:
        by_id = {p.id: p for p in eligible}
        missing = [i for i in body.payment_ids if i not in by_id]
        if missing:
            raise DomainError(
                "payment_not_resendable",
                f"发放记录 {', '.join(map(str, missing))} 不是此人未重发的失败或退回款项。",
                "请重新查询补贴发放记录后选择。",
            )
        eligible = [by_id[i] for i in dict.fromkeys(body.payment_ids)]
    if not eligible:
        raise DomainError("nothing_to_resend", "此人没有需要重发的失败或退回款项。")
    transaction = record_transaction(
        ctx,
        body,
        item_code="subsidy_resend",
        command="resend_payments",
        person=person,
        card=card,
        details={"payment_ids": [p.id for p in eligible]},
    )
    created = []
    for original in eligible:
        resend = SubsidyPaymentRow(
            item_code=original.item_code,
            beneficiary_person_id=original.beneficiary_person_id,
            household_id=original.household_id,
            recipient_person_id=person.id,
            override_reason=original.override_reason,
            override_note=original.override_note,
            card_id=card.id,
            department=original.department,
            period=original.period,
            amount_fen=original.amount_fen,
            status=PaymentStatus.PENDING.value,
            bank=card.bank,
            account_masked=card.account_masked,
            batch_number=f"{original.batch_number[:29]}-R1",
            resent_from_id=original.id,
        )
        ctx.session.add(resend)
        created.append(resend)
    ctx.session.flush()
    ctx.notices.append(
        f"已申请重发 {len(created)} 笔款项到卡 {card.card_number}，由主管部门经一卡通平台发放。"
    )
    return outcome(
        ctx,
        "resend_payments",
        transaction=transaction,
        person=person,
        card=card,
        data={
            "payments": [
                {
                    "id": p.id,
                    "resent_from_id": p.resent_from_id,
                    "batch_number": p.batch_number,
                    "amount_fen": p.amount_fen,
                }
                for p in created
            ],
            "amount_fen": sum(p.amount_fen for p in created),
        },
    )
