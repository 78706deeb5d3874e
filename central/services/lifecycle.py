"""Life-cycle commands (卡片生命周期): 申领, 即时制卡, 领卡, 激活, 挂失, 解挂, 补换卡, 注销.

Each command loads its records, asks ``counter_app.domain`` (catalog access, scope, supervisor,
``decide`` and ``check_one_card_rule``) and only then writes. Writes that change the one-card
picture retire the old card before the new one enters its state, so the partial unique indexes
hold at every statement.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from central.core.problems import invalid, invalid_document
from central.models import CardRow, PersonRow, TransactionRow
from central.schemas import (
    ActivateIn,
    ApplyIn,
    CancelCardIn,
    CardCommandIn,
    CardRef,
    IssueIn,
    ReplaceIn,
    ReportLossIn,
)
from central.services.common import (
    CommandContext,
    apply_transition,
    card_facts,
    card_summaries,
    check_change_scope,
    check_confirmation,
    check_item,
    check_presenter,
    completes_exchange,
    current_card,
    expire_if_due,
    find_person,
    get_person,
    person_cards,
    person_of,
    record_event,
    record_transaction,
    retire_exchanged_card,
    status_of,
)
from central.services.outcome import outcome
from central.services.persons import check_known_person_matches, register_person
from central.upstream import banks, province
from counter_app.domain.card_lifecycle import (
    ISSUED_STATES,
    PIPELINE_STATES,
    PRE_LOSS_STATES,
    Command,
    FinancialStatus,
    ReplaceKind,
    SocialStatus,
    check_one_card_rule,
    decide,
    temp_loss_expires_at,
)
from counter_app.domain.errors import DomainError
from counter_app.domain.identity import check_card_identifier, chip_name_fit
from counter_app.domain.operators import OutletType

_CANCEL_REASONS = {
    "death": "持卡人死亡",
    "abroad": "出国（境）定居",
    "duplicate": "重复持卡",
    "after_reissue": "补卡后注销原卡",
    "other": "其他",
}


def _check_alive(person: PersonRow) -> None:
    if person.deceased_on is not None:
        raise DomainError(
            "person_deceased",
            f"系统登记此人已于 {person.deceased_on:%Y年%m月%d日} 死亡，不能办理新卡。",
            "如登记有误，请联系社保卡管理中心核查。",
        )


def _bank_for_new_card(ctx: CommandContext, requested: str | None) -> str:
    """The issuing bank: a bank outlet's own bank; at an HR window the one the citizen chooses."""
    outlet = ctx.actor.require_outlet()
    bank = requested or outlet.capabilities.bank
    if bank is None:
        raise invalid("bank_required", "请选择发卡银行。", field="bank", banks=list(banks.BANKS))
    if bank not in banks.BANK_BINS:
        raise invalid("bank", f"“{bank}”不是本市社会保障卡合作银行。", field="bank", banks=list(banks.BANKS))
    return bank


def _read_identifier(value: str | None) -> str:
    """The 卡识别码 read from a 预制卡 chip: present and well-formed (422 otherwise)."""
    if not value:
        raise invalid(
            "card_identifier_required",
            "即时制卡须先读取预制卡芯片中的卡识别码。",
            field="card_identifier_read",
        )
    check = check_card_identifier(value)
    if check.blocking:
        raise invalid_document("card_identifier_read", "卡识别码", check, rule="card_identifier")
    return check.value


def _check_identifier_free(ctx: CommandContext, identifier: str) -> None:
    owner = ctx.session.scalar(select(CardRow.id).where(CardRow.card_identifier == identifier))
    if owner is not None:
        raise DomainError(
            "card_identifier_in_use",
            f"卡识别码 {identifier} 已属于另一张卡，这张预制卡不能再使用。",
            "请换一张预制卡重新制卡，并将此卡交回管理。",
        )


