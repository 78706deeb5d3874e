"""The steps every service flow shares (公共步骤): who, which card, 代办, materials, 复核, record.

`ServiceFlow` adds to the step machine what the twelve items have in common:

- preconditions: the operator at their own outlet, the item offered here, the catalog's role and
  capability rules, and the catalog's offline mode (online-only items refuse when offline);
- identifying the holder by 证件 (or the 二代证 reader) and/or reading the card, then the card the
  item acts on, with the outlet's scope (a bank outlet changes only its own bank's cards) and the
  item's life-cycle check (the domain's transition table, before asking the server);
- the presenter (办理人) with the brochure's 代办 rules and the 代管代持 trigger (`proxy`);
- the materials checklist from the catalog, every line ticked explicitly (assumed lines 待确认);
- the supervisor's confirmation (second 工号) where DOMAIN §1 requires it;
- server commands with idempotency keys ``<flow id>:<step>`` (the first carries the flow's 受理编号,
  each later one its own: the server keeps one 业务流水 per command), and the FINISH step that writes
  the transaction through ``Journal.record`` in one call, renders the 业务受理表 and prints it;
- on every page once the holder is known, the 代管代持 banner (their authorisations, or that a
  non-holder needs one), and the server's warnings (强制代领预警) apart from the form's notices;
- a follow-up's verified prefill (holder, presenter) taken without showing its pages again.

The larger steps live beside it: `identification` (card, 证件, which card), `presenting` (办理人)
and `recording` (FINISH, reprint); the methods here delegate to them so a flow can override a hook.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from counter_app.domain.catalog import OfflineMode, ServiceItem, Source
from counter_app.domain.errors import DomainError
from counter_app.domain.operators import (
    ItemCode,
    NotPermitted,
    OutletType,
    check_confirmer,
    check_item_offered,
    check_operator_at_outlet,
    check_scope,
    needs_supervisor,
)
from counter_app.workflows import forms, identification, people, presenting, recording
from counter_app.workflows.base import (
    Choice,
    FieldKind,
    FieldSpec,
    Flow,
    FollowUp,
    InputInvalid,
    MaterialLine,
    Outcome,
    Page,
    Problem,
    StepDef,
    StepKind,
    jsonable,
    refusal,
    safe_code,
)
from counter_app.workflows.people import Record, text
from counter_app.workflows.ports import MaterialCheck
from counter_app.workflows.proxy import (
    Agent,
    Batch,
    Document,
    Presenter,
    PresenterKind,
    ProxyRules,
)

CONFIRM = Choice("confirm", "确认办理")


def offline_refusal(item: ServiceItem, *, offline: bool) -> DomainError | None:
    """The one decision of DOMAIN §2's offline column (离线办理规则): the refusal of ``item`` now, or None.

    Online-only items refuse while offline; queued, replica-read and local-only items go ahead (their
    flows then queue the command, read the replica or stay local). The flows check it before they
    start; the sync layer's availability list for the UI asks the same function.
    """
    if offline and item.offline.value is OfflineMode.ONLINE_ONLY:
        return refusal(
            "offline_not_allowed",
            f"{item.short_name}须联网办理，当前无法连接社保卡中心系统（离线）。",
            "请待网络恢复后再办理；可先为办事人登记需求。",
        )
    return None


class ServiceFlow(Flow):
    """A flow of one service item of the catalog, with the shared steps."""

    #: What the item allows of agents (代办).
    proxy_rules: ClassVar[ProxyRules] = ProxyRules()

    # -- preconditions -----------------------------------------------------------------------

    def check_preconditions(self) -> None:
        ctx = self.ctx
        check_operator_at_outlet(ctx.operator, ctx.outlet)
        check_item_offered(ctx.outlet, ItemCode(self.item_code))
        self.check_variant(self.variant)
        refused = offline_refusal(self.item, offline=ctx.offline)
        if refused is not None:
            raise refused
        if self.variant is None:  # one way of doing the item here: nothing to choose
            only = self.variant_choices()
            if len(only) == 1:
                self.check_variant(only[0].value)
                self.data["variant"] = only[0].value
        self.data["variant_fixed"] = self.variant is not None
        self.apply_prefill()

    def apply_prefill(self) -> None:
        """A follow-up's prefill verified by the flow before it (``identified``): the holder and the
        presenter are taken as they were, without a page the clerk would only confirm again."""
        prefill = self.prefill
        if not prefill.get("identified") or self.person is not None:
            return
        identification.identify_step(self).handle(
            {"id_type": prefill.get("id_type") or "resident_id", "id_number": prefill.get("id_number") or ""}
        )
        answer = prefill.get("presenter_answer")
        if isinstance(answer, Mapping) and self.proxy_rules.proxy_allowed:
            try:
                presenting.presenter_step(self).handle(answer)
            except DomainError:  # this item asks more of an agent: the page is shown
                self.data.pop("presenter", None)
            else:
                self.data["presenter_from_prefill"] = True

    def catalog_variant(self, variant: str | None) -> str | None:
        """The catalog variant a flow variant stands for (None: the item as a whole)."""
        return variant if variant in {v.code for v in self.item.variants} else None

    def check_variant(self, variant: str | None) -> None:
        """The catalog's role/outlet/capability rule for the item or one of its variants."""
        ctx = self.ctx
        self.item.check_access(
            role=ctx.operator.role.value,
            outlet_type=ctx.outlet.type.value,
            capabilities=ctx.capabilities,
            variant=self.catalog_variant(variant),
        ).raise_if_refused()

    # -- data the steps collect ---------------------------------------------------------------

    @property
    def person(self) -> Record | None:
        value = self.data.get("person")
        return value if isinstance(value, Mapping) else None

    @property
    def card(self) -> Record | None:
        value = self.data.get("card")
        return value if isinstance(value, Mapping) else None

    @property
    def card_read(self) -> Record | None:
        value = self.data.get("card_read")
        return value if isinstance(value, Mapping) else None

    @property
    def presenter(self) -> Presenter:
        raw = self.data.get("presenter")
        if not isinstance(raw, Mapping):
            return Presenter(PresenterKind.HOLDER)
        agent = raw.get("agent")
        batch = raw.get("batch")
        return Presenter(
            PresenterKind(raw["kind"]),
            None if agent is None else Agent.from_dict(agent),
            frozenset(Document(d) for d in raw.get("documents", ())),
            None if batch is None else Batch(str(batch["unit_name"]), str(batch.get("letter_number", ""))),
        )

    def note(self, message: str) -> None:
        """A notice shown on every later page and on the outcome (e.g. the 代管代持 authorisation)."""
        notices = self.data.setdefault("notices", [])
        if message not in notices:
            notices.append(message)

    @property
    def notices(self) -> tuple[str, ...]:
        return tuple(self.data.get("notices", ()))

    def remarks(self, *extra: str) -> str:
        """备注 of the form: the notices and ``extra``, as one text."""
        parts = [p.rstrip("。；") for p in (*self.notices, *extra) if p]
        return "；".join(parts) + ("。" if parts else "")

    def page(self, title: str, **kw: Any) -> Page:
        notices = tuple(kw.pop("notices", ())) + self.notices
        return Page(title, notices=notices, **kw)

    def banner(self) -> str:
        """代管代持: the holder's authorisations (or that they need one), on every page once known."""
        replica = bool(self.data.get("replica_as_of")) or self.ctx.offline
        return people.custody_banner(self.person, self.ctx.today(), from_replica=replica)

    def alerts(self) -> tuple[str, ...]:
        """The server's warnings for the clerk (疑似强制代领 …), kept apart from the form's notices."""
        return tuple(str(a) for a in self.data.get("alerts") or ())

    def alert(self, message: str) -> None:
        alerts = self.data.setdefault("alerts", [])
        if message not in alerts:
            alerts.append(message)

    def refusal_follow_up(self, refusal: Problem) -> FollowUp | None:
        """A custodian without an authorisation: register one (人社 window, supervisor confirms)."""
        if refusal.code != "custody_not_authorised" or self.ctx.outlet.type is not OutletType.HR_WINDOW:
            return None
        person = self.person or {}
        answer = self.data.get("presenter_answer") or {}
        if not person.get("vulnerable_group") or not text(person, "id_number"):
            return None
        prefill = {
            "id_type": text(person, "id_type") or "resident_id",
            "id_number": text(person, "id_number"),
            "identified": True,
            "custodian_name": str(answer.get("agent_name") or ""),
            "custodian_id_type": str(answer.get("agent_id_type") or "resident_id"),
            "custodian_id_number": str(answer.get("agent_id_number") or ""),
            "custodian_phone": str(answer.get("agent_phone") or ""),
            "relation": str(answer.get("relation") or ""),
        }
        return FollowUp("custody_authorisation", "为持卡人登记代管代持授权（须复核）", prefill=prefill)

    # -- hooks ---------------------------------------------------------------------------------

    def variant_choices(self) -> tuple[Choice, ...]:
        ctx = self.ctx
        available = self.item.available_variants(
            role=ctx.operator.role.value, outlet_type=ctx.outlet.type.value, capabilities=ctx.capabilities
        )
        return tuple(Choice(v.code, v.label, "待确认" if v.needs_confirmation else "") for v in available)

    def person_not_found(self, id_type: str, id_number: str) -> Record:
        raise refusal(
            "person_not_found",
            "中心系统中没有此证件号码的参保人员信息。",
            "请核对证件类型和号码；新参保人员请先办理申领。",
        )

    def card_candidates(self) -> list[Record]:
        """The cards the item may act on, best first (default: the person's live cards)."""
        return people.live_cards(self.person or {})

    def no_card(self) -> DomainError:
        return refusal("no_card", "此人名下没有可办理此业务的社会保障卡。", "请核对证件，或先办理申领。")

    def check_card(self, card: Record) -> None:
        """Scope and life cycle for the chosen card; flows add the item's own transition check."""
        if card.get("status"):
            people.status(card)  # an unknown status is a programming/data error
        item = ItemCode(self.item_code)
        check_scope(self.ctx.outlet, item.action_kind, people.text(card, "bank") or None)

    def check_presenter_extra(self, presenter: Presenter) -> None:
        """Item-specific rules on who may ask (密码重置)."""

    def material_required(self, index: int, text: str) -> bool:
        """Whether catalog line ``index`` must be ticked in this case (conditional lines may not)."""
        return True

    def needs_supervisor(self) -> bool:
        return needs_supervisor(
            self.item_code,
            requested_by_holder=self.presenter.is_holder,
            policy=self.ctx.supervisor_policy,
        )

    def summary(self) -> list[tuple[str, str]]:
        """The item's own rows of the confirmation page."""
        return []

    def before_commit(self) -> None:
        """Checks run when the clerk confirms, before the first change."""

    def transaction_facts(self) -> forms.TransactionFacts:
        raise NotImplementedError

    def follow_up(self) -> FollowUp | None:
        """The flow the clerk should run next (后续办理), if any."""
        return None

    def form_card(self) -> Record | None:
        """The card printed on the form (the new card where one was issued)."""
        return self.card

    # -- step: variant -------------------------------------------------------------------------

    def variant_step(self) -> StepDef:
        def page() -> Page:
            field = FieldSpec("variant", "办理类型", FieldKind.CHOICE, choices=self.variant_choices())
            return self.page(
                "办理类型",
                prompt=f"请选择{self.item.short_name}的办理类型",
                fields=(field,),
                values={"variant": self.variant or ""},
            )

        def handle(answer: Mapping[str, Any]) -> None:
            value = str(answer.get("variant") or "")
            if value not in {c.value for c in self.variant_choices()}:
                raise InputInvalid("variant_required", "请选择办理类型")
            self.check_variant(value)
            self.data["variant"] = value

        return StepDef(
            "variant",
            StepKind.CLERK_INPUT,
            page,
            handle,
            when=lambda: bool(self.variant_choices()) and not self.data.get("variant_fixed"),
        )

    # -- step: read the card ---------------------------------------------------------------------

    def lookup_person(self, id_type: str, id_number: str) -> Record | None:
        return self.ctx.central.find_person(id_type, id_number)

    def needs_card(self) -> bool:
        """Whether the item acts on one of the person's cards (chosen after identification)."""
        return True

    def after_person(self) -> None:
        """Pick the card when there is exactly one candidate; refuse when there is none."""
        if not self.needs_card() or self.card is not None:
            return
        candidates = self.card_candidates()
        if not candidates:
            raise self.no_card()
        if len(candidates) == 1:
            self.set_card(candidates[0])

    def set_card(self, card: Record) -> None:
        self.check_card(card)
        self.data["card"] = jsonable(card)

    # -- step: presenter (本人 / 代办) ---------------------------------------------------------------

    def presenter_kinds(self) -> tuple[PresenterKind, ...]:
        kinds = [PresenterKind.HOLDER, PresenterKind.GUARDIAN, PresenterKind.CUSTODIAN, PresenterKind.OTHER]
        if self.proxy_rules.batch_allowed:
            kinds.append(PresenterKind.UNIT)
        return tuple(kinds)

    # -- steps in their own modules --------------------------------------------------------------

    def read_card_step(self, *, required: bool) -> StepDef:
        """读卡: the card in the reader identifies card and holder (optional: read when inserted)."""
        return identification.read_card_step(self, required=required)

    def identify_step(self) -> StepDef:
        """身份核验 by 证件 (typed or from the 二代证 reader)."""
        return identification.identify_step(self)

    def select_card_step(self) -> StepDef:
        return identification.select_card_step(self)

    def replica_person(self, id_type: str, id_number: str) -> Record | None:
        return identification.replica_person(self, id_type, id_number)

    def presenter_step(self) -> StepDef:
        """办理人: the holder or an agent, under the 代办 and 代管代持 rules."""
        return presenting.presenter_step(self)

    def presenter_payload(self) -> dict[str, Any]:
        return presenting.presenter_payload(self)

    def finish_step(self) -> StepDef:
        """FINISH: record in the journal, render and print the 业务受理表."""
        return recording.finish_step(self)

    def holder_ref(self) -> str:
        return recording.holder_ref(self)

    def incomplete_facts(self, reason: Problem) -> forms.TransactionFacts:
        return recording.incomplete_facts(self, reason)

    def reprint(self) -> Outcome:
        """打印 again after the flow ended: a retry after a failure, or 补打 n after a print."""
        return recording.reprint(self)

    # -- step: materials ----------------------------------------------------------------------------

    def material_lines(self) -> tuple[MaterialLine, ...]:
        return tuple(
            MaterialLine(
                f"m{i}",
                m.value,
                "待确认" if m.source is Source.ASSUMED else "",
                self.material_required(i, m.value),
            )
            for i, m in enumerate(self.item.materials_checklist)
        )

    def materials_step(self) -> StepDef:
        def page() -> Page:
            extra = (
                () if self.proxy_rules.proxy_allowed else tuple(f"代办：{p.value}" for p in self.item.proxy)
            )
            return self.page(
                "核验申报材料",
                prompt="请逐项核验办事人提交的材料并勾选；标“待确认”的为按四川做法补充、待本市确认的要求",
                materials=self.material_lines(),
                values={"checked": list(self.data.get("materials") or [])},
                notices=extra,
            )

        def handle(answer: Mapping[str, Any]) -> None:
            lines = self.material_lines()
            known = {line.key for line in lines}
            checked = {str(k) for k in answer.get("checked") or ()}
            if checked - known:
                raise InputInvalid("materials_unknown", "材料勾选项有误")
            missing = [line.text for line in lines if line.required and line.key not in checked]
            if missing:
                raise InputInvalid(
                    "materials_incomplete",
                    "以下材料尚未核验：" + "；".join(missing),
                    "请逐项核验后勾选；材料不齐的，请告知办事人补齐后再办理",
                )
            self.data["materials"] = sorted(checked)

        def applies() -> bool:  # a checklist with no line for this case has nothing to check
            return any(line.required for line in self.material_lines())

        return StepDef("materials", StepKind.MATERIALS, page, handle, when=applies)

    def form_materials(self) -> tuple[MaterialCheck, ...]:
        checked = set(self.data.get("materials") or ())
        return tuple(MaterialCheck(line.text, line.key in checked) for line in self.material_lines())

    # -- step: supervisor (复核/授权) ----------------------------------------------------------------

    def supervisor_step(self) -> StepDef:
        def page() -> Page:
            field = FieldSpec("supervisor", "复核人工号", FieldKind.OPERATOR_NUMBER)
            return self.page(
                "复核确认",
                prompt="此业务须由本网点复核/授权人员登录确认",
                fields=(field,),
                values={"supervisor": self.data.get("supervisor") or ""},
            )

        def handle(answer: Mapping[str, Any]) -> None:
            number = str(answer.get("supervisor") or "").strip()
            confirmer = self.ctx.operators.find(number) if number else None
            if confirmer is None:
                raise InputInvalid("supervisor_unknown", "请输入复核人员的工号", "复核人员须在本柜台登录确认")
            try:
                check_confirmer(confirmer, self.ctx.operator, self.ctx.outlet)
            except NotPermitted as error:
                raise InputInvalid(error.code, error.message, error.hint) from error
            self.data["supervisor"] = confirmer.number

        return StepDef("supervisor", StepKind.CLERK_INPUT, page, handle, when=self.needs_supervisor)

    # -- step: confirm --------------------------------------------------------------------------------

    def confirm_rows(self) -> list[tuple[str, str]]:
        person, card = self.person or {}, self.card
        rows = [("办理事项", self.item.short_name)]
        variant = self.variant_label()
        if variant:
            rows.append(("办理类型", variant))
        rows += [
            ("持卡人", text(person, "name")),
            ("证件号码", text(person, "id_number")),
        ]
        if card is not None and text(card, "card_number"):
            rows.append(("社保卡号", text(card, "card_number")))
            if card.get("status"):
                rows.append(("卡状态", people.status(card).label))
        presenter = self.presenter
        rows.append(("办理人", presenter.kind.label))
        if presenter.agent is not None:
            rows.append(("代办人", f"{presenter.agent.name}（{presenter.agent.relation}）"))
        if self.data.get("supervisor"):
            rows.append(("复核人", str(self.data["supervisor"])))
        return rows + self.summary()

    def variant_label(self) -> str:
        for choice in self.variant_choices():
            if choice.value == self.variant:
                return choice.label
        return ""

    def confirm_step(self) -> StepDef:
        def page() -> Page:
            return self.page(
                "确认办理",
                prompt="请与办事人核对以下信息后确认办理",
                display=tuple(self.confirm_rows()),
                options=(CONFIRM,),
            )

        def handle(answer: Mapping[str, Any]) -> None:
            if answer.get("choice") != CONFIRM.value:
                raise InputInvalid("not_confirmed", "请确认办理，或返回修改")
            self.before_commit()

        return StepDef("confirm", StepKind.CONFIRM, page, handle)

    # -- server commands ------------------------------------------------------------------------------

    def acceptance_number(self) -> str:
        """The 受理编号 of this transaction, reserved once and kept in the checkpoint."""
        number = self.data.get("acceptance_number")
        if not number:
            ctx = self.ctx
            number = ctx.journal.next_acceptance_number(ctx.outlet.code, ctx.counter_number, ctx.today())
            self.data["acceptance_number"] = number
            self.save()
        return str(number)

    def command_number(self, slot: str) -> str:
        """The 受理编号 a server command carries: the flow's own for its first command, a further
        one (reserved once, kept in the checkpoint) for each later command of the same service.

        The server keeps one 业务流水 per command and refuses a 受理编号 it has seen (即时制卡 is
        申领 + 即时制卡 + 激活: three 业务流水); the form and the local journal carry the flow's own
        number, the journal lists the others under ``command_numbers``.
        """
        first = self.data.setdefault("first_command", slot)
        if first == slot:
            return self.acceptance_number()
        numbers: dict[str, str] = self.data.setdefault("command_numbers", {})
        if slot not in numbers:
            ctx = self.ctx
            numbers[slot] = ctx.journal.next_acceptance_number(
                ctx.outlet.code, ctx.counter_number, ctx.today()
            )
            self.save()
        return numbers[slot]

    def send(
        self,
        slot: str,
        command: str,
        payload: Mapping[str, Any],
        *,
        acceptance_number: str | None = None,
    ) -> Mapping[str, Any]:
        """Run one server command once: the idempotency key is ``<flow id>:<slot>``, stable on resume.

        A command already answered is not sent again (its answer is in the checkpoint); one that may
        have reached the server (in flight at a crash) is sent again with the same key, so the
        server applies it once. A refusal raises a `DomainError` with the server's code. The command
        carries the flow's 受理编号 unless ``acceptance_number`` names another (批量申领: one each).
        """
        done: dict[str, Any] = self.data.setdefault("commands", {})
        if slot in done:
            answer: Mapping[str, Any] = done[slot]
            return answer
        number = acceptance_number or self.command_number(slot)
        body = {"acceptance_number": number, **self.presenter_payload(), **payload}
        self.data["in_flight"] = slot
        self.save()
        result = self.ctx.central.send_command(command, body, f"{self.flow_id}:{slot}")
        self.data["in_flight"] = None
        if not result.accepted:
            self.save()
            raise DomainError(
                safe_code(result.refusal_code),
                result.refusal_message or "社保卡中心系统不予办理",
                "中心系统的决定，请按提示告知办事人",
            )
        done[slot] = jsonable(dict(result.body))
        for message in done[slot].get("notices") or ():
            self.note(str(message))
        for message in done[slot].get("alerts") or ():
            self.alert(str(message))
        self.commit()
        self.save()  # the answer is kept: a resumed flow does not ask again
        stored: Mapping[str, Any] = done[slot]
        return stored

    def command_step(
        self, key: str, title: str, run: Callable[[], None], *, when: Callable[[], bool] | None = None
    ) -> StepDef:
        def page() -> Page:
            return self.page(title, progress=f"正在{title}……")

        return StepDef(key, StepKind.PORT, page, lambda answer: run(), when=when or (lambda: True))

    # -- step: finish (record, render, print) -----------------------------------------------------------
