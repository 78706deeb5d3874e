"""Crash and resume of 即时制卡 against the real local store (SQLite, encrypted checkpoints)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest

from counter_app.store import Store, database_path
from counter_app.workflows.base import StepKind
from counter_app.workflows.registry import resume, start
from tests.store.memory_keyring import MemoryKeyring
from tests.workflows.faults import Citizen, Crash, CrashingJournal
from tests.workflows.helpers import ABC_QUICK, HOLDER, World, by_id, drive, holder_of, retrying
from tests.workflows.test_flow_machine import KeepingJournal

pytestmark = pytest.mark.integration


@pytest.fixture
def store_path(tmp_path: Path) -> Iterator[Path]:
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    yield database_path(tmp_path / "store-data")
    keyring.set_keyring(previous)


def interesting_saves() -> list[int]:
    """Saves of a clean run worth crashing after: the write started, a record uncertain, all
    records confirmed before the step moved on, the new PIN about to reach the card."""
    world = World(journal=KeepingJournal(), pad=Citizen("246810"))
    person = holder_of("prefab_jingyan", world.city)
    world.insert("prefab_jingyan")
    drive(
        start("apply", world.ctx(ABC_QUICK), variant="instant"),
        {"identify": by_id(person), "presenter": HOLDER},
    )
    assert isinstance(world.journal, KeepingJournal)
    picked: dict[str, int] = {}
    for number, state in enumerate(world.journal.history, 1):
        pending = state["data"].get("pending_write")
        marks = "".join(r["state"][0] for r in pending["records"]) if pending else ""
        if marks and set(marks) == {"p"}:
            picked.setdefault("started", number)
        if marks.count("u") and marks.count("c") == 4:
            picked.setdefault("uncertain", number)
        if marks and set(marks) == {"c"}:
            picked.setdefault("confirmed", number)
        if state["data"].get("pin_state") == "started":
            picked.setdefault("pin", number)
    assert len(picked) == 4, picked
    return sorted(picked.values())


@pytest.mark.parametrize("crash_after", interesting_saves())
def test_instant_issuance_resumes_from_the_store_after_a_crash_mid_write(
    store_path: Path, crash_after: int
) -> None:
    world = World(pad=Citizen("246810"))
    person = holder_of("prefab_jingyan", world.city)
    prefab = world.insert("prefab_jingyan")
    answers = {"identify": by_id(person), "presenter": HOLDER}

    store = Store.open(store_path, clock=world.clock)
    journal = CrashingJournal(store, crash_after=crash_after)
    flow = start("apply", world.ctx(ABC_QUICK, journal=journal), variant="instant", flow_id="store-flow")
    with pytest.raises(Crash):
        drive(flow, answers)
    store.close()  # the process is gone; the database stays

    world.slot.insert(prefab)
    reopened = Store.open(store_path, clock=world.clock)
    try:
        assert reopened.load_checkpoint("store-flow") is not None
        again = resume("store-flow", world.ctx(ABC_QUICK, journal=reopened))
        assert again is not None
        done, _ = retrying(again, world, answers, reinsert=lambda: world.slot.insert(prefab))
        assert done.kind is StepKind.DONE and done.outcome is not None
        record = reopened.find(done.outcome.acceptance_number)
        assert record is not None and record.result == "已当场制卡，已激活"
        assert record.holder_ref.startswith("h:") and person["id_number"] not in record.holder_ref
        assert reopened.load_checkpoint("store-flow") is None
        report = reopened.verify_audit()
        assert report.intact and report.entries == 1
        assert reopened.outbox.messages() == []
    finally:
        reopened.close()
    assert world.city.count("apply") == world.city.count("instant_issue") == world.city.count("activate") == 1
    assert (
        prefab.pin_matches("246810") and world.read().card_number == record.details["new_card"]["card_number"]
    )
