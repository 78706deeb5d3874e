"""社会保障卡激活 (item 2): the holder sets a new PIN on the pad, the server activates the function.

Variants (catalog): ``social`` — 社保功能, at 人社 windows and at bank outlets whose
``can_activate_social`` is set; ``financial`` — 金融功能, at the card's own bank's outlets only (the
bank's 金融密码 is the bank terminal's business, never this workstation's). The card is read first
(it must be in the reader); the life cycle refuses an active, lost, replaced or cancelled card.
Order: the PIN first (the initial PIN may not stay), then ``activate``; a crash between them is
resumed by asking the holder for the new PIN once (see `CardIssuing.set_pin_step`).
"""

from __future__ import annotations

from collections.abc import Sequence

from counter_app.domain.card_lifecycle import ISSUED_STATES, LOSS_STATES, Command, decide
from counter_app.workflows import forms, people
from counter_app.workflows.base import StepDef
from counter_app.workflows.issuance import CardIssuing
from counter_app.workflows.people import Record, text
from counter_app.workflows.proxy import ProxyRules

_FUNCTION_LABELS = {"social": "社保功能", "financial": "金融功能"}


class ActivateFlow(CardIssuing):
    """激活."""

    item_code = "activate"
    proxy_rules = ProxyRules(needs_principal_card=True)

    def plan(self) -> Sequence[StepDef]:
        return [
            self.variant_step(),
            self.read_card_step(required=True),
            self.presenter_step(),
            self.materials_step(),
            self.supervisor_step(),
            self.confirm_step(),
            self.set_pin_step(),
            self.activate_step(),
            self.finish_step(),
        ]

    def check_card(self, card: Record) -> None:
        """社保功能: the life-cycle table (ISSUED_INACTIVE → ACTIVE). 金融功能 is the bank's status
        (DOMAIN §3), so the social status only has to be a live, issued card."""
        super().check_card(card)
        state = people.status(card)
        if self.variant == "social" or state not in ISSUED_STATES - LOSS_STATES:
            decide(state, Command.ACTIVATE, facts=people.facts(card), policy=self.ctx.policy)

    def activation_functions(self) -> list[str]:
        return [self.variant] if self.variant else []

    def before_commit(self) -> None:
        self.data["activate_now"] = True

    def summary(self) -> list[tuple[str, str]]:
        return [("激活", _FUNCTION_LABELS.get(self.variant or "", ""))]

    def transaction_facts(self) -> forms.TransactionFacts:
        label = _FUNCTION_LABELS.get(self.variant or "", "")
        details: dict[str, str] = {}
        if self.data.get("pin_state") == "set":
            details["pin_set"] = "持卡人已在密码键盘设置新密码"
        elif self.data.get("pin_state") == "kept":
            details["pin_set"] = "此卡密码已非初始密码，持卡人核对后保留"
        tail = text(self.card, "account_masked")[-4:]
        if self.variant == "financial" and tail:
            details["bank_account_tail"] = tail
        if self.data.get("activated"):
            result = f"已激活{label}"
        else:
            problem = (self.data.get("activation_problem") or {}).get("message", "")
            result = f"未激活{label}：{problem}" if problem else f"未激活{label}"
        return forms.TransactionFacts(
            result=result,
            variant=self.variant or "",
            item_details=details,
            remarks=self.remarks(),
            details={"commands": self.data.get("commands") or {}},
        )
