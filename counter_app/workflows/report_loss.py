"""社会保障卡挂失 (item 8): 临时挂失 (7 days, social function; lifts itself) or 正式挂失.

The card is absent, so the holder is identified by 证件 and the card chosen among their issued
cards. The domain's table refuses what the server would (a card already lost, a final card …) before
``report_loss {temporary|formal}`` is sent. The receipt of a 临时挂失 shows until when it lasts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from counter_app.domain.card_lifecycle import ISSUED_STATES, Command, decide
from counter_app.workflows import forms, people
from counter_app.workflows.base import Choice, FieldKind, FieldSpec, Page, StepDef, StepKind
from counter_app.workflows.common import ServiceFlow
from counter_app.workflows.people import Record
from counter_app.workflows.proxy import ProxyRules

REASONS = (Choice("遗失", "遗失"), Choice("被盗", "被盗"), Choice("其他", "其他"))


class ReportLossFlow(ServiceFlow):
    """挂失."""

    item_code = "report_loss"
    proxy_rules = ProxyRules()

    def plan(self) -> Sequence[StepDef]:
        return [
            self.variant_step(),
            self.identify_step(),
            self.select_card_step(),
            self.presenter_step(),
            self.materials_step(),
            self.reason_step(),
            self.supervisor_step(),
            self.confirm_step(),
            self.command_step("report_loss", "登记挂失", self._send),
            self.finish_step(),
        ]

    @property
    def temporary(self) -> bool:
        return self.variant == "temporary"

    def card_candidates(self) -> list[Record]:
        person = self.person or {}
        return [c for c in people.cards(person) if people.status(c) in ISSUED_STATES]

    def check_card(self, card: Record) -> None:
        super().check_card(card)
        command = Command.REPORT_LOSS_TEMP if self.temporary else Command.REPORT_LOSS_FORMAL
        decide(people.status(card), command, facts=people.facts(card), policy=self.ctx.policy)

    def material_required(self, index: int, text: str) -> bool:
        return not (text.endswith("（正式挂失）") and self.temporary)

    def reason_step(self) -> StepDef:
        def page() -> Page:
            field = FieldSpec("reason", "挂失原因", FieldKind.CHOICE, required=False, choices=REASONS)
            return self.page(
                "挂失原因", fields=(field,), values={"reason": self.data.get("reason") or "遗失"}
            )

        def handle(answer: Mapping[str, Any]) -> None:
            self.data["reason"] = str(answer.get("reason") or "遗失")

        return StepDef("reason", StepKind.CLERK_INPUT, page, handle)

    def loss_until(self) -> str:
        if not self.temporary:
            return ""
        until = self.ctx.now() + timedelta(days=self.ctx.policy.temp_loss_days)
        return f"{until:%Y-%m-%d %H:%M}"

    def summary(self) -> list[tuple[str, str]]:
        rows = [("挂失原因", str(self.data.get("reason") or ""))]
        if self.temporary:
            rows.append(("临时挂失有效期至", self.loss_until()))
        return rows

    def _send(self) -> None:
        kind = "temporary" if self.temporary else "formal"
        self.send("report_loss", "report_loss", {"card": people.card_ref(self.card or {}), "kind": kind})

    def transaction_facts(self) -> forms.TransactionFacts:
        details = {"reason": str(self.data.get("reason") or "")}
        if self.temporary:
            details["loss_until"] = self.loss_until()
        return forms.TransactionFacts(
            result="已临时挂失" if self.temporary else "已正式挂失",
            variant=self.variant or "",
            item_details=details,
            remarks=self.remarks(),
            details={"commands": self.data.get("commands") or {}},
        )
