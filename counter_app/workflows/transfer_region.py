"""社会保障卡参保地变更 (item 11): the insured region changes; the card stays (人社 windows only).

The region in the 卡识别码 never changes, so within Sichuan there is no new card; a person whose card
was issued in another province applies instead (申领). The 社会保险关系转移接续证明 is kept on file
(its number goes to the server with ``transfer_region``). Bank outlets never do this item (the
catalog refuses it before the flow starts).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from counter_app.domain.identity import region_name
from counter_app.workflows import forms, people
from counter_app.workflows.base import FieldKind, FieldSpec, InputInvalid, Page, StepDef, StepKind, refusal
from counter_app.workflows.common import ServiceFlow
from counter_app.workflows.people import text
from counter_app.workflows.proxy import ProxyRules

SICHUAN = "51"
_REGION = re.compile(r"^\d{6}$")
_REGION_HINT = "请录入 6 位行政区划代码，如 511102 市中区"


class TransferRegionFlow(ServiceFlow):
    """参保地变更."""

    item_code = "transfer_region"
    proxy_rules = ProxyRules(needs_principal_card=True)

    def needs_card(self) -> bool:
        return False

    def plan(self) -> Sequence[StepDef]:
        return [
            self.identify_step(),
            self.presenter_step(),
            self.materials_step(),
            self.transfer_step(),
            self.supervisor_step(),
            self.confirm_step(),
            self.command_step("transfer_region", "登记参保地变更", self._send),
            self.finish_step(),
        ]

    def after_person(self) -> None:
        card = people.issued_card(self.person or {})
        if card is None:
            return
        region = text(card, "card_identifier")[:6] or text(card, "issuing_region")
        if region and not region.startswith(SICHUAN):
            raise refusal(
                "card_from_other_province",
                f"此人的社会保障卡由外省（{region_name(region) or region}）发行，不能办理省内参保地变更。",
                "从外省转入的，请按规定办理申领。",
            )
        self.data["card"] = dict(card)

    def transfer_step(self) -> StepDef:
        def page() -> Page:
            fields = (
                FieldSpec("to_region", "现参保地（行政区划代码）", FieldKind.REGION),
                FieldSpec("certificate_number", "社会保险关系转移接续证明编号"),
            )
            return self.page("参保地变更", fields=fields, values=dict(self.data.get("transfer") or {}))

        def handle(answer: Mapping[str, Any]) -> None:
            to_region = str(answer.get("to_region") or "").strip()
            certificate = str(answer.get("certificate_number") or "").strip()
            if not _REGION.fullmatch(to_region):
                raise InputInvalid("region_invalid", "现参保地行政区划代码有误", _REGION_HINT)
            if not to_region.startswith(SICHUAN):
                where = region_name(to_region) or region_name(to_region[:2] + "0000") or to_region
                raise refusal(
                    "outside_sichuan",
                    f"{where}不在四川省内，不能办理省内参保地变更。",
                    "转往外省的，由转入地按其规定办理。",
                )
            if region_name(to_region) is None:
                raise InputInvalid("region_invalid", "现参保地行政区划代码有误", _REGION_HINT)
            if to_region == text(self.person, "insured_region"):
                raise InputInvalid("same_region", "现参保地与原参保地相同")
            if not certificate:
                raise InputInvalid("certificate_required", "请录入社会保险关系转移接续证明编号")
            self.data["transfer"] = {"to_region": to_region, "certificate_number": certificate}

        return StepDef("transfer", StepKind.CLERK_INPUT, page, handle)

    def _regions(self) -> tuple[str, str]:
        source = text(self.person, "insured_region")
        target = str((self.data.get("transfer") or {}).get("to_region") or "")
        return source, target

    def summary(self) -> list[tuple[str, str]]:
        source, target = self._regions()
        return [
            ("原参保地", f"{region_name(source) or ''}（{source}）"),
            ("现参保地", f"{region_name(target) or ''}（{target}）"),
        ]

    def _send(self) -> None:
        transfer = self.data["transfer"]
        self.send(
            "transfer_region",
            "transfer_region",
            {
                "person": people.person_ref(self.person or {}),
                "to_region": transfer["to_region"],
                "certificate_number": transfer["certificate_number"],
            },
        )

    def transaction_facts(self) -> forms.TransactionFacts:
        source, target = self._regions()
        return forms.TransactionFacts(
            result="已变更参保地",
            item_details={
                "from_region": f"{region_name(source) or ''}（{source}）" if source else "",
                "to_region": f"{region_name(target) or ''}（{target}）",
                "transfer_certificate": str(
                    (self.data.get("transfer") or {}).get("certificate_number") or ""
                ),
            },
            remarks="参保地变更不改变卡识别码，无需换卡",
            details={"commands": self.data.get("commands") or {}},
        )
