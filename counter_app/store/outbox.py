"""The outbox (待上传消息): commands for the central server, written with their transaction.

Each message has a UUID (the ``Idempotency-Key`` the relay sends), a monotonic ``seq`` that keeps
the order, its payload encrypted as one blob, a status, attempts, the last error and the audit head
at the time it was written (the server keeps that copy of the chain head).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from counter_app.store.audit import AuditHead, iso
from counter_app.store.crypto import FieldCipher
from counter_app.store.engine import reading
from counter_app.store.errors import StoreError
from counter_app.store.models import outbox_messages, transactions


class OutboxStatus(enum.StrEnum):
    """Where a message stands (消息状态)."""

    PENDING = "pending"  # 待上传
    SENT = "sent"  # 已发送，待确认
    ACKNOWLEDGED = "acknowledged"  # 中心已确认
    REJECTED = "rejected"  # 中心拒绝（业务规则）
    NEEDS_RECONCILIATION = "needs_reconciliation"  # 需人工核对


@dataclass(frozen=True)
class OutboxMessage:
    """One message as stored (decrypted)."""

    id: str
    seq: int
    created_at: str
    command: str
    payload: Mapping[str, Any]
    acceptance_number: str | None
    status: OutboxStatus
    attempts: int
    last_error: str | None
    audit_head: AuditHead
    next_attempt_at: str | None = None
    acknowledged_at: str | None = None


def _context(message_id: str) -> str:
    return f"outbox_messages.payload:{message_id}"


def enqueue(
    connection: sa.Connection,
    cipher: FieldCipher,
    *,
    message_id: str,
    created_at: datetime,
    command: str,
    payload: Mapping[str, Any],
    acceptance_number: str | None,
    audit_head: AuditHead,
) -> None:
    """Add a message inside the caller's write transaction."""
    connection.execute(
        sa.insert(outbox_messages).values(
            id=message_id,
            created_at=iso(created_at),
            command=command,
            payload=cipher.encrypt_json(dict(payload), _context(message_id)),
            acceptance_number=acceptance_number,
            status=OutboxStatus.PENDING.value,
            attempts=0,
            audit_head_seq=audit_head.seq,
            audit_head_hash=audit_head.entry_hash,
        )
    )


class UnknownOutboxMessage(StoreError, LookupError):
    """No outbox message has this id (无此待上传消息)."""

    def __init__(self, message_id: str) -> None:
        super().__init__("unknown_outbox_message", f"找不到待上传消息 {message_id}。")


