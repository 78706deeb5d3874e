"""The canary: no clear ID number, name, phone or address anywhere in the database files."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from counter_app.store import ReplicaCard, ReplicaPerson, Store
from tests.fakes import FakeClock
from tests.store.conftest import (
    CANARY_ADDRESS,
    CANARY_ID_NUMBER,
    CANARY_NAME,
    CANARY_PHONE,
    COUNTER,
    DAY,
    OUTLET,
    make_record,
)

SECRETS = (CANARY_ID_NUMBER, CANARY_ID_NUMBER[:17], CANARY_NAME, CANARY_PHONE, CANARY_ADDRESS)
ENCODINGS = ("utf-8", "gbk", "utf-16-le", "utf-16-be")


def _needles() -> Iterator[tuple[str, str, bytes]]:
    for secret in SECRETS:
        for encoding in ENCODINGS:
            yield secret, encoding, secret.encode(encoding)


def _leaks(folder: Path) -> list[str]:
    found = []
    files = [p for p in folder.iterdir() if p.is_file()]
    assert any(p.name.endswith(".sqlite") for p in files)
    for path in files:
        data = path.read_bytes()
        found += [
            f"{path.name}: {secret!r} as {encoding}"
            for secret, encoding, needle in _needles()
            if needle in data
        ]
    return found


def _fill(store: Store) -> None:
    person = {"id_type": "resident_id", "id_number": CANARY_ID_NUMBER, "name": CANARY_NAME,
              "phone": CANARY_PHONE, "address": CANARY_ADDRESS}  # fmt: skip
    ref = store.holder_ref_for("resident_id", CANARY_ID_NUMBER)
    for _ in range(3):
        number = store.next_acceptance_number(OUTLET, COUNTER, DAY)
        store.record(
            make_record(number, holder_ref=ref, details={"holder": person}, payload={"person": person})
        )
    store.record(make_record("Q1", holder_ref=ref, command=None, details={"holder": person}))
    store.save_checkpoint("flow-1", {"holder": person})
    store.replica.apply(
        persons=[
            ReplicaPerson(
                person_id="P1",
                id_type="resident_id",
                id_number=CANARY_ID_NUMBER,
                name=CANARY_NAME,
                birth_date=date(1987, 6, 23),
                phone=CANARY_PHONE,
                address=CANARY_ADDRESS,
                household_id="H1",
            )
        ],
        cards=[ReplicaCard("K1", "P1", "ACTIVE", card_number="X00000019", bank_account="6217000000001234")],
        cursor=("persons", 42),
    )
    pdf = f"%PDF-1.7 {CANARY_NAME} {CANARY_ID_NUMBER} {CANARY_PHONE}".encode("utf-16-be")
    store.archive.put("Q1", pdf)
    store.archive.reprint("Q1", "1002")


def test_no_clear_personal_data_in_the_database_files_before_and_after_checkpoint(store_path: Path) -> None:
    store = Store.open(store_path, clock=FakeClock())
    try:
        _fill(store)
        assert store.replica.person_by_id_number("resident_id", CANARY_ID_NUMBER) is not None  # really there
        assert store_path.with_name(store_path.name + "-wal").stat().st_size > 0
        assert _leaks(store_path.parent) == []  # before checkpoint: the data sits in the -wal file
        raw = store.engine.raw_connection()  # outside any BEGIN, as a checkpoint must be
        try:
            busy, _, _ = raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()  # type: ignore[union-attr]
        finally:
            raw.close()
        assert busy == 0 and store_path.with_name(store_path.name + "-wal").stat().st_size == 0
        assert _leaks(store_path.parent) == []  # after checkpoint: in the main file
        store.save_checkpoint("flow-1", {"step": "done"})  # freed pages are overwritten (secure_delete)
    finally:
        store.close()
    assert _leaks(store_path.parent) == []  # closed: the last connection checkpointed
    with Store.open(store_path) as reopened:
        person = reopened.replica.person("P1")
        assert person is not None and person.name == CANARY_NAME and person.phone == CANARY_PHONE


def test_the_canary_would_sing(store_path: Path) -> None:
    """The scan itself works: a clear value written on purpose is found."""
    with Store.open(store_path) as store, store.engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO store_meta VALUES ('leak', :v)"), {"v": CANARY_NAME})
    assert any(CANARY_NAME in leak for leak in _leaks(store_path.parent))
