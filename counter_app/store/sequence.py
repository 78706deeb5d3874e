"""The per-counter 受理编号 sequence: 网点编号-柜台号-YYYYMMDD-序号 (``receipt_code`` owns the format).

Unique city-wide even offline because every counter numbers only its own forms; the sequence lives in
the database, so it survives restarts, and is taken inside a ``BEGIN IMMEDIATE`` transaction, so two
threads or processes never get the same number.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert

from counter_app.domain.receipt_code import format_acceptance_number
from counter_app.store.errors import AcceptanceNumbersExhausted
from counter_app.store.models import acceptance_sequences

MAX_PER_DAY = 9999


def reserve(connection: sa.Connection, outlet_code: str, counter_number: str, on: date) -> str:
    """Take the next number of this counter and day (inside the caller's write transaction)."""
    day = f"{on:%Y%m%d}"
    statement = (
        insert(acceptance_sequences)
        .values(outlet_code=outlet_code, counter_number=counter_number, day=day, last_value=1)
        .on_conflict_do_update(
            index_elements=["outlet_code", "counter_number", "day"],
            set_={"last_value": acceptance_sequences.c.last_value + 1},
        )
        .returning(acceptance_sequences.c.last_value)
    )
    value = int(connection.execute(statement).scalar_one())
    if value > MAX_PER_DAY:
        raise AcceptanceNumbersExhausted(f"{outlet_code}/{counter_number}", day)
    return format_acceptance_number(outlet_code, counter_number, on, value)
