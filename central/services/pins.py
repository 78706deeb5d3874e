"""PIN services (密码服务): 密码修改 (audit only), 密码重置 and 解锁 (audited and counted).

The PIN itself never reaches the server: the card and the citizen's PIN pad handle it. The server
checks who may ask, records the act and counts resets and unblocks per card.
"""

from __future__ import annotations

from typing import Any, Literal

from central.models import CardRow
from central.schemas import CardCommandIn
from central.services.common import (
    CommandContext,
    active_custody,
    age_on,
    agent_id_number,
    check_change_scope,
    check_confirmation,
    check_item,
    check_presenter,
    current_card,
    person_of,
    record_event,
    record_transaction,
)
from central.services.outcome import outcome
from counter_app.domain.card_lifecycle import PRE_LOSS_STATES, SocialStatus
from counter_app.domain.errors import DomainError
from counter_app.domain.operators import Requester, check_pin_reset_requester

PinCommand = Literal["pin_change", "pin_reset", "pin_unblock"]


def _check_usable(card: CardRow) -> None:
    """PIN services need a card that was handed out and is not lost or finished (decision)."""
    if card.status not in PRE_LOSS_STATES:
        raise DomainError(
            "card_not_usable",
            f"此卡当前为{SocialStatus(card.status).label}状态，不能办理密码业务。",
            "挂失的卡请先解挂；已补换或注销的卡请在此人名下的有效卡上办理。",
        )


def pin_service(ctx: CommandContext, body: CardCommandIn, command: PinCommand) -> dict[str, Any]:
    """Record one PIN service after the rules allowed it."""
    if command == "pin_change":
        check_item(ctx, "pin_change")
        item = "pin_change"
    else:
        check_item(ctx, "pin_reset", "reset" if command == "pin_reset" else "unblock")
        item = "pin_reset"
    card = current_card(ctx, body.card)
    check_change_scope(ctx, card.bank)
    person = person_of(ctx.session, card)
    _check_usable(card)
    if command != "pin_change":
        custody = active_custody(ctx, person, agent_id_number(body))
        check_pin_reset_requester(
            Requester(body.requester),
            holder_is_minor=age_on(person.birth_date, ctx.today) < 18,
            custody_authorised=custody is not None,
        )
        check_confirmation(ctx, "pin_reset", requested_by_holder=body.requester == "holder")
    check_presenter(ctx, body, person)
    transaction = record_transaction(ctx, body, item_code=item, command=command, person=person, card=card)
    if command == "pin_reset":
        card.pin_resets += 1
    elif command == "pin_unblock":
        card.pin_unblocks += 1
    card.updated_at = ctx.now
    record_event(ctx, card, command, card.status, transaction=transaction)
    return outcome(
        ctx,
        command,
        transaction=transaction,
        person=person,
        card=card,
        data={"pin_resets": card.pin_resets, "pin_unblocks": card.pin_unblocks},
    )
