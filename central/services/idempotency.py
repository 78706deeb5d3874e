"""Idempotency keys (幂等键), after draft-ietf-httpapi-idempotency-key-header.

Every state-changing request carries ``Idempotency-Key`` (the counter's outbox message id). Keys
are scoped to the client — the counter, or the operator for back-office calls — so one counter can
never read another's stored answer.

1. **Claim** in a short transaction of its own: ``INSERT`` the key as ``in_flight`` with this
   request's fingerprint (SHA-256 of method, path and canonical JSON body) and an owner token;
   a unique-key conflict means the key is known:
   - ``done`` with the same fingerprint → the stored answer, once more (``Idempotent-Replayed: true``);
   - a different fingerprint → ``422 idempotency/key-reused`` (the relay alarms, never retries);
   - ``in_flight`` within its lease → ``409 idempotency/in-flight`` (the relay retries later);
   - ``in_flight`` past its lease → the first request died (its transaction rolled back, see 2):
     the key is taken over by this request.
2. **Complete** inside the command's own write transaction: the answer is stored where the effect
   is written, guarded by the owner token, so the effect and the stored answer commit together or
   not at all; had the key been taken over meanwhile, the guard fails and the effect rolls back.
3. A domain refusal or an invalid value (4xx) is stored too (in its own transaction: nothing else
   changed), so a retry gets the same answer. A transient failure (5xx, database outage, a lost
   race) releases the claim: nothing was committed, the retry runs afresh.

Keys are kept ``CENTRAL_IDEMPOTENCY_RETENTION_HOURS`` (default 30 days: counters can be offline for
days); an expired key counts as unknown and is deleted by the sweeper.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central.core.db import Database
from central.core.problems import Problem
from central.models import IdempotencyKeyRow

HEADER = "Idempotency-Key"
#: The key as the header carries it: 1–255 visible ASCII characters (an sf-string's quotes are dropped).
KEY_PATTERN = r'^"?[!#-~]{1,255}"?$'
_KEY = re.compile(KEY_PATTERN)


def normalise_key(raw: str) -> str:
    """The key without the optional sf-string quotes."""
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value


def fingerprint(method: str, path: str, body: bytes) -> str:
    """SHA-256 over method, path and the body (canonical JSON when it parses)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        data = canonical.encode("utf-8")
    except (ValueError, UnicodeDecodeError):
        data = body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), b"\n", path.encode(), b"\n", data):
        digest.update(part)
    return digest.hexdigest()


@dataclass(frozen=True)
class IdempotentRequest:
    """What the route knows before it runs: the key, this request's fingerprint, method and path."""

    key: str
    fingerprint: str
    method: str
    path: str

    @classmethod
    def parse(cls, raw: str, method: str, path: str, body: bytes) -> IdempotentRequest:
        key = normalise_key(raw)
        if not _KEY.fullmatch(raw.strip()) or not key:
            raise Problem(
                400,
                "idempotency/key-invalid",
                "幂等键格式不正确",
                "Idempotency-Key 须为 1–255 个可见 ASCII 字符。",
                code="idempotency_key_invalid",
            )
        return cls(key, fingerprint(method, path, body), method.upper(), path[:200])


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    body: Any


@dataclass(frozen=True)
class Claim:
    """This request owns the key until it completes or releases it."""

    scope: str
    key: str
    owner: str


def key_reused() -> Problem:
    return Problem(
        422,
        "idempotency/key-reused",
        "幂等键被重复使用",
        "此幂等键已用于另一笔内容不同的请求，本次请求未办理。请核对待上传消息（不要自动重试）。",
        code="idempotency_key_reused",
    )


def in_flight() -> Problem:
    return Problem(
        409,
        "idempotency/in-flight",
        "请求正在处理",
        "同一幂等键的请求正在处理中，请稍后重试以取得其结果。",
        code="idempotency_in_flight",
        headers={"Retry-After": "1"},
    )


