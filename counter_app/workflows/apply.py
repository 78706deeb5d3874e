"""社会保障卡申领 (item 1): application, instant issuance on a 预制卡, or 领卡 of a card made in batch.

Variants (catalog): ``standard`` — the application only (``apply``), the card is made in a batch
and collected later; ``instant`` — at an outlet with quick-issuance equipment, ``apply`` and
``instant_issue`` on a 预制卡 written on the spot, then 激活; ``hand_over`` — 领卡 of a card in
READY_FOR_PICKUP (``hand_over``), then 激活. A unit or school may apply for its people in a batch
(批量申领, with its letter and list); a person the city does not know yet is registered with the
application. One person, one card: the domain's one-card rule is checked before the server is asked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from counter_app.card import ReadScope
from counter_app.domain.card_lifecycle import Command, SocialStatus, check_one_card_rule, decide
from counter_app.domain.errors import DomainError
from counter_app.domain.identity import DocumentType, Sex, check_document, ethnicity_name, region_name
from counter_app.workflows import batch_apply, forms, people
from counter_app.workflows.base import (
    Choice,
    FieldKind,
    FieldSpec,
    InputInvalid,
    MaterialLine,
    Outcome,
    Page,
    Problem,
    StepDef,
    StepFailed,
    StepKind,
    jsonable,
    refusal,
)
from counter_app.workflows.card_moves import await_card, can_wait
from counter_app.workflows.identification import card_info
from counter_app.workflows.issuance import CardIssuing, check_name_fits
from counter_app.workflows.people import Record, text
from counter_app.workflows.proxy import PresenterKind, ProxyRules

SEX_CHOICES = (Choice("1", "男"), Choice("2", "女"))
INSERT_MADE_CARD = "请将此人待领取的社会保障卡插入读卡器核对"


class ApplyFlow(CardIssuing):
    """申领 / 即时制卡 / 领卡."""

    item_code = "apply"
    proxy_rules = ProxyRules(batch_allowed=True)

    def needs_card(self) -> bool:
        return self.variant == "hand_over"

    def plan(self) -> Sequence[StepDef]:
        single = lambda: not self.is_batch  # noqa: E731 (the steps of one applicant)
        return [
            self.variant_step(),
            batch_apply.batch_step(self),
            self.identify_step().only_if(single),
            self.select_card_step(),
            self.new_person_step(),
            self.presenter_step().only_if(single),
            self.materials_step(),
            self.application_step().only_if(single),
            self.supervisor_step(),
            self.confirm_step(),
            batch_apply.submit_step(self),
            self.command_step("apply", "提交申领", self._apply, when=lambda: self.variant == "standard"),
            self.prefab_step(),
            self.issue_step(),
            self.write_step(),
            self.hand_over_step(),
            self.activation_choice_step(),
            self.set_pin_step(),
            self.activate_step(),
            self.finish_step(),
        ]

    def issuing(self) -> bool:
        return self.variant == "instant"

    @property
    def is_batch(self) -> bool:
        """批量申领 by a unit or school from its applicant list."""
        return self.variant == batch_apply.BATCH.value

    def variant_choices(self) -> tuple[Choice, ...]:
        return (*super().variant_choices(), batch_apply.BATCH)

    def material_lines(self) -> tuple[MaterialLine, ...]:
        if self.is_batch:
            return batch_apply.material_lines()
        return super().material_lines()

    def confirm_rows(self) -> list[tuple[str, str]]:
        if self.is_batch:
            return batch_apply.confirm_rows(self)
        return super().confirm_rows()

    def finish_step(self) -> StepDef:
        single = super().finish_step()

        def handle(answer: Mapping[str, Any]) -> None:
            if self.is_batch:
                batch_apply.finish(self)
            else:
                single.handle(answer)

        return StepDef(single.key, single.kind, single.page, handle)

    def reprint(self) -> Outcome:
        if self.is_batch:
            return batch_apply.reprint(self)
        return super().reprint()

    def ready_for_activation(self) -> bool:
        return bool(self.data.get("written") or self.data.get("handed_over"))

    # -- who -------------------------------------------------------------------------------

    def person_not_found(self, id_type: str, id_number: str) -> Record:
        if self.variant == "hand_over":
            return super().person_not_found(id_type, id_number)
        return {"id_type": id_type, "id_number": id_number, "new": True, "cards": []}

    def card_candidates(self) -> list[Record]:
        person = self.person or {}
        return [c for c in people.cards(person) if people.status(c) is SocialStatus.READY_FOR_PICKUP]

    def no_card(self) -> DomainError:
        pipeline = [
            c
            for c in people.cards(self.person or {})
            if people.status(c) in (SocialStatus.APPLIED, SocialStatus.IN_PRODUCTION)
        ]
        if pipeline:
            return refusal(
                "card_not_ready",
                f"此人的卡尚未制成（{people.status(pipeline[0]).label}），不能领卡。",
                "请告知持卡人等待领卡通知。",
            )
        return refusal(
            "no_card_to_collect", "此人名下没有待领取的社会保障卡。", "请核对证件；尚未申领的请办理申领。"
        )

    def check_card(self, card: Record) -> None:
        super().check_card(card)
        decide(people.status(card), Command.HAND_OVER, facts=people.facts(card), policy=self.ctx.policy)

    def after_person(self) -> None:
        person = self.person or {}
        if self.variant != "hand_over":
            if person.get("deceased_on"):
                raise refusal(
                    "person_deceased",
                    "系统登记此人已死亡，不能申领社会保障卡。",
                    "如登记有误，请联系社保卡管理中心核查。",
                )
            check_one_card_rule(people.summaries(person), Command.APPLY)
            decide(SocialStatus.NO_CARD, Command.APPLY)
        super().after_person()

    def new_person_step(self) -> StepDef:
        """新参保人员: the person's data for the application when the city does not know them yet."""

        def page() -> Page:
            fields = (
                FieldSpec("name", "姓名"),
                FieldSpec("sex", "性别", FieldKind.CHOICE, choices=SEX_CHOICES),
                FieldSpec("ethnicity", "民族代码", hint="GB 3304 两位代码，如 01 汉族、07 彝族"),
                FieldSpec("birth_date", "出生日期", FieldKind.DATE),
                FieldSpec("birthplace", "出生地（行政区划代码）", FieldKind.REGION),
                FieldSpec("phone", "联系电话", FieldKind.PHONE, required=False),
                FieldSpec("address", "联系地址", required=False),
            )
            person = self.person or {}
            values = {
                k: person.get(k) or ""
                for k in ("name", "sex", "ethnicity", "birth_date", "birthplace", "phone", "address")
            }
            if text(person, "id_type") == "resident_id":
                derived = check_document(
                    DocumentType.RESIDENT_ID, text(person, "id_number"), today=self.ctx.today()
                )
                if derived.birth_date is not None:
                    values["birth_date"] = values["birth_date"] or derived.birth_date.isoformat()
                if derived.sex is not None:
                    values["sex"] = values["sex"] or derived.sex.value
                values["birthplace"] = values["birthplace"] or text(person, "id_number")[:6]
            return self.page(
                "新参保人员信息", prompt="中心系统中没有此人，请按证件登记", fields=fields, values=values
            )

        def handle(answer: Mapping[str, Any]) -> None:
            person = dict(self.person or {})
            name = str(answer.get("name") or "").strip()
            sex = str(answer.get("sex") or "")
            ethnicity = str(answer.get("ethnicity") or "").strip()
            born = people.as_date(answer.get("birth_date"))
            birthplace = str(answer.get("birthplace") or "").strip()
            if not name:
                raise InputInvalid("name_required", "请录入姓名")
            if sex not in {c.value for c in SEX_CHOICES}:
                raise InputInvalid("sex_required", "请选择性别")
            if ethnicity_name(ethnicity) is None:
                raise InputInvalid("ethnicity_invalid", "民族代码有误", "请录入 GB 3304 两位民族代码")
            if born is None or born > self.ctx.today():
                raise InputInvalid("birth_date_invalid", "出生日期有误")
            if region_name(birthplace) is None:
                raise InputInvalid("birthplace_invalid", "出生地行政区划代码有误")
            if text(person, "id_type") == "resident_id":
                check = check_document(
                    DocumentType.RESIDENT_ID, text(person, "id_number"), sex=Sex(sex), today=self.ctx.today()
                )
                if check.blocking:
                    raise InputInvalid(
                        "sex_mismatch", "；".join(f.message for f in check.failures if f.blocking)
                    )
                if check.birth_date is not None and check.birth_date != born:
                    raise InputInvalid("birth_date_mismatch", "出生日期与公民身份号码不符")
            person.update(
                name=name,
                sex=sex,
                ethnicity=ethnicity,
                birth_date=born.isoformat(),
                birthplace=birthplace,
                phone=str(answer.get("phone") or "").strip(),
                address=str(answer.get("address") or "").strip(),
                social_security_number=text(person, "id_number")
                if text(person, "id_type") == "resident_id"
                else "",
            )
            self.data["person"] = person

        return StepDef(
            "new_person",
            StepKind.CLERK_INPUT,
            page,
            handle,
            when=lambda: bool((self.person or {}).get("new")),
        )

    def material_required(self, index: int, text: str) -> bool:
        if text.startswith("未满16周岁"):
            born = people.birth_date(self.person or {}, self.ctx.today())
            return born is not None and people.age_on(born, self.ctx.today()) < 16
        return True

    # -- the application -------------------------------------------------------------------

    def application_step(self) -> StepDef:
        """发卡银行 (chosen at an HR window; a bank outlet issues its own bank's card)."""

        def page() -> Page:
            fields = [FieldSpec("pickup_outlet", "领卡网点", required=False)]
            if self.ctx.outlet.capabilities.bank is None:
                fields.insert(0, FieldSpec("bank", "发卡银行", hint="本市社会保障卡合作银行"))
            values = dict(self.data.get("application") or {"pickup_outlet": self.ctx.outlet.name})
            return self.page("申领信息", prompt="请与申请人确认发卡银行", fields=tuple(fields), values=values)

        def handle(answer: Mapping[str, Any]) -> None:
            bank = self.ctx.outlet.capabilities.bank or str(answer.get("bank") or "").strip()
            if not bank:
                raise InputInvalid("bank_required", "请选择发卡银行")
            self.data["application"] = {
                "bank": bank,
                "pickup_outlet": str(answer.get("pickup_outlet") or "").strip() or self.ctx.outlet.name,
            }

        return StepDef(
            "application", StepKind.CLERK_INPUT, page, handle, when=lambda: self.variant != "hand_over"
        )

    def before_commit(self) -> None:
        if self.variant == "instant":
            check_name_fits(text(self.person, "name"))

    def summary(self) -> list[tuple[str, str]]:
        rows = []
        application = self.data.get("application") or {}
        if application.get("bank"):
            rows.append(("发卡银行", str(application["bank"])))
        batch = self.presenter.batch
        if batch is not None:
            rows.append(("批量申领单位", batch.unit_name))
        return rows

    def apply_payload(self) -> dict[str, Any]:
        person = self.person or {}
        keys = ("name", "sex", "ethnicity", "birth_date", "birthplace", "phone", "address")
        new_person = {k: person.get(k) for k in keys if person.get(k)} if person.get("new") else {}
        batch = self.presenter.batch
        return {
            "person": {**people.person_ref(person), **new_person},
            "bank": (self.data.get("application") or {}).get("bank"),
            "batch": None
            if batch is None
            else {"unit_name": batch.unit_name, "letter_number": batch.letter_number or None},
        }

    def _apply(self) -> None:
        self.send("apply", "apply", self.apply_payload())

    def issue(self, prefab_card_id: str, spec_version: str) -> Record | None:
        self.send("apply", "apply", self.apply_payload())
        try:
            body = self.send(
                f"instant_issue:{prefab_card_id}",
                "instant_issue",
                {
                    "person": people.person_ref(self.person or {}),
                    "card_identifier_read": prefab_card_id,
                    "spec_version": spec_version,
                },
            )
        except DomainError as error:
            if not self.committed:
                raise
            self.data["instant_problem"] = Problem.of(error).to_dict()
            self.note(f"未能当场制卡：{error.message}。已按普通申领受理，制卡完成后通知领卡。")
            return None
        card = body.get("card")
        if not isinstance(card, Mapping):
            raise StepFailed("issue_data_missing", "中心系统未返回新卡信息", "请联系社保卡管理中心")
        new_card: Record = jsonable(card)
        return new_card

    # -- 领卡 -------------------------------------------------------------------------------

    def hand_over_step(self) -> StepDef:
        """领卡: read the card made in batch (it must be this person's), then ``hand_over``."""

        def page() -> Page:
            return self.page("领卡", prompt=INSERT_MADE_CARD, progress=INSERT_MADE_CARD)

        def handle(answer: Mapping[str, Any]) -> None:
            card = self.card or {}
            if "hand_over" not in (self.data.get("commands") or {}):
                expected = text(card, "card_number")
                ssn = text(self.person, "social_security_number") or text(self.person, "id_number")
                await_card(self, present=True, say=INSERT_MADE_CARD)
                while True:
                    with self.device("读卡核对"):
                        info = self.ctx.card().read_basic_info(ReadScope.FULL)
                    if not (expected and info.card_number != expected) and not (
                        info.ssn and ssn and info.ssn != ssn
                    ):
                        break
                    wrong = (
                        f"读卡器中的卡（卡号 {info.card_number or '空白'}）不是此人待领取的卡"
                        f"（卡号 {expected or '未知'}）"
                    )
                    if not can_wait(self):
                        raise StepFailed("card_mismatch", wrong, "请取出此卡，插入待领取的卡后重试")
                    await_card(self, present=False, say=f"{wrong}：请取出此卡")
                    await_card(self, present=True, say=INSERT_MADE_CARD)
                self.data["card_read"] = card_info(info)
            body = self.send("hand_over", "hand_over", {"card": people.card_ref(card)})
            handed = body.get("card")
            if isinstance(handed, Mapping):
                self.data["card"] = {**card, **jsonable(handed)}
            self.data["handed_over"] = True

        return StepDef("hand_over", StepKind.PORT, page, handle, when=lambda: self.variant == "hand_over")

    # -- the record ---------------------------------------------------------------------------

    def transaction_facts(self) -> forms.TransactionFacts:
        presenter = self.presenter
        if presenter.kind is PresenterKind.UNIT:
            kind = "单位批量申领"
        elif presenter.is_holder:
            kind = "个人申领"
        else:
            kind = "代办申领"
        application = self.data.get("application") or {}
        details: dict[str, str] = {"application_kind": kind}
        if application.get("bank"):
            details["bank"] = str(application["bank"])
        variant = self.variant or "standard"
        activated = "，已激活" if self.data.get("activated") else ""
        if variant == "hand_over":
            result = "已领卡" + activated
            details.pop("application_kind")
        elif self.data.get("written"):
            result = "已当场制卡" + activated
            details["new_card_number"] = text(self.new_card, "card_number")
        else:
            variant = "standard"
            result = "已受理，制卡完成后领卡"
            details["pickup_outlet"] = str(application.get("pickup_outlet") or self.ctx.outlet.name)
        if presenter.batch is not None:
            letter = f"（介绍信 {presenter.batch.letter_number}）" if presenter.batch.letter_number else ""
            details["batch_unit"] = presenter.batch.unit_name + letter
        return forms.TransactionFacts(
            result=result,
            variant=variant,
            item_details=details,
            remarks=self.remarks(),
            details={**self.issuance_details(), "commands": self.data.get("commands") or {}},
        )
