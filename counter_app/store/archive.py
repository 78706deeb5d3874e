"""The archive of printed 业务受理表 (受理表存档): the PDF per 受理编号, for 补打 (reprint).

The PDF holds the holder's full ID number on the stub, so it is stored encrypted. A reprint raises
the count and writes an audit entry in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from counter_app.store import audit
from counter_app.store.crypto import FieldCipher
from counter_app.store.engine import reading
from counter_app.store.errors import StoreError, UnknownAcceptanceNumber
from counter_app.store.models import printed_forms, transactions

REPRINT_EVENT = "reprint"


@dataclass(frozen=True)
class ArchivedForm:
    """An archived form and how often it was reprinted (补打次数)."""

    acceptance_number: str
    pdf: bytes
    archived_at: str
    reprint_count: int


class AlreadyArchived(StoreError, ValueError):
    """The form of this 受理编号 is already archived; the original is never replaced (已存档)."""

    def __init__(self, acceptance_number: str) -> None:
        super().__init__(
            "form_already_archived",
            f"受理编号 {acceptance_number} 的受理表已存档，不能覆盖。",
            "如需再次打印请使用补打。",
        )


def _context(acceptance_number: str) -> str:
    return f"printed_forms.pdf:{acceptance_number}"


class FormArchive:
    """Keeps printed forms and hands them out again for 补打."""

    def __init__(self, engine: sa.Engine, cipher: FieldCipher, now: Callable[[], datetime]) -> None:
        self._engine = engine
        self._reader = reading(engine)
        self._cipher = cipher
        self._now = now

    def put(self, acceptance_number: str, pdf: bytes) -> None:
        """Archive the form of a recorded transaction (once)."""
        with self._engine.begin() as connection:
            if self._transaction(connection, acceptance_number) is None:
                raise UnknownAcceptanceNumber(acceptance_number)
            exists = connection.execute(
                sa.select(printed_forms.c.acceptance_number).where(
                    printed_forms.c.acceptance_number == acceptance_number
                )
            ).first()
            if exists is not None:
                raise AlreadyArchived(acceptance_number)
            connection.execute(
                sa.insert(printed_forms).values(
                    acceptance_number=acceptance_number,
                    pdf=self._cipher.encrypt(pdf, _context(acceptance_number)),
                    archived_at=audit.iso(self._now()),
                    reprint_count=0,
                )
            )

    def get(self, acceptance_number: str) -> ArchivedForm | None:
        with self._reader.connect() as connection:
            return self._form(connection, acceptance_number)

    def reprint(self, acceptance_number: str, operator_number: str) -> ArchivedForm:
        """Count one more 补打 and audit it; returns the original PDF and the new count."""
        with self._engine.begin() as connection:
            form = self._form(connection, acceptance_number)
            if form is None:
                raise UnknownAcceptanceNumber(acceptance_number)
            now = audit.iso(self._now())
            count = form.reprint_count + 1
            connection.execute(
                sa.update(printed_forms)
                .where(printed_forms.c.acceptance_number == acceptance_number)
                .values(reprint_count=count, last_reprinted_at=now)
            )
            audit.append_about(
                connection,
                acceptance_number,
                event=REPRINT_EVENT,
                result=f"补打{count}",
                operator_number=operator_number,
                occurred_at=now,
            )
        return ArchivedForm(acceptance_number, form.pdf, form.archived_at, count)

    @staticmethod
    def _transaction(connection: sa.Connection, acceptance_number: str) -> sa.Row[tuple[object, ...]] | None:
        return connection.execute(
            sa.select(transactions).where(transactions.c.acceptance_number == acceptance_number)
        ).first()

    def _form(self, connection: sa.Connection, acceptance_number: str) -> ArchivedForm | None:
        row = connection.execute(
            sa.select(printed_forms).where(printed_forms.c.acceptance_number == acceptance_number)
        ).first()
        if row is None:
            return None
        return ArchivedForm(
            acceptance_number=acceptance_number,
            pdf=self._cipher.decrypt(row.pdf, _context(acceptance_number)),
            archived_at=row.archived_at,
            reprint_count=row.reprint_count,
        )
