"""Credentials (凭据): the counter's own in the system keyring, operators' tokens in memory only.

- The counter credential (柜台凭据, ``X-Counter-Key: <outlet>-<counter>.<secret>``) and the receipt key
  (回执密钥, the HMAC key of the receipts' QR codes) live in ``keyring``: Windows 凭据管理器 or the
  Secret Service on Linux; never in a settings file, never in clear anywhere else. Without a usable
  keyring nothing is stored.
- Operator tokens (工号令牌) live in this process's memory only: clerks share the counter PC, so a
  token is gone at sign-out (`TokenStore.forget`). A supervisor's second sign-in (复核/授权) gives a
  confirmer token kept the same way.
"""

from __future__ import annotations

import base64
import binascii
import threading
from dataclasses import dataclass, field
from datetime import datetime

import keyring
from keyring.errors import KeyringError, PasswordDeleteError

from counter_app.domain.operators import Operator, Outlet
from counter_app.store.errors import StoreKeyUnavailable
from counter_app.sync.problems import CounterNotEnrolled

KEYRING_SERVICE = "leshan-sscard-counter"
CREDENTIAL_USERNAME = "counter-credential"
RECEIPT_KEY_USERNAME = "receipt-key"
_KEYRING_FAILURES = (KeyringError, RuntimeError, OSError)


class CounterCredentials:
    """The counter's credential and receipt key in the system keyring (柜台凭据与回执密钥)."""

    def __init__(self, service: str = KEYRING_SERVICE) -> None:
        self.service = service

    def _get(self, username: str) -> str | None:
        try:
            return keyring.get_password(self.service, username)
        except _KEYRING_FAILURES as exc:
            raise StoreKeyUnavailable(type(exc).__name__) from exc

    def _set(self, username: str, value: str) -> None:
        try:
            keyring.set_password(self.service, username, value)
        except _KEYRING_FAILURES as exc:
            raise StoreKeyUnavailable(type(exc).__name__) from exc
        if self._get(username) != value:  # e.g. the "null" keyring accepts and forgets
            raise StoreKeyUnavailable("凭据保存后无法读回")

    @property
    def enrolled(self) -> bool:
        return self._get(CREDENTIAL_USERNAME) is not None

    def counter_key(self) -> str:
        """``X-Counter-Key``; `CounterNotEnrolled` when the keyring holds none."""
        value = self._get(CREDENTIAL_USERNAME)
        if not value:
            raise CounterNotEnrolled()
        return value

    def save_counter_key(self, value: str) -> None:
        outlet_counter, dot, secret = value.partition(".")
        if not dot or not secret or "-" not in outlet_counter:
            raise ValueError("a counter credential reads <outlet>-<counter>.<secret>")
        self._set(CREDENTIAL_USERNAME, value)

    def receipt_key(self) -> bytes:
        """The 回执密钥; `CounterNotEnrolled` when the keyring holds none."""
        value = self._get(RECEIPT_KEY_USERNAME)
        if not value:
            raise CounterNotEnrolled()
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise StoreKeyUnavailable("回执密钥格式无法识别") from exc

    def save_receipt_key(self, key: bytes) -> None:
        self._set(RECEIPT_KEY_USERNAME, base64.b64encode(key).decode("ascii"))

    def forget(self) -> None:
        """Remove both (the counter is withdrawn)."""
        for username in (CREDENTIAL_USERNAME, RECEIPT_KEY_USERNAME):
            try:
                keyring.delete_password(self.service, username)
            except PasswordDeleteError:
                pass
            except _KEYRING_FAILURES as exc:
                raise StoreKeyUnavailable(type(exc).__name__) from exc


class Secret:
    """A secret string held in memory (令牌或口令): no ``repr`` shows it; `wipe` forgets it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value: str | None = value

    def reveal(self) -> str:
        if self._value is None:
            raise ValueError("the secret was wiped")
        return self._value

    @property
    def present(self) -> bool:
        return self._value is not None

    def wipe(self) -> None:
        self._value = None

    def __repr__(self) -> str:
        return "Secret(<redacted>)"


@dataclass
class OperatorSession:
    """One signed-in operator at this counter (工号会话), in memory only.

    ``token`` is None for an offline sign-in (离线登录) until the server can be reached again;
    ``password`` is held (in memory) only for that upgrade and wiped as soon as it happened.
    """

    operator: Operator
    outlet: Outlet
    signed_in_at: datetime
    token: Secret | None = None
    expires_at: datetime | None = None
    password: Secret | None = field(default=None, repr=False)
    #: Why the server refused to take this session online (shown to the clerk), if it did.
    online_refusal: str | None = None

    @property
    def online(self) -> bool:
        return self.token is not None and self.token.present

    def wipe(self) -> None:
        for secret in (self.token, self.password):
            if secret is not None:
                secret.wipe()


class TokenStore:
    """The signed-in operator and supervisors' confirmations of this counter (memory only, thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: OperatorSession | None = None
        self._confirmers: dict[str, OperatorSession] = {}

    @property
    def current(self) -> OperatorSession | None:
        with self._lock:
            return self._current

    def set_current(self, session: OperatorSession) -> list[OperatorSession]:
        """Make ``session`` the signed-in one; returns the sessions it displaced (to be signed out)."""
        with self._lock:
            previous, self._current = self._current, session
            confirmers, self._confirmers = self._confirmers, {}
        return [old for old in (previous, *confirmers.values()) if old is not None and old is not session]

    def token_of(self, operator_number: str) -> str | None:
        """The server token of ``operator_number`` if they are signed in online now."""
        with self._lock:
            session = self._current
        if session is None or session.operator.number != operator_number or not session.online:
            return None
        assert session.token is not None
        return session.token.reveal()

    def any_token(self) -> str | None:
        """The current operator's token (lookups and the change feed need a signed-in operator)."""
        with self._lock:
            session = self._current
        if session is None or not session.online:
            return None
        assert session.token is not None
        return session.token.reveal()

    def expire(self, token: str, reason: str) -> None:
        """The server no longer accepts ``token`` (expired, signed out elsewhere): forget it, and say
        why on the session it belonged to (the UI asks for a new sign-in)."""
        with self._lock:
            sessions = [s for s in (self._current, *self._confirmers.values()) if s is not None]
        for session in sessions:
            if session.token is not None and session.token.present and session.token.reveal() == token:
                session.token.wipe()
                session.online_refusal = reason

    def add_confirmer(self, session: OperatorSession) -> None:
        with self._lock:
            old = self._confirmers.pop(session.operator.number, None)
            self._confirmers[session.operator.number] = session
        if old is not None:
            old.wipe()

    def confirmer(self, operator_number: str) -> OperatorSession | None:
        with self._lock:
            return self._confirmers.get(operator_number)

    def drop_confirmer(self, operator_number: str) -> OperatorSession | None:
        with self._lock:
            return self._confirmers.pop(operator_number, None)

    def confirmer_numbers(self) -> list[str]:
        with self._lock:
            return list(self._confirmers)

    def take_all(self) -> list[OperatorSession]:
        """Sign-out: remove the current session and every confirmation; returns them (confirmers
        first) for the caller to sign out on the server and wipe."""
        with self._lock:
            session, self._current = self._current, None
            confirmers, self._confirmers = self._confirmers, {}
        return [*confirmers.values(), *([] if session is None else [session])]
