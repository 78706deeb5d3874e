"""社会保障卡关键信息变更 (item 3): 姓名, 证件号码, 性别, 民族, 出生日期 changed in the system.

No card work: the change is made on the server (``change_key_info``, with the evidence on file);
the face of the card no longer matches, so the flow ends with a follow-up into 补换卡 (换卡, reason
卡面信息变更) prefilled for the same person. The new values are checked like any 证件 (the new
公民身份号码 must agree with the sex and birth date); a new name that cannot go on the chip is
accepted in the system and the clerk is told the new card cannot be made on the spot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from counter_app.domain.identity import Sex, check_document, chip_name_fit, ethnicity_name
from counter_app.workflows import forms, people
from counter_app.workflows.base import (
    Choice,
    FieldKind,
    FieldSpec,
    FollowUp,
    InputInvalid,
    Page,
    StepDef,
    StepKind,
)
from counter_app.workflows.common import ServiceFlow
from counter_app.workflows.people import Record, text
from counter_app.workflows.ports import FieldChange
from counter_app.workflows.proxy import ProxyRules

_LABELS = {
    "name": "姓名",
    "new_id_number": "证件号码",
    "sex": "性别",
    "ethnicity": "民族",
    "birth_date": "出生日期",
}


class ChangeKeyInfoFlow(ServiceFlow):
    """关键信息变更 → 换卡."""

    item_code = "change_key_info"
    proxy_rules = ProxyRules(needs_principal_card=True)

    def needs_card(self) -> bool:
        return False

    def plan(self) -> Sequence[StepDef]:
        return [
            self.identify_step(),
            self.presenter_step(),
            self.materials_step(),
            self.changes_step(),
            self.supervisor_step(),
            self.confirm_step(),
            self.command_step("change_key_info", "提交关键信息变更", self._send),
            self.finish_step(),
        ]

    def after_person(self) -> None:
        card = people.issued_card(self.person or {})
        if card is not None:
            self.data["card"] = dict(card)

    @property
    def changes(self) -> dict[str, str]:
        return dict(self.data.get("changes") or {})

    def changes_step(self) -> StepDef:
        def page() -> Page:
            fields = (
                FieldSpec("name", "新姓名", required=False),
                FieldSpec("new_id_number", "新证件号码", FieldKind.ID_NUMBER, required=False),
                FieldSpec(
                    "sex",
                    "新性别",
                    FieldKind.CHOICE,
                    required=False,
                    choices=(Choice("1", "男"), Choice("2", "女")),
                ),
                FieldSpec("ethnicity", "新民族代码", required=False),
                FieldSpec("birth_date", "新出生日期", FieldKind.DATE, required=False),
                FieldSpec("evidence", "变更依据", hint="户口簿、公安机关证明等"),
            )
            values = {**self.changes, "evidence": self.data.get("evidence") or ""}
            return self.page("变更内容", prompt="只填写需要变更的项目", fields=fields, values=values)

        def handle(answer: Mapping[str, Any]) -> None:
            person = self.person or {}
            today = self.ctx.today()
            changes = {k: str(answer.get(k) or "").strip() for k in _LABELS}
            changes = {k: v for k, v in changes.items() if v and v != self._old(k)}
            evidence = str(answer.get("evidence") or "").strip()
            if not changes:
                raise InputInvalid("no_change", "没有填写需要变更的项目")
            if not evidence:
                raise InputInvalid("evidence_required", "请录入变更依据（户口簿、公安机关证明等）")
            if "sex" in changes and changes["sex"] not in ("1", "2"):
                raise InputInvalid("sex_invalid", "请选择性别")
            if "ethnicity" in changes and ethnicity_name(changes["ethnicity"]) is None:
                raise InputInvalid("ethnicity_invalid", "民族代码有误", "请录入 GB 3304 两位民族代码")
            if "birth_date" in changes:
                born = people.as_date(changes["birth_date"])
                if born is None or born > today:
                    raise InputInvalid("birth_date_invalid", "出生日期有误")
                changes["birth_date"] = born.isoformat()
            id_type = text(person, "id_type") or "resident_id"
            kind = people.ID_TYPES.get(id_type)
            number = changes.get("new_id_number") or text(person, "id_number")
            if kind is not None:
                sex_code = changes.get("sex") or text(person, "sex")
                sex = Sex(sex_code) if sex_code in ("1", "2") else None
                check = check_document(kind, number, sex=sex, today=today)
                if check.blocking:
                    reasons = "；".join(f.message for f in check.failures if f.blocking)
                    raise InputInvalid(
                        "id_number_invalid", f"证件号码与其他信息不符：{reasons}", "请对照证件核对"
                    )
                if "new_id_number" in changes:
                    changes["new_id_number"] = check.value
                birth = changes.get("birth_date") or text(person, "birth_date")
                if check.birth_date is not None and birth and check.birth_date.isoformat() != birth[:10]:
                    raise InputInvalid("birth_date_mismatch", "出生日期与公民身份号码不符")
            if "name" in changes:
                fit = chip_name_fit(changes["name"])
                if not fit.fits:
                    self.note(f"新姓名：{fit.message}；换卡时不能当场制卡。")
            self.data["changes"] = changes
            self.data["evidence"] = evidence

        return StepDef("changes", StepKind.CLERK_INPUT, page, handle)

    def _old(self, key: str) -> str:
        return text(self.person, "id_number" if key == "new_id_number" else key)

    @staticmethod
    def _shown(key: str, value: str) -> str:
        """性别 and 民族 by name, as the form prints them."""
        if key == "sex":
            return people.sex_label(value) or value
        if key == "ethnicity":
            return ethnicity_name(value) or value
        return value

    def summary(self) -> list[tuple[str, str]]:
        return [
            (f"{_LABELS[k]}变更", f"{self._shown(k, self._old(k))} → {self._shown(k, v)}")
            for k, v in self.changes.items()
        ] + [("变更依据", str(self.data.get("evidence") or ""))]

    def _send(self) -> None:
        payload: dict[str, Any] = {
            "person": people.person_ref(self.person or {}),
            "evidence": self.data["evidence"],
        }
        payload.update(self.changes)
        self.send("change_key_info", "change_key_info", payload)

    def follow_up(self) -> FollowUp | None:
        card: Record | None = self.card
        if card is None:
            return None
        person = self.person or {}
        return FollowUp(
            "replace",
            "换卡（卡面信息变更）",
            variant="standard",  # 人社 window: the new card is made in a batch (no prefab brought yet)
            prefill={
                "id_type": text(person, "id_type") or "resident_id",
                "id_number": self.changes.get("new_id_number") or text(person, "id_number"),
                "identified": True,
                "presenter_answer": dict(self.data.get("presenter_answer") or {"requester": "holder"}),
                "replace_kind": "exchange",
                "replace_reason": "卡面信息变更",
            },
        )

    def transaction_facts(self) -> forms.TransactionFacts:
        changes = tuple(
            FieldChange(
                _LABELS[k],
                self._shown(k, self._old(k)),
                self._shown(k, v),
                "id" if k == "new_id_number" else "",
            )
            for k, v in self.changes.items()
        )
        follow = "卡面信息已与系统不一致，须办理换卡（卡面信息变更）" if self.card is not None else ""
        return forms.TransactionFacts(
            result="已变更",
            item_details={"follow_up": follow} if follow else {},
            changes=changes,
            remarks=f"变更依据：{self.data.get('evidence') or ''}",
            details={"commands": self.data.get("commands") or {}},
        )
