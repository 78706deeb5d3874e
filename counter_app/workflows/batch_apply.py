"""批量申领 — a unit or school applies for its people from an applicant list (申领's ``batch`` variant).

The brochure: "批量申领（单位或学校代办）：申领机构需出具单位介绍信、申请人名单及身份证等有效身份证件复印件。"

Steps (of `ApplyFlow` when its variant is ``batch``):

1. ``batch``: the unit, its letter, the unit's 经办人 (recorded as the agent of every application), the
   issuing bank at a 人社 window, and the list file (`batch_list`). Every row is checked — the file's
   own rules, then against the city (a person who already has a card or one in production, a name
   that differs from the registered one, a new person without the data a registration needs). Any
   problem keeps the step with every faulty row listed; nothing is submitted.
2. ``materials``: the unit's three documents (介绍信, 名单, ID copies), each ticked.
3. ``confirm``: the applicants as read, the decision to submit.
4. ``batch_submit``: one ``apply`` per applicant, each with its own 受理编号 and idempotency key
   ``<flow id>:apply:<row>``; right after the server accepts a row its transaction is recorded in the
   journal, and the checkpoint is saved, so a crash or a lost network resumes at the next row with
   no row applied twice. A row the server refuses now (another counter was faster) is reported with
   its reason; the others go on.
5. ``finish``: every recorded applicant's 业务受理表 (each needs their own receipt to collect the card)
   printed; 补打 prints them all again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from counter_app.domain.card_lifecycle import Command, check_one_card_rule
from counter_app.domain.errors import DomainError
from counter_app.workflows import forms, people
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
    StepKind,
)
from counter_app.workflows.batch_list import Applicant, ListUnreadable, RowProblem, read_applicant_list
from counter_app.workflows.identification import ID_TYPE_CHOICES
from counter_app.workflows.proxy import Agent, Document, PresenterKind
from counter_app.workflows.recording import print_record

if TYPE_CHECKING:
    from counter_app.workflows.apply import ApplyFlow

BATCH = Choice("batch", "单位或学校批量申领（按申请人名单）")
UNIT_DOCUMENTS = (Document.UNIT_LETTER, Document.APPLICANT_LIST, Document.ID_COPIES)
#: How many faulty rows the step's message lists before "……另有 n 行".
SHOWN_PROBLEMS = 30


def applicants(flow: ApplyFlow) -> list[Applicant]:
    batch = flow.data.get("batch") or {}
    return [Applicant.from_dict(a) for a in batch.get("applicants") or ()]


def _new(flow: ApplyFlow) -> set[int]:
    return {int(i) for i in (flow.data.get("batch") or {}).get("new") or ()}


def rows(flow: ApplyFlow) -> dict[str, Any]:
    done: dict[str, Any] = flow.data.setdefault("batch_rows", {})
    return done


# -- step 1: the unit and its list --------------------------------------------------------------


def batch_step(flow: ApplyFlow) -> StepDef:
    def page() -> Page:
        fields = [
            FieldSpec("unit_name", "单位或学校名称"),
            FieldSpec("letter_number", "介绍信编号", required=False),
            FieldSpec("agent_name", "单位经办人姓名"),
            FieldSpec("agent_id_type", "经办人证件类型", FieldKind.CHOICE, choices=ID_TYPE_CHOICES),
            FieldSpec("agent_id_number", "经办人证件号码", FieldKind.ID_NUMBER),
            FieldSpec("agent_phone", "经办人联系电话", FieldKind.PHONE, required=False),
            FieldSpec(
                "list_file",
                "申请人名单文件",
                FieldKind.FILE,
                hint="Excel（.xlsx）或 CSV；第一行为表头：姓名、证件号码，可有性别、民族、出生日期、联系电话",
            ),
        ]
        if flow.ctx.outlet.capabilities.bank is None:
            fields.insert(2, FieldSpec("bank", "发卡银行", hint="本市社会保障卡合作银行"))
        values = dict(flow.data.get("batch_answer") or {"agent_id_type": "resident_id"})
        return flow.page(
            "单位批量申领",
            prompt="请核对单位介绍信，录入单位和经办人信息，并选择单位提供的申请人名单文件",
            fields=tuple(fields),
            values=values,
        )

    def handle(answer: Mapping[str, Any]) -> None:
        flow.data["batch_answer"] = {k: v for k, v in answer.items() if isinstance(v, str)}
        today = flow.ctx.today()
        unit = str(answer.get("unit_name") or "").strip()
        bank = flow.ctx.outlet.capabilities.bank or str(answer.get("bank") or "").strip()
        name = str(answer.get("agent_name") or "").strip()
        id_type = str(answer.get("agent_id_type") or "resident_id")
        path = str(answer.get("list_file") or "").strip()
        if not unit:
            raise InputInvalid("unit_required", "请录入单位或学校名称")
        if not bank:
            raise InputInvalid("bank_required", "请录入发卡银行")
        if not name:
            raise InputInvalid("agent_required", "请录入单位经办人姓名")
        agent_number = people.third_party_id(
            id_type, str(answer.get("agent_id_number") or ""), today, whose="经办人", code="agent_id_invalid"
        )
        if not path:
            raise InputInvalid("list_file_required", "请选择申请人名单文件")
        try:
            data = Path(path).expanduser().read_bytes()
        except OSError:
            raise InputInvalid(
                "list_file_missing", f"无法打开名单文件：{path}", "请检查文件位置后重新选择"
            ) from None
        try:
            found = read_applicant_list(data, Path(path).name, today=today)
        except ListUnreadable as error:
            raise InputInvalid("list_unreadable", str(error), "请单位按模板整理名单后重新选择文件") from None
        problems = list(found.problems)
        new_rows: list[int] = []
        if not problems:
            problems, new_rows = check_with_city(flow, found.applicants)
        if problems:
            flow.data.pop("batch", None)
            shown = "\n".join(str(p) for p in problems[:SHOWN_PROBLEMS])
            more = len(problems) - SHOWN_PROBLEMS
            if more > 0:
                shown += f"\n……另有 {more} 处问题"
            lines = len({p.line for p in problems})
            raise InputInvalid(
                "list_rows_invalid",
                f"名单中有 {lines} 行不符合要求，本批申领未提交任何人：\n{shown}",
                "请单位改正名单后重新选择文件（整批一起提交）",
            )
        agent = Agent(name, id_type, agent_number, "单位经办人", str(answer.get("agent_phone") or "").strip())
        letter = str(answer.get("letter_number") or "").strip()
        flow.data["batch"] = {
            "unit_name": unit,
            "letter_number": letter,
            "file_name": Path(path).name,
            "bank": bank,
            "applicants": [a.to_dict() for a in found.applicants],
            "new": new_rows,
            "ignored_columns": list(found.ignored_columns),
        }
        flow.data["application"] = {"bank": bank, "pickup_outlet": flow.ctx.outlet.name}
        flow.data["presenter"] = {
            "kind": PresenterKind.UNIT.value,
            "agent": agent.to_dict(),
            "documents": sorted(d.value for d in UNIT_DOCUMENTS),
            "batch": {"unit_name": unit, "letter_number": letter},
            "custody": None,
        }
        if found.ignored_columns:
            flow.note("名单中以下列未使用：" + "、".join(found.ignored_columns))

    return StepDef("batch", StepKind.CLERK_INPUT, page, handle, when=lambda: flow.is_batch)


def check_with_city(flow: ApplyFlow, listed: tuple[Applicant, ...]) -> tuple[list[RowProblem], list[int]]:
    """Each applicant against the city's records: may this person apply now?"""
    problems: list[RowProblem] = []
    new_rows: list[int] = []
    for index, a in enumerate(listed):
        person = flow.ctx.central.find_person(a.id_type, a.id_number)
        if person is None:
            missing = [
                label
                for value, label in ((a.sex, "性别"), (a.birth_date, "出生日期"), (a.ethnicity, "民族"))
                if not value
            ]
            if missing:
                problems.append(
                    RowProblem(a.line, a.name, "系统中尚无此人（新参保），名单须填写" + "、".join(missing))
                )
            new_rows.append(index)
            continue
        registered = people.text(person, "name")
        if registered and registered != a.name:
            problems.append(
                RowProblem(a.line, a.name, f"姓名与系统登记的“{registered}”不一致，须先办理关键信息变更")
            )
        if person.get("deceased_on"):
            problems.append(RowProblem(a.line, a.name, "系统登记此人已死亡，不能申领"))
        try:
            check_one_card_rule(people.summaries(person), Command.APPLY)
        except DomainError as refused:
            problems.append(RowProblem(a.line, a.name, refused.message))
    return problems, new_rows


