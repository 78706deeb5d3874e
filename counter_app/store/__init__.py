"""The counter's local store (本地数据库): SQLite with WAL and synchronous=FULL.

Transactions, the anchored audit chain, the outbox, the replica of the server's records, sync cursors,
the archive of printed forms and the 受理编号 sequence. Sensitive columns are SM4-encrypted under a
key kept in the system keyring. `Store` implements the `Journal` port.
"""

from __future__ import annotations

from counter_app.store.archive import AlreadyArchived, ArchivedForm, FormArchive
from counter_app.store.audit import AuditHead, BreakKind, ChainBreak, ChainReport
from counter_app.store.engine import ConnectionPragmas, database_path, make_engine, read_pragmas
from counter_app.store.errors import (
    AcceptanceNumbersExhausted,
    DuplicateAcceptanceNumber,
    HolderRefLooksLikeIdNumber,
    MigrationError,
    StoreError,
    StoreIntegrityError,
    StoreKeyMismatch,
    StoreKeyMissing,
    StoreKeyUnavailable,
    StoreNotDurable,
    UnknownAcceptanceNumber,
)
from counter_app.store.journal import FaultHook, Store
from counter_app.store.keys import KeyringKeySource, KeySource
from counter_app.store.outbox import Outbox, OutboxMessage, OutboxStatus, UnknownOutboxMessage
from counter_app.store.replica import Replica, ReplicaCard, ReplicaPayment, ReplicaPerson

__all__ = [
    "AcceptanceNumbersExhausted",
    "AlreadyArchived",
    "ArchivedForm",
    "AuditHead",
    "BreakKind",
    "ChainBreak",
    "ChainReport",
    "ConnectionPragmas",
    "DuplicateAcceptanceNumber",
    "FaultHook",
    "FormArchive",
    "HolderRefLooksLikeIdNumber",
    "KeySource",
    "KeyringKeySource",
    "MigrationError",
    "Outbox",
    "OutboxMessage",
    "OutboxStatus",
    "Replica",
    "ReplicaCard",
    "ReplicaPayment",
    "ReplicaPerson",
    "Store",
    "StoreError",
    "StoreIntegrityError",
    "StoreKeyMismatch",
    "StoreKeyMissing",
    "StoreKeyUnavailable",
    "StoreNotDurable",
    "UnknownAcceptanceNumber",
    "UnknownOutboxMessage",
    "database_path",
    "make_engine",
    "read_pragmas",
]
