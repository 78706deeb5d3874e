"""The store is a `Journal`: the same behaviour as the in-memory journal, on SQLite."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from counter_app.store import DuplicateAcceptanceNumber, HolderRefLooksLikeIdNumber, Store
from counter_app.workflows import ports
from tests.fakes import FakeClock
from tests.store.conftest import CANARY_ID_NUMBER, COUNTER, DAY, OUTLET, make_record


def _counts(store: Store) -> tuple[int, int, int]:
    with store.engine.connect() as connection:
        a, b, c = (
            int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in ("transactions", "audit_entries", "outbox_messages")
        )
    return a, b, c


def test_store_implements_the_journal_port(store: Store) -> None:
    assert isinstance(store, ports.Journal)


def test_numbers_per_counter_and_day_like_the_in_memory_journal(store: Store) -> None:
    first = store.next_acceptance_number(OUTLET, COUNTER, DAY)
    second = store.next_acceptance_number(OUTLET, COUNTER, DAY)
    next_day = store.next_acceptance_number(OUTLET, COUNTER, date(2026, 11, 28))
    other_counter = store.next_acceptance_number(OUTLET, "04", DAY)
    assert first == "511102001-03-20261127-0001"
    assert second.endswith("-20261127-0002")
    assert next_day.endswith("-20261128-0001")
    assert other_counter == "511102001-04-20261127-0001"


def test_numbering_survives_a_restart(store_path: Path) -> None:
    with Store.open(store_path) as store:
        store.next_acceptance_number(OUTLET, COUNTER, DAY)
        store.next_acceptance_number(OUTLET, COUNTER, DAY)
    with Store.open(store_path) as store:
        assert store.next_acceptance_number(OUTLET, COUNTER, DAY).endswith("0003")


def test_two_threads_reserving_at_once_never_get_the_same_number(store: Store) -> None:
    taken: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(2)

    def reserve() -> None:
        barrier.wait()
        for _ in range(40):
            number = store.next_acceptance_number(OUTLET, COUNTER, DAY)
            with lock:
                taken.append(number)

    threads = [threading.Thread(target=reserve) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(taken) == len(set(taken)) == 80
    assert sorted(int(n[-4:]) for n in taken) == list(range(1, 81))


def test_two_stores_on_one_file_never_get_the_same_number(store_path: Path) -> None:
    with Store.open(store_path) as a, Store.open(store_path) as b:
        numbers = [s.next_acceptance_number(OUTLET, COUNTER, DAY) for _ in range(5) for s in (a, b)]
    assert len(set(numbers)) == 10


def test_records_all_or_nothing_and_finds_what_it_recorded(store: Store) -> None:
    number = store.next_acceptance_number(OUTLET, COUNTER, DAY)
    record = make_record(number, details={"agent": {"name": "代办人", "relation": "子女"}, "fee_fen": 0})

    def crash(point: str) -> None:
        if point == "audit_written":
            raise OSError("simulated crash before commit")

    store.fault_hook = crash
    with pytest.raises(OSError, match="simulated"):
        store.record(record)
    assert _counts(store) == (0, 0, 0)
    assert store.find(number) is None

    store.fault_hook = lambda point: None
    store.record(record)
    assert _counts(store) == (1, 1, 1)
    assert store.find(number) == record
    found = store.find(number)
    assert found is not None and found.occurred_at.utcoffset() is not None
    assert store.find("nope") is None


def test_a_transaction_without_server_command_has_no_outbox_message(store: Store) -> None:
    store.record(make_record("N1", command=None))
    assert _counts(store) == (1, 1, 0)
    assert store.find("N1") == make_record("N1", command=None)


def test_recording_a_number_twice_is_refused_and_changes_nothing(store: Store) -> None:
    store.record(make_record("N1"))
    with pytest.raises(ValueError, match="受理编号重复") as refused:
        store.record(make_record("N1", minutes=5))
    assert isinstance(refused.value, DuplicateAcceptanceNumber)
    assert refused.value.code == "duplicate_acceptance_number"
    assert _counts(store) == (1, 1, 1)


def test_a_clear_id_number_is_refused_as_holder_reference(store: Store) -> None:
    with pytest.raises(HolderRefLooksLikeIdNumber, match="明文证件号码"):
        store.record(make_record("N1", holder_ref=CANARY_ID_NUMBER))
    assert _counts(store) == (0, 0, 0)
    ref = store.holder_ref_for("resident_id", CANARY_ID_NUMBER)
    assert ref == store.holder_ref_for("resident_id", " " + CANARY_ID_NUMBER.lower() + " ")
    assert CANARY_ID_NUMBER not in ref
    store.record(make_record("N1", holder_ref=ref))


def test_naive_times_are_refused(store: Store) -> None:
    from dataclasses import replace

    record = make_record("N1")
    with pytest.raises(ValueError, match="timezone-aware"):
        store.record(replace(record, occurred_at=record.occurred_at.replace(tzinfo=None)))


def test_checkpoints_round_trip_overwrite_and_discard(store: Store) -> None:
    assert store.load_checkpoint("flow-1") is None
    store.save_checkpoint("flow-1", {"step": "read_card", "name": "金丝燕"})
    store.save_checkpoint("flow-1", {"step": "pin", "name": "金丝燕"})
    assert store.load_checkpoint("flow-1") == {"step": "pin", "name": "金丝燕"}
    store.discard_checkpoint("flow-1")
    assert store.load_checkpoint("flow-1") is None


def test_checkpoints_survive_a_restart(store_path: Path) -> None:
    with Store.open(store_path, clock=FakeClock()) as store:
        store.save_checkpoint("flow-2", {"step": "print"})
    with Store.open(store_path) as store:
        assert store.load_checkpoint("flow-2") == {"step": "print"}
