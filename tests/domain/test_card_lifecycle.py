"""The social-status life cycle against DOMAIN §3, transcribed here independently of the module."""

from __future__ import annotations

import itertools
import pickle
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from counter_app.domain.card_lifecycle import (
    CARD_STATES,
    FINAL_STATES,
    ISSUED_STATES,
    PIPELINE_STATES,
    CardFacts,
    CardSummary,
    Command,
    FinancialStatus,
    LifecyclePolicy,
    Refused,
    ReplaceKind,
    SocialStatus,
    Transition,
    check_one_card_rule,
    decide,
    is_in_pipeline,
    is_issued,
    temp_loss_expired,
    temp_loss_expires_at,
)
from counter_app.domain.errors import DomainError

S = SocialStatus
C = Command
CJK = re.compile(r"[\u4e00-\u9fff]")
CODE = re.compile(r"^[a-z_]+$")
SHANGHAI = ZoneInfo("Asia/Shanghai")

# ---------------------------------------------------------------------------------------------
# DOMAIN §3 as a compact literal. Columns: the commands, replace split by kind. Cells:
#   →state      allowed; the card goes to that state
#   →BL         allowed; back to the state before the loss
#   →REPL       allowed replace (old card: 补 → replaced now; 换 → replaced now only when instant)
#   !code       refused with that code
#   -           refused as not applicable ("—" in DOMAIN)
#   /XY         guards on an allowed cell, checked in this order:
#               D known duplicate → !known_duplicate
#               P replacement already applied for → !replacement_applied
#               F policy: formal loss not cancellable → !formal_loss_not_cancellable
#               R replacement applied and policy forbids cancel_loss after it → !replacement_applied
# ---------------------------------------------------------------------------------------------
COLUMNS = (
    "apply",
    "start_production",
    "production_done",
    "instant_issue",
    "hand_over",
    "activate",
    "report_loss_temp",
    "report_loss_formal",
    "temp_loss_expiry",
    "cancel_loss",
    "replace:reissue",
    "replace:exchange",
    "cancel_card",
)

TABLE = """
#                 apply           start_production  production_done    instant_issue     hand_over         activate         loss_temp      loss_formal    expiry        cancel_loss   replace:reissue             replace:exchange               cancel_card
no_card           →applied        -                 -                  -                 -                 -                -              -              -             -             -                           -                              -
applied           !in_production  →in_production    -                  →issued_inactive  -                 -                -              -              -             -             -                           -                              →cancelled
in_production     !in_production  -                 →ready_for_pickup  -                 -                 -                -              -              -             -             -                           -                              →cancelled
ready_for_pickup  !in_production  -                 -                  -                 →issued_inactive  -                -              -              -             -             -                           -                              →cancelled
issued_inactive   !has_card       -                 -                  -                 -                 →active/D        →temp_loss     →formal_loss   -             -             !reissue_needs_formal_loss  →REPL/DP                       →cancelled
active            !has_card       -                 -                  -                 -                 !already_active  →temp_loss     →formal_loss   -             -             !reissue_needs_formal_loss  →REPL/DP                       →cancelled
temp_loss         !has_card       -                 -                  -                 -                 !card_in_loss    !already_lost  →formal_loss   →BL           →BL           !make_loss_formal_first     !exchange_not_allowed_in_loss  →cancelled
formal_loss       !has_card       -                 -                  -                 -                 !card_in_loss    !already_lost  !already_lost  -             →BL/FR        →REPL/DP                    !exchange_not_allowed_in_loss  →cancelled
replaced          !final_state    !final_state      !final_state       !final_state      !final_state      !final_state     !final_state   !final_state   !final_state  !final_state  !final_state                !final_state                   !final_state
cancelled         !final_state    !final_state      !final_state       !final_state      !final_state      !final_state     !final_state   !final_state   !final_state  !final_state  !final_state                !final_state                   !final_state
"""


def _parse_table() -> dict[tuple[SocialStatus, str], str]:
    cells: dict[tuple[SocialStatus, str], str] = {}
    for line in TABLE.strip().splitlines():
        if line.startswith("#"):
            continue
        state, *tokens = line.split()
        assert len(tokens) == len(COLUMNS), line
        for column, token in zip(COLUMNS, tokens, strict=True):
            cells[SocialStatus(state), column] = token
    return cells


