"""The answer of a command (办理结果), shaped as ``central.schemas.CommandOut``."""

from __future__ import annotations

from typing import Any

from central.models import CardRow, PersonRow, TransactionRow
from central.services.common import CommandContext
from central.services.views import card_view, command_label, person_summary


def outcome(
    ctx: CommandContext,
    command: str,
    *,
    transaction: TransactionRow | None = None,
    person: PersonRow | None = None,
    card: CardRow | None = None,
    new_card: CardRow | None = None,
    retired_card: CardRow | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    ctx.session.flush()
    policy = ctx.policy
    return {
        "command": command,
        "command_label": command_label(command),
        "acceptance_number": transaction.acceptance_number if transaction is not None else None,
        "transaction_id": transaction.id if transaction is not None else None,
        "person": person_summary(person) if person is not None else None,
        "card": card_view(card, policy) if card is not None else None,
        "new_card": card_view(new_card, policy) if new_card is not None else None,
        "retired_card": card_view(retired_card, policy) if retired_card is not None else None,
        "notices": list(ctx.notices),
        "alerts": list(ctx.alerts),
        "data": data or {},
    }
