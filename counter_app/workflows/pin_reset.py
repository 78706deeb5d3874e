"""社会保障卡密码重置 / 解锁 (item 7): two outcomes of one item.

- ``reset`` (密码重置, forgotten PIN): RELOAD PIN with the PSAM's MAC; the holder types the new PIN
  twice; the try counter is reset too.
- ``unblock`` (解锁, locked PIN): PIN UNBLOCK with the PSAM's MAC; the try counter is reset and the
  PIN stays what it was. Only a locked card (0 tries left) is unblocked.

Who may ask (DOMAIN §1): the holder; a guardian of a minor (with guardianship proof); an authorised
代管代持 custodian — the last two with a supervisor's confirmation. The server is asked first
(``pin_reset`` / ``pin_unblock``, counted; it refuses e.g. a card locked elsewhere in the province,
which is unlocked where it was locked), then the card. Re-running the card step after a crash or a
pull is harmless (RELOAD sets the same new PIN again, UNBLOCK resets the counter again).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from counter_app.domain.card_lifecycle import FINAL_STATES
from counter_app.domain.operators import check_pin_reset_requester
from counter_app.workflows import forms, people, pins
from counter_app.workflows.base import Page, StepDef, StepKind, refusal
from counter_app.workflows.common import ServiceFlow
from counter_app.workflows.people import Record
from counter_app.workflows.proxy import Presenter, PresenterKind, ProxyRules

_REQUESTER_CHOICE = {
    PresenterKind.HOLDER: "持卡人本人",
    PresenterKind.GUARDIAN: "未成年人监护人",
    PresenterKind.CUSTODIAN: "授权代管人",
}


class PinResetFlow(ServiceFlow):
    """密码重置 / 解锁."""

    item_code = "pin_reset"
    proxy_rules = ProxyRules(needs_principal_card=True)

    def plan(self) -> Sequence[StepDef]:
        return [
            self.variant_step(),
            self.read_card_step(required=True),
            self.presenter_step(),
            self.materials_step(),
            self.supervisor_step(),
            self.confirm_step(),
            self.command_step("server", "向中心登记", self._server),
            self.card_step(),
            self.finish_step(),
        ]

    @property
    def command(self) -> str:
        return "pin_unblock" if self.variant == "unblock" else "pin_reset"

    def check_card(self, card: Record) -> None:
        super().check_card(card)
        if card.get("status") and people.status(card) in FINAL_STATES:
            raise refusal(
                "card_not_valid",
                f"此卡状态为{people.status(card).label}，已不再有效，不能办理密码重置或解锁。",
                "请在此人名下当前有效的卡上办理。",
            )
        with self.device("读取密码剩余次数"):
            tries = self.ctx.card().pin_tries_left()
        self.data["tries_left"] = tries
        if self.variant == "unblock" and tries != 0:
            raise refusal(
                "pin_not_locked",
                "此卡密码未锁定" + (f"（还可尝试 {tries} 次）" if tries else "") + "，无需解锁。",
                "持卡人忘记密码的，请办理密码重置。",
            )

    def presenter_kinds(self) -> tuple[PresenterKind, ...]:
        return (PresenterKind.HOLDER, PresenterKind.GUARDIAN, PresenterKind.CUSTODIAN, PresenterKind.OTHER)

    def check_presenter_extra(self, presenter: Presenter) -> None:
        custody = presenter.kind is PresenterKind.CUSTODIAN
        check_pin_reset_requester(
            presenter.kind.requester,
            holder_is_minor=people.is_minor(self.person or {}, self.ctx.today()),
            custody_authorised=custody,
        )

    def before_commit(self) -> None:
        if self.variant != "unblock" and self.ctx.pin_pad.secure:
            raise refusal(
                "secure_pad_cannot_reload",
                "本柜台的安全密码键盘不向主机提供密码，不能办理密码重置（重置须由 PSAM 对新密码计算 MAC）。",
                "请到配备主机输入密码键盘的窗口办理，或联系信息科。",
            )

    def summary(self) -> list[tuple[str, str]]:
        tries = self.data.get("tries_left")
        return [("密码剩余次数", "已锁定" if tries == 0 else ("未知" if tries is None else str(tries)))]

    def _server(self) -> None:
        self.send(self.command, self.command, {"card": people.card_ref(self.card or {})})

    def card_step(self) -> StepDef:
        def page() -> Page:
            if self.variant == "unblock":
                return self.page("解锁", prompt="请勿取出卡片", progress="正在解锁……")
            return self.page(
                "重置密码",
                prompt="请持卡人在密码键盘输入新密码两次（不能使用初始密码）",
                progress="等待持卡人在密码键盘输入……",
            )

        def handle(answer: Mapping[str, Any]) -> None:
            card = self.ctx.card()
            with self.device("解锁" if self.variant == "unblock" else "重置密码"):
                if self.variant == "unblock":
                    card.unblock_pin()
                else:
                    pins.reload(self.ctx, card)
            self.data["card_done"] = True

        return StepDef("card", StepKind.PORT, page, handle)

    def transaction_facts(self) -> forms.TransactionFacts:
        presenter = self.presenter
        details = {"requester": _REQUESTER_CHOICE.get(presenter.kind, "")}
        if self.data.get("supervisor"):
            details["supervisor"] = str(self.data["supervisor"])
        details = {k: v for k, v in details.items() if v}
        result = "已解锁（密码未变）" if self.variant == "unblock" else "密码已重置"
        return forms.TransactionFacts(
            result=result,
            variant=self.variant or "",
            item_details=details,
            remarks=self.remarks(),
            details={
                "tries_left_before": self.data.get("tries_left"),
                "commands": self.data.get("commands") or {},
            },
        )
