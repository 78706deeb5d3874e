"""A keyring backend in a dict, for tests and test child processes (never keyrings.alt)."""

from __future__ import annotations

import base64

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from counter_app.store.keys import KEYRING_SERVICE, KEYRING_USERNAME


class MemoryKeyring(KeyringBackend):
    """Passwords in memory. Priority below keyring's "fail" backend: never picked by auto-detection."""

    priority = -1

    def __init__(self, items: dict[tuple[str, str], str] | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.items = dict(items or {})

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.items[(service, username)]
        except KeyError:
            raise PasswordDeleteError(username) from None


def holding(secret: bytes) -> MemoryKeyring:
    """A keyring that already holds ``secret`` as the store's master key (as `KeyringKeySource` saves it)."""
    return MemoryKeyring({(KEYRING_SERVICE, KEYRING_USERNAME): "v1:" + base64.b64encode(secret).decode()})
