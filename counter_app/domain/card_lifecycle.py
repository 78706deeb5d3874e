"""The social-application life cycle of a 社会保障卡 (DOMAIN §3), as data.

The server is authoritative; the workstation uses the same table to explain a refusal before it
asks and to enable only the commands that can succeed. Every state × command cell is in
``_TABLE``: a target state, a refusal, or (for ``replace``) one outcome per kind, each optionally
guarded by facts or policy flags. ``decide`` reads the table; it never branches on states itself.

Decisions beyond the table (documented so the city can adjust them):

- ``activate`` and ``replace`` are refused for a card flagged as a known duplicate awaiting 注销
  (``known_duplicate``): such a card must be cancelled, not used or multiplied.
- ``replace`` is refused while a replacement is already pending (``replacement_applied``).
- ``cancel_loss`` from TEMP_LOSS is not subject to the ``replacement_applied`` flag (the table
  applies it to FORMAL_LOSS only; a 补 cannot be applied for during a temporary loss anyway).
- When both apply, "正式挂失不可解挂" is reported before "已申请补换卡".
- A table refusal wins over a guard (e.g. 补卡 without 正式挂失 is reported as such even for a duplicate).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final, Literal, Protocol
from zoneinfo import ZoneInfo

from counter_app.domain.errors import DomainError

SHANGHAI: Final = ZoneInfo("Asia/Shanghai")


# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------


class SocialStatus(StrEnum):
    """人社应用 status of one card. ``NO_CARD`` is a pseudo-state: never stored, used for ``apply``."""

    NO_CARD = "no_card"
    APPLIED = "applied"
    IN_PRODUCTION = "in_production"
    READY_FOR_PICKUP = "ready_for_pickup"
    ISSUED_INACTIVE = "issued_inactive"
    ACTIVE = "active"
    TEMP_LOSS = "temp_loss"
    FORMAL_LOSS = "formal_loss"
    REPLACED = "replaced"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return _SOCIAL_LABELS[self]


_SOCIAL_LABELS: Final[Mapping[SocialStatus, str]] = {
    SocialStatus.NO_CARD: "无卡",
    SocialStatus.APPLIED: "已申领",
    SocialStatus.IN_PRODUCTION: "制卡中",
    SocialStatus.READY_FOR_PICKUP: "待领卡",
    SocialStatus.ISSUED_INACTIVE: "已发卡未激活",
    SocialStatus.ACTIVE: "正常",
    SocialStatus.TEMP_LOSS: "临时挂失",
    SocialStatus.FORMAL_LOSS: "正式挂失",
    SocialStatus.REPLACED: "已补换",
    SocialStatus.CANCELLED: "已注销",
}


class Command(StrEnum):
    """Server commands that move the social status (DOMAIN §2, §3)."""

    APPLY = "apply"
    START_PRODUCTION = "start_production"
    PRODUCTION_DONE = "production_done"
    INSTANT_ISSUE = "instant_issue"
    HAND_OVER = "hand_over"
    ACTIVATE = "activate"
    REPORT_LOSS_TEMP = "report_loss_temp"
    REPORT_LOSS_FORMAL = "report_loss_formal"
    TEMP_LOSS_EXPIRY = "temp_loss_expiry"
    CANCEL_LOSS = "cancel_loss"
    REPLACE = "replace"
    CANCEL_CARD = "cancel_card"

    @property
    def label(self) -> str:
        return _COMMAND_LABELS[self]


_COMMAND_LABELS: Final[Mapping[Command, str]] = {
    Command.APPLY: "申领",
    Command.START_PRODUCTION: "送制卡",
    Command.PRODUCTION_DONE: "制卡完成（回盘）",
    Command.INSTANT_ISSUE: "即时制卡",
    Command.HAND_OVER: "领卡",
    Command.ACTIVATE: "激活",
    Command.REPORT_LOSS_TEMP: "临时挂失",
    Command.REPORT_LOSS_FORMAL: "正式挂失",
    Command.TEMP_LOSS_EXPIRY: "临时挂失到期",
    Command.CANCEL_LOSS: "解挂",
    Command.REPLACE: "补换卡",
    Command.CANCEL_CARD: "注销",
}


class ReplaceKind(StrEnum):
    """补 (the card is lost; needs 正式挂失) or 换 (damaged, expired, 卡面信息变更)."""

    REISSUE = "reissue"
    EXCHANGE = "exchange"

    @property
    def label(self) -> str:
        return "补卡" if self is ReplaceKind.REISSUE else "换卡"


class FinancialStatus(StrEnum):
    """The bank's 金融账户 status: recorded from what bank outlets report, never decided here."""

    INACTIVE = "inactive"
    ACTIVE = "active"
    LOST = "lost"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return _FINANCIAL_LABELS[self]


