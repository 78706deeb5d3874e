"""The change feed (变更流): persons, cards and subsidy payments, in commit order, without gaps.

Design (the trap it avoids: a sequence number taken at insert time by transaction A, a higher one by
B, B commits first; a client that read B's row moves its cursor past A's, which then commits and is
never seen). Here the sequence number is taken **at commit time, under a lock, in the writing
transaction itself**:

- Every write session collects the persons, cards and payments it inserted or changed (SQLAlchemy
  ``after_flush``). In ``before_commit`` it runs ``UPDATE feed_state SET last_seq = last_seq + n
  … RETURNING last_seq`` — the row lock on that one row is held until the commit — and inserts one
  entry per changed record with the numbers ``last_seq - n + 1 … last_seq`` and the record's state
  after the change (JSON, serialised once).
- So feed writers commit one after another in sequence order: whoever holds number k has
  committed (and is visible: PostgreSQL releases a transaction's locks only after it is visible)
  before anyone can take k + 1. A reader that sees k + 1 also sees k. A rolled-back transaction
  also rolls back its increment: the numbers have **no gaps**, which clients may check.
- The cost is that the last step of every feed-writing transaction is serialised. On PostgreSQL the
  numbering, the entries and the COMMIT go to the server together (one statement and the COMMIT in
  one pipeline, ``write_entries_and_commit``), so the lock is held only while the server does that
  work — not across a network round trip or a worker thread's wait for the interpreter, which under
  load made every command queue behind the lock. SQLite serialises all writers anyway
  (``BEGIN IMMEDIATE``).

Reading: ``GET /changes?since=N&limit=M`` returns the entries after ``N`` in order, ``next`` (the
cursor to send next) and ``last_seq``. A client applies entries as upserts by (entity, id): an
entry carries the whole record, so applying the latest one of a record is enough. Entries older than
``CENTRAL_FEED_RETENTION_DAYS`` are pruned; a cursor below the pruned horizon — or beyond the last
number, e.g. from another database — gets ``410 Gone``: the client resyncs with the snapshot.

Snapshot: ``GET /snapshot?entity=…&after=…`` pages through one kind of record by id (keyset). Every
page carries ``as_of``, the feed's last committed number read **before** the page's query. A client
keeps the ``as_of`` of its first page, reads every page of every kind, then replays the feed from
that ``as_of``: whatever changed while it paged has a number above it, so snapshot + replay equals
the server's state. ``&region=<参保地>`` narrows the pages to one county (its persons, their cards,
the payments to them): a county's counter then loads its share of the city, not the whole of it.

A person whose 参保地 changes (参保地变更) enters one county's share and leaves another's, though their
cards and the payments to them did not change. So that a county's replica following the feed takes
in the card and payments of someone who moved in (it kept none of them before), the transaction that
changes a person's 参保地 also gives each of their cards and each payment to them an entry, as it is.

Scope (decision, DOMAIN §1): HR windows act on the whole city and bank outlets may query every
card, so every counter's feed is the whole city; ``admin`` has none. Records written in bulk by
``seed`` are not in the feed: a new replica starts from the snapshot.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import delete, event, func, insert, inspect, select, update
from sqlalchemy.orm import Session, sessionmaker

from central.core.problems import Problem
from central.models import (
    Base,
    CardRow,
    FeedEntryRow,
    FeedStateRow,
    PersonRow,
    SubsidyPaymentRow,
)

Entity = Literal["person", "card", "payment"]
ENTITIES: dict[type[Base], Entity] = {PersonRow: "person", CardRow: "card", SubsidyPaymentRow: "payment"}
MODELS: dict[str, type[Base]] = {"person": PersonRow, "card": CardRow, "payment": SubsidyPaymentRow}
_PENDING = "central.feed.pending"
_MOVED = "central.feed.moved"  # ids of the persons whose 参保地 this session changed
_SKIP = {"row_version"}


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def record_data(row: Base) -> dict[str, Any]:
    """A record as the feed and the snapshot carry it: its columns (no row version)."""
    table = row.__table__
    return {c.key: _json_value(getattr(row, c.key)) for c in table.columns if c.key not in _SKIP}


def record_columns(entity: str) -> list[Any]:
    """The table columns a record of ``entity`` carries, in the order ``record_data`` lists them."""
    table: Any = MODELS[entity].__table__
    return [c for c in table.columns if c.key not in _SKIP]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# --------------------------------------------------------------------------------------------
# Writing: collected per session, numbered at commit
# --------------------------------------------------------------------------------------------


def install(factory: sessionmaker[Session], now: Any) -> None:
    """Make every session of ``factory`` write feed entries for what it changed (``now()``: the clock)."""

    @event.listens_for(factory, "after_flush")
    def _collect(session: Session, _context: Any) -> None:
        pending: dict[tuple[str, int], Base] = session.info.setdefault(_PENDING, {})
        for obj in (*session.new, *session.dirty):
            entity = ENTITIES.get(type(obj))
            if entity is not None and obj in session:
                pending[(entity, obj.id)] = obj
                if entity == "person" and inspect(obj).attrs.insured_region.history.deleted:
                    session.info.setdefault(_MOVED, set()).add(obj.id)

    @event.listens_for(factory, "before_commit")
    def _write(session: Session) -> None:
        session.flush()  # before_commit comes before the commit's own flush: collect everything now
        pending: dict[tuple[str, int], Base] = session.info.pop(_PENDING, {})
        moved: set[int] | None = session.info.pop(_MOVED, None)
        if moved:
            carry_belongings(session, moved, pending)
        if not pending:
            return
        connection = session.connection()
        if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
            write_entries_and_commit(connection.connection.driver_connection, pending.items(), now())
        else:
            write_entries(session, pending.items(), now())

    @event.listens_for(factory, "after_rollback")
    def _forget(session: Session) -> None:
        session.info.pop(_PENDING, None)
        session.info.pop(_MOVED, None)


def carry_belongings(session: Session, person_ids: set[int], pending: dict[tuple[str, int], Base]) -> None:
    """Add the cards of ``person_ids`` and the payments to them (收款人) to this transaction's entries."""
    owned_by: tuple[tuple[Any, Any], ...] = (
        (CardRow, CardRow.person_id),
        (SubsidyPaymentRow, SubsidyPaymentRow.recipient_person_id),
    )
    for model, owner in owned_by:
        for row in session.scalars(select(model).where(owner.in_(sorted(person_ids)))):
            pending.setdefault((ENTITIES[model], row.id), row)