class Outbox:
    """Reading and settling outbox messages; the sync relay's side of the store."""

    def __init__(self, engine: sa.Engine, cipher: FieldCipher, now: Callable[[], datetime]) -> None:
        self._engine = engine
        self._reader = reading(engine)
        self._cipher = cipher
        self._now = now

    def _message(self, row: sa.Row[tuple[object, ...]]) -> OutboxMessage:
        m = row._mapping
        return OutboxMessage(
            id=m["id"],
            seq=m["seq"],
            created_at=m["created_at"],
            command=m["command"],
            payload=self._cipher.decrypt_json(m["payload"], _context(m["id"])),
            acceptance_number=m["acceptance_number"],
            status=OutboxStatus(m["status"]),
            attempts=m["attempts"],
            last_error=m["last_error"],
            audit_head=AuditHead(m["audit_head_seq"], m["audit_head_hash"]),
            next_attempt_at=m["next_attempt_at"],
            acknowledged_at=m["acknowledged_at"],
        )

    def messages(self, *statuses: OutboxStatus) -> list[OutboxMessage]:
        """Messages in order, optionally only those with the given statuses."""
        query = sa.select(outbox_messages).order_by(outbox_messages.c.seq)
        if statuses:
            query = query.where(outbox_messages.c.status.in_([s.value for s in statuses]))
        with self._reader.connect() as connection:
            return [self._message(row) for row in connection.execute(query)]

    def get(self, message_id: str) -> OutboxMessage | None:
        with self._reader.connect() as connection:
            row = connection.execute(
                sa.select(outbox_messages).where(outbox_messages.c.id == message_id)
            ).first()
        return None if row is None else self._message(row)

    def due(self, limit: int = 50) -> list[OutboxMessage]:
        """Pending messages whose retry time has come, oldest first (the relay's next batch)."""
        now = iso(self._now())
        query = (
            sa.select(outbox_messages)
            .where(outbox_messages.c.status == OutboxStatus.PENDING.value)
            .where(
                sa.or_(outbox_messages.c.next_attempt_at.is_(None), outbox_messages.c.next_attempt_at <= now)
            )
            .order_by(outbox_messages.c.seq)
            .limit(limit)
        )
        with self._reader.connect() as connection:
            return [self._message(row) for row in connection.execute(query)]

    def unsettled(self, limit: int = 50) -> list[OutboxMessage]:
        """The first messages still to deliver (pending, or sent without an answer), in order.

        Unlike `due` it ignores the retry time: the relay sends in order, so a message waiting for its
        retry holds back the ones behind it.
        """
        query = (
            sa.select(outbox_messages)
            .where(outbox_messages.c.status.in_([OutboxStatus.PENDING.value, OutboxStatus.SENT.value]))
            .order_by(outbox_messages.c.seq)
            .limit(limit)
        )
        with self._reader.connect() as connection:
            return [self._message(row) for row in connection.execute(query)]

    def recorded_by(self, acceptance_number: str) -> str | None:
        """The 工号 that recorded the message's transaction (it is sent under that operator's sign-in)."""
        with self._reader.connect() as connection:
            value = connection.execute(
                sa.select(transactions.c.operator_number).where(
                    transactions.c.acceptance_number == acceptance_number
                )
            ).scalar()
        return None if value is None else str(value)

    def _update(self, message_id: str, **values: Any) -> None:
        with self._engine.begin() as connection:
            result = connection.execute(
                sa.update(outbox_messages).where(outbox_messages.c.id == message_id).values(**values)
            )
            if result.rowcount != 1:
                raise UnknownOutboxMessage(message_id)

    def mark_sent(self, message_id: str) -> None:
        """The relay is sending it now: one more attempt."""
        self._update(message_id, status=OutboxStatus.SENT.value, attempts=outbox_messages.c.attempts + 1)

    def mark_sent_many(self, message_ids: list[str]) -> None:
        """`mark_sent` for several messages in one transaction (the relay sends them together)."""
        with self._engine.begin() as connection:
            for message_id in message_ids:
                result = connection.execute(
                    sa.update(outbox_messages)
                    .where(outbox_messages.c.id == message_id)
                    .values(status=OutboxStatus.SENT.value, attempts=outbox_messages.c.attempts + 1)
                )
                if result.rowcount != 1:
                    raise UnknownOutboxMessage(message_id)

    def mark_failed(self, message_id: str, error: str, retry_at: datetime) -> None:
        """Sending failed (network, server busy): back to pending, retried at ``retry_at``."""
        self._update(
            message_id, status=OutboxStatus.PENDING.value, last_error=error, next_attempt_at=iso(retry_at)
        )

    def mark_acknowledged(self, message_id: str) -> None:
        self._update(message_id, status=OutboxStatus.ACKNOWLEDGED.value, acknowledged_at=iso(self._now()))

    def mark_rejected(self, message_id: str, error: str) -> None:
        """The server refused it on a business rule (never retried)."""
        self._update(message_id, status=OutboxStatus.REJECTED.value, last_error=error)

    def mark_needs_reconciliation(self, message_id: str, error: str) -> None:
        """Something a person must look at (e.g. an idempotency key reused with another body)."""
        self._update(message_id, status=OutboxStatus.NEEDS_RECONCILIATION.value, last_error=error)

    def count(self, *statuses: OutboxStatus) -> int:
        query = sa.select(sa.func.count()).select_from(outbox_messages)
        if statuses:
            query = query.where(outbox_messages.c.status.in_([s.value for s in statuses]))
        with self._reader.connect() as connection:
            return int(connection.execute(query).scalar() or 0)