EXPECTED = _parse_table()
LOSS = {S.TEMP_LOSS, S.FORMAL_LOSS}


def test_expected_table_covers_every_state_and_command() -> None:
    assert {state for state, _ in EXPECTED} == set(SocialStatus)
    commands = {column.split(":")[0] for column in COLUMNS}
    assert commands == {command.value for command in Command}


@dataclass(frozen=True)
class Case:
    facts: CardFacts
    policy: LifecyclePolicy


def _cases(state: SocialStatus, column: str) -> Iterator[Case]:
    kind = ReplaceKind(column.split(":")[1]) if column.startswith("replace:") else None
    befores: list[SocialStatus | None] = [S.ISSUED_INACTIVE, S.ACTIVE] if state in LOSS else [None, S.ACTIVE]
    flags = list(itertools.product((False, True), repeat=6))
    for before in befores:
        for applied, duplicate, instant, completes, cancellable, after in flags:
            yield Case(
                CardFacts(
                    state_before_loss=before,
                    replacement_applied=applied,
                    known_duplicate=duplicate,
                    replace_kind=kind,
                    instant=instant,
                    completes_exchange=completes,
                ),
                LifecyclePolicy(
                    formal_loss_cancellable=cancellable, cancel_loss_after_replacement_applied=after
                ),
            )


def _guard_refusal(guards: str, case: Case) -> str | None:
    facts, policy = case.facts, case.policy
    for guard in guards:
        if guard == "D" and facts.known_duplicate:
            return "known_duplicate"
        if guard == "P" and facts.replacement_applied:
            return "replacement_applied"
        if guard == "F" and not policy.formal_loss_cancellable:
            return "formal_loss_not_cancellable"
        if guard == "R" and facts.replacement_applied and not policy.cancel_loss_after_replacement_applied:
            return "replacement_applied"
    return None


def _check_refusal(error: Refused, code: str) -> None:
    assert error.code == code
    assert CODE.fullmatch(error.code)
    assert CJK.search(error.message), error.message
    assert str(error) == error.message
    assert error.hint
    assert CJK.search(error.hint), error.hint
    assert isinstance(error, DomainError)


def _check_allowed(
    transition: Transition, state: SocialStatus, command: Command, target: str, case: Case
) -> None:
    facts = case.facts
    assert transition.from_state is state
    assert transition.command is command
    if target == "REPL":
        kind = facts.replace_kind
        assert kind is not None
        replaced_now = kind is ReplaceKind.REISSUE or facts.instant
        assert transition.to_state is (S.REPLACED if replaced_now else state)
        assert transition.replacement is not None
        assert transition.replacement.kind is kind
        assert transition.replacement.old_card_replaced_now is replaced_now
        assert transition.replacement.new_card_state is (S.ISSUED_INACTIVE if facts.instant else S.APPLIED)
    else:
        expected = facts.state_before_loss if target == "BL" else SocialStatus(target)
        assert transition.to_state is expected
        assert transition.replacement is None
    if transition.to_state in LOSS:
        expected_before = facts.state_before_loss if state in LOSS else state
        assert transition.state_before_loss is expected_before
    else:
        assert transition.state_before_loss is None
    assert transition.retires_exchanged_card is (
        facts.completes_exchange and command in (C.INSTANT_ISSUE, C.HAND_OVER)
    )


@pytest.mark.parametrize(("state", "column"), sorted(EXPECTED), ids=lambda v: str(v))
def test_every_cell_matches_domain_table(state: SocialStatus, column: str) -> None:
    token = EXPECTED[state, column]
    command = Command(column.split(":")[0])
    for case in _cases(state, column):
        if token.startswith("→"):
            target, _, guards = token[1:].partition("/")
            refusal = _guard_refusal(guards, case)
        else:
            target, refusal = "", ("not_applicable" if token == "-" else token[1:])
        if refusal is None:
            transition = decide(state, command, facts=case.facts, policy=case.policy)
            _check_allowed(transition, state, command, target, case)
        else:
            with pytest.raises(Refused) as caught:
                decide(state, command, facts=case.facts, policy=case.policy)
            _check_refusal(caught.value, refusal)


# ---------------------------------------------------------------------------------------------
# Focused cases
# ---------------------------------------------------------------------------------------------