_FINANCIAL_LABELS: Final[Mapping[FinancialStatus, str]] = {
    FinancialStatus.INACTIVE: "未激活",
    FinancialStatus.ACTIVE: "正常",
    FinancialStatus.LOST: "挂失",
    FinancialStatus.CLOSED: "已销户",
}

#: States that exist on a real card (everything but the ``NO_CARD`` pseudo-state).
CARD_STATES: Final = frozenset(SocialStatus) - {SocialStatus.NO_CARD}
#: At most one card per person here (partial unique index), known duplicates excepted.
PIPELINE_STATES: Final = frozenset(
    {SocialStatus.APPLIED, SocialStatus.IN_PRODUCTION, SocialStatus.READY_FOR_PICKUP}
)
#: At most one card per person here (partial unique index), known duplicates excepted.
ISSUED_STATES: Final = frozenset(
    {SocialStatus.ISSUED_INACTIVE, SocialStatus.ACTIVE, SocialStatus.TEMP_LOSS, SocialStatus.FORMAL_LOSS}
)
LOSS_STATES: Final = frozenset({SocialStatus.TEMP_LOSS, SocialStatus.FORMAL_LOSS})
#: A loss returns to one of these.
PRE_LOSS_STATES: Final = frozenset({SocialStatus.ISSUED_INACTIVE, SocialStatus.ACTIVE})
FINAL_STATES: Final = frozenset({SocialStatus.REPLACED, SocialStatus.CANCELLED})


def is_in_pipeline(state: SocialStatus) -> bool:
    return state in PIPELINE_STATES


def is_issued(state: SocialStatus) -> bool:
    return state in ISSUED_STATES


# --------------------------------------------------------------------------------------------
# Inputs and outputs of a decision
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LifecyclePolicy:
    """The city's adjustable rules (DOMAIN §2 #8/#9, §3)."""

    #: May a 正式挂失 be cancelled (解挂)? Default yes.
    formal_loss_cancellable: bool = True
    #: May a loss be cancelled after a replacement was applied for? Default no (refused).
    cancel_loss_after_replacement_applied: bool = False
    #: How long a 临时挂失 lasts before it lifts itself (四川: 7 days).
    temp_loss_days: int = 7

    def __post_init__(self) -> None:
        if self.temp_loss_days < 1:
            raise ValueError(f"temp_loss_days must be at least 1: {self.temp_loss_days}")


DEFAULT_POLICY: Final = LifecyclePolicy()


@dataclass(frozen=True)
class CardFacts:
    """What the table needs to know about the card besides its state."""

    #: The state before the current loss (ISSUED_INACTIVE or ACTIVE); needed in TEMP_LOSS/FORMAL_LOSS.
    state_before_loss: SocialStatus | None = None
    #: A 补/换 has been applied for this card and its new card is not yet issued.
    replacement_applied: bool = False
    #: The card is a known duplicate awaiting 注销.
    known_duplicate: bool = False
    #: ``replace`` only: 补 or 换.
    replace_kind: ReplaceKind | None = None
    #: ``replace`` only: the new card is issued on the spot (即时制卡).
    instant: bool = False
    #: ``instant_issue``/``hand_over`` only: this card is the new card of a pending 换, so issuing it
    #: retires the old card (→ REPLACED).
    completes_exchange: bool = False


NO_FACTS: Final = CardFacts()


