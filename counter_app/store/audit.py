"""The audit chain (审计链): every entry's SM3 hash covers the previous hash and the entry.

An entry holds who (operator, outlet, counter), when, what (event, item, 受理编号), whose (a holder
*reference*, never a clear ID number) and the result. Its hash is SM3 over the canonical form:
deterministic JSON (sorted keys, no whitespace, UTF-8) of those fields plus ``prev``. The head (last
position and hash) rides on every outbox message, so the server keeps a copy; `verify_chain` finds an
edited, deleted or reordered entry locally, `verify_against_head` finds truncation and recomputation
against a head the server acknowledged.
"""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime

import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes

from counter_app.store.errors import UnknownAcceptanceNumber
from counter_app.store.models import audit_anchors, audit_entries, transactions

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class AuditHead:
    """The chain head (审计链头): position of the last entry and its hash."""

    seq: int
    entry_hash: str


@dataclass(frozen=True)
class AuditEntry:
    """One audit record (审计记录) before it is chained."""

    event: str  # "transaction", "reprint" …
    item_code: str
    operator_number: str
    outlet_code: str
    counter_number: str
    occurred_at: str  # ISO 8601 with offset, hashed exactly as stored
    holder_ref: str
    result: str
    acceptance_number: str | None = None
    entry_id: str = ""

    def with_id(self) -> AuditEntry:
        if self.entry_id:
            return self
        return AuditEntry(**{**asdict(self), "entry_id": str(uuid.uuid4())})


def iso(moment: datetime) -> str:
    """The stored text of an aware datetime."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("times must be timezone-aware (Asia/Shanghai)")
    return moment.isoformat()


def canonical(entry: AuditEntry, prev_hash: str) -> bytes:
    """The bytes an entry's hash is computed over."""
    fields = {**asdict(entry), "prev": prev_hash}
    return json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def entry_hash(entry: AuditEntry, prev_hash: str) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(canonical(entry, prev_hash))
    return digest.finalize().hex()


def _entry_of(row: sa.Row[tuple[object, ...]]) -> AuditEntry:
    m = row._mapping
    return AuditEntry(
        event=m["event"],
        item_code=m["item_code"],
        operator_number=m["operator_number"],
        outlet_code=m["outlet_code"],
        counter_number=m["counter_number"],
        occurred_at=m["occurred_at"],
        holder_ref=m["holder_ref"],
        result=m["result"],
        acceptance_number=m["acceptance_number"],
        entry_id=m["entry_id"],
    )


def head(connection: sa.Connection) -> AuditHead | None:
    """The current head, or None for an empty chain."""
    row = connection.execute(
        sa.select(audit_entries.c.seq, audit_entries.c.entry_hash)
        .order_by(audit_entries.c.seq.desc())
        .limit(1)
    ).first()
    return None if row is None else AuditHead(row.seq, row.entry_hash)


def append(connection: sa.Connection, entry: AuditEntry) -> AuditHead:
    """Chain ``entry`` after the current head (inside the caller's write transaction)."""
    entry = entry.with_id()
    current = head(connection)
    prev = GENESIS_HASH if current is None else current.entry_hash
    digest = entry_hash(entry, prev)
    result = connection.execute(
        sa.insert(audit_entries).values(**asdict(entry), prev_hash=prev, entry_hash=digest)
    )
    seq = result.inserted_primary_key[0] if result.inserted_primary_key else None
    assert isinstance(seq, int)
    return AuditHead(seq, digest)


def append_about(
    connection: sa.Connection,
    acceptance_number: str,
    *,
    event: str,
    result: str,
    operator_number: str,
    occurred_at: str,
) -> AuditHead:
    """Chain an entry about a recorded transaction (补打, 再查询, 打印明细 …): its item, counter and
    holder reference, this ``event`` by ``operator_number``. Raises `UnknownAcceptanceNumber`."""
    original = connection.execute(
        sa.select(
            transactions.c.item_code,
            transactions.c.outlet_code,
            transactions.c.counter_number,
            transactions.c.holder_ref,
        ).where(transactions.c.acceptance_number == acceptance_number)
    ).first()
    if original is None:
        raise UnknownAcceptanceNumber(acceptance_number)
    return append(
        connection,
        AuditEntry(
            event=event,
            item_code=original.item_code,
            operator_number=operator_number,
            outlet_code=original.outlet_code,
            counter_number=original.counter_number,
            occurred_at=occurred_at,
            holder_ref=original.holder_ref,
            result=result,
            acceptance_number=acceptance_number,
        ),
    )