def write_entries(session: Session, changed: Iterable[tuple[tuple[str, int], Base]], at: datetime) -> None:
    """Number and insert one entry per changed record (the lock on ``feed_state`` lasts until commit)."""
    items = sorted(changed, key=lambda item: item[0])
    count = len(items)
    last = session.execute(
        update(FeedStateRow)
        .where(FeedStateRow.id == 1)
        .values(last_seq=FeedStateRow.last_seq + count)
        .returning(FeedStateRow.last_seq)
    ).scalar_one()
    first = last - count + 1
    rows = []
    for offset, ((entity, entity_id), obj) in enumerate(items):
        seq = first + offset
        body = {"seq": seq, "entity": entity, "id": entity_id, "at": at.isoformat(), "data": record_data(obj)}
        rows.append({"seq": seq, "entity": entity, "entity_id": entity_id, "at": at, "body": _dumps(body)})
    session.execute(insert(FeedEntryRow), rows)


#: Numbers and inserts the entries in one statement (``feed_state`` row lock taken here).
_NUMBER_AND_INSERT = (
    "WITH state AS (UPDATE feed_state SET last_seq = last_seq + %(count)s WHERE id = 1 RETURNING last_seq) "
    "INSERT INTO feed_entries (seq, entity, entity_id, at, body) "
    "SELECT state.last_seq - %(count)s + e.k, e.entity, e.entity_id, %(at)s, "
    "'{\"seq\":' || (state.last_seq - %(count)s + e.k) || ',' || e.rest "
    "FROM state, unnest(%(ks)s::int[], %(entities)s::text[], %(ids)s::bigint[], %(rests)s::text[]) "
    "AS e (k, entity, entity_id, rest)"
)


def write_entries_and_commit(
    connection: Any, changed: Iterable[tuple[tuple[str, int], Base]], at: datetime
) -> None:
    """``write_entries`` and the COMMIT sent together to PostgreSQL (``connection``: psycopg's).

    One statement numbers and inserts the entries; it and the COMMIT go out in one psycopg pipeline,
    so the server runs them back to back and the row lock on ``feed_state`` is held only while the
    server works — never across a network round trip or while a worker thread waits for the
    interpreter (with many commands in flight that wait made the lock, and so every command, queue).
    Same numbers and entries, byte for byte: each body is ``{"seq":<n>,`` and the rest of the entry
    serialised here. SQLAlchemy's own COMMIT that follows finds the transaction finished and sends
    nothing; an error rolls everything back as usual.
    """
    items = sorted(changed, key=lambda item: item[0])
    params = {
        "count": len(items),
        "at": at,
        "ks": list(range(1, len(items) + 1)),
        "entities": [entity for (entity, _), _ in items],
        "ids": [entity_id for (_, entity_id), _ in items],
        "rests": [
            _dumps({"entity": entity, "id": entity_id, "at": at.isoformat(), "data": record_data(obj)})[1:]
            for (entity, entity_id), obj in items
        ],
    }
    with connection.pipeline(), connection.cursor() as cursor:
        cursor.execute(_NUMBER_AND_INSERT, params)
        connection.commit()


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def cursor_expired(since: int, horizon: int, last: int) -> Problem:
    if since > last:
        detail = f"变更流游标 {since} 超出本中心的记录（最新为 {last}），可能来自另一数据库，请重新全量同步。"
    else:
        detail = f"变更流游标 {since} 早于保留的历史（{horizon} 之前的记录已清理），请重新全量同步。"
    return Problem(
        410,
        "feed/cursor-expired",
        "同步游标已失效",
        detail,
        code="cursor_expired",
        horizon=horizon,
        last_seq=last,
    )


