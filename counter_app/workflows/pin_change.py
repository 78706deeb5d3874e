"""社会保障卡密码修改 (item 6): the holder changes the PIN on the pad; works offline (audit only).

Only the holder may do it (不可代办: the PIN is typed by the holder). The card must be in the reader;
the old and the new PIN are typed on the citizen's pad (the new one twice; it may not be the initial
PIN). The PIN itself never leaves the card and the pad; the 业务流水 (who, which card, when) is
queued for the server like any record, so it also works offline. A wrong old PIN leaves the step to
retry (tries left shown); a locked PIN refuses with the hint to 解锁.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from counter_app.card.errors import PinBlocked
from counter_app.domain.card_lifecycle import FINAL_STATES
from counter_app.workflows import forms, people, pins
from counter_app.workflows.base import Page, StepDef, StepKind, refusal
from counter_app.workflows.common import ServiceFlow
from counter_app.workflows.people import Record
from counter_app.workflows.proxy import ProxyRules


class PinChangeFlow(ServiceFlow):
    """密码修改."""

    item_code = "pin_change"
    proxy_rules = ProxyRules(proxy_allowed=False)

    def plan(self) -> Sequence[StepDef]:
        return [
            self.read_card_step(required=True),
            self.materials_step(),
            self.confirm_step(),
            self.change_step(),
            self.finish_step(),
        ]

    def check_card(self, card: Record) -> None:
        super().check_card(card)
        if card.get("status") and people.status(card) in FINAL_STATES:
            raise refusal(
                "card_not_valid",
                f"此卡状态为{people.status(card).label}，已不再有效，不能修改密码。",
                "请在此人名下当前有效的卡上办理。",
            )

    def change_step(self) -> StepDef:
        def page() -> Page:
            return self.page(
                "修改密码",
                prompt="请持卡人在密码键盘输入原密码，再输入新密码两次",
                progress="等待持卡人在密码键盘输入……",
            )

        def handle(answer: Mapping[str, Any]) -> None:
            card = self.ctx.card()
            try:
                with self.device("修改密码"):
                    pins.change(self.ctx, card)
            except Exception as error:
                if isinstance(error.__cause__, PinBlocked):
                    raise refusal(
                        "pin_blocked", "此卡密码已锁定，不能修改密码。", "请办理密码解锁（或密码重置）。"
                    ) from error
                raise
            self.data["changed"] = True
            self.commit()

        return StepDef("change_pin", StepKind.PORT, page, handle)

    def transaction_facts(self) -> forms.TransactionFacts:
        payload = {
            "acceptance_number": self.acceptance_number(),
            **self.presenter_payload(),
            "card": people.card_ref(self.card or {}),
        }
        return forms.TransactionFacts(
            result="密码已修改",
            item_details={"pin_entry": "持卡人本人在密码键盘输入原密码和新密码"},
            server_command="pin_change",
            server_payload=payload,
            queued=True,
            remarks="离线办理，联网后上传中心" if self.ctx.offline else "",
        )
