"""The replica, the outbox's statuses and the archive of printed forms with audited reprints."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from counter_app.store import (
    AlreadyArchived,
    OutboxStatus,
    ReplicaCard,
    ReplicaPayment,
    ReplicaPerson,
    Store,
    UnknownAcceptanceNumber,
    UnknownOutboxMessage,
)
from counter_app.store.models import replica_subsidy_payments
from counter_app.store.outbox import Outbox
from counter_app.store.replica import PAYMENT_COLUMNS, Replica
from tests.fakes import FakeClock
from tests.store.conftest import CANARY_ID_NUMBER, CANARY_NAME, make_record


def _person(version: int = 1, **changes: object) -> ReplicaPerson:
    fields: dict[str, object] = {
        "person_id": "P1", "id_type": "resident_id", "id_number": CANARY_ID_NUMBER, "name": CANARY_NAME,
        "sex": "2", "ethnicity": "01", "birth_date": date(1987, 6, 23), "phone": "13812345678",
        "address": "乐山市市中区", "insured_region": "511102", "household_id": "H1", "household_head": True,
        "version": version,
    }  # fmt: skip
    fields.update(changes)
    return ReplicaPerson(**fields)  # type: ignore[arg-type]


def _payment(payment_id: str, period: str, person_id: str = "P1") -> ReplicaPayment:
    return ReplicaPayment(
        payment_id=payment_id, person_id=person_id, category_code="03", department="乐山市农业农村局",
        period=period, amount_fen=12_345, status="失败", failure_reason="卡挂失", paid_on=date(2026, 3, 5),
        account_tail="1234", household_id="H1", version=1,
    )  # fmt: skip


def test_persons_round_trip_and_are_found_by_id_number(store: Store) -> None:
    store.replica.apply(
        persons=[_person(), _person(person_id="P2", id_number="511102198001010016", name="乙")]
    )
    assert store.replica.person("P1") == _person()
    found = store.replica.person_by_id_number("resident_id", CANARY_ID_NUMBER.lower())
    assert found is not None and found.person_id == "P1"
    assert store.replica.person_by_id_number("passport", CANARY_ID_NUMBER) is None
    assert [p.person_id for p in store.replica.household("H1")] == ["P1", "P2"]


def test_an_older_version_never_overwrites_a_newer_one(store: Store) -> None:
    store.replica.apply(persons=[_person(version=3, phone="13900000000")])
    store.replica.apply(persons=[_person(version=2, phone="13811111111")])
    person = store.replica.person("P1")
    assert person is not None and person.phone == "13900000000"
    store.replica.apply(persons=[_person(version=4, phone=None)])
    person = store.replica.person("P1")
    assert person is not None and person.phone is None


def test_cards_payments_and_cursor_move_together(store: Store) -> None:
    card = ReplicaCard("K1", "P1", "ACTIVE", card_number="X00000019", card_id="5111" + "0" * 28,
                       issuing_bank="ICBC", financial_status="ACTIVE", issued_on=date(2024, 1, 2),
                       valid_until=date(2034, 1, 2), bank_account="6217000000001234", version=1)  # fmt: skip
    store.replica.apply(
        cards=[card], payments=[_payment("Y1", "202603"), _payment("Y2", "202512")], cursor=("changes", 17)
    )
    assert store.replica.cards(card_number="X00000019") == [card]
    assert store.replica.cards(person_id="P1", card_id=card.card_id) == [card]
    assert store.replica.cards(person_id="P9") == []
    assert [p.payment_id for p in store.replica.payments(["P1"], "202601", "202612")] == ["Y1"]
    assert store.replica.payments(["P1"], "202501", "202612")[0] == _payment("Y2", "202512")
    assert store.replica.cursor("changes") == 17 and store.replica.cursor("other") == 0
    with store.engine.connect() as connection:
        tail = connection.execute(sa.text("SELECT bank_account_tail FROM replica_cards")).scalar_one()
    assert tail == "1234"
    store.replica.set_cursor("changes", 18)
    assert store.replica.cursor("changes") == 18


def test_payments_written_as_rows_read_back_as_written_as_records(store: Store) -> None:
    assert set(PAYMENT_COLUMNS) == {c.name for c in replica_subsidy_payments.columns} - {"synced_at"}
    as_record, as_row = _payment("Y1", "202603"), _payment("Y2", "202602")
    store.replica.apply(payments=[as_record], payment_rows=[Replica.payment_row(as_row)], cursor=("c", 3))
    assert store.replica.payments(["P1"], "202601", "202612") == [as_row, as_record]
    newer = replace(as_row, amount_fen=1, version=2)
    store.replica.apply(payment_rows=[Replica.payment_row(newer)])
    store.replica.apply(payment_rows=[Replica.payment_row(as_row)])  # older: ignored
    assert store.replica.payments(["P1"], "202602", "202602") == [newer]


def test_a_page_of_many_rows_keeps_the_newest_version_of_each(store: Store) -> None:
    """More rows than one statement takes, a key twice in one page: the newer version wins either way."""
    payments = [replace(_payment(f"Y{i}", "202603"), amount_fen=i) for i in range(1, 1001)]
    newer, older = replace(payments[10], amount_fen=-1, version=2), replace(payments[20], version=0)
    store.replica.apply(payment_rows=[Replica.payment_row(p) for p in [*payments, newer, older]])
    got = {p.payment_id: p for p in store.replica.payments(["P1"], "202603", "202603")}
    assert len(got) == 1000
    assert got["Y11"] == newer and got["Y21"] == payments[20] and got["Y999"] == payments[998]
    store.replica.apply(persons=[_person(version=2, phone="1"), _person(version=1, phone="2")])
    person = store.replica.person("P1")
    assert person is not None and person.phone == "1"


def _index_names(store: Store) -> set[str]:
    with store.engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name LIKE 'replica_%' AND sql IS NOT NULL"
        )
        return {str(name) for (name,) in rows}


def test_a_snapshot_fills_a_table_without_its_secondary_indexes_and_gets_them_back(store: Store) -> None:
    everything = _index_names(store)
    assert "ix_payments_person_period" in everything
    with store.replica.indexes_deferred("payment"):
        assert _index_names(store) == everything - {"ix_payments_person_period"}
        store.replica.apply(payment_rows=[Replica.payment_row(_payment("Z1", "202604"))])
        assert [p.payment_id for p in store.replica.payments(["P1"], "202604", "202604")] == ["Z1"]
    assert _index_names(store) == everything
    with pytest.raises(RuntimeError), store.replica.indexes_deferred("person"):
        raise RuntimeError("the server went away mid-snapshot")
    assert _index_names(store) == everything


def test_a_first_sync_killed_with_the_indexes_off_gets_them_back_at_the_next_open(store_path: Path) -> None:
    first = Store.open(store_path, clock=FakeClock())
    everything = _index_names(first)
    deferred = first.replica.indexes_deferred("card")
    deferred.__enter__()  # and the process dies: the block never ends
    assert _index_names(first) < everything
    first.close()
    again = Store.open(store_path, clock=FakeClock())
    try:
        assert _index_names(again) == everything
    finally:
        again.close()


def test_a_failing_page_moves_neither_rows_nor_cursor(store: Store) -> None:
    with pytest.raises(sa.exc.IntegrityError):
        store.replica.apply(persons=[_person(), _person(person_id=None)], cursor=("changes", 5))
    assert store.replica.person("P1") is None and store.replica.cursor("changes") == 0


def test_outbox_keeps_order_and_settles_messages(store_path: Path) -> None:
    clock = FakeClock()
    with Store.open(store_path, clock=clock) as store:
        _settle_messages(store, store.outbox, clock)


def _settle_messages(store: Store, outbox: Outbox, clock: FakeClock) -> None:
    for i in range(1, 5):
        store.record(make_record(f"O{i}", payload={"i": i}))
    messages = outbox.messages()
    assert [m.payload for m in messages] == [{"i": i} for i in range(1, 5)]
    assert [m.seq for m in messages] == sorted(m.seq for m in messages)
    assert all(m.status is OutboxStatus.PENDING and m.attempts == 0 for m in messages)
    assert len({m.id for m in messages}) == 4

    first, second, third, fourth = (m.id for m in messages)
    outbox.mark_sent(first)
    outbox.mark_acknowledged(first)
    outbox.mark_sent(second)
    outbox.mark_failed(second, "中心服务不可用", clock.now() + timedelta(minutes=5))
    outbox.mark_sent(third)
    outbox.mark_rejected(third, "refused/card_cancelled")
    outbox.mark_needs_reconciliation(fourth, "idempotency key reused")
    assert [m.id for m in outbox.due()] == []
    clock.advance(timedelta(minutes=5))
    (due,) = outbox.due()
    assert (due.id, due.attempts, due.last_error) == (second, 1, "中心服务不可用")
    acknowledged = outbox.get(first)
    assert acknowledged is not None and acknowledged.acknowledged_at is not None
    assert outbox.count(OutboxStatus.REJECTED, OutboxStatus.NEEDS_RECONCILIATION) == 2
    assert outbox.count() == 4
    with pytest.raises(UnknownOutboxMessage):
        outbox.mark_sent("no-such-id")


def test_forms_are_archived_once_and_reprints_are_counted_and_audited(store: Store) -> None:
    store.record(make_record("F1"))
    store.archive.put("F1", b"%PDF-original")
    with pytest.raises(AlreadyArchived):
        store.archive.put("F1", b"%PDF-other")
    with pytest.raises(UnknownAcceptanceNumber):
        store.archive.put("F9", b"%PDF")
    with pytest.raises(UnknownAcceptanceNumber):
        store.archive.reprint("F9", "1002")
    first = store.archive.reprint("F1", "1002")
    second = store.archive.reprint("F1", "1003")
    assert (first.pdf, first.reprint_count, second.reprint_count) == (b"%PDF-original", 1, 2)
    archived = store.archive.get("F1")
    assert archived is not None and archived.reprint_count == 2
    with store.engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT event, operator_number, result FROM audit_entries WHERE acceptance_number = 'F1'")
        ).all()
    assert [tuple(r) for r in rows] == [
        ("transaction", "1001", "accepted"),
        ("reprint", "1002", "补打1"),
        ("reprint", "1003", "补打2"),
    ]
    assert store.verify_audit().intact


def test_an_audit_event_about_a_recorded_transaction_is_chained_with_its_holder(store: Store) -> None:
    store.record(make_record("Q1"))
    messages = len(store.outbox.messages())
    head = store.audit_head()
    with pytest.raises(UnknownAcceptanceNumber):
        store.audit_event("Q9", "subsidy_query", "再查询补贴发放 2024年01月至2024年12月，1 条", "1002")
    assert store.audit_head() == head  # nothing written for a 受理编号 the journal does not know
    store.audit_event("Q1", "subsidy_query", "再查询补贴发放 2024年01月至2024年12月，1 条", "1002")
    with store.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT event, item_code, operator_number, holder_ref, result FROM audit_entries "
                "WHERE acceptance_number = 'Q1' ORDER BY seq"
            )
        ).all()
    recorded = store.find("Q1")
    assert recorded is not None
    assert [tuple(r) for r in rows] == [
        ("transaction", recorded.item_code, "1001", recorded.holder_ref, "accepted"),
        (
            "subsidy_query",
            recorded.item_code,
            "1002",
            recorded.holder_ref,
            "再查询补贴发放 2024年01月至2024年12月，1 条",
        ),
    ]
    assert len(store.outbox.messages()) == messages  # an audit entry alone sends nothing
    assert store.verify_audit().intact
