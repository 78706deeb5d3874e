"""Command kinds (命令类别): what a command is, for status-word mapping and trace redaction."""

from __future__ import annotations

import enum

__all__ = ["Kind"]


class Kind(enum.Enum):
    """What a command is, for error mapping and redaction (命令类别)."""

    SELECT = "select"
    GET_RESPONSE = "get_response"
    READ_RECORD = "read_record"
    UPDATE_RECORD = "update_record"
    GET_CHALLENGE = "get_challenge"
    EXTERNAL_AUTH = "external_auth"
    INTERNAL_AUTH = "internal_auth"
    VERIFY = "verify"
    CHANGE_PIN = "change_pin"
    RELOAD_PIN = "reload_pin"
    UNBLOCK_PIN = "unblock_pin"
    PSAM_SELECT = "psam_select"
    PSAM_READ_BINARY = "psam_read_binary"
    PSAM_INIT = "psam_init"
    PSAM_CIPHER = "psam_cipher"

    # Members are singletons compared by identity, so identity hashing is consistent with equality;
    # it is done in C, unlike Enum's ``hash(self._name_)`` (looked up in a set on every APDU).
    __hash__ = object.__hash__

    @property
    def secret(self) -> bool:
        """True when the data field may carry a PIN (or authenticates a PIN operation)."""
        return self in _SECRET

    @property
    def psam(self) -> bool:
        return self.value.startswith("psam_")


_SECRET = frozenset({Kind.VERIFY, Kind.CHANGE_PIN, Kind.RELOAD_PIN, Kind.UNBLOCK_PIN})