class BreakKind(enum.Enum):
    """Why the chain is broken (断链原因)."""

    EDITED = "edited"
    MISSING = "missing"
    REORDERED = "reordered"
    TRUNCATED = "truncated"
    DIVERGED = "diverged"


_BREAK_TEXT = {
    BreakKind.EDITED: "记录内容与其哈希不符，记录被修改",
    BreakKind.MISSING: "前一条记录缺失或被改写（记录被删除）",
    BreakKind.REORDERED: "记录的前序指向链中别处的记录，记录顺序被调换",
    BreakKind.TRUNCATED: "本地审计链比中心已确认的链头短，链尾被截断",
    BreakKind.DIVERGED: "本地审计链不再延伸中心已确认的链头，记录被重算或替换",
}


@dataclass(frozen=True)
class ChainBreak:
    """The first broken link (第一处断链): where and why."""

    seq: int
    entry_id: str | None
    kind: BreakKind

    @property
    def message(self) -> str:
        where = f"第 {self.seq} 条" + (f"（记录编号 {self.entry_id}）" if self.entry_id else "")
        return f"{where}：{_BREAK_TEXT[self.kind]}"


@dataclass(frozen=True)
class ChainReport:
    """The result of a verification (审计链核验结果): how many entries, the last one, the first break."""

    entries: int
    head: AuditHead | None
    first_break: ChainBreak | None = None

    @property
    def intact(self) -> bool:
        return self.first_break is None


def _rows(connection: sa.Connection) -> Iterator[sa.Row[tuple[object, ...]]]:
    yield from connection.execute(sa.select(audit_entries).order_by(audit_entries.c.seq))


def _hash_elsewhere(connection: sa.Connection, digest: str) -> bool:
    query = sa.select(sa.func.count()).where(audit_entries.c.entry_hash == digest)
    return bool(connection.execute(query).scalar())


def _count(connection: sa.Connection) -> int:
    return int(connection.execute(sa.select(sa.func.count()).select_from(audit_entries)).scalar() or 0)


def verify_chain(connection: sa.Connection) -> ChainReport:
    """Walk the chain in order; report the first entry that was edited, lost its predecessor or moved."""
    total, last = _count(connection), head(connection)
    expected_prev = GENESIS_HASH
    for row in _rows(connection):
        m = row._mapping
        if entry_hash(_entry_of(row), m["prev_hash"]) != m["entry_hash"]:
            return ChainReport(total, last, ChainBreak(m["seq"], m["entry_id"], BreakKind.EDITED))
        if m["prev_hash"] != expected_prev:
            elsewhere = m["prev_hash"] != GENESIS_HASH and _hash_elsewhere(connection, m["prev_hash"])
            kind = BreakKind.REORDERED if elsewhere else BreakKind.MISSING
            return ChainReport(total, last, ChainBreak(m["seq"], m["entry_id"], kind))
        expected_prev = m["entry_hash"]
    return ChainReport(total, last)


def verify_against_head(connection: sa.Connection, server_head: AuditHead) -> ChainReport:
    """`verify_chain`, then: does the local chain still pass through the head the server holds?"""
    report = verify_chain(connection)
    if not report.intact:
        return report
    row = connection.execute(
        sa.select(audit_entries.c.entry_id, audit_entries.c.entry_hash).where(
            audit_entries.c.seq == server_head.seq
        )
    ).first()
    if row is None:
        last_seq = report.head.seq if report.head else 0
        kind = BreakKind.TRUNCATED if last_seq < server_head.seq else BreakKind.MISSING
        return ChainReport(report.entries, report.head, ChainBreak(server_head.seq, None, kind))
    if row.entry_hash != server_head.entry_hash:
        return ChainReport(
            report.entries, report.head, ChainBreak(server_head.seq, row.entry_id, BreakKind.DIVERGED)
        )
    return report


def record_acknowledged_head(connection: sa.Connection, acknowledged: AuditHead, at: datetime) -> None:
    """Remember a head the server acknowledged (中心确认的链头); the sync relay calls this."""
    connection.execute(
        sa.insert(audit_anchors).values(
            head_seq=acknowledged.seq, head_hash=acknowledged.entry_hash, acknowledged_at=iso(at)
        )
    )


def last_acknowledged_head(connection: sa.Connection) -> AuditHead | None:
    """The latest head the server acknowledged, or None (none yet, or a database from before 0002)."""
    if not sa.inspect(connection).has_table("audit_anchors"):
        return None
    row = connection.execute(
        sa.select(audit_anchors.c.head_seq, audit_anchors.c.head_hash)
        .order_by(audit_anchors.c.head_seq.desc(), audit_anchors.c.id.desc())
        .limit(1)
    ).first()
    return None if row is None else AuditHead(row.head_seq, row.head_hash)
