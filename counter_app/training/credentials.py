"""Where 培训模式 keeps its secrets (培训密钥存放): the system keyring, under a training service name.

The training counter's credential and receipt key (``counter_app.sync.credentials``) and the
training store's key (``counter_app.store.keys``) go to the keyring as a real counter's do, under
``leshan-sscard-counter-training`` so they never mix with a production counter's entries. Training
secrets protect nothing real, so on a machine without a usable keyring (a bare test box) an
in-memory keyring is installed for this run instead, with a warning; the training store is then
started afresh (its old key is gone). Production code never calls this module.
"""

from __future__ import annotations

import logging

import keyring
from keyring.backend import KeyringBackend
from keyring.errors import KeyringError, PasswordDeleteError

log = logging.getLogger(__name__)

SERVICE = "leshan-sscard-counter-training"
_PROBE = "probe"
_FAILURES = (KeyringError, RuntimeError, OSError)


class TrainingMemoryKeyring(KeyringBackend):
    """Secrets in memory for one run (never chosen by keyring's own detection: priority −1)."""

    priority = -1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self._items.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


def ensure_keyring() -> bool:
    """True when the system keyring works; otherwise install `TrainingMemoryKeyring`, return False."""
    if isinstance(keyring.get_keyring(), TrainingMemoryKeyring):
        return False
    try:
        keyring.set_password(SERVICE, _PROBE, "1")
        works = keyring.get_password(SERVICE, _PROBE) == "1"
        keyring.delete_password(SERVICE, _PROBE)
    except _FAILURES as error:
        works = False
        reason: object = error
    else:
        reason = "the keyring forgets what it is given"
    if works:
        return True
    if not isinstance(keyring.get_keyring(), TrainingMemoryKeyring):
        log.warning("no usable keyring (%s): training secrets are kept in memory for this run", reason)
        keyring.set_keyring(TrainingMemoryKeyring())
    return False