# -- step 2: the unit's documents ------------------------------------------------------------------


def material_lines() -> tuple[MaterialLine, ...]:
    return tuple(MaterialLine(d.value, d.label) for d in UNIT_DOCUMENTS)


# -- step 3: what the clerk confirms ----------------------------------------------------------------


def confirm_rows(flow: ApplyFlow) -> list[tuple[str, str]]:
    batch = flow.data.get("batch") or {}
    agent = flow.presenter.agent
    listed = applicants(flow)
    new = _new(flow)
    letter = f"（介绍信 {batch['letter_number']}）" if batch.get("letter_number") else ""
    rows_ = [
        ("办理事项", flow.item.short_name),
        ("办理类型", BATCH.label),
        ("单位或学校", f"{batch.get('unit_name', '')}{letter}"),
        ("单位经办人", "" if agent is None else f"{agent.name}（{agent.id_number}）"),
        ("发卡银行", str(batch.get("bank") or "")),
        ("申请人名单", f"{batch.get('file_name', '')}，共 {len(listed)} 人"),
    ]
    for index, a in enumerate(listed):
        mark = "（新参保）" if index in new else ""
        rows_.append((f"第 {a.line} 行", f"{a.name}　{a.id_number}{mark}"))
    return rows_


# -- step 4: one application per row ------------------------------------------------------------


