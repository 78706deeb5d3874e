"""办理人 — the step that records who presents the case: the holder, or an agent (代办人).

The page asks for the presenter's kind and, for an agent, their identity, relation and the documents
they show; the rules are `proxy.check_presenter` (the brochure's 代办 rules and the 代管代持 trigger)
plus the item's own (`ServiceFlow.check_presenter_extra`, e.g. 密码重置). An authorisation found for
the agent of one of the 四类人 makes them the custodian and is shown on every later page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from counter_app.workflows import people
from counter_app.workflows.base import (
    Choice,
    FieldKind,
    FieldSpec,
    InputInvalid,
    Page,
    StepDef,
    StepKind,
    jsonable,
)
from counter_app.workflows.identification import ID_TYPE_CHOICES
from counter_app.workflows.people import text
from counter_app.workflows.proxy import (
    Agent,
    Batch,
    Document,
    Presenter,
    PresenterKind,
    check_presenter,
    custody_notice,
)

if TYPE_CHECKING:
    from counter_app.workflows.common import ServiceFlow


def presenter_step(flow: ServiceFlow) -> StepDef:
    agents = tuple(k.value for k in flow.presenter_kinds() if k is not PresenterKind.HOLDER)

    def page() -> Page:
        docs = tuple(Choice(d.value, d.label) for d in Document)
        fields = (
            FieldSpec(
                "requester",
                "办理人",
                FieldKind.CHOICE,
                choices=tuple(Choice(k.value, k.label) for k in flow.presenter_kinds()),
            ),
            FieldSpec("agent_name", "代办人姓名", required=False, show_if=("requester", agents)),
            FieldSpec(
                "agent_id_type",
                "代办人证件类型",
                FieldKind.CHOICE,
                required=False,
                choices=ID_TYPE_CHOICES,
                show_if=("requester", agents),
            ),
            FieldSpec(
                "agent_id_number",
                "代办人证件号码",
                FieldKind.ID_NUMBER,
                required=False,
                show_if=("requester", agents),
            ),
            FieldSpec(
                "agent_phone",
                "代办人联系电话",
                FieldKind.PHONE,
                required=False,
                show_if=("requester", agents),
            ),
            FieldSpec("relation", "与持卡人关系", required=False, show_if=("requester", agents)),
            FieldSpec(
                "documents",
                "代办人出具的材料",
                FieldKind.MULTI_CHOICE,
                required=False,
                choices=docs,
                show_if=("requester", agents),
            ),
            FieldSpec("unit_name", "单位或学校名称", required=False, show_if=("requester", ("unit",))),
            FieldSpec("letter_number", "介绍信编号", required=False, show_if=("requester", ("unit",))),
        )
        rules = [p.value for p in flow.item.proxy]
        return flow.page(
            "办理人",
            prompt="本人办理还是代办？代办须登记代办人并核验代办材料",
            fields=fields,
            values=dict(flow.data.get("presenter_answer") or {}),
            notices=tuple(f"代办规定：{r}" for r in rules),
        )

    def handle(answer: Mapping[str, Any]) -> None:
        flow.data["presenter_answer"] = jsonable(dict(answer))
        presenter = parse_presenter(flow, answer)
        person = flow.person or {}
        today = flow.ctx.today()
        custody = None
        if presenter.agent is not None:
            agent = presenter.agent
            custody = people.custody_for(person, agent.id_type, agent.id_number, today, agent_name=agent.name)
        vulnerable = bool(person.get("vulnerable_group"))
        if custody is not None and presenter.kind in (PresenterKind.OTHER, PresenterKind.CUSTODIAN):
            presenter = Presenter(
                PresenterKind.CUSTODIAN, presenter.agent, presenter.documents, presenter.batch
            )
        check_presenter(
            presenter,
            flow.proxy_rules,
            holder_minor=people.is_minor(person, today),
            holder_vulnerable=vulnerable,
            custody=custody,
        )
        flow.check_presenter_extra(presenter)
        if custody is not None and presenter.kind is PresenterKind.CUSTODIAN:
            flow.note(custody_notice(custody))
        flow.data["presenter"] = {
            "kind": presenter.kind.value,
            "agent": None if presenter.agent is None else presenter.agent.to_dict(),
            "documents": sorted(d.value for d in presenter.documents),
            "batch": None
            if presenter.batch is None
            else {"unit_name": presenter.batch.unit_name, "letter_number": presenter.batch.letter_number},
            "custody": None if custody is None else jsonable(custody),
        }

    return StepDef(
        "presenter",
        StepKind.CLERK_INPUT,
        page,
        handle,
        when=lambda: flow.proxy_rules.proxy_allowed and not flow.data.get("presenter_from_prefill"),
    )


def parse_presenter(flow: ServiceFlow, answer: Mapping[str, Any]) -> Presenter:
    try:
        kind = PresenterKind(str(answer.get("requester") or "holder"))
    except ValueError:
        raise InputInvalid("requester_required", "请选择办理人") from None
    if kind not in flow.presenter_kinds():
        raise InputInvalid("requester_required", "请选择办理人")
    if kind is PresenterKind.HOLDER:
        return Presenter(kind)
    name = str(answer.get("agent_name") or "").strip()
    id_type = str(answer.get("agent_id_type") or "resident_id")
    number = str(answer.get("agent_id_number") or "")
    relation = str(answer.get("relation") or "").strip()
    if kind is PresenterKind.UNIT and not relation:
        relation = "单位经办人"
    if not name or not number or not relation:
        raise InputInvalid("agent_required", "代办须登记代办人的姓名、证件号码和与持卡人的关系")
    number = people.third_party_id(id_type, number, flow.ctx.today(), whose="代办人", code="agent_id_invalid")
    holder = flow.person or {}
    if (id_type, number) == (text(holder, "id_type") or "resident_id", text(holder, "id_number")):
        raise InputInvalid("agent_is_holder", "代办人证件与持卡人相同", "持卡人本人办理请选择“本人办理”")
    try:
        documents = frozenset(Document(str(d)) for d in answer.get("documents") or ())
    except ValueError:
        raise InputInvalid("documents_unknown", "代办材料选项有误") from None
    agent = Agent(name, id_type, number, relation, str(answer.get("agent_phone") or "").strip())
    batch = None
    if kind is PresenterKind.UNIT:
        batch = Batch(
            str(answer.get("unit_name") or "").strip(), str(answer.get("letter_number") or "").strip()
        )
    return Presenter(kind, agent, documents, batch)


def presenter_payload(flow: ServiceFlow) -> dict[str, Any]:
    presenter = flow.presenter
    agent = None
    if presenter.agent is not None:
        agent = {
            "name": presenter.agent.name,
            "id_type": presenter.agent.id_type,
            "id_number": presenter.agent.id_number,
            "relation": presenter.agent.relation,
            "documents": [d.label for d in sorted(presenter.documents)],
        }
    payload: dict[str, Any] = {"requester": presenter.kind.requester.value, "agent": agent}
    if flow.data.get("supervisor"):
        payload["confirmer_number"] = flow.data["supervisor"]
    return payload
