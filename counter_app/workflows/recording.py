"""办结 — the FINISH step: one journal record, then the 业务受理表 rendered and printed.

The transaction, its audit entry and (for queued items) its outbox message go to the journal in one
``Journal.record`` call, skipped when a resumed flow finds its 受理编号 already recorded. A print
failure leaves the transaction recorded and the outcome says so; `reprint` tries again (a retry
after a failure) or stamps 补打 n (after a print).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from counter_app.domain.errors import DomainError
from counter_app.workflows import forms
from counter_app.workflows.base import Outcome, Page, Problem, StepDef, StepFailed, StepKind
from counter_app.workflows.people import text
from counter_app.workflows.ports import PrintFailed, TransactionRecord

if TYPE_CHECKING:
    from counter_app.workflows.common import ServiceFlow


def finish_step(flow: ServiceFlow) -> StepDef:
    def page() -> Page:
        return flow.page("记录并打印", progress="正在记录业务并打印业务受理表……")

    return StepDef(flow.FINISH, StepKind.PORT, page, lambda answer: finish(flow))


def holder_ref(flow: ServiceFlow) -> str:
    person = flow.person or {}
    number = text(person, "id_number")
    if not number:
        return "unidentified"
    return flow.ctx.journal.holder_ref_for(text(person, "id_type") or "resident_id", number)


def incomplete_facts(flow: ServiceFlow, reason: Problem) -> forms.TransactionFacts:
    done = ", ".join(sorted(flow.data.get("commands") or {})) or "无"
    return forms.TransactionFacts(
        result=f"未办结：{reason.message}",
        variant=flow.catalog_variant(flow.variant) or "",
        remarks=f"办理中止。已完成的中心操作：{done}。",
        details={"incomplete": reason.to_dict(), "commands": flow.data.get("commands") or {}},
    )


def finish(flow: ServiceFlow) -> None:
    number = flow.acceptance_number()
    journal = flow.ctx.journal
    if not flow.data.get("recorded"):
        if journal.find(number) is None:
            raw = flow.data.get("incomplete")
            facts = flow.transaction_facts() if raw is None else flow.incomplete_facts(Problem.from_dict(raw))
            if flow.alerts():  # the server's warnings stay in the journal, not on the citizen's form
                facts = dataclasses.replace(facts, details={**facts.details, "alerts": list(flow.alerts())})
            if flow.data.get("command_numbers"):  # the server's 业务流水 of the later commands
                numbers = dict(flow.data["command_numbers"])
                facts = dataclasses.replace(facts, details={**facts.details, "command_numbers": numbers})
            agent = flow.presenter.agent
            record = forms.transaction(
                flow.ctx,
                item_code=flow.item_code,
                acceptance_number=number,
                holder=forms.form_person(flow.person, flow.form_card()),
                holder_ref=flow.holder_ref(),
                agent=forms.form_agent(agent, sorted(flow.presenter.documents)),
                materials=flow.form_materials(),
                facts=facts,
                flow_id=flow.flow_id,
            )
            journal.record(record)
        flow.data["recorded"] = True
        flow.commit()
        flow.save()
    stored = journal.find(number)
    if stored is None:  # the journal lost it: a store fault, not a clerk's problem
        raise StepFailed("journal_lost", "业务已提交记录但本地流水中查不到", "请联系信息科")
    outcome = Outcome(
        acceptance_number=number,
        result=stored.result,
        queued=stored.server_command is not None,
        notices=flow.notices,
        follow_up=flow.follow_up() if flow.data.get("incomplete") is None else None,
        complete=flow.data.get("incomplete") is None,
    )
    flow.end(print_record(flow, stored, outcome, reprint=0))


def print_record(flow: ServiceFlow, record: TransactionRecord, outcome: Outcome, *, reprint: int) -> Outcome:
    try:
        rendered = flow.ctx.renderer.render_acceptance_form(record, reprint=reprint)
        flow.ctx.printer.print_pdf(rendered.pdf, job_name=f"业务受理表 {record.acceptance_number}")
    except PrintFailed as error:
        problem = Problem("print_failed", str(error) or "打印失败", "业务已记录，请检查打印机后补打")
        return Outcome(**{**_fields(outcome), "printed": False, "print_problem": problem})
    notices = outcome.notices
    if not rendered.complete:
        chars = "、".join(rendered.unprintable_characters)
        notices += (f"业务受理表中以下字符无法打印：{chars}，请在纸面手写补正",)
    return Outcome(**{**_fields(outcome), "printed": True, "print_problem": None, "notices": notices})


def reprint(flow: ServiceFlow) -> Outcome:
    """打印 again after the flow ended: a retry after a failure, or 补打 n after a print."""
    outcome = flow.outcome
    if outcome is None:
        raise DomainError("not_finished", "业务尚未办结，不能补打")
    record = flow.ctx.journal.find(outcome.acceptance_number)
    if record is None:
        raise DomainError("journal_lost", "本地流水中查不到此业务", "请联系信息科")
    count = int(flow.data.get("reprints", 0)) + (1 if outcome.printed else 0)
    printed = print_record(flow, record, outcome, reprint=count)
    if printed.printed:
        flow.data["reprints"] = count
    flow.replace_outcome(printed)
    return printed


def _fields(outcome: Outcome) -> dict[str, Any]:
    return {name: getattr(outcome, name) for name in outcome.__dataclass_fields__}