@dataclass(frozen=True)
class Replacement:
    """What ``replace`` does besides the old card's own transition."""

    kind: ReplaceKind
    #: The new card's initial state: APPLIED, or ISSUED_INACTIVE when issued instantly.
    new_card_state: SocialStatus
    #: The old card became REPLACED in this transition (补 always; 换 when instant). Otherwise (换,
    #: not instant) it stays usable until the new card is handed over or instantly issued.
    old_card_replaced_now: bool


@dataclass(frozen=True)
class Transition:
    """An allowed command: where the card it acts on goes, and what else happens."""

    command: Command
    from_state: SocialStatus
    to_state: SocialStatus
    #: What to store as the card's "state before loss" after the transition; set iff to_state is a loss.
    state_before_loss: SocialStatus | None = None
    replacement: Replacement | None = None
    #: Issuing this (new) card retires the old card of a pending 换 (→ REPLACED).
    retires_exchanged_card: bool = False

    @property
    def changes_state(self) -> bool:
        return self.to_state is not self.from_state


class Refused(DomainError):
    """The life cycle refuses a command; ``code`` is stable, ``message`` is for the clerk."""


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------

_BEFORE_LOSS: Final = "before_loss"
_Target = SocialStatus | Literal["before_loss"]


@dataclass(frozen=True)
class _Refuse:
    code: str
    message: str  # may contain {state} (the current state's label) and {command}
    hint: str | None = None

    def error(self, state: SocialStatus, command: Command, kind: ReplaceKind | None) -> Refused:
        command_label = kind.label if kind is not None else command.label
        return Refused(
            self.code,
            self.message.format(state=state.label, command=command_label),
            self.hint.format(state=state.label, command=command_label) if self.hint else None,
        )


@dataclass(frozen=True)
class _Guard:
    """Refuses an otherwise allowed cell when ``blocks(facts, policy)`` holds."""

    blocks: Callable[[CardFacts, LifecyclePolicy], bool]
    refusal: _Refuse


@dataclass(frozen=True)
class _Go:
    target: _Target
    guards: tuple[_Guard, ...] = ()


@dataclass(frozen=True)
class _Replace:
    """``replace``: one outcome per kind; ``None`` = allowed."""

    reissue: _Refuse | None
    exchange: _Refuse | None
    guards: tuple[_Guard, ...] = ()


_Cell = _Go | _Refuse | _Replace

_S = SocialStatus
_C = Command

# -- refusals named by the table -------------------------------------------------------------

_IN_PRODUCTION = _Refuse(
    "in_production",
    "此人已有一张卡在制卡流程中（{state}），一人只能有一张在制的卡，不能重复申领。",
    "请告知持卡人制卡进度；卡片待领取时为其办理领卡。确需放弃该卡，须先经复核注销后再申领。",
)
_HAS_CARD = _Refuse(
    "has_card",
    "此人已有社保卡（{state}），一人只能持有一张卡，不能再次申领。",
    "卡片损坏、过期或卡面信息变更请办理换卡；卡片遗失请先办理正式挂失，再办理补卡。",
)
_ALREADY_ACTIVE = _Refuse(
    "already_active",
    "此卡已经激活（{state}），无需再次激活。",
    "忘记密码请办理密码重置，密码被锁请办理解锁。",
)
_CARD_IN_LOSS = _Refuse(
    "card_in_loss",
    "此卡处于{state}状态，不能激活。",
    "如卡片已找回，请先办理解挂再激活。",
)
_ALREADY_LOST = _Refuse(
    "already_lost",
    "此卡已处于{state}状态，不能再次办理{command}。",
    "如需新卡：临时挂失请先转为正式挂失，正式挂失后可办理补卡。",
)
_MAKE_LOSS_FORMAL_FIRST = _Refuse(
    "make_loss_formal_first",
    "此卡为临时挂失，补卡须先办理正式挂失。",
    "请先为持卡人办理正式挂失，再办理补卡。",
)
_REISSUE_NEEDS_FORMAL_LOSS = _Refuse(
    "reissue_needs_formal_loss",
    "补卡须先办理正式挂失，此卡当前为{state}状态。",
    "卡片遗失请先办理正式挂失；卡片在手但损坏、过期或卡面信息变更请办理换卡。",
)
_EXCHANGE_NOT_ALLOWED_IN_LOSS = _Refuse(
    "exchange_not_allowed_in_loss",
    "此卡处于{state}状态，不能换卡。",
    "卡片已找回请先办理解挂再换卡；卡片确已遗失请办理正式挂失后补卡。",
)
_FINAL_STATE = _Refuse(
    "final_state",
    "此卡状态为{state}，已不再有效，不能办理{command}。",
    "请查询此人名下当前有效的卡，在该卡上办理。",
)

