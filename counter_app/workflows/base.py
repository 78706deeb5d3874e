"""业务流程步骤机 — the step machine every service flow runs on, with no Qt in it.

A flow is an ordered plan of steps, each with a guard (``when``): the flow stands on one step at a
time, which a wizard shows as one page (`Step`): clerk input with a typed form, a confirmation, the
materials checklist, a port action with its progress text, or the end (DONE / REFUSED). The wizard
calls `Flow.submit` with the clerk's answer (or nothing, to run a port action), `Flow.back` where
``step.can_go_back`` and `Flow.cancel`. Device and server calls run synchronously inside `submit`,
so the UI runs flows on its device/worker thread.

After every step (and inside long actions, e.g. every record of a card write) the flow saves its
``state`` — JSON-able, no PIN ever — through ``Journal.save_checkpoint``; `resume` (in
``registry``) rebuilds the flow from it after a crash and it continues where it stood. Port actions
are written to be re-run: server commands carry idempotency keys made of the flow id and the step,
card writes resume from the saved `PendingWrite`, the journal record is skipped when already there.

Errors, in three kinds:

- `InputInvalid`: the clerk's input is malformed; the same step is shown again with ``problem``.
- `StepFailed` and the ports' transport errors (card pulled, reader fault, server unreachable): the
  step is shown again with ``problem``; submitting again retries.
- any other `DomainError` is a refusal (不予办理): before the flow changed anything it ends REFUSED
  and nothing is written; after it did (a command accepted, the card written) it is shown as the
  step's ``problem`` and the clerk may retry or `cancel`, which records what was done.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar, Final

from counter_app.domain.catalog import ServiceItem
from counter_app.domain.errors import DomainError
from counter_app.workflows.context import Context
from counter_app.workflows.ports import CardRemovedError, CentralUnavailable, TransportError

STATE_FORMAT: Final = 1
_CODE = re.compile(r"^[a-z_]+$")


# --------------------------------------------------------------------------------------------
# What a wizard sees
# --------------------------------------------------------------------------------------------


class StepKind(StrEnum):
    """What kind of page a step is (步骤类型)."""

    CLERK_INPUT = "clerk_input"  # 柜员录入: a typed form
    CONFIRM = "confirm"  # 确认: read-only summary, pick one option
    MATERIALS = "materials"  # 材料核验: tick every line explicitly
    PORT = "port"  # 设备/中心操作: submit() runs it; show ``progress`` meanwhile
    DONE = "done"  # 办结
    REFUSED = "refused"  # 不予办理


class FieldKind(StrEnum):
    """The type of a form field; the value a wizard returns for it is a ``str`` unless noted."""

    TEXT = "text"
    CHOICE = "choice"  # one of ``choices``
    MULTI_CHOICE = "multi_choice"  # a list of ``choices`` values
    DATE = "date"  # ISO date text (YYYY-MM-DD)
    ID_NUMBER = "id_number"  # 证件号码
    PHONE = "phone"
    REGION = "region"  # 行政区划代码, 6 digits
    OPERATOR_NUMBER = "operator_number"  # 工号
    FILE = "file"  # a file's path (the wizard offers a file dialog too)


@dataclass(frozen=True)
class Choice:
    """One option of a choice field or a confirmation; ``mark`` is 待确认 for assumed rules."""

    value: str
    label: str
    mark: str = ""


@dataclass(frozen=True)
class FieldSpec:
    """One field of a clerk-input step. ``show_if`` = (field key, values): shown only then."""

    key: str
    label: str
    kind: FieldKind = FieldKind.TEXT
    required: bool = True
    choices: tuple[Choice, ...] = ()
    hint: str = ""
    show_if: tuple[str, tuple[str, ...]] | None = None


@dataclass(frozen=True)
class MaterialLine:
    """One line of the 申报材料 checklist; ``mark`` is 待确认 when the catalog assumed it.

    ``required`` False: the line does not apply to this case (or is "if available"); it is still
    shown and may be ticked.
    """

    key: str
    text: str
    mark: str = ""
    required: bool = True


@dataclass(frozen=True)
class Problem:
    """A refusal or a step's problem, as the clerk sees it: stable code, Chinese message, hint."""

    code: str
    message: str
    hint: str | None = None

    @classmethod
    def of(cls, error: DomainError) -> Problem:
        return cls(error.code, error.message, error.hint)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "hint": self.hint}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Problem:
        hint = raw.get("hint")
        return cls(str(raw["code"]), str(raw["message"]), None if hint is None else str(hint))