def _payload(flow: ApplyFlow, index: int, a: Applicant) -> dict[str, Any]:
    batch = flow.data.get("batch") or {}
    person: dict[str, Any] = {"id_type": a.id_type, "id_number": a.id_number, "name": a.name}
    if index in _new(flow):
        person.update(
            {
                k: v
                for k, v in {
                    "sex": a.sex,
                    "ethnicity": a.ethnicity,
                    "birth_date": a.birth_date,
                    "birthplace": a.id_number[:6] if a.id_type == "resident_id" else None,
                    "phone": a.phone,
                    "address": a.address,
                }.items()
                if v
            }
        )
    return {
        "person": person,
        "bank": batch.get("bank"),
        "batch": {"unit_name": batch.get("unit_name"), "letter_number": batch.get("letter_number") or None},
    }


def submit_step(flow: ApplyFlow) -> StepDef:
    def page() -> Page:
        done = sum(1 for r in rows(flow).values() if r.get("recorded") or r.get("refused"))
        total = len(applicants(flow))
        return flow.page("提交批量申领", progress=f"正在逐人提交申领（已完成 {done}/{total} 人）……")

    def handle(answer: Mapping[str, Any]) -> None:
        listed = applicants(flow)
        ctx = flow.ctx
        for index, a in enumerate(listed):
            row = rows(flow).setdefault(str(index), {})
            if row.get("recorded") or row.get("refused"):
                continue
            if not row.get("acceptance_number"):
                row["acceptance_number"] = ctx.journal.next_acceptance_number(
                    ctx.outlet.code, ctx.counter_number, ctx.today()
                )
                flow.save()
            number = str(row["acceptance_number"])
            try:
                body = flow.send(
                    f"apply:{index}", "apply", _payload(flow, index, a), acceptance_number=number
                )
            except DomainError as refused:  # decided by the server now: reported, the others go on
                row["refused"] = Problem.of(refused).to_dict()
                flow.save()
                continue
            alerts = flow.data.get("alerts") or []
            if len(alerts) > 1:  # 强制代领预警 counts up row by row for one unit: the latest says it all
                flow.data["alerts"] = alerts[-1:]
            if ctx.journal.find(number) is None:
                ctx.journal.record(_transaction(flow, index, a, number, body))
            row["recorded"] = True
            flow.save()
            flow.tell(f"正在逐人提交申领（已完成 {index + 1}/{len(listed)} 人）……")

    return StepDef("batch_submit", StepKind.PORT, page, handle, when=lambda: flow.is_batch)


