"""Supervisor notices (复核提醒) and the counters' audit-chain heads (审计链头锚定).

A notice is recorded when something needs a supervisor's eyes: a suspected forced collection
(DOMAIN §6: one agent for more than N principals in D days, across all outlets) or a counter whose
audit-chain head went backwards or changed under a number the server had acknowledged.

Audit anchoring: each command may carry ``X-Audit-Head: <seq>:<SM3 hash hex>`` (the head of the
counter's local chain when its outbox message was written, ``counter_app.store.audit``). The server
keeps each counter's highest acknowledged head, in the command's own transaction, and answers it in
``X-Audit-Head-Acknowledged``; ``GET /counters/me/audit-head`` gives it back, so a counter can run
``verify_against_head`` after a restore. A head with a lower number than the acknowledged one, or
the same number with another hash, is not stored: it is recorded as a notice and logged.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.core.problems import Problem, not_found
from central.models import CounterRow, SupervisorNoticeRow

log = logging.getLogger("central.audit")
AUDIT_HEAD_HEADER = "X-Audit-Head"
AUDIT_HEAD_PATTERN = r"^\d{1,18}:[0-9a-fA-F]{64}$"
_HEAD = re.compile(AUDIT_HEAD_PATTERN)

KIND_LABELS = {
    "forced_collection": "疑似强制代领",
    "audit_chain_regressed": "审计链倒退",
    "audit_chain_diverged": "审计链被改写",
}


@dataclass(frozen=True)
class AuditHead:
    seq: int
    entry_hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.entry_hash}"


def parse_audit_head(value: str | None) -> AuditHead | None:
    if not value:
        return None
    text = value.strip()
    if not _HEAD.fullmatch(text):
        raise Problem(
            422,
            "invalid/audit_head",
            "数据不符合规则",
            "X-Audit-Head 格式不正确，应为“序号:SM3 哈希（64 位十六进制）”。",
            code="audit_head",
        )
    seq, digest = text.split(":")
    return AuditHead(int(seq), digest.lower())


def record_notice(
    session: Session,
    kind: str,
    message: str,
    at: datetime,
    *,
    outlet_id: int | None,
    counter_id: int | None = None,
    transaction_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> SupervisorNoticeRow:
    row = SupervisorNoticeRow(
        kind=kind,
        outlet_id=outlet_id,
        counter_id=counter_id,
        transaction_id=transaction_id,
        created_at=at,
        message=message[:400],
        detail=detail,
    )
    session.add(row)
    session.flush()
    return row


def acknowledged_head(session: Session, counter_id: int) -> AuditHead | None:
    """The counter's highest acknowledged head (None: none yet)."""
    counter = session.get(CounterRow, counter_id)
    if counter is None or counter.audit_head_seq is None or counter.audit_head_hash is None:
        return None
    return AuditHead(counter.audit_head_seq, counter.audit_head_hash)


def anchor_audit_head(session: Session, counter_id: int, head: AuditHead, at: datetime) -> AuditHead:
    """Keep the counter's highest head; returns the acknowledged head (notice on a regression)."""
    counter = session.get(CounterRow, counter_id, with_for_update=True)
    assert counter is not None
    stored = (
        AuditHead(counter.audit_head_seq, counter.audit_head_hash)
        if counter.audit_head_seq is not None and counter.audit_head_hash is not None
        else None
    )
    if stored is None or head.seq > stored.seq:
        counter.audit_head_seq, counter.audit_head_hash, counter.audit_head_at = head.seq, head.entry_hash, at
        return head
    if head == stored:
        return stored
    kind = "audit_chain_regressed" if head.seq < stored.seq else "audit_chain_diverged"
    log.warning(
        "counter %s sent audit head %s after %s was acknowledged (%s)", counter_id, head, stored, kind
    )
    record_notice(
        session,
        kind,
        f"柜台审计链异常：收到链头 {head.seq}，而中心已确认的链头为 {stored.seq}"
        + (
            "（序号倒退，可能被截断或恢复了旧数据）。"
            if kind == "audit_chain_regressed"
            else "（同一序号哈希不同，记录可能被改写）。"
        )
        + "请核查该柜台的审计日志。",
        at,
        outlet_id=counter.outlet_id,
        counter_id=counter_id,
        detail={"received": str(head), "acknowledged": str(stored)},
    )
    return stored


def notice_view(row: SupervisorNoticeRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "kind_label": KIND_LABELS.get(row.kind, row.kind),
        "created_at": row.created_at,
        "message": row.message,
        "transaction_id": row.transaction_id,
        "detail": row.detail,
        "acknowledged_by": row.acknowledged_by,
        "acknowledged_at": row.acknowledged_at,
    }


def outlet_notices(session: Session, outlet_id: int, *, open_only: bool, limit: int) -> list[dict[str, Any]]:
    query = select(SupervisorNoticeRow).where(SupervisorNoticeRow.outlet_id == outlet_id)
    if open_only:
        query = query.where(SupervisorNoticeRow.acknowledged_at.is_(None))
    rows = session.scalars(query.order_by(SupervisorNoticeRow.id.desc()).limit(limit)).all()
    return [notice_view(r) for r in rows]


def acknowledge(
    session: Session, notice_id: int, outlet_id: int, operator_number: str, at: datetime
) -> dict[str, Any]:
    """A supervisor of the notice's outlet marks it seen (another outlet's notice is not found: BOLA)."""
    row = session.get(SupervisorNoticeRow, notice_id, with_for_update=True)
    if row is None or row.outlet_id != outlet_id:
        raise not_found(f"本网点没有编号为 {notice_id} 的复核提醒。", "unknown_notice")
    if row.acknowledged_at is None:
        row.acknowledged_by, row.acknowledged_at = operator_number, at
    return notice_view(row)
