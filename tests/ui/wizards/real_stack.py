"""A configured counter on the real stack, for wizard tests (真实链路上的柜台).

Everything a production counter has, wired by the production composition
(``counter_app.app.production_services`` → ``production_context``):

- the card and PSAM through the real ``pcscd`` and ``vsmartcard-vpcd`` (`PcscDeviceService` from the
  configured reader patterns), the emulated 社保卡 and PSAM answering in `VpcdSlot` s;
- the central server: the real FastAPI application on uvicorn on loopback (the embedded server
  of 培训模式, its SQLite database seeded with the training outlets, operators and the holders of the
  emulated test cards), reached over HTTP by the real sync service with its local store;
- the serial PIN pad (`SerialPinPad` on ``[devices] pinpad_port``) talking to the training pad on a
  pseudo-terminal, which types what a test scripts;
- the printer: a private CUPS scheduler with a cups-pdf queue (``[printing] printer``); printed
  forms are read back from the PDFs cups-pdf writes.

`RealCounter` gives the tests what to look at: the emulated cards, the server's database, the local
journal and audit chain, and the printed forms; it plays the card factory (`send_to_factory`,
`factory_returns`) and lets another process run the counter (`program_stopped`).

The counter is the 人社 window 511102001-01 signed in as its clerk; a module that sets
``COUNTER_PLACE`` gets another seeded counter (e.g. `ABC_QUICK`, the 农行 quick-issuance outlet).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from pypdf import PdfReader
from pypdf.errors import PdfReadError as PdfError
from pytestqt.qtbot import QtBot

from counter_app.config import Mode, Settings
from counter_app.emulator import build_card, build_psam
from counter_app.emulator.card import EmulatedCard
from counter_app.emulator.issuance import HolderData, IssueData, card_image
from counter_app.emulator.keys import TEST_MASTER_KEYS
from counter_app.emulator.pinpad import TrainingPinPad
from counter_app.emulator.testcards import TEST_PAN
from counter_app.emulator.vpcd import VpcdSlot
from counter_app.store import Store
from counter_app.sync import SyncConfig, SyncService
from counter_app.sync.credentials import CounterCredentials
from counter_app.training.central import TRAINING_COUNTER, TRAINING_OUTLET, EmbeddedCentral
from counter_app.ui.main_window import MainWindow
from counter_app.ui.wizards import FlowWizard
from tests.devices.pcsc_helpers import wait_until_empty
from tests.store.memory_keyring import MemoryKeyring
from tests.ui.conftest import activate
from tests.ui.test_training_mode import keyring_in_memory as keyring_in_memory
from tests.ui.wizards.test_training_wizards import open_item as open_item

CLERK, SUPERVISOR, ADMIN = "HR0101", "HR0109", "ADMIN01"
PASSWORDS = {
    CLERK: "peixun-jingban",
    SUPERVISOR: "peixun-fuhe",
    ADMIN: "peixun-guanli",
    "NH0101": "peixun-jingban",
    "NH0109": "peixun-fuhe",
    "GH0101": "peixun-jingban",
}
FAST_SYNC = {"poll_seconds": 0.5, "probe_seconds": 0.5, "verifier_scrypt_n": 2**10, "retries": 0}
SERVICE = "counter-app-real-stack-tests"


@dataclasses.dataclass(frozen=True)
class CounterPlace:
    """The seeded counter the fixture is enrolled as, and who signs in there."""

    outlet_code: str
    counter_number: str
    clerk: str
    supervisor: str


#: The 人社 window with quick-issuance equipment (the training counter).
HR_WINDOW = CounterPlace(TRAINING_OUTLET, TRAINING_COUNTER, CLERK, SUPERVISOR)
#: 农业银行乐山分行营业部: a bank's quick-issuance outlet (can activate the 社保 function).
ABC_QUICK = CounterPlace("511102101", "01", "NH0101", "NH0109")
#: 工商银行乐山市中区支行: a bank outlet without equipment (hands out blank 预制卡).
ICBC_PLAIN = CounterPlace("511102102", "01", "GH0101", "GH0109")


class ProvidedSync:
    """What `production_services` asks of `ProductionSync`: ``sync(wait)``."""

    def __init__(self, service: SyncService) -> None:
        self.service = service

    def sync(self, wait: float) -> SyncService:
        return self.service


@dataclasses.dataclass
class RealCounter:
    settings: Settings
    central: EmbeddedCentral
    sync: SyncService
    store: Store
    pad: TrainingPinPad
    card_slot: VpcdSlot
    psam_slot: VpcdSlot
    printed_dir: Path
    place: CounterPlace = HR_WINDOW
    store_path: Path | None = None
    credentials: CounterCredentials | None = None
    cards: dict[str, Any] = dataclasses.field(default_factory=dict)

    # -- the card reader ------------------------------------------------------------------------

    def card(self, label: str) -> Any:
        """The emulated card ``label`` (one per module: what a wizard wrote stays on it)."""
        if label not in self.cards:
            self.cards[label] = build_card(label)
        return self.cards[label]

    def insert(self, label: str) -> Any:
        card = self.card(label)
        self.remove_card()
        self.card_slot.insert(card)
        return card

    def remove_card(self) -> None:
        """Take the card out and wait until pcscd has seen the reader empty (as a clerk's hand is
        slower than pcscd's poll)."""
        if self.card_slot.inserted:
            self.card_slot.remove()
            wait_until_empty(self.settings.card_reader_pattern)

    # -- the card factory -----------------------------------------------------------------------

    def send_to_factory(self, card_id: int) -> dict[str, Any]:
        """送制卡 of the applied card ``card_id`` as the back office does; the batch with the
        simulated factory's 回盘 (卡号, 卡识别码, dates) for it."""
        started = self.admin_post(
            "/commands/start_production",
            {"card_ids": [card_id], "simulate_return": True},
            key=f"real-stack-produce-{card_id}",
        )
        batch: dict[str, Any] = started["data"]
        assert batch["card_ids"] == [card_id], batch
        return batch

    def factory_returns(self, batch: dict[str, Any], label: str) -> EmulatedCard:
        """制卡完成: the 回盘 of ``batch`` imported on the server, and the card the factory made — a
        3.00 card personalised with the holder's data, the 回盘's 卡号 and 卡识别码 and the initial
        PIN, keys diversified from the test master keys — kept as ``label`` for `insert`."""
        (record,) = batch["simulated_return"]
        self.admin_post(
            "/commands/production_done",
            {"batch_number": batch["batch_number"], "records": [record]},
            key=f"real-stack-return-{batch['batch_number']}",
        )
        (person,) = self.server_rows(
            "SELECT p.social_security_number, p.name, p.sex, p.ethnicity, p.birthplace, p.birth_date "
            "FROM persons p JOIN cards c ON c.person_id = p.id WHERE c.id = :i",
            i=record["card_id"],
        )
        born = person["birth_date"]
        image = card_image(
            profile="3.00",
            card_id=record["card_identifier"],
            master_keys=TEST_MASTER_KEYS,
            pan=TEST_PAN,
            holder=HolderData(
                social_security_number=person["social_security_number"],
                name=person["name"],
                sex=person["sex"],
                ethnicity=person["ethnicity"],
                birthplace=person["birthplace"],
                birth_date=born if isinstance(born, date) else date.fromisoformat(str(born)),
            ),
            issue=IssueData(
                record["card_number"],
                date.fromisoformat(record["issued_on"]),
                date.fromisoformat(record["expires_on"]),
            ),
        )
        made = self.cards[label] = EmulatedCard(image)
        return made

    # -- the program ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def program_stopped(self) -> Iterator[None]:
        """The counter program not running here (its sync service stopped, its store closed), so
        another process may be the counter meanwhile; then started again on the same store and
        credential, as the program is after a restart. No window may be open."""
        assert self.store_path is not None and self.credentials is not None
        self.sync.stop()
        self.store.close()
        try:
            yield
        finally:
            self.store = Store.open(self.store_path)
            self.sync = SyncService(
                SyncConfig.from_settings(self.settings, **FAST_SYNC), self.store, credentials=self.credentials
            )
            self.sync.start()

    @contextlib.contextmanager
    def other_counter(self, place: CounterPlace) -> Iterator[RealCounter]:
        """Another counter of the same city (server, readers, PIN pad, printer and emulated cards
        shared): enrolled as ``place``, with its own store, credential and sync service. Its windows
        and this counter's must not be open at the same time (one reader)."""
        from sqlalchemy import select

        from central.core.db import Database
        from central.models import CounterRow, OutletRow
        from central.services.auth import issue_counter_credential

        db = Database(f"sqlite:///{self.central.working}")
        try:
            with db.write() as session:
                row = session.scalar(
                    select(CounterRow)
                    .join(OutletRow, OutletRow.id == CounterRow.outlet_id)
                    .where(OutletRow.code == place.outlet_code, CounterRow.number == place.counter_number)
                )
                assert row is not None, place
                credential = issue_counter_credential(session, row)
        finally:
            db.dispose()
        assert self.store_path is not None
        name = f"{place.outlet_code}-{place.counter_number}"
        settings = dataclasses.replace(
            self.settings,
            outlet_code=place.outlet_code,
            counter_number=place.counter_number,
            data_dir=self.settings.data_dir.with_name(f"data-{name}"),
        )
        credentials = CounterCredentials(f"{SERVICE}-{name}")
        store_path = self.store_path.with_name(f"counter-{name}.db")
        store = Store.open(store_path)
        sync = SyncService(SyncConfig.from_settings(settings, **FAST_SYNC), store, credentials=credentials)
        try:
            off_gui(lambda: sync.enrol(credential))  # a test on the GUI thread may not block on HTTP
            sync.start()
            yield dataclasses.replace(
                self,
                settings=settings,
                sync=sync,
                store=store,
                place=place,
                store_path=store_path,
                credentials=credentials,
            )
        finally:
            sync.stop()
            store.close()

    # -- the server -----------------------------------------------------------------------------

    def server_rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        """Rows of the central server's own database (read-only look)."""
        engine = sa.create_engine(f"sqlite:///{self.central.working}")
        try:
            with engine.connect() as connection:
                return [dict(row._mapping) for row in connection.execute(sa.text(sql), params)]
        finally:
            engine.dispose()

    def server_transaction(self, acceptance_number: str) -> dict[str, Any]:
        """The server's 业务流水 of a 受理编号 (waits for the outbox to deliver it)."""
        deadline = time.monotonic() + 30
        while True:
            rows = self.server_rows(
                "SELECT * FROM transactions WHERE acceptance_number = :n", n=acceptance_number
            )
            if rows:
                assert len(rows) == 1, rows
                return rows[0]
            assert time.monotonic() < deadline, f"the server never recorded {acceptance_number}"
            time.sleep(0.2)

    def card_row(self, card_number: str) -> dict[str, Any]:
        rows = self.server_rows("SELECT * FROM cards WHERE card_number = :n", n=card_number)
        assert len(rows) == 1, rows
        return rows[0]

    def admin_post(self, path: str, body: dict[str, Any], key: str) -> dict[str, Any]:
        """A back-office call as the training administrator (e.g. the platform's payment import)."""
        base = self.central.base_url
        signed = requests.post(
            f"{base}/auth/sign-in",
            json={"operator_number": ADMIN, "password": PASSWORDS[ADMIN]},
            timeout=10,
        )
        assert signed.ok, signed.text
        headers = {"Authorization": f"Bearer {signed.json()['token']}", "Idempotency-Key": key}
        response = requests.post(f"{base}{path}", json=body, headers=headers, timeout=10)
        assert response.ok, response.text
        result: dict[str, Any] = response.json()
        return result

    # -- the journal ----------------------------------------------------------------------------

    def audit_entries(self, acceptance_number: str) -> list[dict[str, Any]]:
        with self.store.engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT * FROM audit_entries WHERE acceptance_number = :n ORDER BY seq"),
                {"n": acceptance_number},
            )
            return [dict(row._mapping) for row in rows]

    def journal_counts(self) -> tuple[int, int, int]:
        """(transactions, audit entries, outbox messages ever queued) in the local store."""
        with self.store.engine.connect() as connection:
            return tuple(  # type: ignore[return-value]
                connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in ("transactions", "audit_entries", "outbox_messages")
            )

    def server_counts(self) -> int:
        """业务流水 on the server."""
        return int(self.server_rows("SELECT count(*) AS n FROM transactions")[0]["n"])

    def assert_journal(self, acceptance_number: str, item_code: str) -> None:
        """The local transaction and exactly one audit entry for it; the chain intact."""
        record = self.store.find(acceptance_number)
        assert record is not None and record.item_code == item_code
        entries = self.audit_entries(acceptance_number)
        assert [(e["event"], e["item_code"]) for e in entries] == [("transaction", item_code)]
        assert self.store.verify_audit().intact

    # -- the printer ----------------------------------------------------------------------------

    def printed_pdfs(self) -> set[Path]:
        return set(self.printed_dir.rglob("*.pdf"))

    def printed_form(self, before: set[Path], wizard: FlowWizard, timeout: float = 60) -> str:
        """The text of the form the wizard sent to the printer, once cups-pdf has written the job.

        The text is checked on the PDF the counter sent (cups-pdf re-distils it through Ghostscript,
        which garbles some glyphs); the queue's own output must hold the form's title.
        """
        sent = getattr(wizard.flow.ctx.renderer, "last_pdf", None)
        assert sent, "the wizard rendered no form"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for path in sorted(self.printed_pdfs() - before):
                size = path.stat().st_size
                time.sleep(0.2)
                if not size or path.stat().st_size != size:
                    continue
                try:
                    written = pdf_text(path.read_bytes())
                except PdfError:
                    continue  # cups-pdf has not finished writing it
                assert "乐山市社会保障卡业务受理表" in written
                return pdf_text(sent)
            time.sleep(0.2)
        raise AssertionError("the printer queue wrote no PDF")