def _check_name_fits_chip(person: PersonRow, spec_version: str) -> None:
    """DOMAIN §5 decision: a name the chip cannot hold blocks chip personalisation (only that)."""
    fit = chip_name_fit(person.name, has_extension=spec_version != "1.00")
    if not fit.fits:
        raise DomainError(
            "name_not_writable",
            fit.message + "，不能当场制卡。",
            "可受理申请，由社保卡管理中心按规定制卡；姓名在系统中照常保存。",
        )


def _personalise(ctx: CommandContext, card: CardRow, identifier: str, spec_version: str) -> None:
    """即时制卡 data: 卡识别码 from the chip, 卡号 from the province, a new account from the bank."""
    card.card_identifier = identifier
    card.issuing_region = identifier[:6]
    card.card_number = province.card_number_for(card.id)
    card.spec_version = spec_version
    card.issued_on = ctx.today
    card.expires_on = province.expiry_for(ctx.today)
    card.issued_outlet_id = ctx.actor.outlet_id
    card.account_masked = banks.open_account(card.bank or "")
    card.financial_status = FinancialStatus.INACTIVE.value


def _new_card(ctx: CommandContext, person: PersonRow, bank: str | None, status: SocialStatus) -> CardRow:
    card = CardRow(
        person_id=person.id,
        status=status.value,
        issuing_region=person.insured_region,
        bank=bank,
        financial_status=FinancialStatus.INACTIVE.value,
        replacement_applied=False,
        known_duplicate=False,
        applied_at=ctx.now,
        applied_outlet_id=ctx.actor.outlet_id,
        updated_at=ctx.now,
        spec_version="3.00",
        pin_resets=0,
        pin_unblocks=0,
    )
    ctx.session.add(card)
    ctx.session.flush()
    return card


# --------------------------------------------------------------------------------------------
# 申领 and issuance
# --------------------------------------------------------------------------------------------


def apply(ctx: CommandContext, body: ApplyIn) -> dict[str, Any]:
    """申领: a new card in the production pipeline (one per person; none while an issued card exists)."""
    check_item(ctx, "apply", "standard")
    # No row lock: two concurrent applications for one person are decided by the partial unique
    # index (the loser is retried and refused by the domain rule, see services.runner).
    person = find_person(ctx.session, body.person)
    if person is None:
        person = register_person(ctx, body.person)
    else:
        check_known_person_matches(person, body.person)
    _check_alive(person)
    check_presenter(ctx, body, person)
    bank = _bank_for_new_card(ctx, body.bank)
    check_change_scope(ctx, bank)
    cards = person_cards(ctx.session, person.id)
    for card in cards:
        expire_if_due(ctx.session, card, ctx.now, ctx.policy)
    check_one_card_rule(card_summaries(cards), Command.APPLY)
    transition = decide(SocialStatus.NO_CARD, Command.APPLY)
    card = _new_card(ctx, person, bank, transition.to_state)
    detail = {"batch": body.batch.model_dump()} if body.batch is not None else None
    transaction = record_transaction(
        ctx, body, item_code="apply", command="apply", person=person, card=card, details=detail
    )
    record_event(ctx, card, Command.APPLY.value, None, transaction=transaction, detail=detail)
    return outcome(ctx, "apply", transaction=transaction, person=person, card=card)


def _issue_target(ctx: CommandContext, body: IssueIn, command: Command) -> CardRow:
    """The card to issue: named, or the person's card in the pipeline (else their current card)."""
    if body.card is not None:
        return current_card(ctx, body.card)
    assert body.person is not None
    person = get_person(ctx.session, body.person)
    cards = person_cards(ctx.session, person.id)
    for states in (PIPELINE_STATES, ISSUED_STATES):
        for card in cards:
            if card.status in states and not card.known_duplicate:
                return current_card(ctx, CardRef(card_id=card.id))
    raise decide_refusal(SocialStatus.NO_CARD, command)


def decide_refusal(state: SocialStatus, command: Command) -> DomainError:
    """The domain's refusal for ``command`` in ``state`` (the table is the one source of wording)."""
    try:
        decide(state, command)
    except DomainError as refusal:
        return refusal
    raise AssertionError(f"{command} in {state} was expected to be refused")