class IdempotencyStore:
    """Claims, completes and releases keys (see the module docstring)."""

    def __init__(self, db: Database, retention: timedelta, lease: timedelta) -> None:
        self.db, self.retention, self.lease = db, retention, lease

    def claim(self, scope: str, request: IdempotentRequest, now: datetime) -> Claim | StoredAnswer:
        """Claim the key, or the stored answer to replay; raises the reused / in-flight problems.

        A new key (the usual case) is claimed by one ``INSERT … ON CONFLICT DO NOTHING`` that commits
        by itself; a key already there is looked at under a row lock.
        """
        owner = secrets.token_hex(16)
        with self.db.single() as session:
            inserted = session.execute(
                _claim_statement(session.get_bind().dialect.name),
                self._new_values(scope, request, owner, now),
            ).first()
        if inserted is not None:
            return Claim(scope, request.key, owner)
        for _ in range(3):
            try:
                with self.db.write() as session:
                    row = session.get(IdempotencyKeyRow, (scope, request.key), with_for_update=True)
                    if row is None:
                        session.add(self._new_row(scope, request, owner, now))
                        return Claim(scope, request.key, owner)
                    if row.expires_at <= now:  # retention over: the key is unknown again
                        session.delete(row)
                        session.flush()
                        session.add(self._new_row(scope, request, owner, now))
                        return Claim(scope, request.key, owner)
                    if row.fingerprint != request.fingerprint:
                        raise key_reused()
                    if row.state == "done":
                        assert row.status_code is not None and row.response_body is not None
                        return StoredAnswer(row.status_code, json.loads(row.response_body))
                    if row.lease_until > now:
                        raise in_flight()
                    row.owner, row.claimed_at, row.lease_until = owner, now, now + self.lease  # take over
                    return Claim(scope, request.key, owner)
            except IntegrityError:
                continue  # another request inserted the key between our read and insert: look again
        raise in_flight()

    def _new_values(
        self, scope: str, request: IdempotentRequest, owner: str, now: datetime
    ) -> dict[str, Any]:
        return {
            "scope": scope,
            "key": request.key,
            "method": request.method,
            "path": request.path,
            "fingerprint": request.fingerprint,
            "state": "in_flight",
            "owner": owner,
            "claimed_at": now,
            "lease_until": now + self.lease,
            "expires_at": now + self.retention,
        }

    def _new_row(
        self, scope: str, request: IdempotentRequest, owner: str, now: datetime
    ) -> IdempotencyKeyRow:
        return IdempotencyKeyRow(**self._new_values(scope, request, owner, now))

    def complete(self, session: Session, claim: Claim, status: int, body: Any, now: datetime) -> None:
        """Store the answer in the caller's transaction; raises ``in_flight`` if the claim was lost."""
        result = session.execute(
            _COMPLETE,
            {
                "claim_scope": claim.scope,
                "claim_key": claim.key,
                "claim_owner": claim.owner,
                "answer_status": status,
                "answer_body": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                "answer_at": now,
            },
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise in_flight()

    def complete_alone(self, claim: Claim, status: int, body: Any, now: datetime) -> None:
        with self.db.write() as session:
            self.complete(session, claim, status, body, now)

    def release(self, claim: Claim) -> None:
        """Forget an unfinished claim (nothing was committed); best effort — the lease covers a failure."""
        try:
            with self.db.write() as session:
                session.execute(
                    delete(IdempotencyKeyRow).where(
                        IdempotencyKeyRow.scope == claim.scope,
                        IdempotencyKeyRow.key == claim.key,
                        IdempotencyKeyRow.owner == claim.owner,
                        IdempotencyKeyRow.state == "in_flight",
                    )
                )
        except Exception:
            return

    def sweep(self, now: datetime, limit: int = 10_000) -> int:
        """Delete keys whose retention is over; returns how many."""
        with self.db.write() as session:
            ids = session.execute(
                select(IdempotencyKeyRow.scope, IdempotencyKeyRow.key)
                .where(IdempotencyKeyRow.expires_at <= now)
                .limit(limit)
            ).all()
            for scope, key in ids:
                session.execute(
                    delete(IdempotencyKeyRow).where(
                        IdempotencyKeyRow.scope == scope, IdempotencyKeyRow.key == key
                    )
                )
        return len(ids)


# Statements built once (SQLAlchemy memoises a built statement's cache key; building one per call costs).
_KEYS: Table = IdempotencyKeyRow.__table__  # type: ignore[assignment]
_COMPLETE = (
    update(_KEYS)
    .where(
        _KEYS.c.scope == bindparam("claim_scope"),
        _KEYS.c.key == bindparam("claim_key"),
        _KEYS.c.owner == bindparam("claim_owner"),
        _KEYS.c.state == "in_flight",
    )
    .values(
        state="done",
        status_code=bindparam("answer_status"),
        response_body=bindparam("answer_body"),
        completed_at=bindparam("answer_at"),
    )
)
_CLAIMS: dict[str, Any] = {}


def _claim_statement(dialect: str) -> Any:
    """``INSERT … ON CONFLICT (scope, key) DO NOTHING RETURNING key`` in the dialect's spelling."""
    statement = _CLAIMS.get(dialect)
    if statement is None:
        from sqlalchemy.dialects import postgresql, sqlite

        insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert(_KEYS).on_conflict_do_nothing(index_elements=["scope", "key"]).returning(_KEYS.c.key)
        )
        _CLAIMS[dialect] = statement
    return statement