def _transaction(flow: ApplyFlow, index: int, a: Applicant, number: str, body: Mapping[str, Any]) -> Any:
    batch = flow.data.get("batch") or {}
    listed = applicants(flow)
    letter = f"（介绍信 {batch['letter_number']}）" if batch.get("letter_number") else ""
    holder = {"name": a.name, "id_type": a.id_type, "id_number": a.id_number, "sex": a.sex, "phone": a.phone}
    return forms.transaction(
        flow.ctx,
        item_code="apply",
        acceptance_number=number,
        holder=forms.form_person(holder, None),
        holder_ref=flow.ctx.journal.holder_ref_for(a.id_type, a.id_number),
        agent=forms.form_agent(flow.presenter.agent, sorted(flow.presenter.documents)),
        materials=flow.form_materials(),
        facts=forms.TransactionFacts(
            result="已受理，制卡完成后领卡",
            variant="standard",
            item_details={
                "application_kind": "单位批量申领",
                "bank": str(batch.get("bank") or ""),
                "pickup_outlet": flow.ctx.outlet.name,
                "batch_unit": f"{batch.get('unit_name', '')}{letter}，名单第 {a.line} 行，"
                f"本批 {len(listed)} 人中第 {index + 1} 人",
            },
            remarks=flow.remarks(),
            details={
                "batch": {"flow_id": flow.flow_id, "line": a.line, "file_name": batch.get("file_name")},
                "commands": {f"apply:{index}": dict(body)},
            },
        ),
        flow_id=flow.flow_id,
    )


# -- step 5: the forms ---------------------------------------------------------------------------------


def recorded_numbers(flow: ApplyFlow) -> list[str]:
    return [
        str(rows(flow)[str(i)]["acceptance_number"])
        for i in range(len(applicants(flow)))
        if rows(flow).get(str(i), {}).get("recorded")
    ]


def finish(flow: ApplyFlow) -> None:
    numbers = recorded_numbers(flow)
    listed = applicants(flow)
    refused = [
        (listed[int(i)], Problem.from_dict(r["refused"])) for i, r in rows(flow).items() if r.get("refused")
    ]
    incomplete = flow.data.get("incomplete")
    if numbers:
        span = numbers[0] if len(numbers) == 1 else f"{numbers[0]} 至 {numbers[-1]}"
        result = f"已受理批量申领 {len(numbers)} 人（受理编号 {span}），制卡完成后领卡"
    else:
        result = "批量申领未受理任何人"
    if refused:
        result += f"；{len(refused)} 人未被受理"
    if incomplete is not None:
        result = f"批量申领未办结：已提交 {len(numbers)}/{len(listed)} 人"
    notices = list(flow.notices) + [
        f"第 {a.line} 行（{a.name}）未被受理：{problem.message}" for a, problem in refused
    ]
    outcome = Outcome(
        acceptance_number=numbers[0] if numbers else flow.acceptance_number(),
        result=result,
        notices=tuple(notices),
        complete=incomplete is None,
    )
    flow.end(print_all(flow, outcome, reprint=0))


def print_all(flow: ApplyFlow, outcome: Outcome, *, reprint: int) -> Outcome:
    """Every recorded applicant's form; the outcome says whether all were printed."""
    printed = outcome
    any_printed = False
    for number in recorded_numbers(flow):
        record = flow.ctx.journal.find(number)
        if record is None:
            continue
        printed = print_record(flow, record, outcome, reprint=reprint)
        if not printed.printed:
            return printed
        any_printed = True
    if not any_printed:
        return dataclasses.replace(outcome, printed=False)
    return printed


def reprint(flow: ApplyFlow) -> Outcome:
    outcome = flow.outcome
    if outcome is None:
        raise DomainError("not_finished", "业务尚未办结，不能补打")
    count = int(flow.data.get("reprints", 0)) + (1 if outcome.printed else 0)
    printed = print_all(flow, outcome, reprint=count)
    if printed.printed:
        flow.data["reprints"] = count
    flow.replace_outcome(printed)
    return printed