def instant_issue(ctx: CommandContext, body: IssueIn) -> dict[str, Any]:
    """即时制卡: personalise a 预制卡 for an applied card (or the new card of a 补换卡)."""
    card = _issue_target(ctx, body, Command.INSTANT_ISSUE)
    outlet = ctx.actor.require_outlet()
    if card.replaces_card_id is not None:
        variant = "instant" if outlet.type is OutletType.BANK_OUTLET else "prefab_personalise"
        check_item(ctx, "replace", variant)
    else:
        check_item(ctx, "apply", "instant")
    check_change_scope(ctx, card.bank)
    person = person_of(ctx.session, card)
    check_presenter(ctx, body, person)
    transition = decide(
        status_of(card),
        Command.INSTANT_ISSUE,
        facts=card_facts(card, completes_exchange=completes_exchange(ctx.session, card)),
        policy=ctx.policy,
    )
    identifier = _read_identifier(body.card_identifier_read)
    _check_identifier_free(ctx, identifier)
    _check_name_fits_chip(person, body.spec_version)
    item = "replace" if card.replaces_card_id is not None else "apply"
    transaction = record_transaction(
        ctx,
        body,
        item_code=item,
        command="instant_issue",
        person=person,
        card=card,
        details={"card_identifier": identifier},
    )
    retired = retire_exchanged_card(ctx, card, transaction) if transition.retires_exchanged_card else None
    from_status = card.status
    _personalise(ctx, card, identifier, body.spec_version)
    apply_transition(card, transition, ctx.now)
    ctx.session.flush()
    record_event(ctx, card, Command.INSTANT_ISSUE.value, from_status, transaction=transaction)
    ctx.notices.append("请将卡号、发卡日期、有效期和持卡人信息写入芯片，随后为持卡人办理激活。")
    return outcome(
        ctx, "instant_issue", transaction=transaction, person=person, card=card, retired_card=retired
    )


def hand_over(ctx: CommandContext, body: IssueIn) -> dict[str, Any]:
    """领卡: hand a card made in a batch to its holder."""
    check_item(ctx, "apply", "hand_over")
    card = _issue_target(ctx, body, Command.HAND_OVER)
    check_change_scope(ctx, card.bank)
    person = person_of(ctx.session, card)
    check_presenter(ctx, body, person)
    transition = decide(
        status_of(card),
        Command.HAND_OVER,
        facts=card_facts(card, completes_exchange=completes_exchange(ctx.session, card)),
        policy=ctx.policy,
    )
    transaction = record_transaction(
        ctx, body, item_code="apply", command="hand_over", person=person, card=card
    )
    retired = retire_exchanged_card(ctx, card, transaction) if transition.retires_exchanged_card else None
    from_status = card.status
    card.issued_outlet_id = ctx.actor.outlet_id
    apply_transition(card, transition, ctx.now)
    ctx.session.flush()
    record_event(ctx, card, Command.HAND_OVER.value, from_status, transaction=transaction)
    return outcome(ctx, "hand_over", transaction=transaction, person=person, card=card, retired_card=retired)


# --------------------------------------------------------------------------------------------
# 激活, 挂失, 解挂
# --------------------------------------------------------------------------------------------


