"""``counter-central seed``: a synthetic 乐山 city for training and tests (合成数据).

Writes the subsidy catalog, the training outlets, counters and operators (printing their sign-in
numbers and training passwords) and a deterministic population (``central.seed.population``).
The population is only generated into a database without persons (``--reset`` empties the
population tables first). Secrets — password salts and counter receipt keys — are fresh random
values on every run; everything else follows from ``--seed`` and ``--as-of``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import delete, func, select, text, update

from central.core.db import Database
from central.core.security import DEFAULT_N
from central.models import (
    CardEventRow,
    CardRow,
    CustodyAuthorisationRow,
    HouseholdRow,
    PersonRow,
    SubsidyPaymentRow,
    TransactionRow,
)
from central.seed.population import Population, Stats
from central.seed.training import create_training_data, issue_training_credentials
from central.services.reference_data import sync_subsidy_catalog

#: Population tables in delete order (``--reset``).
POPULATION_TABLES = (SubsidyPaymentRow, CustodyAuthorisationRow, CardEventRow, TransactionRow, CardRow)


class SeedError(RuntimeError):
    """The seed cannot run as asked; the message is for the operator (Chinese)."""


def reset_population(db: Database) -> None:
    """Delete every person, household, card, transaction and payment (outlets and operators stay)."""
    with db.write() as session:
        for model in POPULATION_TABLES:
            session.execute(delete(model))
        session.execute(update(HouseholdRow).values(head_person_id=None))
        session.execute(delete(PersonRow))
        session.execute(delete(HouseholdRow))


def _fix_sequences(db: Database) -> None:
    """PostgreSQL: move the id sequences past the explicit ids the bulk inserts used."""
    if db.engine.dialect.name != "postgresql":
        return
    with db.write() as session:
        for table in ("persons", "households", "cards", "card_events", "subsidy_payments"):
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
                )
            )


def seed_credentials(db: Database) -> dict[str, str]:
    """Fresh credentials for the training counters (printed by ``seed``)."""
    with db.write() as session:
        return issue_training_credentials(session)


def seed_database(
    db: Database,
    *,
    persons: int,
    seed: int,
    as_of: date,
    reset: bool = False,
    kdf_n: int = DEFAULT_N,
    progress: Callable[[int], None] | None = None,
) -> Stats:
    """Catalog, training data and ``persons`` synthetic people (whole households)."""
    if reset:
        reset_population(db)
    with db.write() as session:
        sync_subsidy_catalog(session)
        create_training_data(session, kdf_n=kdf_n)
        if persons and session.scalar(select(func.count()).select_from(PersonRow)):
            raise SeedError(
                "数据库中已有人员数据；如需重新生成，请加 --reset（将删除全部人员、卡片和业务数据）。"
            )
    stats = Stats()
    if persons:
        with db.write() as session:
            stats = Population(session, persons=persons, seed=seed, as_of=as_of).run(progress)
        _fix_sequences(db)
    return stats