@dataclass(frozen=True)
class FollowUp:
    """A flow the clerk should run next (后续办理), e.g. 关键信息变更 → 换卡, with its prefill."""

    item_code: str
    label: str
    variant: str | None = None
    prefill: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "item_code": self.item_code,
            "label": self.label,
            "variant": self.variant,
            "prefill": dict(self.prefill),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> FollowUp:
        variant = raw.get("variant")
        return cls(
            str(raw["item_code"]),
            str(raw["label"]),
            None if variant is None else str(variant),
            dict(raw.get("prefill") or {}),
        )


@dataclass(frozen=True)
class Outcome:
    """How a flow ended (办理结果): the transaction, the print, notices and any follow-up."""

    acceptance_number: str
    result: str
    queued: bool = False  # sent through the outbox: 已受理，待上传确认
    printed: bool = False
    print_problem: Problem | None = None
    notices: tuple[str, ...] = ()
    follow_up: FollowUp | None = None
    complete: bool = True  # False: ended early after changing something (未办结)

    def to_dict(self) -> dict[str, Any]:
        return {
            "acceptance_number": self.acceptance_number,
            "result": self.result,
            "queued": self.queued,
            "printed": self.printed,
            "print_problem": None if self.print_problem is None else self.print_problem.to_dict(),
            "notices": list(self.notices),
            "follow_up": None if self.follow_up is None else self.follow_up.to_dict(),
            "complete": self.complete,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Outcome:
        problem = raw.get("print_problem")
        follow = raw.get("follow_up")
        return cls(
            acceptance_number=str(raw["acceptance_number"]),
            result=str(raw["result"]),
            queued=bool(raw.get("queued", False)),
            printed=bool(raw.get("printed", False)),
            print_problem=None if problem is None else Problem.from_dict(problem),
            notices=tuple(str(n) for n in raw.get("notices", ())),
            follow_up=None if follow is None else FollowUp.from_dict(follow),
            complete=bool(raw.get("complete", True)),
        )


@dataclass(frozen=True)
class Page:
    """The content of one step as a flow describes it; the machine adds the navigation."""

    title: str
    prompt: str = ""
    fields: tuple[FieldSpec, ...] = ()
    values: Mapping[str, Any] = field(default_factory=dict)
    materials: tuple[MaterialLine, ...] = ()
    options: tuple[Choice, ...] = ()
    display: tuple[tuple[str, str], ...] = ()
    progress: str = ""
    notices: tuple[str, ...] = ()
    #: A standing notice shown on top of the page (e.g. the holder's 代管代持 authorisation).
    banner: str = ""


@dataclass(frozen=True)
class Step:
    """The page a wizard shows now (one per step), with what the clerk may do next.

    - CLERK_INPUT: ``fields`` (``values`` holds what is filled in already); submit a mapping of
      field key → value.
    - CONFIRM: ``display`` rows (label, value) and ``options``; submit ``{"choice": value}``.
    - MATERIALS: ``materials``; submit ``{"checked": [keys]}`` — every required line ticked.
    - PORT: ``progress`` text; submit() (no answer) runs it; on failure ``problem`` is set and
      submit() retries.
    - DONE: ``outcome``. REFUSED: ``refusal`` (a flow the clerk cancelled before any change ends as a
      REFUSED-kind page with key ``cancelled`` and no refusal), and ``follow_up`` when another flow
      solves the refusal (e.g. 代管代持授权 for a custodian without one).

    Every kind carries ``banner`` (a standing notice about the holder or card, shown on top of every
    page) and ``alerts`` (warnings from the server for the clerk, e.g. 疑似强制代领).
    """

    key: str
    kind: StepKind
    title: str
    prompt: str = ""
    fields: tuple[FieldSpec, ...] = ()
    values: Mapping[str, Any] = field(default_factory=dict)
    materials: tuple[MaterialLine, ...] = ()
    options: tuple[Choice, ...] = ()
    display: tuple[tuple[str, str], ...] = ()
    progress: str = ""
    notices: tuple[str, ...] = ()
    problem: Problem | None = None
    can_go_back: bool = False
    can_cancel: bool = True
    #: True when cancelling now ends the flow with a record of what was already done (未办结).
    cancel_records: bool = False
    outcome: Outcome | None = None
    refusal: Problem | None = None
    banner: str = ""
    alerts: tuple[str, ...] = ()
    follow_up: FollowUp | None = None


class FlowStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    REFUSED = "refused"
    CANCELLED = "cancelled"


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class InputInvalid(DomainError):
    """The clerk's input for this step is malformed or incomplete (录入有误); the step stays."""


class StepFailed(DomainError):
    """A device or the server failed at this step (操作未完成); submitting again retries."""


class FlowError(Exception):
    """A programming error in driving a flow (wrong answer shape, submit after the end …)."""


def refusal(code: str, message: str, hint: str | None = None) -> DomainError:
    """A refusal (不予办理) with a stable code; the machine ends the flow REFUSED (before any change)."""
    return DomainError(code, message, hint)


def _transport_problem(error: Exception) -> Problem:
    if isinstance(error, CardRemovedError):
        return Problem("card_removed", "卡片已离开读卡器", "请将卡片插回读卡器后重试")
    if isinstance(error, CentralUnavailable):
        return Problem("central_unavailable", "中心服务暂不可用", "请检查网络后重试；多次失败请联系信息科")
    return Problem("reader_fault", "读卡器故障", "请检查读卡器连接后重试")


def safe_code(code: str | None, default: str = "refused_by_server") -> str:
    """A server's refusal code, usable as a `DomainError` code."""
    return code if code and _CODE.fullmatch(code) else default


def jsonable(value: Any) -> Any:
    """Server answers as plain JSON values (dates as ISO text), for the checkpoint."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


# --------------------------------------------------------------------------------------------
# The machine
# --------------------------------------------------------------------------------------------


def _always() -> bool:
    return True


@dataclass(frozen=True)
class StepDef:
    """One step of a flow's plan: its page, what submitting does, and when it applies."""

    key: str
    kind: StepKind
    page: Callable[[], Page]
    handle: Callable[[Mapping[str, Any]], None]
    when: Callable[[], bool] = _always

    def only_if(self, condition: Callable[[], bool]) -> StepDef:
        """This step, applying only where ``condition`` holds as well as its own guard."""
        own = self.when
        return StepDef(self.key, self.kind, self.page, self.handle, lambda: condition() and own())


class Flow:
    """A service flow (业务流程) as a step machine; subclasses give ``item_code`` and `plan`."""

    item_code: ClassVar[str]
    #: Key of the step that records and prints; `cancel` after a change jumps there.
    FINISH: ClassVar[str] = "finish"

    def __init__(self, ctx: Context, state: Mapping[str, Any]) -> None:
        if state.get("format") != STATE_FORMAT or state.get("item_code") != self.item_code:
            raise FlowError(f"checkpoint is not a {self.item_code} flow of format {STATE_FORMAT}")
        self.ctx = ctx
        self.item: ServiceItem = ctx.catalog.by_code(self.item_code)
        self.flow_id: str = str(state["flow_id"])
        self.data: dict[str, Any] = dict(state.get("data") or {})
        self._status = FlowStatus(state.get("status", FlowStatus.RUNNING))
        self._current: str | None = state.get("current")
        self._history: list[str] = list(state.get("history") or [])
        self._committed = bool(state.get("committed", False))
        problem = state.get("problem")
        self._problem = None if problem is None else Problem.from_dict(problem)
        refused = state.get("refusal")
        self._refusal = None if refused is None else Problem.from_dict(refused)
        outcome = state.get("outcome")
        self._outcome = None if outcome is None else Outcome.from_dict(outcome)
        #: Told what a long action is waiting for now (e.g. 请取出原卡); the wizard shows it.
        self.listener: Callable[[str], None] | None = None
        self._plan: tuple[StepDef, ...] = tuple(self.plan())
        keys = [d.key for d in self._plan]
        if len(set(keys)) != len(keys):
            raise FlowError(f"{self.item_code}: duplicate step keys {keys}")

    # -- construction ----------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        ctx: Context,
        *,
        variant: str | None = None,
        prefill: Mapping[str, Any] | None = None,
        flow_id: str | None = None,
    ) -> Flow:
        """A new flow; checks the preconditions at once (a refused flow ends REFUSED, writes nothing)."""
        state = {
            "format": STATE_FORMAT,
            "item_code": cls.item_code,
            "flow_id": flow_id or uuid.uuid4().hex,
            "status": FlowStatus.RUNNING.value,
            "data": {"variant": variant, "prefill": jsonable(dict(prefill or {}))},
        }
        flow = cls(ctx, state)
        try:
            flow.check_preconditions()
        except DomainError as error:
            flow._refuse(error)
            return flow
        flow._current = flow._next_key(None)
        flow._save()
        return flow

    @classmethod
    def restore(cls, ctx: Context, state: Mapping[str, Any]) -> Flow:
        """The flow as its checkpoint left it (after a crash)."""
        return cls(ctx, state)

    # -- what subclasses provide -------------------------------------------------------------

    def plan(self) -> Sequence[StepDef]:
        """The steps in order; guards (``when``) skip those that do not apply."""
        raise NotImplementedError

    def check_preconditions(self) -> None:
        """Raise a `DomainError` when the flow may not even start here (role, outlet, offline)."""

    def finish_incomplete(self, reason: Problem) -> None:
        """Called by `cancel` after a change: remember why; the FINISH step then records it."""
        self.data["incomplete"] = reason.to_dict()

    def banner(self) -> str:
        """A standing notice for every page of this flow (none by default)."""
        return ""

    def alerts(self) -> tuple[str, ...]:
        """Warnings for the clerk on every page from now on (none by default)."""
        return ()

    def refusal_follow_up(self, refusal: Problem) -> FollowUp | None:
        """A flow that solves ``refusal``, offered on the 不予办理 page (none by default)."""
        return None

    def tell(self, text: str) -> None:
        """Say what a running action waits for now (插卡、取卡……), to whoever listens."""
        listener = self.listener
        if listener is not None:
            listener(text)

    # -- the wizard's API ---------------------------------------------------------------------

    @property
    def status(self) -> FlowStatus:
        return self._status

    @property
    def committed(self) -> bool:
        """True once the flow changed something outside itself (server, card, journal)."""
        return self._committed

    @property
    def variant(self) -> str | None:
        value = self.data.get("variant")
        return None if value is None else str(value)

    @property
    def prefill(self) -> Mapping[str, Any]:
        value = self.data.get("prefill")
        return value if isinstance(value, Mapping) else {}

    @property
    def step(self) -> Step:
        """The current page."""
        if self._status is FlowStatus.REFUSED:
            assert self._refusal is not None
            return Step(
                "refused",
                StepKind.REFUSED,
                "不予办理",
                self._refusal.message,
                refusal=self._refusal,
                can_cancel=False,
                banner=self.banner(),
                alerts=self.alerts(),
                follow_up=self.refusal_follow_up(self._refusal),
            )
        if self._status is FlowStatus.CANCELLED:
            return Step(
                "cancelled",
                StepKind.REFUSED,
                "已取消办理",
                "本次办理已取消，未做任何变更。",
                can_cancel=False,
                banner=self.banner(),
            )
        if self._status is FlowStatus.DONE:
            assert self._outcome is not None
            return Step(
                "done",
                StepKind.DONE,
                "办理完成",
                self._outcome.result,
                outcome=self._outcome,
                can_cancel=False,
                banner=self.banner(),
                alerts=self.alerts(),
            )
        definition = self._definition()
        page = definition.page()
        return Step(
            key=definition.key,
            kind=definition.kind,
            title=page.title,
            prompt=page.prompt,
            fields=page.fields,
            values=page.values,
            materials=page.materials,
            options=page.options,
            display=page.display,
            progress=page.progress,
            notices=page.notices,
            problem=self._problem,
            can_go_back=self.can_go_back,
            can_cancel=True,
            cancel_records=self._cancel_records(),
            banner=page.banner or self.banner(),
            alerts=self.alerts(),
        )

    @property
    def can_go_back(self) -> bool:
        return (
            self._status is FlowStatus.RUNNING
            and not self._committed
            and not self.data.get("in_flight")
            and bool(self._history)
        )

    @property
    def state(self) -> dict[str, Any]:
        """Everything needed to continue this flow (JSON-able; never a PIN)."""
        return {
            "format": STATE_FORMAT,
            "item_code": self.item_code,
            "flow_id": self.flow_id,
            "status": self._status.value,
            "current": self._current,
            "history": list(self._history),
            "committed": self._committed,
            "data": self.data,
            "problem": None if self._problem is None else self._problem.to_dict(),
            "refusal": None if self._refusal is None else self._refusal.to_dict(),
            "outcome": None if self._outcome is None else self._outcome.to_dict(),
        }

    def submit(self, answer: Mapping[str, Any] | None = None) -> Step:
        """Complete the current step with the clerk's answer (None for a port action)."""
        if self._status is not FlowStatus.RUNNING:
            raise FlowError(f"the flow has ended ({self._status.value})")
        definition = self._definition()
        self._problem = None
        try:
            definition.handle(dict(answer or {}))
        except (InputInvalid, StepFailed) as error:
            return self._stay(Problem.of(error))
        except (TransportError, CentralUnavailable) as error:
            return self._stay(_transport_problem(error))
        except DomainError as error:
            if self._committed or self.data.get("in_flight"):
                return self._stay(Problem.of(error))
            self._refuse(error)
            return self.step
        if self._status is not FlowStatus.RUNNING:  # the handler ended the flow (DONE)
            return self.step
        self._history.append(definition.key)
        self._current = self._next_key(definition.key)
        self._save()
        return self.step

    def back(self) -> Step:
        """Go back to the previous step (only before the flow changed anything)."""
        if not self.can_go_back:
            raise FlowError("cannot go back from here")
        self._current = self._history.pop()
        self._problem = None
        self._save()
        return self.step

    def cancel(self) -> Step:
        """Stop: before any change nothing is written; after one, what was done is recorded (未办结)."""
        if self._status is not FlowStatus.RUNNING:
            raise FlowError(f"the flow has ended ({self._status.value})")
        if self._cancel_records():
            if self._current == self.FINISH:
                raise FlowError("the flow is recording its outcome; submit to finish")
            reason = self._problem or Problem("ended_early", "柜员结束办理")
            self.finish_incomplete(reason)
            self._problem = None
            self._history.append(self._current or "")
            self._current = self.FINISH
            self._save()
            return self.step
        self._status = FlowStatus.CANCELLED
        self.ctx.journal.discard_checkpoint(self.flow_id)
        return self.step

    # -- for subclasses -------------------------------------------------------------------

    def commit(self) -> None:
        """Mark that the flow changed something outside itself: no more back, cancel records."""
        if not self._committed:
            self._committed = True
            self._save()

    def save(self) -> None:
        """Checkpoint now (inside a long action, e.g. after every record of a card write)."""
        self._save()

    def end(self, outcome: Outcome) -> None:
        """End the flow DONE (the FINISH step calls this after recording)."""
        self._outcome = outcome
        self._status = FlowStatus.DONE
        self._current = None
        self.ctx.journal.discard_checkpoint(self.flow_id)

    def replace_outcome(self, outcome: Outcome) -> None:
        self._outcome = outcome

    @property
    def outcome(self) -> Outcome | None:
        return self._outcome

    @contextmanager
    def device(self, what: str) -> Iterator[None]:
        """Device/card errors inside the block become a retryable `StepFailed` with ``what`` said."""
        try:
            yield
        except (TransportError, CentralUnavailable):
            raise
        except DomainError as error:  # card errors (wrong PIN, card mismatch…), pad errors
            raise StepFailed(error.code, f"{what}：{error.message}", error.hint) from error

    # -- internals -----------------------------------------------------------------------

    def _definition(self) -> StepDef:
        for definition in self._plan:
            if definition.key == self._current:
                return definition
        raise FlowError(f"{self.item_code}: no step {self._current!r} in the plan")

    def _next_key(self, after: str | None) -> str:
        keys = [d.key for d in self._plan]
        start = 0 if after is None else keys.index(after) + 1
        for definition in self._plan[start:]:
            if definition.when():
                return definition.key
        raise FlowError(f"{self.item_code}: no step after {after!r}; the plan must end in {self.FINISH!r}")

    def _cancel_records(self) -> bool:
        return self._committed or bool(self.data.get("in_flight"))

    def _stay(self, problem: Problem) -> Step:
        self._problem = problem
        self._save()
        return self.step

    def _refuse(self, error: DomainError) -> None:
        self._refusal = Problem.of(error)
        self._status = FlowStatus.REFUSED
        self._current = None
        self.ctx.journal.discard_checkpoint(self.flow_id)

    def _save(self) -> None:
        self.ctx.journal.save_checkpoint(self.flow_id, self.state)