def activate(ctx: CommandContext, body: ActivateIn) -> dict[str, Any]:
    """激活: the social function (人社 windows, capable bank outlets) and/or the financial one (own bank)."""
    functions = list(dict.fromkeys(body.functions))
    for function in functions:
        check_item(ctx, "activate", function)
    card = current_card(ctx, body.card)
    check_change_scope(ctx, card.bank)
    person = person_of(ctx.session, card)
    check_presenter(ctx, body, person)
    state = status_of(card)
    social = None
    if "social" in functions:
        social = decide(state, Command.ACTIVATE, facts=card_facts(card), policy=ctx.policy)
    if "financial" in functions:
        if state not in PRE_LOSS_STATES:
            raise decide_refusal(state, Command.ACTIVATE)
        if card.financial_status != FinancialStatus.INACTIVE:
            raise DomainError(
                "financial_not_inactive",
                f"此卡金融功能状态为“{FinancialStatus(card.financial_status).label}”，不能激活。",
                "金融账户的挂失、冻结或销户请持卡人到发卡银行处理。",
            )
    transaction = record_transaction(
        ctx,
        body,
        item_code="activate",
        command="activate",
        person=person,
        card=card,
        details={"functions": functions},
    )
    if social is not None:
        from_status = card.status
        apply_transition(card, social, ctx.now)
        record_event(ctx, card, Command.ACTIVATE.value, from_status, transaction=transaction)
    if "financial" in functions:
        card.financial_status = FinancialStatus.ACTIVE.value
        card.updated_at = ctx.now
        record_event(
            ctx,
            card,
            "activate_financial",
            card.status,
            transaction=transaction,
            detail={"financial_status": FinancialStatus.ACTIVE.value},
        )
    return outcome(ctx, "activate", transaction=transaction, person=person, card=card)


def report_loss(ctx: CommandContext, body: ReportLossIn) -> dict[str, Any]:
    """挂失: 临时 (lifts itself after the policy's days) or 正式."""
    check_item(ctx, "report_loss", body.kind)
    command = Command.REPORT_LOSS_TEMP if body.kind == "temporary" else Command.REPORT_LOSS_FORMAL
    card = current_card(ctx, body.card)
    check_change_scope(ctx, card.bank)
    person = person_of(ctx.session, card)
    check_presenter(ctx, body, person)
    transition = decide(status_of(card), command, facts=card_facts(card), policy=ctx.policy)
    transaction = record_transaction(
        ctx, body, item_code="report_loss", command=command.value, person=person, card=card
    )
    from_status = card.status
    apply_transition(card, transition, ctx.now)
    record_event(ctx, card, command.value, from_status, transaction=transaction)
    if command is Command.REPORT_LOSS_TEMP:
        until = temp_loss_expires_at(ctx.now, ctx.policy)
        ctx.notices.append(f"临时挂失仅停用社保功能，将于 {until:%Y年%m月%d日 %H:%M} 自动解除。")
    return outcome(ctx, command.value, transaction=transaction, person=person, card=card)


def cancel_loss(ctx: CommandContext, body: CardCommandIn) -> dict[str, Any]:
    """解挂: back to the state before the loss (policy flags decide for 正式挂失)."""
    check_item(ctx, "cancel_loss")
    card = current_card(ctx, body.card)
    check_change_scope(ctx, card.bank)
    person = person_of(ctx.session, card)
    check_presenter(ctx, body, person)
    transition = decide(status_of(card), Command.CANCEL_LOSS, facts=card_facts(card), policy=ctx.policy)
    transaction = record_transaction(
        ctx, body, item_code="cancel_loss", command="cancel_loss", person=person, card=card
    )
    from_status = card.status
    apply_transition(card, transition, ctx.now)
    record_event(ctx, card, Command.CANCEL_LOSS.value, from_status, transaction=transaction)
    return outcome(ctx, "cancel_loss", transaction=transaction, person=person, card=card)


# --------------------------------------------------------------------------------------------
# 补换卡, 注销
# --------------------------------------------------------------------------------------------