# -- guards (facts and policy flags) ---------------------------------------------------------

_GUARD_KNOWN_DUPLICATE = _Guard(
    lambda facts, policy: facts.known_duplicate,
    _Refuse(
        "known_duplicate",
        "此卡已标记为重复卡，等待注销，不能办理{command}。",
        "请在此人名下的正常卡上办理；此重复卡请经复核办理注销。",
    ),
)
_GUARD_REPLACEMENT_PENDING = _Guard(
    lambda facts, policy: facts.replacement_applied,
    _Refuse(
        "replacement_applied",
        "此卡已申请补换卡，新卡尚未发放，不能重复申请。",
        "请等待新卡制成后为持卡人办理领卡。",
    ),
)
_GUARD_FORMAL_LOSS_NOT_CANCELLABLE = _Guard(
    lambda facts, policy: not policy.formal_loss_cancellable,
    _Refuse(
        "formal_loss_not_cancellable",
        "按本市规定，正式挂失后不能解挂。",
        "如需继续用卡，请为持卡人办理补卡。",
    ),
)
_GUARD_CANCEL_LOSS_AFTER_REPLACEMENT = _Guard(
    lambda facts, policy: facts.replacement_applied and not policy.cancel_loss_after_replacement_applied,
    _Refuse(
        "replacement_applied",
        "此卡已申请补换卡，不能再解挂。",
        "请等待新卡制成后为持卡人办理领卡；旧卡即使找回也不能再使用。",
    ),
)

# -- "—" cells: not applicable, with a reason per command ------------------------------------

_NOT_APPLICABLE_REASONS: Final[Mapping[Command, tuple[str, str]]] = {
    _C.APPLY: ("不能申领。", "请查询此人名下的卡。"),
    _C.START_PRODUCTION: ("只有已申领的卡才能送制卡。", "无需操作；如状态有误请联系社保卡管理中心核查。"),
    _C.PRODUCTION_DONE: (
        "只有制卡中的卡才能登记制卡完成。",
        "无需操作；如回盘数据有误请联系社保卡管理中心核查。",
    ),
    _C.INSTANT_ISSUE: (
        "只有已申领、尚未送制的卡才能即时制卡。",
        "已送批量制卡的卡请等待制成后领卡。",
    ),
    _C.HAND_OVER: ("只有待领卡的卡才能办理领卡。", "卡片尚未制成时请告知持卡人等待领卡通知。"),
    _C.ACTIVATE: ("只有已发放的卡才能激活。", "卡片尚未发放，请先办理领卡。"),
    _C.REPORT_LOSS_TEMP: (
        "只有已发放的卡才能挂失。",
        "卡片尚未发放到持卡人手中，无需挂失；不再需要此卡可办理注销。",
    ),
    _C.REPORT_LOSS_FORMAL: (
        "只有已发放的卡才能挂失。",
        "卡片尚未发放到持卡人手中，无需挂失；不再需要此卡可办理注销。",
    ),
    _C.TEMP_LOSS_EXPIRY: ("只有临时挂失的卡才会到期自动解挂。", "无需操作。"),
    _C.CANCEL_LOSS: ("此卡未挂失，无需解挂。", "无需操作。"),
    _C.REPLACE: ("只有已发放的卡才能补换。", "卡片尚未发放，请等待制成后领卡。"),
    _C.CANCEL_CARD: ("不能注销。", "请查询此人名下的卡。"),
}


