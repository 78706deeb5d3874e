"""社会保障卡非关键信息变更 (item 4): phone and address, accepted even when the server is away.

No card work and no waiting on the server: the change is recorded with its ``change_contact``
message in the outbox (one ``Journal.record``), and the relay delivers it; the 业务受理表 says
已受理，待上传确认. Offline, the holder is found in the local replica, or typed in from the 证件.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from counter_app.workflows import forms, people
from counter_app.workflows.base import FieldKind, FieldSpec, InputInvalid, Page, StepDef, StepKind
from counter_app.workflows.common import ServiceFlow
from counter_app.workflows.people import Record, text
from counter_app.workflows.ports import FieldChange
from counter_app.workflows.proxy import ProxyRules

_MOBILE = re.compile(r"^1\d{10}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


def check_phone(phone: str) -> str:
    """A mainland mobile (11 digits) or landline number, spaces removed; InputInvalid otherwise."""
    value = re.sub(r"[\s\u3000]", "", phone)
    if not (_MOBILE.fullmatch(value) or _LANDLINE.fullmatch(value)):
        raise InputInvalid("phone_invalid", "联系电话格式有误", "手机号为 11 位数字；固定电话如 0833-2101916")
    return value


class ChangeContactFlow(ServiceFlow):
    """非关键信息变更 (queued)."""

    item_code = "change_contact"
    proxy_rules = ProxyRules()

    def needs_card(self) -> bool:
        return False

    def plan(self) -> Sequence[StepDef]:
        return [
            self.identify_step(),
            self.presenter_step(),
            self.materials_step(),
            self.contact_step(),
            self.supervisor_step(),
            self.confirm_step(),
            self.finish_step(),
        ]

    def lookup_person(self, id_type: str, id_number: str) -> Record | None:
        if not self.ctx.offline:
            return super().lookup_person(id_type, id_number)
        return self.replica_person(id_type, id_number)

    def person_not_found(self, id_type: str, id_number: str) -> Record:
        if not self.ctx.offline:
            return super().person_not_found(id_type, id_number)
        self.note("离线办理：本地数据副本中没有此人，请按证件录入姓名；上传后由中心系统核对。")
        return {"id_type": id_type, "id_number": id_number, "unverified": True}

    def after_person(self) -> None:
        card = people.issued_card(self.person or {})
        if card is not None:
            self.data["card"] = dict(card)

    def contact_step(self) -> StepDef:
        def page() -> Page:
            fields = [
                FieldSpec("phone", "新联系电话", FieldKind.PHONE, required=False),
                FieldSpec("address", "新联系地址", required=False),
            ]
            if (self.person or {}).get("unverified"):
                fields.insert(0, FieldSpec("name", "姓名"))
            values = dict(self.data.get("contact") or {})
            return self.page(
                "变更内容",
                prompt="填写需要变更的联系电话和（或）联系地址",
                fields=tuple(fields),
                values=values,
            )

        def handle(answer: Mapping[str, Any]) -> None:
            person = dict(self.person or {})
            contact: dict[str, str] = {}
            phone = str(answer.get("phone") or "").strip()
            address = str(answer.get("address") or "").strip()
            if phone:
                contact["phone"] = check_phone(phone)
            if address:
                contact["address"] = address
            contact = {k: v for k, v in contact.items() if v != text(person, k)}
            if not contact:
                raise InputInvalid("no_change", "没有填写需要变更的联系电话或地址")
            if person.get("unverified"):
                name = str(answer.get("name") or "").strip()
                if not name:
                    raise InputInvalid("name_required", "请按证件录入姓名")
                person["name"] = name
                self.data["person"] = person
            self.data["contact"] = contact

        return StepDef("contact", StepKind.CLERK_INPUT, page, handle)

    def summary(self) -> list[tuple[str, str]]:
        labels = {"phone": "联系电话", "address": "联系地址"}
        contact = self.data.get("contact") or {}
        return [(labels[k], f"{text(self.person, k) or '（无）'} → {v}") for k, v in contact.items()]

    def transaction_facts(self) -> forms.TransactionFacts:
        contact: dict[str, str] = dict(self.data.get("contact") or {})
        person = self.person or {}
        changes = tuple(
            FieldChange(
                {"phone": "联系电话", "address": "联系地址"}[k],
                text(person, k),
                v,
                "phone" if k == "phone" else "",
            )
            for k, v in contact.items()
        )
        payload = {
            "acceptance_number": self.acceptance_number(),
            **self.presenter_payload(),
            "person": people.person_ref(person),
            **contact,
        }
        return forms.TransactionFacts(
            result="已受理，待上传确认",
            changes=changes,
            server_command="change_contact",
            server_payload=payload,
            queued=True,
            remarks=self.remarks(),
        )
