"""The counter side of the sync tests: a store and a `SyncService` for one training counter,
persons arranged on the server, and queued transactions recorded the way the flows record them."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func, select

from central.core.db import Database
from central.models import PersonRow, TransactionRow
from counter_app.clock import SHANGHAI, SystemClock
from counter_app.store import Store, database_path
from counter_app.sync import SyncConfig, SyncService
from counter_app.workflows.ports import TransactionRecord
from tests.central.helpers import PASSWORDS, Api, FakeClock, counter_credential

OUTLET, COUNTER = "511102001", "01"
CLERK, CLERK2, SUPERVISOR = "HR0101", "HR0102", "HR0109"
COUNTY = "511102"
#: Each counter opened in a test session numbers its 受理编号 from its own block (the server's
#: database lives for a whole module while every test opens a fresh store).
_BLOCKS = itertools.count(0, 200)


def start_numbers_at(store: Store, outlet: str, counter: str, first: int) -> None:
    """Let today's 受理编号 of this store start at ``first`` (as if ``first - 1`` were taken)."""
    day = f"{datetime.now(SHANGHAI):%Y%m%d}"
    with store.engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT OR REPLACE INTO acceptance_sequences (outlet_code, counter_number, day, last_value) "
                "VALUES (:o, :c, :d, :v)"
            ),
            {"o": outlet, "c": counter, "d": day, "v": first - 1},
        )


class MovableClock(SystemClock):
    """The real clock, moved forward on demand (the retention tests)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return super().now() + self.offset


def fast_config(url: str, outlet: str = OUTLET, counter: str = COUNTER, **overrides: Any) -> SyncConfig:
    """A config for tests: short timeouts and retries, cheap verifiers."""
    base = SyncConfig(
        server_url=url,
        outlet_code=outlet,
        counter_number=counter,
        connect_timeout=2.0,
        read_timeout=5.0,
        retries=1,
        backoff_factor=0.02,
        backoff_max=0.2,
        backoff_jitter=0.02,
        poll_seconds=0.2,
        probe_seconds=0.2,
        in_flight_wait_seconds=6.0,
        relay_retry_seconds=0.05,
        relay_retry_max_seconds=0.5,
        verifier_scrypt_n=2**10,
        snapshot_page=500,
        feed_page=200,
    )
    return dataclasses.replace(base, **overrides)


@dataclass
class Counter:
    """One counter PC: its store and its sync service."""

    store: Store
    sync: SyncService
    path: Path

    def close(self) -> None:
        self.sync.stop()
        self.store.close()


def open_counter(
    url: str,
    folder: Path,
    *,
    outlet: str = OUTLET,
    counter: str = COUNTER,
    clock: Any = None,
    enrol: bool = True,
    **overrides: Any,
) -> Counter:
    """A counter with a store in ``folder``, enrolled (credential and receipt key in the keyring)."""
    clock = clock or SystemClock()
    path = database_path(folder)
    store = Store.open(path, clock=clock)
    start_numbers_at(store, outlet, counter, next(_BLOCKS) % 9800 + 1)
    sync = SyncService(fast_config(url, outlet, counter, **overrides), store, clock=clock)
    if enrol:
        sync.enrol(counter_credential(outlet, counter))
    return Counter(store, sync, path)


@contextmanager
def counter_at(url: str, folder: Path, **kw: Any) -> Iterator[Counter]:
    counter = open_counter(url, folder, **kw)
    try:
        yield counter
    finally:
        counter.close()


def seeder(database_url: str) -> tuple[Api, Database]:
    """Writes persons and cards straight into the server's database (as the seed does: not in the feed)."""
    db = Database(database_url)
    return Api(None, db, FakeClock(datetime.now(SHANGHAI))), db  # type: ignore[arg-type]


def record_change_contact(
    store: Store, person: dict[str, Any], phone: str, *, operator: str = CLERK, counter: str = COUNTER
) -> TransactionRecord:
    """A 非关键信息变更 recorded as the flow records it: transaction, audit entry, outbox message."""
    now = datetime.now(SHANGHAI)
    number = store.next_acceptance_number(OUTLET, counter, now.date())
    payload = {
        "acceptance_number": number,
        "requester": "holder",
        "agent": None,
        "person": {"id_type": "resident_id", "id_number": person["id_number"]},
        "phone": phone,
    }
    record = TransactionRecord(
        acceptance_number=number,
        item_code="change_contact",
        operator_number=operator,
        outlet_code=OUTLET,
        counter_number=counter,
        occurred_at=now,
        holder_ref=store.holder_ref_for("resident_id", person["id_number"]),
        result="已受理，待上传确认",
        details={"phone": phone},
        server_command="change_contact",
        server_payload=payload,
    )
    store.record(record)
    return record


