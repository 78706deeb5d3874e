"""The synthetic city: deterministic, valid ID numbers, every card status, realistic payments."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from central.core.db import Database
from central.migrations import upgrade
from central.models import (
    CardEventRow,
    CardRow,
    HouseholdRow,
    OperatorRow,
    PersonRow,
    SubsidyItemRow,
    SubsidyPaymentRow,
)
from central.seed import SeedError, seed_database
from central.seed.training import OPERATORS
from counter_app.domain.card_lifecycle import ISSUED_STATES, PIPELINE_STATES, SocialStatus
from counter_app.domain.identity import (
    DocumentType,
    Sex,
    check_card_identifier,
    check_card_number,
    check_document,
)
from counter_app.domain.subsidies import load_subsidy_catalog
from tests.central.conftest import TEST_KDF_N

AS_OF = date(2026, 11, 27)
POPULATION = (HouseholdRow, PersonRow, CardRow, CardEventRow, SubsidyPaymentRow)


def seeded(tmp_path: Path, name: str, *, persons: int, seed: int) -> Database:
    url = f"sqlite:///{tmp_path / name}"
    upgrade(url)
    db = Database(url)
    seed_database(db, persons=persons, seed=seed, as_of=AS_OF, kdf_n=TEST_KDF_N)
    return db


def dump(db: Database) -> list[list[tuple[Any, ...]]]:
    with db.read() as session:
        return [
            [tuple(row) for row in session.execute(select(model.__table__).order_by(model.__table__.c.id))]
            for model in POPULATION
        ]


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Database:
    return seeded(tmp_path_factory.mktemp("city"), "city.db", persons=4000, seed=2026)


def test_same_seed_same_data_other_seed_other_data(tmp_path: Path) -> None:
    first = dump(seeded(tmp_path, "a.db", persons=600, seed=7))
    second = dump(seeded(tmp_path, "b.db", persons=600, seed=7))
    third = dump(seeded(tmp_path, "c.db", persons=600, seed=8))
    assert first == second
    assert first[1] != third[1]
    assert all(first), "every population table has rows"


def test_every_id_number_validates(city: Database) -> None:
    with city.read() as session:
        persons = session.execute(select(PersonRow.id_number, PersonRow.sex, PersonRow.birth_date)).all()
    assert len(persons) >= 4000
    for number, sex, birth in persons:
        result = check_document(DocumentType.RESIDENT_ID, number, sex=Sex(sex), today=AS_OF)
        assert not result.blocking, (number, result.failures)
        assert result.birth_date == birth
    assert len({n for n, _, _ in persons}) == len(persons)


def test_cards_in_every_status_and_valid_numbers(city: Database) -> None:
    with city.read() as session:
        cards = session.execute(select(CardRow)).scalars().all()
    statuses = Counter(c.status for c in cards)
    assert set(statuses) == {s.value for s in SocialStatus} - {"no_card"}
    assert statuses["active"] > statuses["issued_inactive"] > statuses["temp_loss"]
    assert any(c.known_duplicate for c in cards)
    assert any(c.replacement_applied for c in cards)
    for c in cards:
        if c.card_number:
            assert not check_card_number(c.card_number).failures
            assert not check_card_identifier(c.card_identifier or "").failures
    by_person: dict[int, list[CardRow]] = {}
    for c in cards:
        if not c.known_duplicate:
            by_person.setdefault(c.person_id, []).append(c)
    for own in by_person.values():
        assert sum(c.status in PIPELINE_STATES for c in own) <= 1
        assert sum(c.status in ISSUED_STATES for c in own) <= 1


def test_households_counties_and_yi_names(city: Database) -> None:
    with city.read() as session:
        headless = session.scalar(select(func.count()).where(HouseholdRow.head_person_id.is_(None)))
        rows = session.execute(select(PersonRow.insured_region, PersonRow.ethnicity, PersonRow.name)).all()
    assert headless == 0
    counties = Counter(region for region, _, _ in rows)
    assert counties.most_common(1)[0][0] == "511102"  # 市中区 is the largest
    yi = [(region, name) for region, ethnicity, name in rows if ethnicity == "07"]
    assert yi and all(
        region
        in {
            "511132",
            "511133",
            "511113",
            "511129",
            "511111",
            "511102",
            "511112",
            "511123",
            "511124",
            "511126",
            "511181",
        }
        for region, _ in yi
    )
    in_yi_counties = [r for r in rows if r[0] in ("511132", "511133")]
    assert sum(r[1] == "07" for r in in_yi_counties) / len(in_yi_counties) > 0.25
    surnames = ("阿苦", "吉克", "沙马", "阿西", "吉伍", "海来", "俄底", "木乃", "勒格", "瓦其")
    assert any(name.startswith(surnames) for _, name in yi)


def test_payments_cover_the_catalog_with_realistic_failures(city: Database) -> None:
    catalog = load_subsidy_catalog()
    with city.read() as session:
        payments = session.execute(select(SubsidyPaymentRow)).scalars().all()
        items = set(session.scalars(select(SubsidyItemRow.code)))
    assert len(items) == catalog.leaf_count
    assert {p.item_code for p in payments} <= items - {"21"}  # the placeholder is never paid
    statuses = Counter(p.status for p in payments)
    assert set(statuses) == {"paid", "failed", "returned", "resent", "pending"}
    reasons = Counter(p.failure_reason for p in payments if p.failure_reason)
    assert {"card_lost", "account_inactive", "name_mismatch", "no_card"} <= set(reasons)
    assert any(p.override_reason for p in payments)
    assert all(len(p.period) == 6 and p.amount_fen > 0 for p in payments)
    resent = {p.resent_from_id for p in payments if p.resent_from_id}
    assert resent and all(p.status in ("failed", "returned") for p in payments if p.id in resent)


def test_training_operators_and_refusal_to_seed_twice(city: Database) -> None:
    with city.read() as session:
        numbers = set(session.scalars(select(OperatorRow.number)))
    assert numbers == {op.number for op in OPERATORS}
    with pytest.raises(SeedError, match="--reset"):
        seed_database(city, persons=10, seed=1, as_of=AS_OF, kdf_n=TEST_KDF_N)


def test_cli_seed_prints_sign_in_numbers(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "central.cli",
            "--database-url",
            f"sqlite:///{tmp_path / 'c.db'}",
            "seed",
            "--persons",
            "50",
            "--seed",
            "3",
            "--as-of",
            "2026-11-27",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    assert "工号 HR0101" in out and "密码 peixun-jingban" in out and "ADMIN01" in out
    assert "种子 3" in out


@pytest.mark.postgres
@pytest.mark.integration
def test_seed_on_postgresql_then_serve_commands(fresh_pg_database: str) -> None:
    """Bulk inserts with explicit ids on PostgreSQL; the sequences move past them."""
    db = Database(fresh_pg_database)
    try:
        stats = seed_database(db, persons=300, seed=5, as_of=AS_OF, kdf_n=TEST_KDF_N)
        assert stats.persons >= 300
        with db.write() as session:
            session.add(HouseholdRow(number="NEW", region_code="511102"))
        with db.read() as session:
            assert session.scalar(select(func.count()).select_from(PersonRow)) == stats.persons
    finally:
        db.dispose()
