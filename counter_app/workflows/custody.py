"""代管代持授权 — registering a custodian for the card of one of the 四类人 (DOMAIN §6).

Not one of the twelve items: a procedure (``Catalog.procedures``) under the city's 管理办法. Only
for holders flagged as 低保户、特困群众、残疾人 or 建档立卡贫困户 (``vulnerable_group``); the
authorisation names the custodian (identity, relation), the reason and a validity period of at most
three years, and a supervisor confirms it (second sign-in). Decision (as the server): 人社 windows
only. Once registered, every flow for that holder shows it on every page (`ServiceFlow.banner`) and
only that custodian may act for the holder; a "custodian" without one is refused, and the refusal
page offers this procedure.

Steps: 核验持卡人 → 代管人与授权内容 → 材料 → 复核 → 确认 → ``authorise_custody`` → 登记回执.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from counter_app.domain.operators import check_operator_at_outlet
from counter_app.workflows import forms, people
from counter_app.workflows.base import (
    FieldKind,
    FieldSpec,
    InputInvalid,
    Page,
    StepDef,
    StepKind,
    refusal,
)
from counter_app.workflows.common import ServiceFlow, offline_refusal
from counter_app.workflows.identification import ID_TYPE_CHOICES
from counter_app.workflows.people import Record, text
from counter_app.workflows.proxy import Agent, Document, PresenterKind, ProxyRules

#: The longest authorisation before it must be renewed (the server's rule: three years).
MAX_DAYS = 3 * 366
#: The period offered by default (one year, to be renewed).
DEFAULT_DAYS = 365


class CustodyFlow(ServiceFlow):
    """代管代持授权."""

    item_code = "custody_authorisation"
    proxy_rules = ProxyRules(proxy_allowed=False)  # the custodian is recorded on its own page

    def plan(self) -> Sequence[StepDef]:
        return [
            self.identify_step(),
            self.custodian_step(),
            self.materials_step(),
            self.supervisor_step(),
            self.confirm_step(),
            self.command_step("authorise_custody", "登记代管代持授权", self._send),
            self.finish_step(),
        ]

    def check_preconditions(self) -> None:
        ctx = self.ctx
        check_operator_at_outlet(ctx.operator, ctx.outlet)
        self.item.check_access(
            role=ctx.operator.role.value, outlet_type=ctx.outlet.type.value, capabilities=ctx.capabilities
        ).raise_if_refused()
        refused = offline_refusal(self.item, offline=ctx.offline)
        if refused is not None:
            raise refused
        self.data["variant_fixed"] = True
        self.apply_prefill()

    def needs_card(self) -> bool:
        return False

    def after_person(self) -> None:
        person = self.person or {}
        if not person.get("vulnerable_group"):
            raise refusal(
                "custody_not_eligible",
                "代管代持只适用于低保户、特困群众、残疾人和建档立卡贫困户，此人不在其列。",
                "其他人员可由代办人按一次性代办规定办理。",
            )
        card = people.issued_card(person)
        if card is not None:
            self.data["card"] = dict(card)

    def needs_supervisor(self) -> bool:
        return True

    # -- the custodian and the authorisation ----------------------------------------------------

    @property
    def authorisation(self) -> Record:
        value = self.data.get("authorisation")
        return value if isinstance(value, Mapping) else {}

    def custodian_step(self) -> StepDef:
        def page() -> Page:
            today = self.ctx.today()
            fields = (
                FieldSpec("custodian_name", "代管人姓名"),
                FieldSpec("custodian_id_type", "代管人证件类型", FieldKind.CHOICE, choices=ID_TYPE_CHOICES),
                FieldSpec("custodian_id_number", "代管人证件号码", FieldKind.ID_NUMBER),
                FieldSpec("custodian_phone", "代管人联系电话", FieldKind.PHONE, required=False),
                FieldSpec("relation", "与持卡人关系", hint="如 子女、兄弟姐妹、村委会指定"),
                FieldSpec("reason", "代管代持事由", hint="如 持卡人重度残疾，无法自行使用社保卡"),
                FieldSpec("valid_from", "授权开始日期", FieldKind.DATE),
                FieldSpec("valid_until", "授权结束日期", FieldKind.DATE, hint="最长三年"),
            )
            prefill = self.prefill
            values: dict[str, Any] = {
                "custodian_name": prefill.get("custodian_name") or "",
                "custodian_id_type": prefill.get("custodian_id_type") or "resident_id",
                "custodian_id_number": prefill.get("custodian_id_number") or "",
                "custodian_phone": prefill.get("custodian_phone") or "",
                "relation": prefill.get("relation") or "",
                "valid_from": today.isoformat(),
                "valid_until": (today + timedelta(days=DEFAULT_DAYS)).isoformat(),
            }
            values.update(self.data.get("custodian_answer") or {})
            group = people.vulnerable_label(self.person)
            return self.page(
                "代管人与授权内容",
                prompt=f"持卡人属于{group}。请核验代管人证件，录入代管事由和授权期限（最长三年）",
                fields=fields,
                values=values,
            )

        def handle(answer: Mapping[str, Any]) -> None:
            self.data["custodian_answer"] = {k: v for k, v in answer.items() if isinstance(v, str)}
            today = self.ctx.today()
            name = str(answer.get("custodian_name") or "").strip()
            id_type = str(answer.get("custodian_id_type") or "resident_id")
            relation = str(answer.get("relation") or "").strip()
            reason = str(answer.get("reason") or "").strip()
            start = people.as_date(answer.get("valid_from"))
            until = people.as_date(answer.get("valid_until"))
            if not name:
                raise InputInvalid("custodian_required", "请录入代管人姓名")
            number = people.third_party_id(
                id_type,
                str(answer.get("custodian_id_number") or ""),
                today,
                whose="代管人",
                code="custodian_id_invalid",
            )
            holder = self.person or {}
            if (id_type, number) == (
                text(holder, "id_type") or "resident_id",
                text(holder, "id_number"),
            ):
                raise InputInvalid("custodian_is_holder", "代管人不能是持卡人本人")
            if not relation:
                raise InputInvalid("relation_required", "请录入代管人与持卡人的关系")
            if not reason:
                raise InputInvalid("reason_required", "请录入代管代持事由")
            if start is None or until is None:
                raise InputInvalid("period_invalid", "请录入授权开始和结束日期（如 2026-11-27）")
            if start < today:
                raise InputInvalid("period_invalid", "授权开始日期不能早于今天")
            if until < start or (until - start).days > MAX_DAYS:
                raise InputInvalid(
                    "period_invalid", "授权期限须从开始日期起不超过三年，且结束日期不早于开始日期"
                )
            phone = str(answer.get("custodian_phone") or "").strip()
            agent = Agent(name, id_type, number, relation, phone)
            self.data["authorisation"] = {
                "reason": reason,
                "valid_from": start.isoformat(),
                "valid_until": until.isoformat(),
            }
            self.data["presenter"] = {
                "kind": PresenterKind.CUSTODIAN.value,
                "agent": agent.to_dict(),
                "documents": sorted(
                    d.value for d in (Document.AGENT_ID, Document.PRINCIPAL_ID, Document.CUSTODY)
                ),
                "batch": None,
                "custody": None,
            }
            existing = people.custody_for(holder, id_type, number, today, agent_name=name)
            if existing is not None:
                self.note(
                    f"此代管人已有有效授权（至 {text(existing, 'valid_until')}），本次登记为续期或变更。"
                )

        return StepDef("custodian", StepKind.CLERK_INPUT, page, handle)

    def summary(self) -> list[tuple[str, str]]:
        auth = self.authorisation
        return [
            ("持卡人类别", people.vulnerable_label(self.person)),
            ("代管代持事由", text(auth, "reason")),
            ("授权有效期", f"{text(auth, 'valid_from')} 至 {text(auth, 'valid_until')}"),
        ]

    def _send(self) -> None:
        auth = self.authorisation
        agent = self.presenter.agent
        assert agent is not None
        self.send(
            "authorise_custody",
            "authorise_custody",
            {
                "person": people.person_ref(self.person or {}),
                "custodian": {
                    "name": agent.name,
                    "id_type": agent.id_type,
                    "id_number": agent.id_number,
                    "phone": agent.phone or None,
                },
                "relation": agent.relation,
                "reason": auth["reason"],
                "valid_from": auth["valid_from"],
                "valid_until": auth["valid_until"],
            },
        )

    def transaction_facts(self) -> forms.TransactionFacts:
        auth = self.authorisation
        group = people.vulnerable_label(self.person)
        details = {
            "valid_period": f"{text(auth, 'valid_from')} 至 {text(auth, 'valid_until')}",
            "custody_reason": text(auth, "reason"),
            "supervisor": str(self.data.get("supervisor") or ""),
        }
        if group in ("低保户", "特困群众", "残疾人", "建档立卡贫困户"):
            details["holder_group"] = group
        return forms.TransactionFacts(
            result="已登记代管代持授权",
            item_details=details,
            remarks=self.remarks("此后非本人办理此卡业务只能由本授权代管人持本人证件办理"),
            details={"authorisation": dict(auth), "commands": self.data.get("commands") or {}},
        )

    def valid_until(self) -> date | None:
        return people.as_date(self.authorisation.get("valid_until"))