def feed_state(session: Session) -> tuple[int, int]:
    """(last committed sequence number, pruned horizon)."""
    row = session.execute(
        select(FeedStateRow.last_seq, FeedStateRow.horizon_seq).where(FeedStateRow.id == 1)
    ).one()
    return int(row[0]), int(row[1])


def changes_page(session: Session, since: int, limit: int) -> str:
    """One page of the feed as JSON text (the entries are spliced in as stored)."""
    last, horizon = feed_state(session)
    if since < horizon or since > last:
        raise cursor_expired(since, horizon, last)
    bodies = list(
        session.scalars(
            select(FeedEntryRow.body).where(FeedEntryRow.seq > since).order_by(FeedEntryRow.seq).limit(limit)
        )
    )
    return page_text(since, last, len(bodies), ",".join(bodies))


def page_text(since: int, last: int, count: int, entries: str) -> str:
    """A feed page as JSON text: ``count`` entries after ``since``, spliced in as stored (``entries``)."""
    next_cursor = since + count  # the numbers have no gaps
    more = next_cursor < last
    return (
        f'{{"since":{since},"next":{next_cursor},"last_seq":{last},"more":{"true" if more else "false"},'
        f'"entries":[{entries}]}}'
    )


def in_region(entity: str, region: str) -> Any:
    """The records of ``entity`` that belong to 参保地 ``region``: its persons, their cards, and the
    payments to them (收款人) — what a county's replica keeps."""
    of_region = select(PersonRow.id).where(PersonRow.insured_region == region)
    if entity == "person":
        return PersonRow.insured_region == region
    if entity == "card":
        return CardRow.person_id.in_(of_region)
    return SubsidyPaymentRow.recipient_person_id.in_(of_region)


def snapshot_page(
    session: Session, entity: Entity, after: int, limit: int, region: str | None = None
) -> dict[str, Any]:
    """One keyset page of ``entity`` (of one 参保地 if ``region``) with ``as_of`` read before the page's query."""
    as_of, _ = feed_state(session)
    model: Any = MODELS[entity]
    query = select(model).where(model.id > after)
    if region is not None:
        query = query.where(in_region(entity, region))
    rows = list(session.scalars(query.order_by(model.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    items = [record_data(r) for r in rows]
    next_after = rows[-1].id if rows else after
    return {
        "entity": entity,
        "as_of": as_of,
        "after": after,
        "next_after": next_after,
        "more": more,
        "items": items,
    }


def snapshot_text(
    session: Session,
    entity: Entity,
    after: int,
    limit: int,
    region: str | None = None,
    as_rows: bool = False,
) -> str:
    """`snapshot_page` as the JSON text the route answers (the records spliced in as serialised);
    ``as_rows``: each record as an array in `column_names` order (``shape=rows``)."""
    page = snapshot_page(session, entity, after, limit, region)
    if as_rows:
        names = column_names(entity)
        items = ",".join(  # spaced as PostgreSQL's json_build_array spaces them
            json.dumps([item[name] for name in names], ensure_ascii=False, separators=(", ", ":"))
            for item in page["items"]
        )
    else:
        items = ",".join(_dumps(item) for item in page["items"])
    return snapshot_page_text(
        entity, page["as_of"], after, page["next_after"], page["more"], items, as_rows=as_rows
    )


def column_names(entity: str) -> list[str]:
    """The fields of a record of ``entity``, in the order a ``shape=rows`` snapshot row lists them."""
    return [c.key for c in record_columns(entity)]


def snapshot_page_text(
    entity: str,
    as_of: int,
    after: int,
    next_after: int,
    more: bool,
    items: str,
    *,
    as_rows: bool = False,
) -> str:
    """A snapshot page as JSON text, its records (``items``) spliced in as serialised — the same
    bytes FastAPI would make of the page through ``SnapshotPage``. ``as_rows``: the records are
    arrays, named once in ``columns`` (half the bytes and a third of a client's parsing)."""
    head = (
        f'{{"entity":"{entity}","as_of":{as_of},"after":{after},"next_after":{next_after},'
        f'"more":{"true" if more else "false"},'
    )
    if as_rows:
        return f'{head}"items":[],"columns":{_dumps(column_names(entity))},"rows":[{items}]}}'
    return f'{head}"items":[{items}]}}'


def prune(session: Session, now: datetime, retention_days: float) -> int:
    """Delete entries older than the retention; move the horizon to the newest deleted number."""
    cutoff = now - timedelta(days=retention_days)
    newest = session.scalar(select(func.max(FeedEntryRow.seq)).where(FeedEntryRow.at < cutoff))
    if newest is None:
        return 0
    state = session.get(FeedStateRow, 1, with_for_update=True)
    assert state is not None
    result = session.execute(delete(FeedEntryRow).where(FeedEntryRow.seq <= newest))
    state.horizon_seq = max(state.horizon_seq, int(newest))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