def pdf_text(pdf: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).replace(" ", "")


def off_gui(call: Callable[[], Any]) -> Any:
    """A blocking call from the test on a thread (the GUI thread forbids network and PC/SC I/O)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result(timeout=60)


@pytest.fixture(scope="module")
def real_counter(
    tmp_path_factory: pytest.TempPathFactory,
    keyring_in_memory: MemoryKeyring,
    pcscd: dict[str, str],
    cups: dict[str, str],
    request: pytest.FixtureRequest,
) -> Iterator[RealCounter]:
    counter_place: CounterPlace = getattr(request.module, "COUNTER_PLACE", HR_WINDOW)
    root = tmp_path_factory.mktemp("real-counter")
    previous_cups = os.environ.get("CUPS_SERVER")
    os.environ["CUPS_SERVER"] = cups["COUNTER_TEST_CUPS_SERVER"]  # lp / lpstat of the private cupsd
    central = EmbeddedCentral(
        root / "central",
        persons=60,
        kdf_n=2**10,
        outlet_code=counter_place.outlet_code,
        counter_number=counter_place.counter_number,
    )
    credentials = CounterCredentials(SERVICE)
    central.credentials = credentials
    port = int(pcscd["COUNTER_TEST_VPCD_PORT"])
    card_slot, psam_slot = VpcdSlot(port=port), VpcdSlot(port=port + 1)
    pad = TrainingPinPad().start()
    store = Store.open(root / "counter.db")
    sync: SyncService | None = None
    counter: RealCounter | None = None
    try:
        credential = central.start(lambda message: None)
        settings = Settings(
            mode=Mode.PRODUCTION,
            config_file=root / "counter.toml",
            data_dir=root / "data",
            server_url=central.base_url,
            outlet_code=counter_place.outlet_code,
            counter_number=counter_place.counter_number,
            card_reader_pattern=pcscd["COUNTER_TEST_PCSC_CARD_READER"],
            psam_reader_pattern=pcscd["COUNTER_TEST_PCSC_PSAM_READER"],
            pinpad_port=pad.port,
            printer=cups["COUNTER_TEST_CUPS_QUEUE"],
        )
        sync = SyncService(SyncConfig.from_settings(settings, **FAST_SYNC), store, credentials=credentials)
        sync.enrol(credential)
        sync.start()
        psam_slot.insert(build_psam())
        counter = RealCounter(
            settings=settings,
            central=central,
            sync=sync,
            store=store,
            pad=pad,
            card_slot=card_slot,
            psam_slot=psam_slot,
            printed_dir=Path(cups["COUNTER_TEST_CUPS_OUTDIR"]),
            place=counter_place,
            store_path=root / "counter.db",
            credentials=credentials,
        )
        yield counter
    finally:
        if counter is not None:  # the program may have been restarted on new objects
            sync, store = counter.sync, counter.store
        if sync is not None:
            sync.stop()
        store.close()
        card_slot.remove()
        psam_slot.remove()
        pad.stop()
        central.stop()
        wait_until_empty(pcscd["COUNTER_TEST_PCSC_CARD_READER"], pcscd["COUNTER_TEST_PCSC_PSAM_READER"])
        if previous_cups is None:
            os.environ.pop("CUPS_SERVER", None)
        else:
            os.environ["CUPS_SERVER"] = previous_cups


@contextlib.contextmanager
def counter_window(qtbot: QtBot, counter: RealCounter, settings: Settings) -> Iterator[MainWindow]:
    """A main window as production composes it for ``settings``, signed in as the counter's clerk."""
    from counter_app.app import production_services

    services = dataclasses.replace(
        production_services(settings, ProvidedSync(counter.sync)),  # type: ignore[arg-type]
        probe_interval_ms=3_600_000,
    )
    window = MainWindow(services)
    qtbot.addWidget(window)
    with qtbot.waitExposed(window):
        window.show()
    activate(qtbot, window)
    window.start()
    assert sign_in(qtbot, window, counter.place.clerk) == ""
    yield window
    counter.remove_card()
    window.close()
    qtbot.waitUntil(lambda: counter.sync.tokens.current is None, timeout=10_000)


