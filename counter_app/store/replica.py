"""The local replica (本地副本) of the server's persons, cards and subsidy payments, and sync cursors.

The sync puller applies a page of the change feed and moves its cursor in one transaction
(`Replica.apply`). A row never goes back to an older ``version``. ID number, name, birth date,
phone, address and bank account are encrypted; persons are found by the keyed hash of their ID number.
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert

from counter_app.store.audit import iso
from counter_app.store.crypto import FieldCipher
from counter_app.store.engine import reading
from counter_app.store.models import replica_cards, replica_persons, replica_subsidy_payments, sync_cursors


@dataclass(frozen=True)
class ReplicaPerson:
    """A person (人员) as the server last sent them."""

    person_id: str
    id_type: str
    id_number: str
    name: str
    sex: str | None = None
    ethnicity: str | None = None
    birth_date: date | None = None
    phone: str | None = None
    address: str | None = None
    insured_region: str | None = None  # 参保地 (行政区划)
    household_id: str | None = None
    household_head: bool = False  # 户主
    four_categories: bool = False  # 四类人 (may have a 代管代持 custodian)
    version: int = 0
    updated_at: str | None = None  # the server's time of the change


@dataclass(frozen=True)
class ReplicaCard:
    """A card (社保卡) as the server last sent it."""

    card_ref: str
    person_id: str
    social_status: str
    card_number: str | None = None  # 卡号
    card_id: str | None = None  # 卡识别码
    issuing_bank: str | None = None
    financial_status: str | None = None
    issued_on: date | None = None
    valid_until: date | None = None
    bank_account: str | None = None  # encrypted; only the last four digits are kept in clear
    version: int = 0
    updated_at: str | None = None


@dataclass(frozen=True)
class ReplicaPayment:
    """A subsidy payment (补贴发放记录); amounts in 分."""

    payment_id: str
    person_id: str  # whose card it was paid to
    category_code: str
    department: str  # 主管部门
    period: str  # YYYYMM
    amount_fen: int
    status: str  # 待发/已发/失败/退回/重发
    sub_item_code: str | None = None
    household_id: str | None = None
    paid_on: date | None = None
    paying_bank: str | None = None
    account_tail: str | None = None  # 尾号
    failure_reason: str | None = None
    batch_number: str | None = None
    recipient_override: str | None = None  # why not the head of household's card
    version: int = 0
    updated_at: str | None = None


#: The replica's tables by the kind of record a snapshot pages through.
REPLICA_TABLES: Final = {
    "person": replica_persons,
    "card": replica_cards,
    "payment": replica_subsidy_payments,
}
#: Rows per ``INSERT`` statement when a page is written (fewer if SQLite allows fewer variables).
_ROWS_PER_STATEMENT: Final = 200
#: The columns a replica row is written in (``synced_at`` is added by `Replica.apply`).
PERSON_COLUMNS: Final = (
    "person_id",
    "id_type",
    "id_number_hash",
    "id_number",
    "name",
    "sex",
    "ethnicity",
    "birth_date",
    "phone",
    "address",
    "insured_region",
    "household_id",
    "household_head",
    "four_categories",
    "version",
    "updated_at",
)
CARD_COLUMNS: Final = (
    "card_ref",
    "person_id",
    "card_number",
    "card_id",
    "issuing_bank",
    "social_status",
    "financial_status",
    "issued_on",
    "valid_until",
    "bank_account",
    "bank_account_tail",
    "version",
    "updated_at",
)
#: A payment row: the fields of `ReplicaPayment` in their order (``paid_on`` as ISO text).
PAYMENT_COLUMNS: Final = tuple(f.name for f in fields(ReplicaPayment))


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _secondary_indexes(table: sa.Table) -> list[sa.Index]:
    return sorted((index for index in table.indexes if not index.unique), key=lambda index: str(index.name))


class Replica:
    """Reads and applies the replica; persons' sensitive fields are encrypted here."""

    def __init__(self, engine: sa.Engine, cipher: FieldCipher, now: Callable[[], datetime]) -> None:
        self._engine = engine
        self._reader = reading(engine)
        self._cipher = cipher
        self._now = now

    # ---- writing

    @staticmethod
    def _upsert(
        connection: sa.Connection,
        table: sa.Table,
        key: str,
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
        synced_at: str,
    ) -> None:
        """Insert or update ``rows``; never to an older version (a later row of the same key wins).

        Plain tuples in ``columns`` order (every value here is already what SQLite stores: text,
        integers, blobs, None), many rows per ``INSERT … VALUES (…), (…), …`` statement: a page of ten
        thousand rows is a few dozen statements. Not ``executemany``: it gives up the interpreter lock
        for every row, and while the sync's download thread parses the next page, taking it back
        cost more than the insert itself. ``synced_at``, the same for every row, is written into them.
        """
        if not rows:
            return
        names = ", ".join((*columns, "synced_at"))
        stamp = synced_at.replace("'", "''")
        one = "(" + ", ".join("?" for _ in columns) + f", '{stamp}')"
        updates = ", ".join(f"{c} = excluded.{c}" for c in (*columns, "synced_at") if c != key)
        conflict = (
            f" ON CONFLICT ({key}) DO UPDATE SET {updates} WHERE excluded.version >= {table.name}.version"
        )
        driver = connection.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        limit = driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        per = max(1, min(_ROWS_PER_STATEMENT, limit // len(columns)))
        for start in range(0, len(rows), per):
            chunk = rows[start : start + per]
            values = ", ".join([one] * len(chunk))
            connection.exec_driver_sql(
                f"INSERT INTO {table.name} ({names}) VALUES {values}{conflict}",
                tuple(itertools.chain.from_iterable(chunk)),
            )

    def _person_rows(self, persons: Sequence[ReplicaPerson]) -> list[tuple[Any, ...]]:
        """Rows in `PERSON_COLUMNS` order; the personal fields of the whole batch encrypted at once."""
        plain: list[tuple[bytes | None, str]] = []
        for person in persons:
            pid = person.person_id
            birth = person.birth_date
            for column, value in (
                ("id_number", person.id_number),
                ("name", person.name),
                ("birth_date", None if birth is None else birth.isoformat()),
                ("phone", person.phone),
                ("address", person.address),
            ):
                plain.append(
                    (None if value is None else value.encode("utf-8"), f"replica_persons.{column}:{pid}")
                )
        blobs = self._cipher.encrypt_many(plain)
        lookup = self._cipher.id_lookup_hash
        return [
            (
                person.person_id,
                person.id_type,
                lookup(person.id_type, person.id_number),
                *blobs[5 * i : 5 * i + 2],
                person.sex,
                person.ethnicity,
                *blobs[5 * i + 2 : 5 * i + 5],
                person.insured_region,
                person.household_id,
                person.household_head,
                person.four_categories,
                person.version,
                person.updated_at,
            )
            for i, person in enumerate(persons)
        ]

    def _card_rows(self, cards: Sequence[ReplicaCard]) -> list[tuple[Any, ...]]:
        """Rows in `CARD_COLUMNS` order; the bank accounts of the whole batch encrypted at once."""
        blobs = self._cipher.encrypt_many(
            [
                (
                    None if card.bank_account is None else card.bank_account.encode("utf-8"),
                    f"replica_cards.bank_account:{card.card_ref}",
                )
                for card in cards
            ]
        )
        return [
            (
                card.card_ref,
                card.person_id,
                card.card_number,
                card.card_id,
                card.issuing_bank,
                card.social_status,
                card.financial_status,
                _day(card.issued_on),
                _day(card.valid_until),
                blob,
                card.bank_account[-4:] if card.bank_account else None,
                card.version,
                card.updated_at,
            )
            for card, blob in zip(cards, blobs, strict=True)
        ]

    @staticmethod
    def payment_row(payment: ReplicaPayment) -> tuple[Any, ...]:
        """A payment as a row of ``Replica.apply(payment_rows=…)`` (`PAYMENT_COLUMNS` order)."""
        return (
            payment.payment_id,
            payment.person_id,
            payment.category_code,
            payment.department,
            payment.period,
            payment.amount_fen,
            payment.status,
            payment.sub_item_code,
            payment.household_id,
            _day(payment.paid_on),
            payment.paying_bank,
            payment.account_tail,
            payment.failure_reason,
            payment.batch_number,
            payment.recipient_override,
            payment.version,
            payment.updated_at,
        )

    def apply(
        self,
        *,
        persons: Iterable[ReplicaPerson] = (),
        cards: Iterable[ReplicaCard] = (),
        payments: Iterable[ReplicaPayment] = (),
        payment_rows: Iterable[tuple[Any, ...]] = (),
        cursor: tuple[str, int] | None = None,
    ) -> None:
        """Apply changed rows and (optionally) move a feed's cursor, all in one transaction.

        ``payment_rows`` are payments already in row form (`PAYMENT_COLUMNS` order, dates as ISO
        text, see `payment_row`): the bulk path of a first sync, which skips the dataclasses.
        """
        synced_at = iso(self._now())
        person_rows = self._person_rows(list(persons))
        card_rows = self._card_rows(list(cards))
        payment_tuples = [self.payment_row(payment) for payment in payments]
        payment_tuples.extend(payment_rows)
        with self._engine.begin() as connection:
            self._upsert(connection, replica_persons, "person_id", PERSON_COLUMNS, person_rows, synced_at)
            self._upsert(connection, replica_cards, "card_ref", CARD_COLUMNS, card_rows, synced_at)
            self._upsert(
                connection,
                replica_subsidy_payments,
                "payment_id",
                PAYMENT_COLUMNS,
                payment_tuples,
                synced_at,
            )
            if cursor is not None:
                self._set_cursor(connection, *cursor, synced_at)

    @contextlib.contextmanager
    def indexes_deferred(self, kind: str) -> Iterator[None]:
        """The secondary indexes of ``kind``'s table dropped while a snapshot fills it, built again after.

        Two million payments inserted into a maintained (person, period) index are two million random
        B-tree inserts; building the index once at the end is one sort (measured 20 → 8 µs a row with
        the build). Only non-unique indexes go, so no constraint is ever off. Built again however the
        block ends; a process killed inside it gets them back from `restore_indexes` at the next
        `Store.open`. Meanwhile the table is still read correctly, only by scanning (the replica
        answers only offline, and a first sync is not that).
        """
        table = REPLICA_TABLES[kind]
        with self._engine.begin() as connection:
            for index in _secondary_indexes(table):
                index.drop(connection, checkfirst=True)
        try:
            yield
        finally:
            self.restore_indexes()

    def restore_indexes(self) -> None:
        """Build any secondary index of the replica that is missing (see `indexes_deferred`)."""
        with self._engine.begin() as connection:
            for table in REPLICA_TABLES.values():
                for index in _secondary_indexes(table):
                    index.create(connection, checkfirst=True)

    def known_persons(self, person_ids: Iterable[str]) -> set[str]:
        """Which of these persons the replica holds (the feed keeps them current)."""
        wanted = list(dict.fromkeys(person_ids))
        found: set[str] = set()
        with self._reader.connect() as connection:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                query = sa.select(replica_persons.c.person_id).where(replica_persons.c.person_id.in_(chunk))
                found.update(str(value) for value in connection.execute(query).scalars())
        return found

    def person_ids(self) -> set[str]:
        """Every person the replica holds."""
        with self._reader.connect() as connection:
            return {str(v) for v in connection.execute(sa.select(replica_persons.c.person_id)).scalars()}

    def clear(self) -> None:
        """Forget every replicated row and every cursor (a full resync starts from nothing)."""
        with self._engine.begin() as connection:
            for table in (replica_subsidy_payments, replica_cards, replica_persons, sync_cursors):
                connection.execute(sa.delete(table))

    # ---- reading persons

    def _person(self, row: sa.Row[tuple[object, ...]]) -> ReplicaPerson:
        m = row._mapping
        pid = m["person_id"]

        def dec(column: str) -> str | None:
            return self._cipher.decrypt_text(m[column], f"replica_persons.{column}:{pid}")

        return ReplicaPerson(
            person_id=pid,
            id_type=m["id_type"],
            id_number=dec("id_number") or "",
            name=dec("name") or "",
            sex=m["sex"],
            ethnicity=m["ethnicity"],
            birth_date=_date(dec("birth_date")),
            phone=dec("phone"),
            address=dec("address"),
            insured_region=m["insured_region"],
            household_id=m["household_id"],
            household_head=bool(m["household_head"]),
            four_categories=bool(m["four_categories"]),
            version=m["version"],
            updated_at=m["updated_at"],
        )

    def _persons(self, where: sa.ColumnElement[bool]) -> list[ReplicaPerson]:
        query = sa.select(replica_persons).where(where).order_by(replica_persons.c.person_id)
        with self._reader.connect() as connection:
            return [self._person(row) for row in connection.execute(query)]

    def person(self, person_id: str) -> ReplicaPerson | None:
        found = self._persons(replica_persons.c.person_id == person_id)
        return found[0] if found else None

    def person_by_id_number(self, id_type: str, id_number: str) -> ReplicaPerson | None:
        """Find by 证件类型 + 证件号码 through the keyed hash."""
        found = self._persons(
            replica_persons.c.id_number_hash == self._cipher.id_lookup_hash(id_type, id_number)
        )
        return found[0] if found else None

    def household(self, household_id: str) -> list[ReplicaPerson]:
        return self._persons(replica_persons.c.household_id == household_id)

    # ---- reading cards and payments

    def _card(self, row: sa.Row[tuple[object, ...]]) -> ReplicaCard:
        m = row._mapping
        return ReplicaCard(
            card_ref=m["card_ref"],
            person_id=m["person_id"],
            social_status=m["social_status"],
            card_number=m["card_number"],
            card_id=m["card_id"],
            issuing_bank=m["issuing_bank"],
            financial_status=m["financial_status"],
            issued_on=_date(m["issued_on"]),
            valid_until=_date(m["valid_until"]),
            bank_account=self._cipher.decrypt_text(
                m["bank_account"], f"replica_cards.bank_account:{m['card_ref']}"
            ),
            version=m["version"],
            updated_at=m["updated_at"],
        )

    def cards(
        self, *, person_id: str | None = None, card_number: str | None = None, card_id: str | None = None
    ) -> list[ReplicaCard]:
        """Cards matching every criterion given."""
        query = sa.select(replica_cards).order_by(replica_cards.c.card_ref)
        for column, value in (("person_id", person_id), ("card_number", card_number), ("card_id", card_id)):
            if value is not None:
                query = query.where(replica_cards.c[column] == value)
        with self._reader.connect() as connection:
            return [self._card(row) for row in connection.execute(query)]

    def payments(self, person_ids: Sequence[str], period_from: str, period_to: str) -> list[ReplicaPayment]:
        """Payments to these persons' cards in the periods (YYYYMM, inclusive), oldest first."""
        t = replica_subsidy_payments
        query = (
            sa.select(t)
            .where(t.c.person_id.in_(list(person_ids)), t.c.period >= period_from, t.c.period <= period_to)
            .order_by(t.c.period, t.c.payment_id)
        )
        with self._reader.connect() as connection:
            rows = connection.execute(query).all()
        fields = ReplicaPayment.__dataclass_fields__
        return [
            ReplicaPayment(
                **{k: v for k, v in row._mapping.items() if k in fields and k != "paid_on"},
                paid_on=_date(row._mapping["paid_on"]),
            )
            for row in rows
        ]

    # ---- cursors

    @staticmethod
    def _set_cursor(connection: sa.Connection, feed: str, position: int, at: str) -> None:
        statement = insert(sync_cursors).values(feed=feed, position=position, updated_at=at)
        statement = statement.on_conflict_do_update(
            index_elements=["feed"], set_={"position": position, "updated_at": at}
        )
        connection.execute(statement)

    def cursor(self, feed: str) -> int:
        """Where a change feed was read up to (0: from the start, i.e. a full resync)."""
        with self._reader.connect() as connection:
            value = connection.execute(
                sa.select(sync_cursors.c.position).where(sync_cursors.c.feed == feed)
            ).scalar()
        return int(value or 0)

    def cursor_or_none(self, feed: str) -> int | None:
        """Like `cursor`, but None when the feed was never read (rather than 0)."""
        with self._reader.connect() as connection:
            value = connection.execute(
                sa.select(sync_cursors.c.position).where(sync_cursors.c.feed == feed)
            ).scalar()
        return None if value is None else int(value)

    def cursor_time(self, feed: str) -> datetime | None:
        """When a feed's cursor last moved (the replica is current as of then), or None."""
        with self._reader.connect() as connection:
            value = connection.execute(
                sa.select(sync_cursors.c.updated_at).where(sync_cursors.c.feed == feed)
            ).scalar()
        return None if value is None else datetime.fromisoformat(str(value))

    def set_cursor(self, feed: str, position: int) -> None:
        with self._engine.begin() as connection:
            self._set_cursor(connection, feed, position, iso(self._now()))