def _not_applicable(state: SocialStatus, command: Command) -> _Refuse:
    if state is _S.NO_CARD:
        hint = "如需办卡请先办理申领。" if command is not _C.APPLY else None
        return _Refuse("not_applicable", "此人名下没有社保卡，不能办理{command}。", hint)
    reason, hint = _NOT_APPLICABLE_REASONS[command]
    return _Refuse("not_applicable", "此卡当前为{state}状态，不能办理{command}：" + reason, hint)


_ISSUED_REPLACE = _Replace(
    reissue=_REISSUE_NEEDS_FORMAL_LOSS,
    exchange=None,
    guards=(_GUARD_KNOWN_DUPLICATE, _GUARD_REPLACEMENT_PENDING),
)

#: Cells that are not "—", transcribed from DOMAIN §3 (rows: from-state; columns: command).
_EXPLICIT: Final[Mapping[tuple[SocialStatus, Command], _Cell]] = {
    # (no card)
    (_S.NO_CARD, _C.APPLY): _Go(_S.APPLIED),
    # APPLIED
    (_S.APPLIED, _C.APPLY): _IN_PRODUCTION,
    (_S.APPLIED, _C.START_PRODUCTION): _Go(_S.IN_PRODUCTION),
    (_S.APPLIED, _C.INSTANT_ISSUE): _Go(_S.ISSUED_INACTIVE),
    (_S.APPLIED, _C.CANCEL_CARD): _Go(_S.CANCELLED),
    # IN_PRODUCTION
    (_S.IN_PRODUCTION, _C.APPLY): _IN_PRODUCTION,
    (_S.IN_PRODUCTION, _C.PRODUCTION_DONE): _Go(_S.READY_FOR_PICKUP),
    (_S.IN_PRODUCTION, _C.CANCEL_CARD): _Go(_S.CANCELLED),
    # READY_FOR_PICKUP
    (_S.READY_FOR_PICKUP, _C.APPLY): _IN_PRODUCTION,
    (_S.READY_FOR_PICKUP, _C.HAND_OVER): _Go(_S.ISSUED_INACTIVE),
    (_S.READY_FOR_PICKUP, _C.CANCEL_CARD): _Go(_S.CANCELLED),
    # ISSUED_INACTIVE
    (_S.ISSUED_INACTIVE, _C.APPLY): _HAS_CARD,
    (_S.ISSUED_INACTIVE, _C.ACTIVATE): _Go(_S.ACTIVE, (_GUARD_KNOWN_DUPLICATE,)),
    (_S.ISSUED_INACTIVE, _C.REPORT_LOSS_TEMP): _Go(_S.TEMP_LOSS),
    (_S.ISSUED_INACTIVE, _C.REPORT_LOSS_FORMAL): _Go(_S.FORMAL_LOSS),
    (_S.ISSUED_INACTIVE, _C.REPLACE): _ISSUED_REPLACE,
    (_S.ISSUED_INACTIVE, _C.CANCEL_CARD): _Go(_S.CANCELLED),
    # ACTIVE
    (_S.ACTIVE, _C.APPLY): _HAS_CARD,
    (_S.ACTIVE, _C.ACTIVATE): _ALREADY_ACTIVE,
    (_S.ACTIVE, _C.REPORT_LOSS_TEMP): _Go(_S.TEMP_LOSS),
    (_S.ACTIVE, _C.REPORT_LOSS_FORMAL): _Go(_S.FORMAL_LOSS),
    (_S.ACTIVE, _C.REPLACE): _ISSUED_REPLACE,
    (_S.ACTIVE, _C.CANCEL_CARD): _Go(_S.CANCELLED),
    # TEMP_LOSS
    (_S.TEMP_LOSS, _C.APPLY): _HAS_CARD,
    (_S.TEMP_LOSS, _C.ACTIVATE): _CARD_IN_LOSS,
    (_S.TEMP_LOSS, _C.REPORT_LOSS_TEMP): _ALREADY_LOST,
    (_S.TEMP_LOSS, _C.REPORT_LOSS_FORMAL): _Go(_S.FORMAL_LOSS),
    (_S.TEMP_LOSS, _C.TEMP_LOSS_EXPIRY): _Go(_BEFORE_LOSS),
    (_S.TEMP_LOSS, _C.CANCEL_LOSS): _Go(_BEFORE_LOSS),
    (_S.TEMP_LOSS, _C.REPLACE): _Replace(
        reissue=_MAKE_LOSS_FORMAL_FIRST, exchange=_EXCHANGE_NOT_ALLOWED_IN_LOSS
    ),
    (_S.TEMP_LOSS, _C.CANCEL_CARD): _Go(_S.CANCELLED),
    # FORMAL_LOSS
    (_S.FORMAL_LOSS, _C.APPLY): _HAS_CARD,
    (_S.FORMAL_LOSS, _C.ACTIVATE): _CARD_IN_LOSS,
    (_S.FORMAL_LOSS, _C.REPORT_LOSS_TEMP): _ALREADY_LOST,
    (_S.FORMAL_LOSS, _C.REPORT_LOSS_FORMAL): _ALREADY_LOST,
    (_S.FORMAL_LOSS, _C.CANCEL_LOSS): _Go(
        _BEFORE_LOSS, (_GUARD_FORMAL_LOSS_NOT_CANCELLABLE, _GUARD_CANCEL_LOSS_AFTER_REPLACEMENT)
    ),
    (_S.FORMAL_LOSS, _C.REPLACE): _Replace(
        reissue=None,
        exchange=_EXCHANGE_NOT_ALLOWED_IN_LOSS,
        guards=(_GUARD_KNOWN_DUPLICATE, _GUARD_REPLACEMENT_PENDING),
    ),
    (_S.FORMAL_LOSS, _C.CANCEL_CARD): _Go(_S.CANCELLED),
}