@pytest.fixture
def real_window(qtbot: QtBot, real_counter: RealCounter) -> Iterator[MainWindow]:
    """The counter's main window with the counter's own settings."""
    with counter_window(qtbot, real_counter, real_counter.settings) as window:
        yield window


def sign_in(qtbot: QtBot, window: MainWindow, number: str) -> str:
    window.open_sign_in()
    dialog = window.dialog
    assert dialog is not None
    dialog.ui.numberEdit.setText(number)
    dialog.ui.passwordEdit.setText(PASSWORDS[number])
    dialog.ui.okButton.click()
    qtbot.waitUntil(lambda: not dialog.ui.busyBar.isVisible(), timeout=30_000)
    return dialog.ui.messageLabel.text()


def insert_and_read(qtbot: QtBot, window: MainWindow, counter: RealCounter, label: str) -> Any:
    """Put the card ``label`` in the reader and wait for the card panel's read."""
    assert window.cards is not None
    try:
        with qtbot.waitSignal(window.cards.read_finished, timeout=20_000):  # type: ignore[attr-defined]
            card = counter.insert(label)
    except Exception as error:
        import threading

        from counter_app.ui.ports import Device

        raise AssertionError(
            f"no card read: reader {window.status.text(Device.CARD_READER)!r}, "
            f"threads {[t.name for t in threading.enumerate()]}"
        ) from error
    return card
