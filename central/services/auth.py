"""Operators and counters (工号登录与柜台认证): counter credentials, operator tokens, limits.

- **Counter credential** (柜台凭据): every counter PC holds its own secret, enrolled once
  (``counter-central enrol-counter``; the training counters by ``seed``) and sent on every request
  as ``X-Counter-Key: <网点编号>-<柜台号>.<secret>``. The server keeps only its SHA-256 (the secret is
  32 random bytes, so a fast hash suffices). In production the same identity may come from a client
  certificate checked by the reverse proxy; the header is the form implemented and tested here.
- **Operator token** (工号令牌): ``POST /auth/sign-in`` with the counter credential, 工号 and password
  gives an opaque random token (stored as its SHA-256), bound to that counter: it is accepted only
  together with the same counter's credential. It lives ``CENTRAL_TOKEN_MINUTES`` and is renewed
  while in use, never beyond ``CENTRAL_TOKEN_MAX_HOURS`` after the sign-in; ``/auth/sign-out``
  revokes it. A supervisor's confirmation is a second sign-in at the same counter; its token goes
  in ``X-Confirmer-Token``. ``admin`` signs in without a counter for the back office.
- **Limits that hold across worker processes** (they live in the database, not in memory): sign-in
  attempts per client address and per counter in a fixed window (an UPSERT that counts), and failed
  sign-ins in a row per operator (one atomic UPDATE), which lock the account for a while.
- A worker may reuse a verified token for ``CENTRAL_AUTH_CACHE_SECONDS`` (default 2 s): a sign-out
  takes effect at once on the worker that handled it and within that time on the others.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import case, delete, select, update
from sqlalchemy.orm import Session

from central.core.clock import Clock
from central.core.config import Settings
from central.core.db import Database
from central.core.problems import Problem, forbidden, unauthorized
from central.core.security import DEFAULT_N, hash_password, verify_password
from central.models import CounterRow, OperatorRow, OperatorSessionRow, OutletRow, SignInWindowRow
from counter_app.domain.operators import OutletType, Role

COUNTER_KEY_HEADER = "X-Counter-Key"
CONFIRMER_HEADER = "X-Confirmer-Token"
_COUNTER_KEY = re.compile(
    r"^(?P<outlet>[0-9A-Za-z]{1,16})-(?P<counter>[0-9A-Za-z]{1,4})\.(?P<secret>[A-Za-z0-9_-]{16,128})$"
)


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------------
# Counter credentials
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CounterKey:
    """A parsed ``X-Counter-Key``."""

    outlet_code: str
    counter_number: str
    secret: str

    @property
    def label(self) -> str:
        return f"{self.outlet_code}-{self.counter_number}"


def parse_counter_key(value: str | None) -> CounterKey | None:
    """The parts of a counter credential, or None when absent or malformed."""
    if not value:
        return None
    match = _COUNTER_KEY.fullmatch(value.strip())
    if match is None:
        return None
    return CounterKey(match["outlet"], match["counter"], match["secret"])


def issue_counter_credential(session: Session, counter: CounterRow, secret: str | None = None) -> str:
    """Give ``counter`` a new credential (the old one stops working); returns the full header value.

    ``secret`` is for tests only; by default 32 random bytes.
    """
    outlet_code = session.scalar(select(OutletRow.code).where(OutletRow.id == counter.outlet_id))
    secret = secret or secrets.token_urlsafe(32)
    counter.credential_hash = sha256_hex(secret)
    session.flush()
    return f"{outlet_code}-{counter.number}.{secret}"


@dataclass(frozen=True)
class CounterIdentity:
    """A counter proven by its credential."""

    counter_id: int
    counter_number: str
    outlet_id: int
    outlet_code: str


def _counter_matches(key: CounterKey, credential_hash: str | None) -> bool:
    return credential_hash is not None and hmac.compare_digest(sha256_hex(key.secret), credential_hash)


def verify_counter(session: Session, header: str | None) -> CounterIdentity:
    """The counter that sent ``X-Counter-Key`` (401 ``auth/counter_*`` otherwise)."""
    key = parse_counter_key(header)
    if key is None:
        raise unauthorized("counter_credential_missing", "请求缺少有效的柜台凭据（X-Counter-Key）。")
    row = session.execute(
        select(CounterRow.id, CounterRow.number, CounterRow.credential_hash, CounterRow.active, OutletRow.id)
        .join(OutletRow, OutletRow.id == CounterRow.outlet_id)
        .where(OutletRow.code == key.outlet_code, CounterRow.number == key.counter_number)
    ).first()
    if row is None or not row[3] or not _counter_matches(key, row[2]):
        raise unauthorized(
            "counter_credential_invalid", "柜台凭据无效或柜台已停用，请联系管理员重新登记本柜台。"
        )
    return CounterIdentity(row[0], row[1], row[4], key.outlet_code)


# --------------------------------------------------------------------------------------------
# Operator tokens
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    """A signed-in operator (经办人) at a counter (or ``admin`` in the back office)."""

    session_id: int
    operator_id: int
    operator_number: str
    role: Role
    outlet_id: int | None
    outlet_code: str | None
    outlet_type: OutletType | None
    outlet_bank: str | None
    counter_id: int | None
    counter_number: str | None
    expires_at: datetime

    def __str__(self) -> str:
        where = f"{self.outlet_code}-{self.counter_number}" if self.counter_id else "后台"
        return f"operator={self.operator_number} at {where}"

    @property
    def idempotency_scope(self) -> str:
        """Keys are scoped to the counter (the back office: to the operator)."""
        return f"counter:{self.counter_id}" if self.counter_id is not None else f"operator:{self.operator_id}"


def _bearer(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not 20 <= len(token.strip()) <= 200:
        return None
    return token.strip()


class Authenticator:
    """Verifies tokens (with a short per-worker cache), signs operators in and out."""

    def __init__(self, db: Database, settings: Settings, clock: Clock) -> None:
        self.db, self.settings, self.clock = db, settings, clock
        self._cache: dict[tuple[str, str], tuple[Principal, float]] = {}
        self._lock = threading.Lock()

    # -- verifying ------------------------------------------------------------------------------

    def cached(self, authorization: str | None, counter_key: str | None) -> Principal | None:
        """The principal of this token and counter credential from this worker's cache, no I/O.

        None when it is not cached or its ``CENTRAL_AUTH_CACHE_SECONDS`` are over (or the token
        expired meanwhile): then ``authenticate`` checks both against the database.
        """
        ttl = self.settings.auth_cache_seconds
        token = _bearer(authorization)
        if ttl <= 0 or token is None:
            return None
        with self._lock:
            cached = self._cache.get((sha256_hex(token), counter_key or ""))
        if (
            cached is not None
            and time.monotonic() - cached[1] < ttl
            and self.clock.now() < cached[0].expires_at
        ):
            return cached[0]
        return None

    def authenticate(self, authorization: str | None, counter_key: str | None) -> Principal:
        """The principal of a request (401 on any problem with the token or the counter)."""
        principal = self.cached(authorization, counter_key)
        if principal is not None:
            return principal
        token = _bearer(authorization)
        if token is None:
            raise unauthorized("token_missing", "未登录：请先用本人工号登录（请求缺少有效的登录凭证）。")
        token_hash = sha256_hex(token)
        cache_key = (token_hash, counter_key or "")
        now = self.clock.now()
        ttl = self.settings.auth_cache_seconds
        with self.db.read() as session:
            principal = self._load(session, token_hash, counter_key, now)
        if principal.expires_at - now < timedelta(minutes=self.settings.token_minutes / 2):
            principal = self._renew(principal, now)
        if ttl > 0:
            with self._lock:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[cache_key] = (principal, time.monotonic())
        return principal

    def _load(self, session: Session, token_hash: str, counter_key: str | None, now: datetime) -> Principal:
        row = session.execute(
            select(
                OperatorSessionRow.id,
                OperatorSessionRow.expires_at,
                OperatorSessionRow.revoked_at,
                OperatorSessionRow.counter_id,
                OperatorRow.id,
                OperatorRow.number,
                OperatorRow.role,
                OperatorRow.active,
                CounterRow.number,
                CounterRow.credential_hash,
                CounterRow.active,
                OutletRow.id,
                OutletRow.code,
                OutletRow.type,
                OutletRow.bank,
            )
            .join(OperatorRow, OperatorRow.id == OperatorSessionRow.operator_id)
            .outerjoin(CounterRow, CounterRow.id == OperatorSessionRow.counter_id)
            .outerjoin(OutletRow, OutletRow.id == CounterRow.outlet_id)
            .where(OperatorSessionRow.token_hash == token_hash)
        ).first()
        if row is None:
            raise unauthorized("token_invalid", "登录凭证无效，请重新登录。")
        (sid, expires, revoked, counter_id, op_id, op_number, role, op_active) = row[:8]
        (counter_number, credential_hash, counter_active, outlet_id, outlet_code, outlet_type, bank) = row[8:]
        if revoked is not None:
            raise unauthorized("token_revoked", "此工号已退出登录，请重新登录。")
        if expires <= now:
            raise unauthorized("token_expired", "登录已超时，请重新登录。")
        if not op_active:
            raise unauthorized("operator_disabled", f"工号 {op_number} 已停用。")
        if counter_id is not None:
            key = parse_counter_key(counter_key)
            if (
                key is None
                or (key.outlet_code, key.counter_number) != (outlet_code, counter_number)
                or not counter_active
                or not _counter_matches(key, credential_hash)
            ):
                raise unauthorized(
                    "counter_mismatch",
                    "此登录凭证不属于发出请求的柜台（须同时带本柜台的凭据），请在本柜台重新登录。",
                )
        return Principal(
            session_id=sid,
            operator_id=op_id,
            operator_number=op_number,
            role=Role(role),
            outlet_id=outlet_id,
            outlet_code=outlet_code,
            outlet_type=OutletType(outlet_type) if outlet_type else None,
            outlet_bank=bank,
            counter_id=counter_id,
            counter_number=counter_number,
            expires_at=expires,
        )

    def _renew(self, principal: Principal, now: datetime) -> Principal:
        with self.db.write() as session:
            row = session.get(OperatorSessionRow, principal.session_id)
            if row is None:
                return principal
            renewed = min(now + timedelta(minutes=self.settings.token_minutes), row.renewable_until)
            if renewed > row.expires_at:
                row.expires_at = renewed
            expires = row.expires_at
        return Principal(**{**principal.__dict__, "expires_at": expires})

    def forget(self, token_hash: str) -> None:
        with self._lock:
            for key in [k for k in self._cache if k[0] == token_hash]:
                del self._cache[key]

    # -- signing in and out ---------------------------------------------------------------------

    def sign_in(
        self, *, counter_key: str | None, client: str, operator_number: str, password: str
    ) -> dict[str, Any]:
        """Check the limits, the counter and the password; a new token bound to the counter."""
        now = self.clock.now()
        key = parse_counter_key(counter_key)
        self._count_attempt(now, client, key)
        with self.db.read() as session:
            counter = verify_counter(session, counter_key) if counter_key else None
            operator = session.execute(
                select(
                    OperatorRow.id,
                    OperatorRow.password_hash,
                    OperatorRow.active,
                    OperatorRow.locked_until,
                    OperatorRow.outlet_id,
                    OperatorRow.role,
                ).where(OperatorRow.number == operator_number)
            ).first()
        if operator is not None and operator[3] is not None and operator[3] > now:
            raise self._locked(operator[3])
        stored = operator[1] if operator is not None else _dummy_hash()
        good = verify_password(password, stored) and operator is not None and bool(operator[2])
        if not good:
            if operator is not None:
                locked_until = self._fail(operator[0], now)
                if locked_until is not None:
                    raise self._locked(locked_until)
            raise unauthorized("invalid_credentials", "工号或密码错误。")
        assert operator is not None
        op_id, role = operator[0], Role(operator[5])
        if role is not Role.ADMIN:
            if counter is None:
                raise unauthorized(
                    "counter_credential_missing", "经办人须在登记过的柜台登录（请求缺少柜台凭据）。"
                )
            if counter.outlet_id != operator[4]:
                raise forbidden(
                    "other_outlet",
                    f"工号 {operator_number} 不属于本柜台所在网点（{counter.outlet_code}），不能在此登录。",
                    "请使用本网点的工号登录。",
                )
        token = secrets.token_urlsafe(32)
        with self.db.write() as session:
            row = session.get(OperatorRow, op_id, with_for_update=True)
            assert row is not None
            if row.locked_until is not None and row.locked_until > now:  # locked by another worker meanwhile
                raise self._locked(row.locked_until)
            row.failed_sign_ins = 0
            row.locked_until = None
            limit = now + timedelta(hours=self.settings.token_max_hours)
            expires = min(now + timedelta(minutes=self.settings.token_minutes), limit)
            session.add(
                OperatorSessionRow(
                    token_hash=sha256_hex(token),
                    operator_id=op_id,
                    counter_id=counter.counter_id if counter is not None else None,
                    created_at=now,
                    expires_at=expires,
                    renewable_until=limit,
                )
            )
            outlet = session.get(OutletRow, row.outlet_id) if row.outlet_id is not None else None
            result = {
                "token": token,
                "token_type": "Bearer",
                "expires_at": expires,
                "operator_number": row.number,
                "operator_name": row.name,
                "role": role.value,
                "role_label": role.label,
                "outlet_code": outlet.code if outlet is not None else None,
                "outlet_name": outlet.name if outlet is not None else None,
                "counter_number": counter.counter_number if counter is not None else None,
            }
        return result

    def sign_out(self, principal: Principal, token_hash: str) -> None:
        with self.db.write() as session:
            row = session.get(OperatorSessionRow, principal.session_id)
            if row is not None and row.revoked_at is None:
                row.revoked_at = self.clock.now()
        self.forget(token_hash)

    def _locked(self, until: datetime) -> Problem:
        return Problem(
            403,
            "auth/account-locked",
            "工号已锁定",
            f"密码错误次数过多，此工号已锁定至 {until:%Y-%m-%d %H:%M}。",
            code="account_locked",
            hint="请稍后再试，或请管理员核实后解锁。",
            locked_until=until.isoformat(),
        )

    def _fail(self, operator_id: int, now: datetime) -> datetime | None:
        """Count one failed sign-in atomically; returns the lock end when this one locked the account."""
        lock_expired = OperatorRow.locked_until.is_not(None) & (OperatorRow.locked_until <= now)
        failures = case((lock_expired, 1), else_=OperatorRow.failed_sign_ins + 1)
        with self.db.write() as session:
            count = session.execute(
                update(OperatorRow)
                .where(OperatorRow.id == operator_id)
                .values(
                    failed_sign_ins=failures,
                    locked_until=case((lock_expired, None), else_=OperatorRow.locked_until),
                )
                .returning(OperatorRow.failed_sign_ins)
            ).scalar_one()
            if count >= self.settings.lockout_failures:
                until = now + timedelta(minutes=self.settings.lockout_minutes)
                session.execute(
                    update(OperatorRow).where(OperatorRow.id == operator_id).values(locked_until=until)
                )
                return until
        return None

    def _count_attempt(self, now: datetime, client: str, key: CounterKey | None) -> None:
        """One more sign-in attempt per client address and per counter; 429 over the limit."""
        window = self.settings.sign_in_window_seconds
        start = int(now.timestamp()) // window * window
        keys = [f"ip:{client}"[:80]] + ([f"counter:{key.label}"[:80]] if key is not None else [])
        with self.db.write() as session:
            insert = _upsert(session)
            counts = []
            for k in keys:
                statement = (
                    insert(SignInWindowRow)
                    .values(key=k, window_start=start, attempts=1)
                    .on_conflict_do_update(
                        index_elements=["key", "window_start"],
                        set_={"attempts": SignInWindowRow.attempts + 1},
                    )
                    .returning(SignInWindowRow.attempts)
                )
                counts.append(session.execute(statement).scalar_one())
            if start % (window * 30) == 0:  # now and then: forget windows older than an hour
                session.execute(delete(SignInWindowRow).where(SignInWindowRow.window_start < start - 3600))
        if max(counts) > self.settings.sign_in_limit:
            retry = start + window - int(now.timestamp())
            raise Problem(
                429,
                "rate-limited",
                "登录过于频繁",
                f"登录尝试过于频繁，请 {retry} 秒后再试。",
                code="rate_limited",
                headers={"Retry-After": str(max(1, retry))},
            )


def _upsert(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash to verify against for unknown 工号, so their answer takes as long as a wrong password."""
    return hash_password(secrets.token_hex(8), n=DEFAULT_N)


def confirmer_number(
    authenticator: Authenticator, principal: Principal, token: str | None, counter_key: str | None
) -> str | None:
    """The 工号 of the supervisor whose token confirms this request (signed in at the same counter)."""
    if not token:
        return None
    confirmer = authenticator.authenticate(f"Bearer {token}", counter_key)
    if confirmer.counter_id != principal.counter_id:
        raise unauthorized("confirmer_counter_mismatch", "复核人员须在本柜台登录确认。")
    return confirmer.operator_number
