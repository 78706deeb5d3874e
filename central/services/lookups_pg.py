"""The counters' hot lookups on PostgreSQL (查询快速路径), read on the event loop.

The same answers as ``central.services.lookups`` and ``central.services.feed.changes_page`` — the
dictionaries are built by the same functions (``central.services.views``, ``payments_report``,
``person_out``) — but read with plain SQL through the async read pool (``central.core.reads``):
no ORM objects, and every statement of a lookup sent together in one pipeline (one network round
trip). Each statement runs in autocommit and sees what was committed when it started, as the
synchronous lookups do. ``tests/central/test_fast_lookups.py`` compares both paths answer by answer.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, NamedTuple

from central.core.reads import Connection
from central.models import AwareDateTime
from central.schemas import PersonRef
from central.services.common import normalised_id_number
from central.services.feed import MODELS, cursor_expired, page_text, record_columns, snapshot_page_text
from central.services.lookups import (
    card_query,
    check_periods,
    payments_report,
    person_out,
    unknown_card,
    unknown_person_document,
    unknown_person_id,
)
from central.services.views import card_view, event_out, household_out, person_summary, transaction_out
from counter_app.domain.card_lifecycle import SHANGHAI, LifecyclePolicy

_PERSON = (
    "p.id, p.id_type, p.id_number, p.social_security_number, p.name, p.sex, p.ethnicity, p.birthplace, "
    "p.birth_date, p.phone, p.address, p.insured_region, p.household_id, p.vulnerable_group, p.deceased_on"
)
_CARD = (
    "c.id, c.person_id, c.card_number, c.card_identifier, c.spec_version, c.issuing_region, c.bank, "
    "c.account_masked, c.status, c.state_before_loss, c.loss_reported_at, c.financial_status, "
    "c.replacement_applied, c.known_duplicate, c.replaces_card_id, c.replace_kind, c.applied_at, "
    "c.production_batch, c.issued_on, c.expires_on, c.pin_resets, c.pin_unblocks"
)

# -- a card by 卡号 or 卡识别码, with its holder and history ------------------------------------

#: One row per history entry (one row with no entry columns when the card has none).
_CARD_BY = {
    column: (
        f"SELECT {_CARD}, p.id_type AS holder_id_type, p.id_number AS holder_id_number, "
        "p.name AS holder_name, e.id AS event_id, e.at AS event_at, e.command AS event_command, "
        "e.from_status AS event_from_status, e.to_status AS event_to_status, "
        "e.operator_number AS event_operator_number, e.detail AS event_detail, "
        "t.acceptance_number AS event_acceptance_number "
        "FROM cards c JOIN persons p ON p.id = c.person_id "
        "LEFT JOIN card_events e ON e.card_id = c.id LEFT JOIN transactions t ON t.id = e.transaction_id "
        f"WHERE c.{column} = %(value)s ORDER BY e.at, e.id"
    )
    for column in ("card_number", "card_identifier")
}


class _Holder(NamedTuple):
    id: int
    id_type: str
    id_number: str
    name: str


class _Event(NamedTuple):
    id: int
    card_id: int
    at: datetime
    command: str
    from_status: str | None
    to_status: str
    operator_number: str | None
    detail: dict[str, Any] | None


async def card_detail(
    conn: Connection, policy: LifecyclePolicy, *, card_number: str | None, card_identifier: str | None
) -> dict[str, Any]:
    column, value, shown = card_query(card_number, card_identifier)
    rows = await (await conn.execute(_CARD_BY[column], {"value": value})).fetchall()
    if not rows:
        raise unknown_card(shown)
    card = rows[0]
    holder: Any = _Holder(card.person_id, card.holder_id_type, card.holder_id_number, card.holder_name)
    history = [
        event_out(
            _Event(
                r.event_id,
                card.id,
                r.event_at,
                r.event_command,
                r.event_from_status,
                r.event_to_status,
                r.event_operator_number,
                r.event_detail,
            ),
            r.event_acceptance_number,
        )
        for r in rows
        if r.event_id is not None
    ]
    return {**card_view(card, policy), "holder": person_summary(holder), "history": history}


# -- a person with household, cards, history, 业务流水 and 代管代持 --------------------------------


_CARD_FIELDS = [
    "id",
    "person_id",
    "card_number",
    "card_identifier",
    "spec_version",
    "issuing_region",
    "bank",
    "account_masked",
    "status",
    "state_before_loss",
    "loss_reported_at",
    "financial_status",
    "replacement_applied",
    "known_duplicate",
    "replaces_card_id",
    "replace_kind",
    "applied_at",
    "production_batch",
    "issued_on",
    "expires_on",
    "pin_resets",
    "pin_unblocks",
]
_EVENT_FIELDS = [
    "id",
    "card_id",
    "at",
    "command",
    "from_status",
    "to_status",
    "operator_number",
    "detail",
    "acceptance_number",
]
_TRANSACTION_FIELDS = [
    "id",
    "acceptance_number",
    "item_code",
    "command",
    "card_id",
    "operator_number",
    "confirmer_number",
    "requester",
    "agent",
    "occurred_at",
    "details",
    "outlet_code",
    "counter_number",
]
_CUSTODY_FIELDS = [
    "id",
    "custodian_name",
    "custodian_id_type",
    "custodian_id_number",
    "relation",
    "reason",
    "valid_from",
    "valid_until",
    "approved_by",
    "revoked_at",
]
_MEMBER_FIELDS = ["id", "name", "deceased_on"]


def _person_statement(key: str) -> str:
    """A person with household members, cards, history, 业务流水 and 代管代持 in one row.

    The lists come as JSON arrays of arrays (columns in the ``_*_FIELDS`` order), each ordered as the
    synchronous lookups order them; ``_rows`` turns them back into rows with Python values.
    """

    def agg(fields: str, rest: str, order: str) -> str:
        return f"(SELECT json_agg(json_build_array({fields}) ORDER BY {order}) {rest})"

    return (
        f"SELECT {_PERSON}, h.number AS household_number, h.head_person_id, "
        + agg(
            "m.id, m.name, m.deceased_on",
            "FROM persons m WHERE m.household_id = p.household_id",
            "m.id",
        )
        + " AS members, "
        + agg(
            ", ".join(f"c.{f}" for f in _CARD_FIELDS),
            "FROM cards c WHERE c.person_id = p.id",
            "c.id",
        )
        + " AS cards, "
        + agg(
            "e.id, e.card_id, e.at, e.command, e.from_status, e.to_status, e.operator_number, e.detail, "
            "t.acceptance_number",
            "FROM card_events e JOIN cards c ON c.id = e.card_id "
            "LEFT JOIN transactions t ON t.id = e.transaction_id WHERE c.person_id = p.id",
            "e.at, e.id",
        )
        + " AS events, "
        + agg(
            "t.id, t.acceptance_number, t.item_code, t.command, t.card_id, t.operator_number, "
            "t.confirmer_number, t.requester, t.agent, t.occurred_at, t.details, o.code, k.number",
            "FROM transactions t JOIN outlets o ON o.id = t.outlet_id "
            "LEFT JOIN counters k ON k.id = t.counter_id WHERE t.person_id = p.id",
            "t.occurred_at, t.id",
        )
        + " AS transactions, "
        + agg(
            ", ".join(f"u.{f}" for f in _CUSTODY_FIELDS),
            "FROM custody_authorisations u WHERE u.person_id = p.id",
            "u.id",
        )
        + f" AS custody FROM persons p LEFT JOIN households h ON h.id = p.household_id WHERE {key}"
    )


_PERSON_BY_DOCUMENT = _person_statement("p.id_type = %(id_type)s AND p.id_number = %(id_number)s")
_PERSON_BY_ID = _person_statement("p.id = %(id)s")


def _timestamp(value: str | None) -> datetime | None:
    """A timestamp as JSON gives it (ISO 8601 with the session's offset) → aware, Asia/Shanghai."""
    return None if value is None else datetime.fromisoformat(value).astimezone(SHANGHAI)


def _day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _rows(
    name: str, fields: list[str], values: list[list[Any]] | None, convert: Mapping[str, Callable[[Any], Any]]
) -> list[Any]:
    """JSON arrays of column values → named rows, timestamps and dates back to Python values."""
    row_type: Any = _ROW_TYPES.get(name)
    if row_type is None:
        row_type = _ROW_TYPES[name] = namedtuple(name, fields)
    positions = [(fields.index(field), parse) for field, parse in convert.items()]
    rows = []
    for raw in values or ():
        for i, parse in positions:
            raw[i] = parse(raw[i])
        rows.append(row_type._make(raw))
    return rows


_ROW_TYPES: dict[str, Any] = {}
_CARD_TYPES = {
    "loss_reported_at": _timestamp,
    "applied_at": _timestamp,
    "issued_on": _day,
    "expires_on": _day,
}


async def _person_detail(
    conn: Connection,
    statement: str,
    params: dict[str, Any],
    policy: LifecyclePolicy,
    today: date,
) -> dict[str, Any] | None:
    person = await (await conn.execute(statement, params)).fetchone()
    if person is None:
        return None
    members = _rows("Member", _MEMBER_FIELDS, person.members, {"deceased_on": _day})
    cards = _rows("Card", _CARD_FIELDS, person.cards, _CARD_TYPES)
    events = _rows("Event", _EVENT_FIELDS, person.events, {"at": _timestamp})
    transactions = _rows("Transaction", _TRANSACTION_FIELDS, person.transactions, {"occurred_at": _timestamp})
    custody = _rows(
        "Custody",
        _CUSTODY_FIELDS,
        person.custody,
        {"valid_from": _day, "valid_until": _day, "revoked_at": _timestamp},
    )
    household = None
    if person.household_id is not None:
        household = household_out(
            person.household_id, person.household_number, person.head_person_id, members
        )
    return person_out(
        person,
        household,
        cards,
        [event_out(e, e.acceptance_number) for e in events],
        [transaction_out(t, t.outlet_code, t.counter_number) for t in transactions],
        custody,
        policy,
        today,
    )


async def person_by_document(
    conn: Connection, ref: PersonRef, policy: LifecyclePolicy, today: date
) -> dict[str, Any]:
    params = {"id_type": ref.id_type, "id_number": normalised_id_number(ref.id_type, ref.id_number)}
    detail = await _person_detail(conn, _PERSON_BY_DOCUMENT, params, policy, today)
    if detail is None:
        raise unknown_person_document(ref)
    return detail


async def person_by_id(
    conn: Connection, person_id: int, policy: LifecyclePolicy, today: date
) -> dict[str, Any]:
    detail = await _person_detail(conn, _PERSON_BY_ID, {"id": person_id}, policy, today)
    if detail is None:
        raise unknown_person_id(person_id)
    return detail


# -- 补贴发放查询 ----------------------------------------------------------------------------------

_PAYMENTS = (
    "SELECT sp.id, sp.item_code, sp.department, sp.beneficiary_person_id, sp.recipient_person_id, "
    "sp.override_reason, sp.period, sp.amount_fen, sp.status, sp.paid_on, sp.bank, sp.account_masked, "
    "sp.failure_reason, sp.batch_number, sp.resent_from_id, i.full_name, i.placeholder, "
    "b.name AS beneficiary_name, r.name AS recipient_name FROM subsidy_payments sp "
    "JOIN subsidy_items i ON i.code = sp.item_code JOIN persons b ON b.id = sp.beneficiary_person_id "
    "JOIN persons r ON r.id = sp.recipient_person_id WHERE ({who}){periods} ORDER BY sp.period DESC, sp.id"
)
_OWN = "sp.beneficiary_person_id = %(person)s OR sp.recipient_person_id = %(person)s"
_HOUSEHOLD = (
    "sp.household_id = %(household)s "
    "OR sp.beneficiary_person_id IN (SELECT id FROM persons WHERE household_id = %(household)s) "
    "OR sp.recipient_person_id IN (SELECT id FROM persons WHERE household_id = %(household)s)"
)


_PERSON_HOUSEHOLD = "SELECT id, household_id FROM persons WHERE id = %(person)s"
_PERSON_WITH_PAYMENTS = (
    "SELECT person.household_id AS person_household_id, sp.* FROM persons person "
    "LEFT JOIN LATERAL ({payments}) sp ON true WHERE person.id = %(person)s ORDER BY sp.period DESC, sp.id"
)


def _payments_sql(who: str, period_from: str | None, period_to: str | None) -> str:
    periods = (" AND sp.period >= %(period_from)s" if period_from else "") + (
        " AND sp.period <= %(period_to)s" if period_to else ""
    )
    return _PAYMENTS.format(who=who, periods=periods)


async def subsidy_payments(
    conn: Connection,
    person_id: int,
    *,
    household: bool,
    period_from: str | None,
    period_to: str | None,
) -> dict[str, Any]:
    check_periods(period_from, period_to)
    params: dict[str, Any] = {"person": person_id, "period_from": period_from, "period_to": period_to}
    if household:  # the household is known only after the person: two statements
        person = await (await conn.execute(_PERSON_HOUSEHOLD, params)).fetchone()
        if person is None:
            raise unknown_person_id(person_id)
        by_household = person.household_id is not None
        if by_household:
            params["household"] = person.household_id
        sql = _payments_sql(_HOUSEHOLD if by_household else _OWN, period_from, period_to)
        rows = await (await conn.execute(sql, params)).fetchall()
        payments = [(r, r, r.beneficiary_name, r.recipient_name) for r in rows]
        household_id = person.household_id
    else:  # the person and their payments in one statement (one row without payment columns: none)
        by_household = False
        sql = _PERSON_WITH_PAYMENTS.format(payments=_payments_sql(_OWN, period_from, period_to))
        rows = await (await conn.execute(sql, params)).fetchall()
        if not rows:
            raise unknown_person_id(person_id)
        payments = [(r, r, r.beneficiary_name, r.recipient_name) for r in rows if r.id is not None]
        household_id = rows[0].person_household_id
    return payments_report(person_id, household_id, by_household, period_from, period_to, payments)


# -- the snapshot (全量同步) -------------------------------------------------------------------


def _record_column(column: Any) -> str:
    """A column as ``feed.record_data`` renders it in JSON (timestamps exactly as ``isoformat``)."""
    name: str = column.name
    if isinstance(column.type, AwareDateTime):  # read in the session's zone, Asia/Shanghai
        return (
            f"CASE WHEN {name} IS NULL THEN NULL ELSE to_char({name}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
            f"CASE WHEN {name} = date_trunc('second', {name}) THEN '' ELSE to_char({name}, '.US') END || "
            f"to_char({name}, 'TZH:TZM') END AS {name}"
        )
    return name


#: ``feed.in_region`` in SQL: the records of one 参保地 (``%(region)s``).
_IN_REGION = {
    "person": "insured_region = %(region)s",
    "card": "EXISTS (SELECT 1 FROM persons p WHERE p.id = person_id AND p.insured_region = %(region)s)",
    "payment": (
        "EXISTS (SELECT 1 FROM persons p WHERE p.id = recipient_person_id AND p.insured_region = %(region)s)"
    ),
}


def _snapshot_statement(entity: str, by_region: bool, as_rows: bool) -> str:
    """One keyset page of ``entity`` as JSON text, with ``as_of`` and ``more``, in one statement.

    One statement sees one snapshot of the database: ``as_of`` is the feed's last number that the
    page's rows already reflect, and every later change has a higher one (see ``central.services.feed``).
    """
    table: Any = MODELS[entity].__table__
    fields = record_columns(entity)
    columns = ", ".join(_record_column(c) for c in fields)
    region = f" AND {_IN_REGION[entity]}" if by_region else ""
    record = (
        "json_build_array(" + ", ".join(f"r.{c.name}" for c in fields) + ")::text"
        if as_rows
        else "row_to_json(r)::text"
    )
    return (
        "SELECT s.last_seq AS as_of, page.last_id, page.items, EXISTS ("
        f"SELECT 1 FROM {table.name} WHERE id > coalesce(page.last_id, %(after)s){region}) AS more "
        "FROM feed_state s, LATERAL (SELECT max(r.id) AS last_id, "
        f"string_agg({record}, ',' ORDER BY r.id) AS items FROM ("
        f"SELECT {columns} FROM {table.name} WHERE id > %(after)s{region} ORDER BY id LIMIT %(limit)s) r) page "
        "WHERE s.id = 1"
    )


_SNAPSHOT = {
    (entity, by, rows): _snapshot_statement(entity, by, rows)
    for entity in MODELS
    for by in (False, True)
    for rows in (False, True)
}


async def snapshot_page(
    conn: Connection,
    entity: str,
    after: int,
    limit: int,
    region: str | None = None,
    as_rows: bool = False,
) -> str:
    """One page of the snapshot, like ``feed.snapshot_text`` — the records serialised by PostgreSQL."""
    params = {"after": after, "limit": limit, "region": region}
    statement = _SNAPSHOT[(entity, region is not None, as_rows)]
    row = await (await conn.execute(statement, params)).fetchone()
    assert row is not None, "feed_state has its one row from the migration"
    next_after = after if row.last_id is None else int(row.last_id)
    return snapshot_page_text(
        entity, int(row.as_of), after, next_after, bool(row.more), row.items or "", as_rows=as_rows
    )


# -- the change feed -------------------------------------------------------------------------

_CHANGES = (
    "SELECT s.last_seq, s.horizon_seq, page.n, page.bodies FROM feed_state s, LATERAL ("
    "SELECT count(*) AS n, string_agg(e.body, ',' ORDER BY e.seq) AS bodies FROM ("
    "SELECT seq, body FROM feed_entries WHERE seq > %(since)s ORDER BY seq LIMIT %(limit)s) e) page "
    "WHERE s.id = 1"
)


async def changes_page(conn: Connection, since: int, limit: int) -> str:
    """One page of the feed, like ``feed.changes_page`` — state and entries from one snapshot."""
    row = await (await conn.execute(_CHANGES, {"since": since, "limit": limit})).fetchone()
    assert row is not None, "feed_state has its one row from the migration"
    last, horizon = int(row.last_seq), int(row.horizon_seq)
    if since < horizon or since > last:
        raise cursor_expired(since, horizon, last)
    return page_text(since, last, int(row.n), row.bodies or "")
