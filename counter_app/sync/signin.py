"""Operator sign-in (工号登录): online against the server, offline against a cached verifier.

Online: ``POST /auth/sign-in`` with the counter's credential gives a token bound to this counter
(kept in memory, `credentials.TokenStore`). Each successful online sign-in also refreshes this
operator's offline verifier: scrypt of the password with a fresh salt, sealed in the local store
(encrypted under the store key), with the operator's and outlet's data and the time.

Offline (the server cannot be reached): the password is checked against that verifier, which counts
for ``SyncConfig.offline_sign_in_hours`` after the last online sign-in; failures lock offline
sign-in locally (``lockout_failures`` in a row, ``lockout_minutes``). The password is then held in
memory only until the server answers again (`SignIn.go_online` turns the session into an online one
and wipes it) or the operator signs out. A server that refuses that password (changed, disabled,
locked) ends the cached verifier and asks the operator to sign in again.

A supervisor's confirmation (复核/授权) is a second online sign-in at this counter; its token goes
with the confirmed command as ``X-Confirmer-Token`` (`ConfirmerDirectory` lets the flows see it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from counter_app.domain.operators import (
    NotPermitted,
    Operator,
    Outlet,
    OutletCapabilities,
    OutletType,
    Role,
    check_confirmer,
    check_operator_at_outlet,
)
from counter_app.store import Store
from counter_app.sync.client import CentralClient
from counter_app.sync.config import SyncConfig
from counter_app.sync.credentials import OperatorSession, Secret, TokenStore
from counter_app.sync.problems import Problem, ServerUnreachable, SignInRefused, locked_until_of
from counter_app.workflows.ports import Clock

log = logging.getLogger(__name__)

SCRYPT_R = 8
SCRYPT_P = 1
_FORMAT = 1
#: The server's answers that refuse the operator's password or account (not a passing condition).
_PASSWORD_REFUSED = frozenset({"invalid_credentials", "operator_disabled", "account_locked"})


@dataclass(frozen=True)
class SignedIn:
    """The outcome of a sign-in, for the UI (登录结果)."""

    operator: Operator
    outlet: Outlet
    online: bool
    #: Online: when the server's token lapses unless used (it is renewed while used).
    expires_at: datetime | None
    #: Until when this operator may sign in offline here (last online sign-in + the configured hours).
    offline_until: datetime
    message: str


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=32
    )


def _outlet_record(outlet: Outlet, region: str | None) -> dict[str, Any]:
    caps = outlet.capabilities
    return {
        "code": outlet.code,
        "name": outlet.name,
        "type": outlet.type.value,
        "can_activate_social": caps.can_activate_social,
        "instant_issuance": caps.instant_issuance,
        "bank": caps.bank,
        "region_code": region,
    }


def outlet_from(record: Mapping[str, Any]) -> Outlet:
    """An outlet as ``GET /outlets`` lists it (or as the verifier keeps it)."""
    kind = OutletType(str(record["type"]))
    return Outlet(
        str(record["code"]),
        str(record["name"]),
        kind,
        OutletCapabilities(
            can_activate_social=bool(record.get("can_activate_social")),
            instant_issuance=bool(record.get("instant_issuance")),
            bank=record.get("bank") if kind is OutletType.BANK_OUTLET else None,
        ),
    )


class Verifiers:
    """The offline sign-in verifiers (离线登录校验值), one per operator, sealed in the local store."""

    def __init__(self, store: Store, config: SyncConfig, clock: Clock) -> None:
        self._sealed = store.sealed
        self._config = config
        self._clock = clock
        self._lock = threading.Lock()

    @staticmethod
    def _name(number: str) -> str:
        return f"verifier:{number}"

    def remember(self, operator: Operator, outlet: Outlet, region: str | None, password: str) -> None:
        """After a successful online sign-in: a new salt and hash, the time, and no failures."""
        salt = os.urandom(16)
        n = self._config.verifier_scrypt_n
        record = {
            "format": _FORMAT,
            "salt": base64.b64encode(salt).decode(),
            "n": n,
            "r": SCRYPT_R,
            "p": SCRYPT_P,
            "hash": base64.b64encode(_scrypt(password, salt, n, SCRYPT_R, SCRYPT_P)).decode(),
            "operator": {"number": operator.number, "name": operator.name, "role": operator.role.value},
            "outlet": _outlet_record(outlet, region),
            "online_at": self._clock.now().isoformat(),
            "failures": 0,
            "locked_until": None,
        }
        with self._lock:
            self._sealed.put(self._name(operator.number), record)

    def forget(self, number: str) -> None:
        with self._lock:
            self._sealed.delete(self._name(number))

    def record(self, number: str) -> Mapping[str, Any] | None:
        with self._lock:
            value = self._sealed.get(self._name(number))
        return value if isinstance(value, Mapping) else None

    def valid_until(self, number: str) -> datetime | None:
        record = self.record(number)
        if record is None:
            return None
        return datetime.fromisoformat(record["online_at"]) + timedelta(
            hours=self._config.offline_sign_in_hours
        )

    def check(self, number: str, password: str) -> tuple[Operator, Outlet, datetime]:
        """The operator, outlet and offline validity for a right password; `SignInRefused` otherwise."""
        now = self._clock.now()
        with self._lock:
            record = self._sealed.get(self._name(number))
            if not isinstance(record, dict) or record.get("format") != _FORMAT:
                raise SignInRefused(
                    "offline_sign_in_unavailable",
                    f"工号 {number} 在本柜台没有联网登录记录，离线时不能登录。",
                    "请待网络恢复后联网登录。",
                )
            locked = record.get("locked_until")
            if locked and datetime.fromisoformat(locked) > now:
                raise SignInRefused(
                    "offline_sign_in_locked",
                    f"离线登录密码错误次数过多，已锁定至 {datetime.fromisoformat(locked):%H:%M}。",
                    "请稍后再试，或待网络恢复后联网登录。",
                    locked_until=datetime.fromisoformat(locked),
                )
            until = datetime.fromisoformat(record["online_at"]) + timedelta(
                hours=self._config.offline_sign_in_hours
            )
            if now > until:
                raise SignInRefused(
                    "offline_sign_in_expired",
                    f"距工号 {number} 上次联网登录已超过 {self._config.offline_sign_in_hours:g} 小时，离线时不能登录。",
                    "请待网络恢复后联网登录。",
                )
            expected = base64.b64decode(record["hash"])
            actual = _scrypt(
                password, base64.b64decode(record["salt"]), record["n"], record["r"], record["p"]
            )
            if not hmac.compare_digest(expected, actual):
                record["failures"] = int(record.get("failures") or 0) + 1
                if record["failures"] >= self._config.lockout_failures:
                    record["locked_until"] = (
                        now + timedelta(minutes=self._config.lockout_minutes)
                    ).isoformat()
                    record["failures"] = 0
                self._sealed.put(self._name(number), record)
                raise SignInRefused("invalid_credentials", "工号或密码错误。", "请核对后重新输入。")
            if record.get("failures") or record.get("locked_until"):
                record["failures"], record["locked_until"] = 0, None
                self._sealed.put(self._name(number), record)
        op = record["operator"]
        operator = Operator(
            str(op["number"]), str(op["name"]), Role(op["role"]), str(record["outlet"]["code"])
        )
        return operator, outlet_from(record["outlet"]), until

    def county(self, outlet_code: str) -> str | None:
        """The outlet's region as last seen online (for the replica's scope), from any verifier."""
        for name in self._sealed.names():
            if name.startswith("verifier:"):
                value = self._sealed.get(name)
                if isinstance(value, Mapping) and value.get("outlet", {}).get("code") == outlet_code:
                    region = value["outlet"].get("region_code")
                    return None if region is None else str(region)
        return None


class SignIn:
    """Signs operators in and out at this counter, online or offline (see the module docstring)."""

    def __init__(
        self,
        client: CentralClient,
        store: Store,
        tokens: TokenStore,
        config: SyncConfig,
        clock: Clock,
    ) -> None:
        self.client = client
        self.tokens = tokens
        self.config = config
        self.clock = clock
        self.verifiers = Verifiers(store, config, clock)
        self.county: str | None = config.county
        self._lock = threading.Lock()

    # -- online -------------------------------------------------------------------------------

    def _server_sign_in(self, number: str, password: str) -> tuple[OperatorSession, str | None]:
        """POST /auth/sign-in and the outlet's record; raises `SignInRefused` or `ServerUnreachable`."""
        response = self.client.post("/auth/sign-in", {"operator_number": number, "password": password})
        if response.status_code != 200:
            problem = Problem.of(response)
            if problem.code == "operator_disabled":  # a disabled 工号 may not sign in offline either
                self.verifiers.forget(number)
            raise SignInRefused(
                problem.code, problem.detail, problem.hint, locked_until=locked_until_of(problem)
            )
        body = response.json()
        token = str(body["token"])
        outlets = self.client.get("/outlets", token=token)
        listed = outlets.json() if outlets.status_code == 200 else []
        mine = next((o for o in listed if o.get("code") == body.get("outlet_code")), None)
        if mine is None:  # no usable outlet: the token just issued is given back
            self.client.post("/auth/sign-out", None, token=token)
            raise SignInRefused(
                "outlet_unknown", f"无法取得网点 {body.get('outlet_code')} 的信息，请稍后重试。"
            )
        outlet = outlet_from(mine)
        operator = Operator(
            str(body["operator_number"]), str(body["operator_name"]), Role(body["role"]), outlet.code
        )
        session = OperatorSession(
            operator=operator,
            outlet=outlet,
            signed_in_at=self.clock.now(),
            token=Secret(token),
            expires_at=datetime.fromisoformat(str(body["expires_at"])),
        )
        region = mine.get("region_code")
        return session, None if region is None else str(region)

    def sign_in(self, number: str, password: str) -> SignedIn:
        """Sign ``number`` in: online when the server answers, else offline with the cached verifier."""
        with self._lock:
            try:
                session, region = self._server_sign_in(number, password)
            except ServerUnreachable:
                return self._offline(number, password)
            try:
                check_operator_at_outlet(session.operator, session.outlet)
            except NotPermitted as error:
                self._revoke(session)
                raise SignInRefused(error.code, error.message, error.hint) from error
            self.verifiers.remember(session.operator, session.outlet, region, password)
            self.county = self.config.county or region or self.county
            self._make_current(session)
            until = self.clock.now() + timedelta(hours=self.config.offline_sign_in_hours)
            return SignedIn(session.operator, session.outlet, True, session.expires_at, until, "已联网登录。")

    def _offline(self, number: str, password: str) -> SignedIn:
        operator, outlet, until = self.verifiers.check(number, password)
        session = OperatorSession(operator, outlet, self.clock.now(), token=None, password=Secret(password))
        self._make_current(session)
        self.county = self.config.county or self.county or self.verifiers.county(outlet.code)
        return SignedIn(
            operator,
            outlet,
            False,
            None,
            until,
            f"离线登录（暂时无法连接社保卡中心系统）。离线登录有效至 {until:%Y-%m-%d %H:%M}；"
            "联网后自动连接中心，离线期间只能办理可离线办理的业务。",
        )

    def go_online(self) -> bool:
        """An offline session becomes an online one (the worker calls this once the server answers).

        True when there is (now) an online session. A refused password ends the cached verifier and
        leaves the session offline with ``online_refusal`` set (the UI asks for a new sign-in).
        """
        with self._lock:
            session = self.tokens.current
            if session is None or session.online:
                return session is not None
            if session.password is None or not session.password.present:
                return False
            try:
                online, region = self._server_sign_in(session.operator.number, session.password.reveal())
            except ServerUnreachable:
                return False
            except SignInRefused as refused:
                if refused.code not in _PASSWORD_REFUSED:  # e.g. rate-limited: try again next round
                    return False
                log.warning(
                    "the server refused the offline session of %s: %s", session.operator.number, refused.code
                )
                if refused.code != "account_locked":  # the cached verifier holds a password it refuses
                    self.verifiers.forget(session.operator.number)
                session.password.wipe()
                session.online_refusal = f"{refused.message}请重新登录。"
                return False
            self.verifiers.remember(online.operator, online.outlet, region, session.password.reveal())
            self.county = self.config.county or region or self.county
            session.token, session.expires_at = online.token, online.expires_at
            session.outlet = online.outlet
            session.password.wipe()
            session.password = None
            return True

    # -- supervisors ----------------------------------------------------------------------------

    def confirm(self, number: str, password: str) -> Operator:
        """A supervisor's second sign-in at this counter (复核/授权); online only."""
        current = self.tokens.current
        if current is None:
            raise SignInRefused("not_signed_in", "请先由经办人登录。")
        try:
            session, _ = self._server_sign_in(number, password)
        except ServerUnreachable as exc:
            raise SignInRefused(
                "confirmation_needs_network",
                "复核/授权须联网确认，当前无法连接社保卡中心系统。",
                "请待网络恢复后办理。",
            ) from exc
        try:
            check_confirmer(session.operator, current.operator, current.outlet)
        except NotPermitted as error:
            self._revoke(session)
            raise SignInRefused(error.code, error.message, error.hint) from error
        self.tokens.add_confirmer(session)
        return session.operator

    def release_confirmer(self, number: str) -> None:
        """The confirmed work is done: sign the supervisor's token out on the server."""
        session = self.tokens.drop_confirmer(number)
        if session is not None:
            self._revoke(session)

    # -- sign-out ---------------------------------------------------------------------------------

    def _revoke(self, session: OperatorSession) -> None:
        """Sign the token out on the server (best effort: it expires anyway) and wipe it here."""
        if session.online:
            assert session.token is not None
            try:
                self.client.post("/auth/sign-out", None, token=session.token.reveal())
            except ServerUnreachable:
                log.info("sign-out of %s not confirmed by the server (offline)", session.operator.number)
        session.wipe()

    def sign_out(self) -> None:
        """退出登录: the operator's and every supervisor's token end on the server and here."""
        with self._lock:
            for session in self.tokens.take_all():
                self._revoke(session)

    def _make_current(self, session: OperatorSession) -> None:
        for displaced in self.tokens.set_current(session):
            self._revoke(displaced)


class ConfirmerDirectory:
    """The flows' 工号目录 (`OperatorDirectory`): a supervisor is found only after their second
    sign-in at this counter (`SignIn.confirm`), so the confirmation the flow records is real."""

    def __init__(self, tokens: TokenStore) -> None:
        self._tokens = tokens

    def find(self, number: str) -> Operator | None:
        session = self._tokens.confirmer(number)
        return session.operator if session is not None and session.online else None
