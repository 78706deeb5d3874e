"""The counter's local store (本地流水库): the `Journal` port on SQLite.

`Store.open` creates or upgrades the database, obtains the key from the keyring and checks that it is
the database's key. `Store.record` writes a transaction, its audit entry and its outbox message in one
SQLite transaction: after a crash (even ``kill -9`` between the statements) either all three exist or
none. The outbox, the replica and the form archive hang off the store as `outbox`, `replica`, `archive`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from counter_app.clock import SHANGHAI, SystemClock
from counter_app.store import audit, outbox, sequence
from counter_app.store.archive import FormArchive
from counter_app.store.crypto import FieldCipher, StoreKeys
from counter_app.store.engine import create_private, make_engine, reading
from counter_app.store.errors import DuplicateAcceptanceNumber, HolderRefLooksLikeIdNumber, StoreKeyMismatch
from counter_app.store.keys import KeyringKeySource, KeySource, obtain_master_secret
from counter_app.store.migrate import upgrade
from counter_app.store.models import flow_checkpoints, outbox_messages, store_meta, transactions
from counter_app.store.outbox import Outbox
from counter_app.store.replica import Replica
from counter_app.store.sealed import SealedValues
from counter_app.workflows.ports import Clock, TransactionRecord

KEY_CHECK = "key_check"
TRANSACTION_EVENT = "transaction"
_DATE = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
_ID_NUMBER_LIKE = re.compile(  # an 18- or 15-character 身份证号码 standing on its own inside the text
    rf"(?<![0-9A-Za-z])(?:\d{{6}}(?:18|19|20)\d{{2}}{_DATE}\d{{3}}[\dXx]|\d{{8}}{_DATE}\d{{3}})(?![0-9A-Za-z])"
)

FaultHook = Callable[[str], None]
"""Called with a point name between the statements of `Store.record` (crash tests kill the process)."""


def _no_fault(point: str) -> None:
    return None


def _cipher_for(engine: sa.Engine, key_source: KeySource) -> FieldCipher:
    """The database's cipher; under the write lock, so two first opens cannot make two keys."""
    with engine.begin() as connection:
        stored = connection.execute(
            sa.select(store_meta.c.value).where(store_meta.c.name == KEY_CHECK)
        ).scalar()
        secret = obtain_master_secret(key_source, database_has_key=stored is not None)
        cipher = FieldCipher(StoreKeys.derive(secret))
        if stored is None:
            connection.execute(sa.insert(store_meta).values(name=KEY_CHECK, value=cipher.check_value))
        elif not cipher.matches_check_value(stored):
            raise StoreKeyMismatch()
    return cipher