def _code(
    state: SocialStatus,
    command: Command,
    facts: CardFacts = CardFacts(),  # noqa: B008 - frozen
    policy: LifecyclePolicy = LifecyclePolicy(),  # noqa: B008 - frozen
) -> str:
    with pytest.raises(Refused) as caught:
        decide(state, command, facts=facts, policy=policy)
    return caught.value.code


@pytest.mark.parametrize("before", [S.ISSUED_INACTIVE, S.ACTIVE])
@pytest.mark.parametrize("command", [C.TEMP_LOSS_EXPIRY, C.CANCEL_LOSS])
def test_temp_loss_returns_to_state_before_loss(before: SocialStatus, command: Command) -> None:
    lost = decide(before, C.REPORT_LOSS_TEMP)
    assert lost.to_state is S.TEMP_LOSS
    assert lost.state_before_loss is before
    back = decide(S.TEMP_LOSS, command, facts=CardFacts(state_before_loss=lost.state_before_loss))
    assert back.to_state is before
    assert back.state_before_loss is None


@pytest.mark.parametrize("before", [S.ISSUED_INACTIVE, S.ACTIVE])
def test_formal_after_temp_keeps_original_state_before_loss(before: SocialStatus) -> None:
    temp = decide(before, C.REPORT_LOSS_TEMP)
    formal = decide(
        S.TEMP_LOSS, C.REPORT_LOSS_FORMAL, facts=CardFacts(state_before_loss=temp.state_before_loss)
    )
    assert formal.to_state is S.FORMAL_LOSS
    assert formal.state_before_loss is before
    back = decide(S.FORMAL_LOSS, C.CANCEL_LOSS, facts=CardFacts(state_before_loss=formal.state_before_loss))
    assert back.to_state is before


def test_policy_formal_loss_cancellable_flips_cancel_loss() -> None:
    facts = CardFacts(state_before_loss=S.ACTIVE)
    assert decide(S.FORMAL_LOSS, C.CANCEL_LOSS, facts=facts).to_state is S.ACTIVE
    strict = LifecyclePolicy(formal_loss_cancellable=False)
    assert _code(S.FORMAL_LOSS, C.CANCEL_LOSS, facts, strict) == "formal_loss_not_cancellable"
    # A temporary loss is unaffected by the flag.
    assert decide(S.TEMP_LOSS, C.CANCEL_LOSS, facts=facts, policy=strict).to_state is S.ACTIVE


def test_policy_cancel_loss_after_replacement_applied_flips_cancel_loss() -> None:
    facts = CardFacts(state_before_loss=S.ACTIVE, replacement_applied=True)
    assert _code(S.FORMAL_LOSS, C.CANCEL_LOSS, facts) == "replacement_applied"
    lenient = LifecyclePolicy(cancel_loss_after_replacement_applied=True)
    assert decide(S.FORMAL_LOSS, C.CANCEL_LOSS, facts=facts, policy=lenient).to_state is S.ACTIVE


def test_default_policy() -> None:
    policy = LifecyclePolicy()
    assert policy.formal_loss_cancellable is True
    assert policy.cancel_loss_after_replacement_applied is False
    assert policy.temp_loss_days == 7
    with pytest.raises(ValueError, match="temp_loss_days"):
        LifecyclePolicy(temp_loss_days=0)


def test_reissue_replaces_old_card_at_once() -> None:
    facts = CardFacts(state_before_loss=S.ACTIVE, replace_kind=ReplaceKind.REISSUE)
    transition = decide(S.FORMAL_LOSS, C.REPLACE, facts=facts)
    assert transition.to_state is S.REPLACED
    assert transition.state_before_loss is None
    assert transition.replacement is not None
    assert transition.replacement.new_card_state is S.APPLIED
    instant = decide(
        S.FORMAL_LOSS,
        C.REPLACE,
        facts=CardFacts(state_before_loss=S.ACTIVE, replace_kind=ReplaceKind.REISSUE, instant=True),
    )
    assert instant.replacement is not None
    assert instant.replacement.new_card_state is S.ISSUED_INACTIVE