def _build_table() -> dict[tuple[SocialStatus, Command], _Cell]:
    table: dict[tuple[SocialStatus, Command], _Cell] = {}
    for state in SocialStatus:
        for command in Command:
            if state in FINAL_STATES:
                table[state, command] = _FINAL_STATE
            else:
                table[state, command] = _EXPLICIT.get((state, command)) or _not_applicable(state, command)
    return table


#: The complete state × command table (every cell present).
_TABLE: Final[Mapping[tuple[SocialStatus, Command], _Cell]] = _build_table()


# --------------------------------------------------------------------------------------------
# Decisions
# --------------------------------------------------------------------------------------------


def decide(
    state: SocialStatus,
    command: Command,
    *,
    facts: CardFacts = NO_FACTS,
    policy: LifecyclePolicy = DEFAULT_POLICY,
) -> Transition:
    """Apply ``command`` to a card in ``state``; return the transition or raise :class:`Refused`.

    ``apply`` is decided against the person's card (``NO_CARD`` when there is none); the
    person-level one-card rule is :func:`check_one_card_rule`. Missing facts the table needs
    (``replace_kind`` for ``replace``, ``state_before_loss`` when leaving or deepening a loss) are
    programming errors (:class:`ValueError`), not refusals.
    """
    kind = facts.replace_kind if command is _C.REPLACE else None
    if command is _C.REPLACE and kind is None:
        raise ValueError("replace needs facts.replace_kind")
    cell = _TABLE[state, command]
    if isinstance(cell, _Refuse):
        raise cell.error(state, command, kind)
    if isinstance(cell, _Replace):
        assert kind is not None
        refusal = cell.reissue if kind is ReplaceKind.REISSUE else cell.exchange
        if refusal is not None:
            raise refusal.error(state, command, kind)
        _check_guards(cell.guards, state, command, kind, facts, policy)
        return _replace(state, kind, facts)
    _check_guards(cell.guards, state, command, kind, facts, policy)
    return _go(state, command, cell.target, facts)


def _check_guards(
    guards: Iterable[_Guard],
    state: SocialStatus,
    command: Command,
    kind: ReplaceKind | None,
    facts: CardFacts,
    policy: LifecyclePolicy,
) -> None:
    for guard in guards:
        if guard.blocks(facts, policy):
            raise guard.refusal.error(state, command, kind)


