"""The first sync's bulk path writes a payment exactly as the ordinary record → dataclass path does."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from counter_app.store.replica import Replica
from counter_app.sync.replica_view import (
    _PAYMENT_FIELDS,
    payment_from_record,
    payment_row,
    payment_rows_maker,
)

RECORDS: list[dict[str, Any]] = [
    {  # as the snapshot and the feed carry it (the server's columns)
        "id": 123456, "item_code": "16.1", "beneficiary_person_id": 4567, "household_id": 1523,
        "recipient_person_id": 4568, "override_reason": "head_without_card", "override_note": None,
        "card_id": 4567, "department": "民政局", "period": "202403", "amount_fen": 7300, "status": "paid",
        "paid_on": "2024-03-15", "bank": "农业银行", "account_masked": "6228****4567", "failure_reason": None,
        "batch_number": "202403-16.1-511102", "resent_from_id": None,
    },
    {  # failed: no payment date, no account, no department, no household
        "id": 7, "item_code": "1", "recipient_person_id": 2, "period": "202401", "amount_fen": 0,
        "status": "failed", "paid_on": None, "household_id": None, "department": None, "account_masked": "",
        "failure_reason": "account_inactive",
    },
    {"id": 8, "item_code": "1", "recipient_person_id": 2, "period": "202401", "amount_fen": 5,  # a PaymentOut
     "status": "paid", "paid_on": date(2024, 1, 2)},
]  # fmt: skip


@pytest.mark.parametrize("record", RECORDS)
def test_a_payment_row_is_the_row_of_the_payment_record(record: dict[str, Any]) -> None:
    for version, at in ((5, None), (9, "2026-11-27T10:00:00+08:00")):
        assert payment_row(record, version, at) == Replica.payment_row(
            payment_from_record(record, version, at)
        )


@pytest.mark.parametrize("record", RECORDS[:2])
def test_a_payment_as_a_snapshot_array_makes_the_same_row(record: dict[str, Any]) -> None:
    """``shape=rows``: the server's columns once, each payment an array in that order."""
    columns = [*sorted(set(_PAYMENT_FIELDS) | set(record)), "created_at"]
    array = [record.get(name) for name in columns]
    make = payment_rows_maker(columns)
    assert make(array, 5) == payment_row(record, 5) == Replica.payment_row(payment_from_record(record, 5))
    reordered = list(reversed(columns))
    assert payment_rows_maker(reordered)(list(reversed(array)), 5) == payment_row(record, 5)


def test_a_snapshot_without_a_payment_field_is_refused_before_anything_is_written() -> None:
    with pytest.raises(ValueError, match="amount_fen"):
        payment_rows_maker([name for name in _PAYMENT_FIELDS if name != "amount_fen"])