def replace(ctx: CommandContext, body: ReplaceIn) -> dict[str, Any]:
    """补换卡: a new card (APPLIED, or issued on the spot); 补 retires the old card at once."""
    outlet = ctx.actor.require_outlet()
    variant = (
        "instant" if body.instant else ("prefab_handout" if outlet.type is OutletType.BANK_OUTLET else None)
    )
    check_item(ctx, "replace", variant)
    old = current_card(ctx, body.card)
    check_change_scope(ctx, old.bank)
    person = person_of(ctx.session, old)
    _check_alive(person)
    check_presenter(ctx, body, person)
    kind = ReplaceKind(body.kind)
    transition = decide(
        status_of(old),
        Command.REPLACE,
        facts=card_facts(old, replace_kind=kind, instant=body.instant),
        policy=ctx.policy,
    )
    check_one_card_rule(card_summaries(person_cards(ctx.session, person.id)), Command.REPLACE)
    assert transition.replacement is not None
    identifier = _read_identifier(body.card_identifier_read) if body.instant else None
    if identifier is not None:
        _check_identifier_free(ctx, identifier)
        _check_name_fits_chip(person, body.spec_version)
    transaction = record_transaction(
        ctx,
        body,
        item_code="replace",
        command="replace",
        person=person,
        card=old,
        details={"kind": kind.value, "reason": body.reason, "instant": body.instant},
    )
    # The old card first: it leaves the issued set (or is marked) before the new card enters.
    from_status = old.status
    apply_transition(old, transition, ctx.now)
    if not transition.replacement.old_card_replaced_now:
        old.replacement_applied = True
    ctx.session.flush()
    new = _new_card(ctx, person, old.bank, transition.replacement.new_card_state)
    new.replaces_card_id = old.id
    new.replace_kind = kind.value
    if identifier is not None:
        _personalise(ctx, new, identifier, body.spec_version)
    ctx.session.flush()
    transaction.details = {**(transaction.details or {}), "new_card_id": new.id}
    record_event(
        ctx,
        old,
        Command.REPLACE.value,
        from_status,
        transaction=transaction,
        detail={"new_card_id": new.id, "kind": kind.value},
    )
    record_event(
        ctx,
        new,
        Command.REPLACE.value,
        None,
        transaction=transaction,
        detail={"replaces_card_id": old.id, "kind": kind.value},
    )
    if transition.replacement.old_card_replaced_now:
        ctx.notices.append("原卡已停用。新卡的金融账户须到发卡银行激活，补贴发放账户随之变更。")
    else:
        ctx.notices.append("换卡：原卡在新卡发放前可继续使用。")
    return outcome(ctx, "replace", transaction=transaction, person=person, card=old, new_card=new)


def cancel_card(ctx: CommandContext, body: CancelCardIn) -> dict[str, Any]:
    """注销 (supervisor-confirmed); the bank closes the account itself."""
    check_item(ctx, "cancel_card")
    check_confirmation(ctx, "cancel_card", requested_by_holder=body.requester == "holder")
    card = current_card(ctx, body.card)
    check_change_scope(ctx, card.bank)
    person = person_of(ctx.session, card)
    if body.reason != "death":
        check_presenter(ctx, body, person)
    elif body.requester != "holder" and body.agent is None:
        raise invalid(
            "agent_required", "非本人办理时须登记代办人的姓名、证件和与持卡人的关系。", field="agent"
        )
    transition = decide(status_of(card), Command.CANCEL_CARD, facts=card_facts(card), policy=ctx.policy)
    details = {"reason": body.reason, "reason_label": _CANCEL_REASONS[body.reason], "note": body.note}
    transaction = record_transaction(
        ctx, body, item_code="cancel_card", command="cancel_card", person=person, card=card, details=details
    )
    from_status = card.status
    apply_transition(card, transition, ctx.now)
    card.replacement_applied = False
    if card.replaces_card_id is not None and card.replace_kind == ReplaceKind.EXCHANGE:
        _release_pending_exchange(ctx, card, transaction)
    record_event(
        ctx,
        card,
        Command.CANCEL_CARD.value,
        from_status,
        transaction=transaction,
        detail=details,
    )
    ctx.notices.append("社保卡已注销；金融账户由发卡银行办理销户。")
    return outcome(ctx, "cancel_card", transaction=transaction, person=person, card=card)


def _release_pending_exchange(ctx: CommandContext, new_card: CardRow, transaction: TransactionRow) -> None:
    """Cancelling the new card of a 换 leaves the old card usable without a pending replacement."""
    old = ctx.session.get(CardRow, new_card.replaces_card_id, with_for_update=True)
    if old is not None and old.replacement_applied:
        old.replacement_applied = False
        old.updated_at = ctx.now
        record_event(
            ctx,
            old,
            "replacement_withdrawn",
            old.status,
            transaction=transaction,
            detail={"cancelled_card_id": new_card.id},
        )