def test_exchange_keeps_old_card_until_new_one_is_issued() -> None:
    applied = decide(S.ACTIVE, C.REPLACE, facts=CardFacts(replace_kind=ReplaceKind.EXCHANGE))
    assert applied.to_state is S.ACTIVE
    assert not applied.changes_state
    assert applied.replacement is not None
    assert applied.replacement.old_card_replaced_now is False
    assert applied.replacement.new_card_state is S.APPLIED
    # The new card's hand-over (or instant issue) retires the old one.
    assert decide(
        S.READY_FOR_PICKUP, C.HAND_OVER, facts=CardFacts(completes_exchange=True)
    ).retires_exchanged_card
    assert decide(S.APPLIED, C.INSTANT_ISSUE, facts=CardFacts(completes_exchange=True)).retires_exchanged_card
    assert not decide(S.READY_FOR_PICKUP, C.HAND_OVER).retires_exchanged_card
    # Instant exchange: both at once.
    instant = decide(S.ACTIVE, C.REPLACE, facts=CardFacts(replace_kind=ReplaceKind.EXCHANGE, instant=True))
    assert instant.to_state is S.REPLACED
    assert instant.replacement is not None
    assert instant.replacement.new_card_state is S.ISSUED_INACTIVE


def test_full_life() -> None:
    state = S.NO_CARD
    before: SocialStatus | None = None
    for command in (
        C.APPLY,
        C.START_PRODUCTION,
        C.PRODUCTION_DONE,
        C.HAND_OVER,
        C.ACTIVATE,
        C.REPORT_LOSS_TEMP,
        C.REPORT_LOSS_FORMAL,
    ):
        transition = decide(state, command, facts=CardFacts(state_before_loss=before))
        state, before = transition.to_state, transition.state_before_loss
    assert (state, before) == (S.FORMAL_LOSS, S.ACTIVE)
    end = decide(
        state, C.REPLACE, facts=CardFacts(state_before_loss=before, replace_kind=ReplaceKind.REISSUE)
    )
    assert end.to_state is S.REPLACED
    assert _code(S.REPLACED, C.CANCEL_LOSS) == "final_state"


def test_missing_facts_are_programming_errors() -> None:
    with pytest.raises(ValueError, match="replace_kind"):
        decide(S.ACTIVE, C.REPLACE)
    with pytest.raises(ValueError, match="state_before_loss"):
        decide(S.TEMP_LOSS, C.CANCEL_LOSS)
    with pytest.raises(ValueError, match="state_before_loss"):
        decide(S.TEMP_LOSS, C.REPORT_LOSS_FORMAL, facts=CardFacts(state_before_loss=S.APPLIED))


def test_not_applicable_messages_name_state_and_command() -> None:
    with pytest.raises(Refused) as caught:
        decide(S.ACTIVE, C.CANCEL_LOSS)
    assert caught.value.code == "not_applicable"
    assert "正常" in caught.value.message
    assert "解挂" in caught.value.message
    with pytest.raises(Refused) as caught:
        decide(S.NO_CARD, C.ACTIVATE)
    assert "没有社保卡" in caught.value.message


# ---------------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------------


def test_enum_values_and_labels() -> None:
    assert [s.value for s in SocialStatus] == [
        "no_card", "applied", "in_production", "ready_for_pickup", "issued_inactive", "active",
        "temp_loss", "formal_loss", "replaced", "cancelled",
    ]  # fmt: skip
    assert {c.value for c in Command} == {
        "apply", "start_production", "production_done", "instant_issue", "hand_over", "activate",
        "report_loss_temp", "report_loss_formal", "temp_loss_expiry", "cancel_loss", "replace", "cancel_card",
    }  # fmt: skip
    assert {f.value for f in FinancialStatus} == {"inactive", "active", "lost", "closed"}
    assert {k.value for k in ReplaceKind} == {"reissue", "exchange"}
    for member in [*SocialStatus, *Command, *FinancialStatus, *ReplaceKind]:
        assert CJK.search(member.label), member
    assert S.ACTIVE.label == "正常"
    assert S.TEMP_LOSS.label == "临时挂失"
    assert ReplaceKind.REISSUE.label == "补卡"


def test_state_sets_partition_card_states() -> None:
    assert S.NO_CARD not in CARD_STATES
    assert PIPELINE_STATES | ISSUED_STATES | FINAL_STATES == CARD_STATES
    assert not PIPELINE_STATES & ISSUED_STATES
    assert {S.APPLIED, S.IN_PRODUCTION, S.READY_FOR_PICKUP} == PIPELINE_STATES
    assert {S.ISSUED_INACTIVE, S.ACTIVE, S.TEMP_LOSS, S.FORMAL_LOSS} == ISSUED_STATES
    assert is_in_pipeline(S.IN_PRODUCTION)
    assert not is_in_pipeline(S.ACTIVE)
    assert is_issued(S.FORMAL_LOSS)
    assert not is_issued(S.REPLACED)


