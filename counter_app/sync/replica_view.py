"""The replica as the flows and the UI read it (本地数据副本查询), and the server's records mapped into it.

The server's feed and snapshot carry whole records (its table columns); ``*_from_record`` turn them
into the store's replica rows, with the feed position as the row's version so an older record
never overwrites a newer one. `ReplicaView` answers offline lookups in the shape of the server's
lookups (``PersonDetail`` / ``PaymentOut``), marked with the time the replica was current
(数据截至): when the change feed was last read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Final

from counter_app.domain.subsidies import FailureReason, PaymentStatus, load_subsidy_catalog
from counter_app.store import ReplicaCard, ReplicaPayment, ReplicaPerson, Store
from counter_app.workflows.context import ReplicaSnapshot

#: The replica's change-feed cursor (``sync_cursors.feed``).
FEED: Final = "central.feed"
#: ``vulnerable_group`` as the replica reports a 四类人 (it keeps only the flag).
FOUR_CATEGORIES: Final = "four_categories"


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return None if value is None or value == "" else str(value)


def _day(value: object) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        return date.fromisoformat(value[:10])
    return None


# --------------------------------------------------------------------------------------------
# Server records → replica rows
# --------------------------------------------------------------------------------------------


def person_from_record(data: Mapping[str, Any], version: int, at: str | None = None) -> ReplicaPerson:
    """A person record of the feed or snapshot (or a ``PersonDetail``)."""
    return ReplicaPerson(
        person_id=str(data["id"]),
        id_type=str(data.get("id_type") or "resident_id"),
        id_number=str(data["id_number"]),
        name=str(data.get("name") or ""),
        sex=_text(data, "sex"),
        ethnicity=_text(data, "ethnicity"),
        birth_date=_day(data.get("birth_date")),
        phone=_text(data, "phone"),
        address=_text(data, "address"),
        insured_region=_text(data, "insured_region"),
        household_id=_text(data, "household_id"),
        four_categories=bool(data.get("vulnerable_group")),
        version=version,
        updated_at=at,
    )


def card_from_record(data: Mapping[str, Any], version: int, at: str | None = None) -> ReplicaCard:
    """A card record of the feed or snapshot (or a ``CardOut``)."""
    return ReplicaCard(
        card_ref=str(data["id"]),
        person_id=str(data["person_id"]),
        social_status=str(data["status"]),
        card_number=_text(data, "card_number"),
        card_id=_text(data, "card_identifier"),
        issuing_bank=_text(data, "bank"),
        financial_status=_text(data, "financial_status"),
        issued_on=_day(data.get("issued_on")),
        valid_until=_day(data.get("expires_on")),
        bank_account=_text(data, "account_masked"),
        version=version,
        updated_at=at,
    )


def payment_from_record(data: Mapping[str, Any], version: int, at: str | None = None) -> ReplicaPayment:
    """A payment record of the feed or snapshot (or a ``PaymentOut``): kept under its recipient (收款人).

    The hot path of a county's first sync (millions of rows): plain lookups, no helpers.
    """
    get = data.get
    account = get("account_masked")
    household = get("household_id")
    paid = get("paid_on")
    return ReplicaPayment(
        payment_id=str(data["id"]),
        person_id=str(data["recipient_person_id"]),
        household_id=None if household is None else str(household),
        category_code=str(data["item_code"]),
        department=get("department") or "",
        period=str(data["period"]),
        amount_fen=int(data["amount_fen"]),
        status=str(data["status"]),
        paid_on=_day(paid) if paid else None,
        paying_bank=get("bank"),
        account_tail=account[-4:] if account else None,
        failure_reason=get("failure_reason"),
        batch_number=get("batch_number"),
        recipient_override=get("override_reason"),
        version=version,
        updated_at=at,
    )


def payment_row(data: Mapping[str, Any], version: int, at: str | None = None) -> tuple[Any, ...]:
    """``Replica.payment_row(payment_from_record(data, version, at))`` without the dataclass between.

    What a first sync writes for each of its millions of payments (``Replica.apply(payment_rows=…)``).
    """
    get = data.get
    account = get("account_masked")
    household = get("household_id")
    paid = get("paid_on")
    if paid:  # the server's ISO date (a date object from a ``PaymentOut``)
        paid = paid[:10] if isinstance(paid, str) else paid.isoformat()
    return (
        str(data["id"]),
        str(data["recipient_person_id"]),
        str(data["item_code"]),
        get("department") or "",
        str(data["period"]),
        int(data["amount_fen"]),
        str(data["status"]),
        None,
        None if household is None else str(household),
        paid or None,
        get("bank"),
        account[-4:] if account else None,
        get("failure_reason"),
        get("batch_number"),
        get("override_reason"),
        version,
        at,
    )


#: The fields of a snapshot payment a replica row is made of (`payment_row`).
_PAYMENT_FIELDS: Final = (
    "id", "recipient_person_id", "item_code", "department", "period", "amount_fen", "status",
    "household_id", "paid_on", "bank", "account_masked", "failure_reason", "batch_number",
    "override_reason",
)  # fmt: skip


def payment_rows_maker(columns: Sequence[str]) -> Callable[[Sequence[Any], int], tuple[Any, ...]]:
    """`payment_row` for a ``shape=rows`` snapshot page whose arrays list ``columns``: the field
    positions are looked up once per page, not once per payment (millions of them)."""
    at = {name: i for i, name in enumerate(columns)}
    missing = [name for name in _PAYMENT_FIELDS if name not in at]
    if missing:
        raise ValueError(f"snapshot rows without {missing}")
    (i_id, i_person, i_item, i_department, i_period, i_amount, i_status, i_household, i_paid, i_bank,
     i_account, i_reason, i_batch, i_override) = (at[name] for name in _PAYMENT_FIELDS)  # fmt: skip

    def make(row: Sequence[Any], version: int) -> tuple[Any, ...]:
        account, household, paid = row[i_account], row[i_household], row[i_paid]
        return (
            str(row[i_id]),
            str(row[i_person]),
            str(row[i_item]),
            row[i_department] or "",
            str(row[i_period]),
            int(row[i_amount]),
            str(row[i_status]),
            None,
            None if household is None else str(household),
            paid[:10] if paid else None,
            row[i_bank],
            account[-4:] if account else None,
            row[i_reason],
            row[i_batch],
            row[i_override],
            version,
            None,
        )

    return make


def person_of(record: Mapping[str, Any]) -> str:
    """Whose record it is: the person of a person or card; the recipient of a payment."""
    if "recipient_person_id" in record:
        return str(record["recipient_person_id"])
    if "person_id" in record:
        return str(record["person_id"])
    return str(record["id"])


# --------------------------------------------------------------------------------------------
# Replica rows → the shapes the flows read
# --------------------------------------------------------------------------------------------


def _card_view(card: ReplicaCard) -> dict[str, Any]:
    account = card.bank_account
    return {
        "id": int(card.card_ref),
        "person_id": int(card.person_id),
        "card_number": card.card_number,
        "card_identifier": card.card_id,
        "bank": card.issuing_bank,
        "account_masked": account,
        "status": card.social_status,
        "financial_status": card.financial_status,
        "issued_on": None if card.issued_on is None else card.issued_on.isoformat(),
        "expires_on": None if card.valid_until is None else card.valid_until.isoformat(),
    }


def _person_view(person: ReplicaPerson, cards: Sequence[ReplicaCard]) -> dict[str, Any]:
    return {
        "id": int(person.person_id),
        "id_type": person.id_type,
        "id_number": person.id_number,
        "social_security_number": person.id_number if person.id_type == "resident_id" else None,
        "name": person.name,
        "sex": person.sex,
        "ethnicity": person.ethnicity,
        "birth_date": None if person.birth_date is None else person.birth_date.isoformat(),
        "phone": person.phone,
        "address": person.address,
        "insured_region": person.insured_region,
        "household_id": None if person.household_id is None else int(person.household_id),
        "vulnerable_group": FOUR_CATEGORIES if person.four_categories else None,
        "cards": [_card_view(c) for c in cards],
        "custody_authorisations": [],
        "source": "replica",
    }


def _item_name(code: str) -> str:
    catalog = load_subsidy_catalog()
    try:
        return catalog.full_name(catalog.by_leaf_code(code))
    except KeyError:
        return code


def _payment_view(payment: ReplicaPayment) -> dict[str, Any]:
    try:
        status_label = PaymentStatus(payment.status).label
    except ValueError:
        status_label = payment.status
    reason = payment.failure_reason
    try:
        reason_label = FailureReason(reason).label if reason else None
    except ValueError:
        reason_label = reason
    return {
        "id": int(payment.payment_id),
        "item_code": payment.category_code,
        "item_name": _item_name(payment.category_code),
        "department": payment.department,
        "recipient_person_id": int(payment.person_id),
        "household_id": None if payment.household_id is None else int(payment.household_id),
        "period": payment.period,
        "amount_fen": payment.amount_fen,
        "status": payment.status,
        "status_label": status_label,
        "paid_on": None if payment.paid_on is None else payment.paid_on.isoformat(),
        "bank": payment.paying_bank,
        "account_masked": f"****{payment.account_tail}" if payment.account_tail else None,
        "failure_reason": reason_label,
        "failure_reason_code": reason,
        "batch_number": payment.batch_number,
        "override_reason": payment.recipient_override,
        "source": "replica",
    }


class ReplicaView:
    """`ReplicaLookup` of the flows on the store's replica, plus its subsidy payments (补贴发放)."""

    def __init__(self, store: Store) -> None:
        self._replica = store.replica

    def as_of(self) -> datetime | None:
        """When the replica was last brought up to date with the server (数据截至), or None (never)."""
        return self._replica.cursor_time(FEED)

    def person_snapshot(self, id_type: str, id_number: str) -> ReplicaSnapshot | None:
        """The person with their cards (the shape of ``CentralApi.find_person``), or None."""
        as_of = self.as_of()
        person = self._replica.person_by_id_number(id_type, id_number)
        if person is None or as_of is None:
            return None
        return ReplicaSnapshot(_person_view(person, self._replica.cards(person_id=person.person_id)), as_of)

    def covers(self, person_id: str) -> bool:
        """Whether the replica holds this person (the counter's county, or someone it served)."""
        return bool(self._replica.known_persons([person_id]))

    def subsidy_payments(
        self, person_id: str, *, household: bool, period_from: str, period_to: str
    ) -> list[dict[str, Any]] | None:
        """Payments to the person's card (or to the cards of their household), newest period first;
        None when the replica does not hold the person."""
        person = self._replica.person(person_id)
        if person is None:
            return None
        ids = [person_id]
        if household and person.household_id is not None:
            ids = [p.person_id for p in self._replica.household(person.household_id)]
        payments = self._replica.payments(ids, period_from, period_to)
        payments.sort(key=lambda p: int(p.payment_id))
        payments.sort(key=lambda p: p.period, reverse=True)  # as the server orders them
        return [_payment_view(p) for p in payments]