class Store:
    """`Journal` on SQLite, plus the outbox, replica, archive and audit chain of this counter."""

    def __init__(self, engine: sa.Engine, cipher: FieldCipher, clock: Clock) -> None:
        self._engine = engine
        self._reader = reading(engine)
        self._cipher = cipher
        self._clock = clock
        self.fault_hook: FaultHook = _no_fault
        self.outbox = Outbox(engine, cipher, clock.now)
        self.replica = Replica(engine, cipher, clock.now)
        self.archive = FormArchive(engine, cipher, clock.now)
        self.sealed = SealedValues(engine, cipher)

    @classmethod
    def open(cls, path: Path, key_source: KeySource | None = None, *, clock: Clock | None = None) -> Store:
        """Open (creating or upgrading) the database at ``path``; the key comes from the keyring."""
        create_private(path)
        engine = make_engine(path)
        try:
            upgrade(engine)
            cipher = _cipher_for(engine, key_source or KeyringKeySource())
        except BaseException:
            engine.dispose()
            raise
        store = cls(engine, cipher, clock or SystemClock())
        store.replica.restore_indexes()  # a first sync killed while it had them off
        return store

    @property
    def engine(self) -> sa.Engine:
        return self._engine

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- Journal port

    def next_acceptance_number(self, outlet_code: str, counter_number: str, on: date) -> str:
        """Reserve the next 受理编号 of this counter for the day."""
        with self._engine.begin() as connection:
            return sequence.reserve(connection, outlet_code, counter_number, on)

    def record(self, transaction: TransactionRecord) -> None:
        """Write the transaction, its audit entry and (when it has one) its outbox message atomically."""
        number = transaction.acceptance_number
        if _ID_NUMBER_LIKE.search(transaction.holder_ref):
            raise HolderRefLooksLikeIdNumber()
        occurred_at = audit.iso(transaction.occurred_at)
        details = self._cipher.encrypt_json(dict(transaction.details), f"transactions.details:{number}")
        payload = dict(transaction.server_payload)
        payload_blob = self._cipher.encrypt_json(payload, f"transactions.server_payload:{number}")
        now = self._clock.now()
        with self._engine.begin() as connection:
            exists = connection.execute(
                sa.select(transactions.c.id).where(transactions.c.acceptance_number == number)
            ).first()
            if exists is not None:
                raise DuplicateAcceptanceNumber(number)
            connection.execute(
                sa.insert(transactions).values(
                    acceptance_number=number,
                    item_code=transaction.item_code,
                    operator_number=transaction.operator_number,
                    outlet_code=transaction.outlet_code,
                    counter_number=transaction.counter_number,
                    occurred_at=occurred_at,
                    holder_ref=transaction.holder_ref,
                    result=transaction.result,
                    details=details,
                    server_command=transaction.server_command,
                    server_payload=payload_blob,
                    recorded_at=audit.iso(now),
                )
            )
            self.fault_hook("transaction_written")
            head = audit.append(
                connection,
                audit.AuditEntry(
                    event=TRANSACTION_EVENT,
                    item_code=transaction.item_code,
                    operator_number=transaction.operator_number,
                    outlet_code=transaction.outlet_code,
                    counter_number=transaction.counter_number,
                    occurred_at=occurred_at,
                    holder_ref=transaction.holder_ref,
                    result=transaction.result,
                    acceptance_number=number,
                ),
            )
            self.fault_hook("audit_written")
            if transaction.server_command:
                outbox.enqueue(
                    connection,
                    self._cipher,
                    message_id=str(uuid.uuid4()),
                    created_at=now,
                    command=transaction.server_command,
                    payload=payload,
                    acceptance_number=number,
                    audit_head=head,
                )
                self.fault_hook("outbox_written")
        self.fault_hook("committed")

    def find(self, acceptance_number: str) -> TransactionRecord | None:
        """A recorded transaction by its 受理编号."""
        with self._reader.connect() as connection:
            row = connection.execute(
                sa.select(transactions).where(transactions.c.acceptance_number == acceptance_number)
            ).first()
        if row is None:
            return None
        return TransactionRecord(
            acceptance_number=row.acceptance_number,
            item_code=row.item_code,
            operator_number=row.operator_number,
            outlet_code=row.outlet_code,
            counter_number=row.counter_number,
            occurred_at=datetime.fromisoformat(row.occurred_at).astimezone(SHANGHAI),
            holder_ref=row.holder_ref,
            result=row.result,
            details=self._cipher.decrypt_json(row.details, f"transactions.details:{acceptance_number}"),
            server_command=row.server_command,
            server_payload=self._cipher.decrypt_json(
                row.server_payload, f"transactions.server_payload:{acceptance_number}"
            ),
        )

    def save_checkpoint(self, flow_id: str, state: Mapping[str, Any]) -> None:
        """Remember where an unfinished flow stands (encrypted: it may hold names)."""
        blob = self._cipher.encrypt_json(dict(state), f"flow_checkpoints.state:{flow_id}")
        values = {"state": blob, "updated_at": audit.iso(self._clock.now())}
        with self._engine.begin() as connection:
            updated = connection.execute(
                sa.update(flow_checkpoints).where(flow_checkpoints.c.flow_id == flow_id).values(**values)
            )
            if updated.rowcount == 0:
                connection.execute(sa.insert(flow_checkpoints).values(flow_id=flow_id, **values))

    def load_checkpoint(self, flow_id: str) -> Mapping[str, Any] | None:
        with self._reader.connect() as connection:
            blob = connection.execute(
                sa.select(flow_checkpoints.c.state).where(flow_checkpoints.c.flow_id == flow_id)
            ).scalar()
        return None if blob is None else self._cipher.decrypt_json(blob, f"flow_checkpoints.state:{flow_id}")

    def discard_checkpoint(self, flow_id: str) -> None:
        """Forget a flow's checkpoint once it finished."""
        with self._engine.begin() as connection:
            connection.execute(sa.delete(flow_checkpoints).where(flow_checkpoints.c.flow_id == flow_id))

    # ---- references and audit

    def holder_ref_for(self, id_type: str, id_number: str) -> str:
        """A holder reference for audit and transactions: the keyed hash of the ID (证件号码), never it."""
        return "h:" + self._cipher.id_lookup_hash(id_type, id_number)

    def audit_event(self, acceptance_number: str, event: str, result: str, operator_number: str) -> None:
        """Chain an audit entry about a recorded transaction (再查询, 打印明细 …) — nothing else changes."""
        with self._engine.begin() as connection:
            audit.append_about(
                connection,
                acceptance_number,
                event=event,
                result=result,
                operator_number=operator_number,
                occurred_at=audit.iso(self._clock.now()),
            )

    def audit_head(self) -> audit.AuditHead | None:
        with self._reader.connect() as connection:
            return audit.head(connection)

    def verify_audit(self) -> audit.ChainReport:
        """Check the local chain: the first edited, deleted or reordered entry."""
        with self._reader.connect() as connection:
            return audit.verify_chain(connection)

    def verify_against_head(self, server_head: audit.AuditHead) -> audit.ChainReport:
        """Check that the local chain still passes through a head the server holds."""
        with self._reader.connect() as connection:
            return audit.verify_against_head(connection, server_head)

    def record_acknowledged_head(self, acknowledged: audit.AuditHead) -> None:
        """Remember the head the server acknowledged (the sync relay calls this)."""
        with self._engine.begin() as connection:
            audit.record_acknowledged_head(connection, acknowledged, self._clock.now())

    def acknowledge(
        self, message_ids: str | Sequence[str], acknowledged_head: audit.AuditHead | None
    ) -> None:
        """The server answered these messages: mark them acknowledged and keep the head it acknowledged,
        in one transaction (the sync relay calls this; ``fault_hook("acknowledging")`` runs between the
        status updates and the head)."""
        ids = [message_ids] if isinstance(message_ids, str) else list(message_ids)
        at = audit.iso(self._clock.now())
        with self._engine.begin() as connection:
            for message_id in ids:
                result = connection.execute(
                    sa.update(outbox_messages)
                    .where(outbox_messages.c.id == message_id)
                    .values(status=outbox.OutboxStatus.ACKNOWLEDGED.value, acknowledged_at=at)
                )
                if result.rowcount != 1:
                    raise outbox.UnknownOutboxMessage(message_id)
            self.fault_hook("acknowledging")
            if acknowledged_head is not None:
                audit.record_acknowledged_head(connection, acknowledged_head, self._clock.now())

    def last_acknowledged_head(self) -> audit.AuditHead | None:
        with self._reader.connect() as connection:
            return audit.last_acknowledged_head(connection)