def server_transactions(db: Database, numbers: list[str]) -> dict[str, int]:
    """How many 业务流水 the server holds per 受理编号."""
    with db.read() as session:
        rows = session.execute(
            select(TransactionRow.acceptance_number, func.count())
            .where(TransactionRow.acceptance_number.in_(numbers))
            .group_by(TransactionRow.acceptance_number)
        ).all()
    return {number: count for number, count in rows}


def server_phone(db: Database, person_id: int) -> str | None:
    with db.read() as session:
        person = session.get(PersonRow, person_id)
        assert person is not None
        return person.phone


def sign_in(counter: Counter, operator: str = CLERK) -> None:
    result = counter.sync.sign_in(operator, PASSWORDS[operator])
    assert result.online, result.message


def forget_audit_heads(db: Database) -> None:
    """A test's new store is a new chain for the same counter: drop the heads earlier tests anchored."""
    from central.models import CounterRow

    with db.write() as session:
        session.execute(
            sa.update(CounterRow).values(audit_head_seq=None, audit_head_hash=None, audit_head_at=None)
        )


def add_payment(
    db: Database,
    person: dict[str, Any],
    period: str,
    amount_fen: int,
    *,
    status: str = "paid",
    item: str = "1",
) -> int:
    """A subsidy payment to ``person``'s card, written straight into the server's database."""
    from central.models import SubsidyPaymentRow

    with db.write() as session:
        row = SubsidyPaymentRow(
            item_code=item,
            beneficiary_person_id=person["id"],
            household_id=person["household_id"],
            recipient_person_id=person["id"],
            department="民政局",
            period=period,
            amount_fen=amount_fen,
            status=status,
            paid_on=None,
            bank="农业银行",
            account_masked="6228****1234",
            failure_reason="account_inactive" if status == "failed" else None,
            batch_number=f"B{period}-{person['id']}-{amount_fen}",
        )
        session.add(row)
        session.flush()
        return int(row.id)


def county_phones(db: Database, county: str = COUNTY) -> dict[str, str | None]:
    """The server's persons of ``county`` by id, with their phone."""
    with db.read() as session:
        rows = session.execute(
            select(PersonRow.id, PersonRow.phone).where(PersonRow.insured_region == county)
        )
        return {str(pid): phone for pid, phone in rows}


class Writer:
    """Another counter (HR clerk 2 at counter 02) sending commands over HTTP."""

    def __init__(self, url: str) -> None:
        import uuid as _uuid

        import requests

        from tests.central.helpers import sign_in as central_sign_in

        self._uuid = _uuid
        self.url = url
        self.session = requests.Session()
        token = central_sign_in(self.session, CLERK2, OUTLET, "02", base=url)
        self.headers = {"Authorization": f"Bearer {token}", "X-Counter-Key": counter_credential(OUTLET, "02")}
        self.sequence = itertools.count(next(_BLOCKS) % 9800 + 1)

    def change_phone(self, id_number: str, phone: str) -> None:
        self._send("change_contact", {"person": {"id_number": id_number}, "phone": phone})

    def transfer_region(self, id_number: str, to_region: str) -> None:
        """参保地变更 of the person to ``to_region``."""
        body = {"person": {"id_number": id_number}, "to_region": to_region, "certificate_number": "ZY-TEST-1"}
        self._send("transfer_region", body)

    def _send(self, command: str, body: dict[str, Any]) -> None:
        from counter_app.domain.receipt_code import format_acceptance_number

        number = format_acceptance_number(OUTLET, "02", datetime.now(SHANGHAI).date(), next(self.sequence))
        response = self.session.post(
            f"{self.url}/commands/{command}",
            json={"acceptance_number": number, **body},
            headers={**self.headers, "Idempotency-Key": str(self._uuid.uuid4())},
            timeout=20,
        )
        assert response.status_code == 200, response.text


def flow_context(counter: Counter, signed: Any, world: Any) -> Any:
    """A flow context wired as ``app.py`` wires it: the sync service's ports, the emulator devices of a
    workflow-test ``World`` (card, PSAM, PIN pad, renderer, printer); its offline flag follows the worker."""
    from counter_app.card import PsamKeyProvider
    from counter_app.workflows.context import Context

    sync = counter.sync
    ctx = Context(
        operator=signed.operator,
        outlet=signed.outlet,
        counter_number=counter.sync.config.counter_number,
        central=sync.central,
        journal=counter.store,
        renderer=world.renderer,
        printer=world.printer,
        clock=SystemClock(),
        pin_pad=world.pad,
        card_transport=world.slot,
        key_provider=PsamKeyProvider(world.psam_slot),
        operators=sync.confirmers,
        verification_code=sync.receipt_code,
        replica=sync.replica,
    )
    sync.bind(ctx)
    return ctx