def test_domain_error_basics() -> None:
    error = Refused("has_card", "此人已有社保卡", "请办理换卡")
    assert str(error) == "此人已有社保卡"
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.code, copy.message, copy.hint) == (
        Refused,
        "has_card",
        "此人已有社保卡",
        "请办理换卡",
    )
    with pytest.raises(ValueError, match="code"):
        DomainError("Bad-Code", "消息")
    with pytest.raises(ValueError, match="message"):
        DomainError("ok", "")


# ---------------------------------------------------------------------------------------------
# One person, one card
# ---------------------------------------------------------------------------------------------


def _rule_code(cards: list[CardSummary], command: Command) -> str | None:
    try:
        check_one_card_rule(cards, command)
    except Refused as error:
        _check_refusal(error, error.code)
        return error.code
    return None


@pytest.mark.parametrize(
    ("statuses", "apply_code", "replace_code"),
    [
        ([], None, None),
        ([S.REPLACED, S.CANCELLED], None, None),
        ([S.APPLIED], "in_production", "in_production"),
        ([S.IN_PRODUCTION], "in_production", "in_production"),
        ([S.READY_FOR_PICKUP, S.REPLACED], "in_production", "in_production"),
        ([S.ISSUED_INACTIVE], "has_card", None),
        ([S.ACTIVE], "has_card", None),
        ([S.TEMP_LOSS], "has_card", None),
        ([S.FORMAL_LOSS, S.CANCELLED], "has_card", None),
        ([S.ACTIVE, S.APPLIED], "in_production", "in_production"),
    ],
)
def test_one_card_rule(
    statuses: list[SocialStatus], apply_code: str | None, replace_code: str | None
) -> None:
    cards = [CardSummary(status) for status in statuses]
    assert _rule_code(cards, C.APPLY) == apply_code
    assert _rule_code(cards, C.REPLACE) == replace_code
    # Commands that create no card are not the rule's business.
    assert _rule_code(cards, C.ACTIVATE) is None


def test_one_card_rule_ignores_known_duplicates() -> None:
    duplicates = [CardSummary(S.ACTIVE, known_duplicate=True), CardSummary(S.APPLIED, known_duplicate=True)]
    assert _rule_code(duplicates, C.APPLY) is None
    assert _rule_code(duplicates, C.REPLACE) is None
    assert _rule_code([*duplicates, CardSummary(S.ACTIVE)], C.APPLY) == "has_card"


# ---------------------------------------------------------------------------------------------
# Temporary-loss expiry
# ---------------------------------------------------------------------------------------------


def test_temp_loss_expiry_after_seven_days() -> None:
    since = datetime(2025, 3, 1, 9, 30, tzinfo=SHANGHAI)
    assert temp_loss_expires_at(since) == datetime(2025, 3, 8, 9, 30, tzinfo=SHANGHAI)
    assert temp_loss_expires_at(since).tzinfo == SHANGHAI
    assert not temp_loss_expired(since, since + timedelta(days=7) - timedelta(seconds=1))
    assert temp_loss_expired(since, since + timedelta(days=7))
    # The same instants in UTC give the same answer.
    utc_since = since.astimezone(UTC)
    assert not temp_loss_expired(utc_since, (since + timedelta(days=6, hours=23)).astimezone(UTC))
    assert temp_loss_expired(utc_since, (since + timedelta(days=7, minutes=1)).astimezone(UTC))


def test_temp_loss_duration_is_configurable() -> None:
    since = datetime(2025, 3, 1, 9, 30, tzinfo=SHANGHAI)
    ten = LifecyclePolicy(temp_loss_days=10)
    assert not temp_loss_expired(since, since + timedelta(days=8), ten)
    assert temp_loss_expired(since, since + timedelta(days=10), ten)


def test_temp_loss_expiry_needs_aware_datetimes() -> None:
    aware = datetime(2025, 3, 1, tzinfo=SHANGHAI)
    naive = datetime(2025, 3, 1)  # naive on purpose
    with pytest.raises(ValueError, match="since"):
        temp_loss_expired(naive, aware)
    with pytest.raises(ValueError, match="now"):
        temp_loss_expired(aware, naive)
