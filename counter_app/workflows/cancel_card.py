"""社会保障卡注销 (item 12): death, settling abroad, a duplicate card, the old card after 补卡.

人社 windows only; a supervisor confirms every 注销 (DOMAIN §1). The card is read if it is there.
When the holder died, a close relative presents the case as an agent with the death certificate.
The bank closes the financial account itself; the receipt says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from counter_app.domain.card_lifecycle import Command, decide
from counter_app.workflows import forms, people
from counter_app.workflows.base import Choice, FieldKind, FieldSpec, InputInvalid, Page, StepDef, StepKind
from counter_app.workflows.common import ServiceFlow
from counter_app.workflows.people import Record
from counter_app.workflows.proxy import Presenter, ProxyRules

#: The server's reason codes → what the 业务受理表 prints (None: printed in the remarks).
REASONS: Mapping[str, tuple[str, str | None]] = {
    "death": ("持卡人死亡", "持卡人死亡"),
    "abroad": ("出国（境）定居", "出国（境）定居"),
    "duplicate": ("重复持卡", "重复持卡"),
    "after_reissue": ("补卡后注销原卡", "补卡后注销原卡"),
    "other": ("其他", None),
}


class CancelCardFlow(ServiceFlow):
    """注销."""

    item_code = "cancel_card"
    proxy_rules = ProxyRules()

    def plan(self) -> Sequence[StepDef]:
        return [
            self.read_card_step(required=False),
            self.identify_step(),
            self.select_card_step(),
            self.reason_step(),
            self.presenter_step(),
            self.materials_step(),
            self.supervisor_step(),
            self.confirm_step(),
            self.command_step("cancel_card", "注销", self._send),
            self.finish_step(),
        ]

    @property
    def reason(self) -> str:
        return str(self.data.get("reason") or "")

    def check_card(self, card: Record) -> None:
        super().check_card(card)
        decide(people.status(card), Command.CANCEL_CARD, facts=people.facts(card), policy=self.ctx.policy)

    def reason_step(self) -> StepDef:
        def page() -> Page:
            fields = (
                FieldSpec(
                    "reason",
                    "注销原因",
                    FieldKind.CHOICE,
                    choices=tuple(Choice(k, v[0]) for k, v in REASONS.items()),
                ),
                FieldSpec("note", "说明", required=False),
            )
            return self.page(
                "注销原因", fields=fields, values={"reason": self.reason, "note": self.data.get("note") or ""}
            )

        def handle(answer: Mapping[str, Any]) -> None:
            reason = str(answer.get("reason") or "")
            if reason not in REASONS:
                raise InputInvalid("reason_required", "请选择注销原因")
            note = str(answer.get("note") or "").strip()
            if reason == "other" and not note:
                raise InputInvalid("note_required", "注销原因为“其他”时请填写说明")
            self.data["reason"] = reason
            self.data["note"] = note

        return StepDef("reason", StepKind.CLERK_INPUT, page, handle)

    def check_presenter_extra(self, presenter: Presenter) -> None:
        if self.reason == "death" and presenter.is_holder:
            raise InputInvalid("agent_required", "持卡人死亡的，由其近亲属作为代办人办理，请登记代办人")

    def material_required(self, index: int, text: str) -> bool:
        if text.startswith("持卡人死亡的"):
            return self.reason == "death"
        return "能提供的" not in text

    def summary(self) -> list[tuple[str, str]]:
        return [
            (
                "注销原因",
                REASONS[self.reason][0] + (f"（{self.data.get('note')}）" if self.data.get("note") else ""),
            )
        ]

    def _send(self) -> None:
        self.send(
            "cancel_card",
            "cancel_card",
            {
                "card": people.card_ref(self.card or {}),
                "reason": self.reason,
                "note": self.data.get("note") or None,
            },
        )

    def transaction_facts(self) -> forms.TransactionFacts:
        printed = REASONS[self.reason][1]
        details = {
            "supervisor": str(self.data.get("supervisor") or ""),
            "bank_notice": "金融账户由发卡银行另行办理销户",
        }
        if printed:
            details["cancel_reason"] = printed
        remarks: list[str] = []
        if self.data.get("note"):
            remarks.append(f"注销说明：{self.data['note']}")
        return forms.TransactionFacts(
            result="已注销",
            item_details=details,
            remarks=self.remarks(*remarks),
            details={"reason": self.reason, "commands": self.data.get("commands") or {}},
        )