def _pre_loss(facts: CardFacts, state: SocialStatus) -> SocialStatus:
    before = facts.state_before_loss
    if before is None or before not in PRE_LOSS_STATES:
        raise ValueError(
            f"a card in {state} needs facts.state_before_loss in ISSUED_INACTIVE/ACTIVE: {before}"
        )
    return before


def _go(state: SocialStatus, command: Command, target: _Target, facts: CardFacts) -> Transition:
    to_state = _pre_loss(facts, state) if target == _BEFORE_LOSS else SocialStatus(target)
    before_loss: SocialStatus | None = None
    if to_state in LOSS_STATES:
        # Entering a loss remembers where we came from; TEMP → FORMAL keeps the original state.
        before_loss = _pre_loss(facts, state) if state in LOSS_STATES else state
    retires = facts.completes_exchange and command in (_C.INSTANT_ISSUE, _C.HAND_OVER)
    return Transition(command, state, to_state, before_loss, retires_exchanged_card=retires)


def _replace(state: SocialStatus, kind: ReplaceKind, facts: CardFacts) -> Transition:
    new_state = _S.ISSUED_INACTIVE if facts.instant else _S.APPLIED
    replaced_now = kind is ReplaceKind.REISSUE or facts.instant
    to_state = _S.REPLACED if replaced_now else state
    before_loss = None if replaced_now or state not in LOSS_STATES else _pre_loss(facts, state)
    return Transition(
        _C.REPLACE,
        state,
        to_state,
        before_loss,
        replacement=Replacement(kind, new_state, replaced_now),
    )


# --------------------------------------------------------------------------------------------
# One person, one card
# --------------------------------------------------------------------------------------------


class CardLike(Protocol):
    """What the one-card rule reads from a card (a row, a DTO, :class:`CardSummary`)."""

    @property
    def status(self) -> SocialStatus: ...

    @property
    def known_duplicate(self) -> bool: ...


@dataclass(frozen=True)
class CardSummary:
    """A minimal :class:`CardLike`."""

    status: SocialStatus
    known_duplicate: bool = False


def check_one_card_rule(existing_cards: Iterable[CardLike], command: Command) -> None:
    """Refuse a command that would give the person a second card in the pipeline or issued.

    ``existing_cards`` are all the person's cards (final ones and known duplicates are ignored).
    ``apply`` needs no card in the pipeline and no issued card. ``replace`` needs no card in the
    pipeline: the card being replaced is the issued one and leaves the issued set when the new
    one enters it. Commands that create no card pass.
    """
    if command not in (_C.APPLY, _C.REPLACE):
        return
    counted = [card for card in existing_cards if not card.known_duplicate]
    in_pipeline = [card for card in counted if card.status in PIPELINE_STATES]
    if in_pipeline:
        state = in_pipeline[0].status
        if command is _C.APPLY:
            raise _IN_PRODUCTION.error(state, command, None)
        raise Refused(
            "in_production",
            f"此人已有一张新卡在制卡流程中（{state.label}），不能再申请补换卡。",
            "请等待新卡制成后为持卡人办理领卡。",
        )
    if command is _C.APPLY:
        issued = [card for card in counted if card.status in ISSUED_STATES]
        if issued:
            raise _HAS_CARD.error(issued[0].status, command, None)


# --------------------------------------------------------------------------------------------
# Temporary loss expiry (clock-driven)
# --------------------------------------------------------------------------------------------


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware: {moment!r}")


def temp_loss_expires_at(since: datetime, policy: LifecyclePolicy = DEFAULT_POLICY) -> datetime:
    """When a 临时挂失 reported at ``since`` lifts itself, in Asia/Shanghai time."""
    _require_aware(since, "since")
    return since.astimezone(SHANGHAI) + timedelta(days=policy.temp_loss_days)


def temp_loss_expired(since: datetime, now: datetime, policy: LifecyclePolicy = DEFAULT_POLICY) -> bool:
    """Has the 临时挂失 reported at ``since`` run out at ``now``? Both must be timezone-aware."""
    _require_aware(now, "now")
    return now >= temp_loss_expires_at(since, policy)
