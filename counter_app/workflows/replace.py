"""社会保障卡补换卡 (item 10): 补 (lost; needs 正式挂失) or 换 (damaged, expired, 卡面信息变更).

Variants:

- ``instant`` (catalog; the original issuing bank's quick-issuance outlet): ``replace`` with
  ``instant`` and the 预制卡's 卡识别码, the chip written on the spot, then 激活;
- ``prefab_handout`` (catalog; the issuing bank's outlet without equipment): ``replace``, and a blank
  预制卡 is handed over for the 人社 window to personalise;
- ``prefab_personalise`` (catalog; 人社 window): ``instant_issue`` of the pending new card on the
  预制卡 the citizen brought, written on the spot, then 激活;
- ``standard`` (人社 window, not in the catalog — decision, 待确认): ``replace`` without a card now;
  the new card is made in a batch and collected (领卡). This is where 关键信息变更 leads.

A bank outlet replaces only its own bank's cards (scope). The old card per DOMAIN §3: 补 retires it
at once; 换 retires it when the new card is issued on the spot, else it stays usable until 领卡.

The holder's card, when it is in the reader at the start, is read (it identifies holder and card; 补
then is refused: the card is not lost); during instant issuance the clerk is then guided to take it
out and put the 预制卡 into the same reader (`issuance`). After 关键信息变更 the flow starts from the
follow-up's prefill: holder, presenter and reason (卡面信息变更) are not asked again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from counter_app.domain.card_lifecycle import (
    ISSUED_STATES,
    Command,
    ReplaceKind,
    SocialStatus,
    Transition,
    check_one_card_rule,
    decide,
)
from counter_app.domain.errors import DomainError
from counter_app.domain.operators import OutletType
from counter_app.workflows import forms, people
from counter_app.workflows.base import (
    Choice,
    FieldKind,
    FieldSpec,
    InputInvalid,
    Page,
    StepDef,
    StepFailed,
    StepKind,
    jsonable,
    refusal,
)
from counter_app.workflows.issuance import CardIssuing, check_name_fits
from counter_app.workflows.people import Record, text
from counter_app.workflows.proxy import ProxyRules

#: 补换原因 as the 业务受理表 prints them → (kind, the server's reason text).
REASONS: Mapping[str, tuple[ReplaceKind, str]] = {
    "补卡（遗失）": (ReplaceKind.REISSUE, "遗失"),
    "换卡（损坏）": (ReplaceKind.EXCHANGE, "损坏"),
    "换卡（有效期满）": (ReplaceKind.EXCHANGE, "有效期满"),
    "换卡（卡面信息变更）": (ReplaceKind.EXCHANGE, "卡面信息变更"),
}
STANDARD = Choice("standard", "受理补换卡（批量制卡，制卡完成后领卡）", "待确认")


class ReplaceFlow(CardIssuing):
    """补换卡."""

    item_code = "replace"
    proxy_rules = ProxyRules()

    def plan(self) -> Sequence[StepDef]:
        return [
            self.variant_step(),
            self.read_card_step(required=False).only_if(lambda: not self.personalising),
            self.identify_step(),
            self.select_card_step(),
            self.replacement_step(),
            self.presenter_step(),
            self.materials_step(),
            self.supervisor_step(),
            self.confirm_step(),
            self.command_step(
                "replace",
                "受理补换卡",
                self._replace,
                when=lambda: self.variant in ("prefab_handout", "standard"),
            ),
            self.take_out_step(),
            self.prefab_step(),
            self.issue_step(),
            self.write_step(),
            self.activation_choice_step(),
            self.set_pin_step(),
            self.activate_step(),
            self.finish_step(),
        ]

    # -- variants ------------------------------------------------------------------------

    def variant_choices(self) -> tuple[Choice, ...]:
        choices = super().variant_choices()
        if self.ctx.outlet.type is OutletType.HR_WINDOW:
            choices += (STANDARD,)
        return choices

    def check_variant(self, variant: str | None) -> None:
        if variant == STANDARD.value and self.ctx.outlet.type is not OutletType.HR_WINDOW:
            raise refusal("variant_not_offered", "银行网点补换卡请选择当场制卡或发放预制卡。")
        super().check_variant(variant)

    def issuing(self) -> bool:
        return self.variant in ("instant", "prefab_personalise")

    @property
    def personalising(self) -> bool:
        return self.variant == "prefab_personalise"

    # -- which card ----------------------------------------------------------------------

    def card_candidates(self) -> list[Record]:
        person = self.person or {}
        if self.personalising:
            return [
                c
                for c in people.cards(person)
                if people.status(c) is SocialStatus.APPLIED and c.get("replaces_card_id") is not None
            ]
        return [c for c in people.cards(person) if people.status(c) in ISSUED_STATES]

    def no_card(self) -> DomainError:
        if self.personalising:
            return refusal(
                "no_pending_replacement",
                "此人名下没有待制卡的补换卡申请，不能为其制作预制卡。",
                "请先到原发卡银行网点受理补换卡并领取预制卡。",
            )
        return super().no_card()

    def check_card(self, card: Record) -> None:
        super().check_card(card)
        if self.personalising:
            decide(
                people.status(card), Command.INSTANT_ISSUE, facts=people.facts(card), policy=self.ctx.policy
            )
            self.data["kind"] = text(card, "replace_kind") or "exchange"

    @property
    def kind(self) -> ReplaceKind | None:
        value = self.data.get("kind")
        return ReplaceKind(value) if value else None

    def transition(self) -> Transition:
        """The old card's transition (DOMAIN §3), as the domain's table decides it."""
        kind = self.kind
        assert kind is not None
        card = self.card or {}
        return decide(
            people.status(card),
            Command.REPLACE,
            facts=people.facts(card, replace_kind=kind, instant=self.variant == "instant"),
            policy=self.ctx.policy,
        )

    def replacement_step(self) -> StepDef:
        def page() -> Page:
            field = FieldSpec(
                "reason", "补换原因", FieldKind.CHOICE, choices=tuple(Choice(r, r) for r in REASONS)
            )
            reason = self.data.get("reason") or _reason_choice(self.prefill)
            return self.page("补换原因", fields=(field,), values={"reason": reason})

        def handle(answer: Mapping[str, Any]) -> None:
            reason = str(answer.get("reason") or "")
            if reason not in REASONS:
                raise InputInvalid("reason_required", "请选择补换原因")
            if REASONS[reason][0] is ReplaceKind.REISSUE and self.card_read is not None:
                raise InputInvalid(
                    "card_in_hand",
                    "已读到持卡人的原卡，卡片未遗失，不能办理补卡",
                    "原卡在手的请选择换卡（损坏、有效期满或卡面信息变更）",
                )
            self.data["reason"] = reason
            self.data["kind"] = REASONS[reason][0].value
            transition = self.transition()
            check_one_card_rule(people.summaries(self.person or {}), Command.REPLACE)
            assert transition.replacement is not None
            self.data["old_card_replaced_now"] = transition.replacement.old_card_replaced_now

        return StepDef(
            "replacement",
            StepKind.CLERK_INPUT,
            page,
            handle,
            when=lambda: not self.personalising and not self.data.get("reason_from_prefill"),
        )

    def apply_prefill(self) -> None:
        """换卡 after 关键信息变更: the reason is decided already (卡面信息变更), no page for it."""
        super().apply_prefill()
        reason = _reason_choice(self.prefill)
        if reason and self.person is not None and not self.personalising and self.card is not None:
            self.replacement_step().handle({"reason": reason})
            self.data["reason_from_prefill"] = True

    def prefab_prompt(self) -> str:
        if self.personalising:
            return "请将办事人带来的空白预制卡插入读卡器"
        if self.card_read is not None:
            return "请将空白预制卡插入同一读卡器（原卡已取出）"
        return super().prefab_prompt()

    def material_required(self, index: int, text: str) -> bool:
        if text.startswith("换卡的"):
            return self.kind is ReplaceKind.EXCHANGE
        return True

    def before_commit(self) -> None:
        if self.issuing():
            check_name_fits(text(self.person, "name"))

    def summary(self) -> list[tuple[str, str]]:
        rows = []
        if self.data.get("reason"):
            rows.append(("补换原因", str(self.data["reason"])))
        rows.append(("原卡", self.old_card_fate()))
        return rows

    def old_card_fate(self) -> str:
        if self.personalising:
            return (
                "新卡发放后原卡停用（已补换）" if self.kind is ReplaceKind.EXCHANGE else "原卡已于补卡时停用"
            )
        if self.data.get("old_card_replaced_now"):
            return "原卡即时停用（已补换）"
        return "原卡在新卡发放（领卡）前可继续使用"

    # -- the server ---------------------------------------------------------------------

    def replace_payload(self, **extra: Any) -> dict[str, Any]:
        reason = str(self.data.get("reason") or "")
        kind = self.kind
        assert kind is not None
        return {
            "card": people.card_ref(self.card or {}),
            "kind": kind.value,
            "reason": REASONS[reason][1],
            "instant": False,
            **extra,
        }

    def _replace(self) -> None:
        self.send("replace", "replace", self.replace_payload())

    def issue(self, prefab_card_id: str, spec_version: str) -> Record | None:
        if self.personalising:
            body = self.send(
                f"instant_issue:{prefab_card_id}",
                "instant_issue",
                {
                    "card": people.card_ref(self.card or {}),
                    "card_identifier_read": prefab_card_id,
                    "spec_version": spec_version,
                },
            )
            card = body.get("card")
        else:
            body = self.send(
                f"replace:{prefab_card_id}",
                "replace",
                self.replace_payload(
                    instant=True, card_identifier_read=prefab_card_id, spec_version=spec_version
                ),
            )
            card = body.get("new_card")
        if not isinstance(card, Mapping):
            raise StepFailed("issue_data_missing", "中心系统未返回新卡信息", "请联系社保卡管理中心")
        new_card: Record = jsonable(card)
        return new_card

    # -- the record ----------------------------------------------------------------------

    def transaction_facts(self) -> forms.TransactionFacts:
        card = self.card or {}
        details = {"bank": text(card, "bank")}
        if self.data.get("reason"):
            details["replace_reason"] = str(self.data["reason"])
        if self.personalising:
            old_number = ""
            details["new_card_number"] = text(self.new_card, "card_number")
        else:
            old_number = text(card, "card_number")
            details["old_card_number"] = old_number
            if self.new_card is not None:
                details["new_card_number"] = text(self.new_card, "card_number")
        details = {k: v for k, v in details.items() if v}
        activated = "，已激活" if self.data.get("activated") else ""
        remarks = [self.old_card_fate()]
        if self.variant == "prefab_handout":
            result = "已受理补换卡，已发放预制卡"
            remarks.append("请持预制卡和本受理表到人社社会保障卡服务窗口制卡")
        elif self.variant == "standard":
            result = "已受理补换卡，制卡完成后领卡"
        else:
            result = "已当场制卡" + activated
        return forms.TransactionFacts(
            result=result,
            variant=self.catalog_variant(self.variant) or "",
            item_details=details,
            remarks=self.remarks(*remarks),
            details={
                **self.issuance_details(),
                "old_card": old_number,
                "commands": self.data.get("commands") or {},
            },
        )

    def form_card(self) -> Record | None:
        return self.new_card or self.card


def _reason_choice(prefill: Mapping[str, Any]) -> str:
    wanted = prefill.get("replace_reason")
    for label, (_, reason) in REASONS.items():
        if reason == wanted:
            return label
    return ""
