"""Running one command in one write transaction (命令执行), with races turned into refusals.

A command that loses a race — two ``apply`` for one person at the same moment, two updates of one
card — hits a partial unique index, a unique key or the card's row version. The runner rolls back
and runs the command once more: it now sees the winner's committed state, so the domain refuses it
with its own code and words (``refused/in_production`` …). Should the second run collide again, the
violated index is translated into the matching refusal; nothing is ever answered as a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from central.core.clock import Clock
from central.core.config import Settings
from central.core.db import Database
from central.core.problems import Problem
from central.models import ONE_IN_PIPELINE_INDEX, ONE_ISSUED_INDEX
from central.services.actors import ActorClaim, resolve_actor
from central.services.common import CommandContext
from counter_app.domain.card_lifecycle import (
    CardSummary,
    Command,
    SocialStatus,
    check_one_card_rule,
)
from counter_app.domain.errors import DomainError

T = TypeVar("T")
R = TypeVar("R")
log = logging.getLogger("central.commands")

#: Constraint (PostgreSQL name, or SQLite's column list) → what it means.
_CONSTRAINTS = {
    ONE_IN_PIPELINE_INDEX: "pipeline",
    ONE_ISSUED_INDEX: "issued",
    # SQLite names the columns, not the index (the issued index lists known_duplicate for this)
    "cards.person_id": "pipeline",
    "cards.person_id, cards.known_duplicate": "issued",
    "uq_transactions_acceptance_number": "acceptance_number",
    "transactions.acceptance_number": "acceptance_number",
    "uq_cards_card_identifier": "card_identifier",
    "cards.card_identifier": "card_identifier",
    "uq_cards_card_number": "card_number",
    "cards.card_number": "card_number",
    "uq_persons_id_type_id_number": "person",
    "persons.id_type, persons.id_number": "person",
}


def violated_constraint(exc: IntegrityError) -> str | None:
    """What an IntegrityError violated, in the keys of ``_CONSTRAINTS`` (None when unknown)."""
    diag = getattr(exc.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name:
        return _CONSTRAINTS.get(name)
    message = str(exc.orig)
    prefix = "UNIQUE constraint failed: "
    if message.startswith(prefix):
        return _CONSTRAINTS.get(message[len(prefix) :].strip())
    return None


def _final_refusal(kind: str | None) -> DomainError | None:
    if kind == "pipeline":
        try:
            check_one_card_rule([CardSummary(SocialStatus.APPLIED)], Command.APPLY)
        except DomainError as refusal:
            return refusal
    if kind == "issued":
        try:
            check_one_card_rule([CardSummary(SocialStatus.ISSUED_INACTIVE)], Command.APPLY)
        except DomainError as refusal:
            return refusal
    if kind == "person":
        return DomainError(
            "person_exists", "此证件号码的人员刚刚由其他柜台登记。", "请重新查询此人后再办理。"
        )
    return None


_NOT_RETRIED = {
    "acceptance_number": DomainError(
        "duplicate_acceptance_number",
        "此受理编号已有业务记录，不能重复提交。",
        "请查询此受理编号的办理结果；如为新业务，请重新生成受理编号。",
    ),
    "card_identifier": DomainError(
        "card_identifier_in_use",
        "此卡识别码已属于另一张卡，这张预制卡不能再使用。",
        "请换一张预制卡重新制卡，并将此卡交回管理。",
    ),
    "card_number": DomainError(
        "card_number_in_use", "此卡号已属于另一张卡。", "请联系社保卡管理中心核查卡号分配。"
    ),
}


def run_command(
    db: Database,
    settings: Settings,
    clock: Clock,
    claim: ActorClaim,
    action: Callable[[CommandContext], T],
    *,
    need_counter: bool = True,
    finish: Callable[[Session, T], R],
) -> R:
    """Resolve the actor and run ``action`` in one transaction; retry once after a lost race.

    ``finish`` runs in the same transaction after the action (it stores the idempotent answer).
    """
    for attempt in (1, 2):
        try:
            with db.write() as session:
                actor = resolve_actor(session, claim, need_counter=need_counter)
                ctx = CommandContext(
                    session=session,
                    actor=actor,
                    now=clock.now(),
                    policy=settings.lifecycle_policy(),
                    alert_principals=settings.agent_alert_principals,
                    alert_days=settings.agent_alert_days,
                )
                return finish(session, action(ctx))
        except IntegrityError as exc:
            kind = violated_constraint(exc)
            if kind in _NOT_RETRIED:
                raise _NOT_RETRIED[kind] from None
            log.info("command lost a race on %s (attempt %d)", kind or exc.orig, attempt)
            if attempt == 2 or kind is None:
                refusal = _final_refusal(kind)
                if refusal is None:
                    raise
                raise refusal from None
        except StaleDataError:
            log.info("card or person changed under the command (attempt %d)", attempt)
            if attempt == 2:
                raise Problem(
                    409,
                    "conflict/concurrent_update",
                    "记录正被同时修改",
                    "此记录正在被其他柜台同时办理，请稍后重试。",
                    code="concurrent_update",
                ) from None
    raise AssertionError("unreachable")


def run_read(db: Database, action: Callable[[Any], T]) -> T:
    """Run a lookup in a read session."""
    with db.read() as session:
        return action(session)
