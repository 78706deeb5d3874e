"""社会保障卡解挂 (item 9): lift a 临时 or 正式挂失; the card is read when it was found.

The table refuses what the server would: a card not lost; a 正式挂失 when the city's policy forbids
it; and a loss after a replacement was applied for (the old card must not come back to life).
"""

from __future__ import annotations

from collections.abc import Sequence

from counter_app.domain.card_lifecycle import LOSS_STATES, Command, SocialStatus, decide
from counter_app.domain.errors import DomainError
from counter_app.workflows import forms, people
from counter_app.workflows.base import StepDef, refusal
from counter_app.workflows.common import ServiceFlow
from counter_app.workflows.people import Record, text
from counter_app.workflows.proxy import ProxyRules


class CancelLossFlow(ServiceFlow):
    """解挂."""

    item_code = "cancel_loss"
    proxy_rules = ProxyRules(needs_principal_card=True)

    def plan(self) -> Sequence[StepDef]:
        return [
            self.read_card_step(required=False),
            self.identify_step(),
            self.select_card_step(),
            self.presenter_step(),
            self.materials_step(),
            self.supervisor_step(),
            self.confirm_step(),
            self.command_step("cancel_loss", "登记解挂", self._send),
            self.finish_step(),
        ]

    def card_candidates(self) -> list[Record]:
        person = self.person or {}
        return [c for c in people.cards(person) if people.status(c) in LOSS_STATES]

    def no_card(self) -> DomainError:
        return refusal("not_lost", "此人名下没有挂失中的社会保障卡，无需解挂。", "请核对证件和卡片。")

    def check_card(self, card: Record) -> None:
        super().check_card(card)
        decide(people.status(card), Command.CANCEL_LOSS, facts=people.facts(card), policy=self.ctx.policy)

    def material_required(self, index: int, text: str) -> bool:
        if "社会保障卡" in text and "找回" in text:
            return self.card_read is not None
        return True

    def _send(self) -> None:
        self.send("cancel_loss", "cancel_loss", {"card": people.card_ref(self.card or {})})

    def transaction_facts(self) -> forms.TransactionFacts:
        card = self.card or {}
        kind = "临时挂失" if people.status(card) is SocialStatus.TEMP_LOSS else "正式挂失"
        details = {"loss_kind": kind}
        reported = text(card, "loss_reported_at")[:10]
        if reported:
            details["loss_date"] = reported
        return forms.TransactionFacts(
            result="已解挂",
            item_details=details,
            remarks=self.remarks(),
            details={"commands": self.data.get("commands") or {}},
        )
