"""The store's master secret (存储主密钥), kept in the system keyring and never on disk by us.

Generated on the first open of an empty database; a database that already holds encrypted data
never gets a fresh key silently (that would make its data unreadable): it fails with
`StoreKeyMissing`. Without a usable keyring nothing is stored at all — never in clear.
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import Protocol, runtime_checkable

import keyring
from keyring.errors import KeyringError

from counter_app.store.crypto import MASTER_SECRET_BYTES
from counter_app.store.errors import StoreKeyMissing, StoreKeyUnavailable

KEYRING_SERVICE = "leshan-sscard-counter"
KEYRING_USERNAME = "store-key"
_PREFIX = "v1:"
_KEYRING_FAILURES = (KeyringError, RuntimeError, OSError)


@runtime_checkable
class KeySource(Protocol):
    """Where the master secret is kept (密钥来源)."""

    def load(self) -> bytes | None:
        """The secret, or None when there is none yet. Raises `StoreKeyUnavailable`."""
        ...

    def save(self, secret: bytes) -> None:
        """Keep a new secret. Raises `StoreKeyUnavailable`."""
        ...


class KeyringKeySource:
    """The master secret in the OS keyring (Windows 凭据管理器, Secret Service, macOS 钥匙串)."""

    def __init__(self, service: str = KEYRING_SERVICE, username: str = KEYRING_USERNAME) -> None:
        self.service = service
        self.username = username

    def load(self) -> bytes | None:
        try:
            stored = keyring.get_password(self.service, self.username)
        except _KEYRING_FAILURES as exc:
            raise StoreKeyUnavailable(type(exc).__name__) from exc
        if stored is None:
            return None
        if not stored.startswith(_PREFIX):
            raise StoreKeyUnavailable("密钥格式无法识别")
        try:
            return base64.b64decode(stored[len(_PREFIX) :], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise StoreKeyUnavailable("密钥格式无法识别") from exc

    def save(self, secret: bytes) -> None:
        try:
            keyring.set_password(self.service, self.username, _PREFIX + base64.b64encode(secret).decode())
        except _KEYRING_FAILURES as exc:
            raise StoreKeyUnavailable(type(exc).__name__) from exc


def obtain_master_secret(source: KeySource, *, database_has_key: bool) -> bytes:
    """The existing secret, or a new one when the database was never keyed (see module docstring)."""
    secret = source.load()
    if secret is not None:
        if len(secret) < MASTER_SECRET_BYTES:
            raise StoreKeyUnavailable("密钥长度不足")
        return secret
    if database_has_key:
        raise StoreKeyMissing()
    secret = os.urandom(MASTER_SECRET_BYTES)
    source.save(secret)
    if source.load() != secret:  # e.g. the "null" keyring accepts and forgets
        raise StoreKeyUnavailable("密钥保存后无法读回")
    return secret
