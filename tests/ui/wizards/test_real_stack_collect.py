"""Wizards, part 2, on the real stack (see `tests.ui.wizards.real_stack`): 申领 → 送制卡 → 制卡完成 → 领卡
with the card the factory made; 申领 by a minor's guardian and by an agent; a 预制卡 handed out at a
bank without equipment and personalised at the 人社 window; and 即时制卡 in a counter program killed
with SIGKILL mid-write (another OS process, `tests.ui.wizards.kill_driver`) and finished at the next
sign-in — each checked on the emulated card, the server's database, the local journal and audit
chain, and the printed forms.

The module has its own counter (server, store, readers): the 人社 window 511102001 with quick-issuance
equipment, signed in as its clerk (and, for the hand-out, counter 01 of the 工商银行 outlet 511102102).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from counter_app.emulator import TEST_CARDS, encoding
from counter_app.emulator.card import EmulatedCard
from counter_app.emulator.issuance import card_image
from counter_app.emulator.keys import TEST_MASTER_KEYS
from counter_app.emulator.testcards import TEST_PAN
from counter_app.ui.main_window import MainWindow
from counter_app.ui.wizards import WizardLauncher
from counter_app.workflows.apply import INSERT_MADE_CARD
from counter_app.workflows.base import StepKind
from tests.store.memory_keyring import MemoryKeyring
from tests.ui.wizards.part2 import next_wizard, progress_text, wait_told
from tests.ui.wizards.real_stack import ICBC_PLAIN, PASSWORDS, RealCounter, counter_window, open_item
from tests.ui.wizards.real_stack import keyring_in_memory as keyring_in_memory
from tests.ui.wizards.real_stack import real_counter as real_counter
from tests.ui.wizards.real_stack import real_window as real_window
from tests.ui.wizards.test_flow_wizards import HOLDER_ANSWER, run
from tests.workflows.city import resident_id

pytestmark = [
    pytest.mark.integration,
    pytest.mark.pcsc,
    pytest.mark.gui,
    pytest.mark.slow,
]

ROOT = Path(__file__).resolve().parents[3]


def commands_of(counter: RealCounter, id_number: str) -> list[str]:
    """The server's 业务流水 of a person, oldest first (their commands)."""
    return [
        r["command"]
        for r in counter.server_rows(
            "SELECT t.command FROM transactions t JOIN persons p ON p.id = t.person_id "
            "WHERE p.id_number = :n ORDER BY t.id",
            n=id_number,
        )
    ]


def cards_of(counter: RealCounter, id_number: str) -> list[dict[str, Any]]:
    return counter.server_rows(
        "SELECT c.id, c.status, c.card_number, c.card_identifier, c.bank FROM cards c "
        "JOIN persons p ON p.id = c.person_id WHERE p.id_number = :n ORDER BY c.id",
        n=id_number,
    )


# --- 申领 → 制卡 → 领卡 ------------------------------------------------------------------------------------


NEWCOMER = resident_id("511102", date(1994, 2, 17), "082")  # 女, unknown to the seeded city


def test_apply_then_collect_the_card_the_factory_made(
    real_window: MainWindow, real_counter: RealCounter, qtbot: QtBot
) -> None:
    assert real_counter.server_rows("SELECT id FROM persons WHERE id_number = :n", n=NEWCOMER) == []

    # 申领 (制卡完成后领卡) of a person the city does not know yet, registered with the application
    printed = real_counter.printed_pdfs()
    wizard = open_item(qtbot, real_window, "apply")
    done = run(
        qtbot,
        wizard,
        {
            "variant": {"variant": "standard"},
            "identify": {"id_type": "resident_id", "id_number": NEWCOMER},
            "new_person": {"name": "林雪梅", "ethnicity": "01"},
            "application": {"bank": "农业银行"},
            **HOLDER_ANSWER,
        },
    )
    assert done.kind is StepKind.DONE and done.outcome is not None, done.refusal
    applied = done.outcome.acceptance_number
    assert done.outcome.result == "已受理，制卡完成后领卡"
    real_counter.assert_journal(applied, "apply")
    assert real_counter.server_transaction(applied)["command"] == "apply"
    (row,) = cards_of(real_counter, NEWCOMER)
    assert (row["status"], row["card_number"], row["bank"]) == ("applied", None, "农业银行")
    form = real_counter.printed_form(printed, wizard)
    assert applied in form and "林雪梅" in form and "农业银行" in form and "个人申领" in form

    # 送制卡: while the card is at the factory, 领卡 is refused and nothing is recorded anywhere
    batch = real_counter.send_to_factory(row["id"])
    assert cards_of(real_counter, NEWCOMER)[0]["status"] == "in_production"
    journal, on_server = real_counter.journal_counts(), real_counter.server_counts()
    wizard = open_item(qtbot, real_window, "apply")
    refused = run(
        qtbot,
        wizard,
        {"variant": {"variant": "hand_over"}, "identify": {"id_type": "resident_id", "id_number": NEWCOMER}},
    )
    assert refused.kind is StepKind.REFUSED and refused.refusal is not None
    assert refused.refusal.code == "card_not_ready" and "尚未制成" in wizard.page_text()
    assert real_counter.journal_counts() == journal and real_counter.server_counts() == on_server

    # 制卡完成 (回盘导入): the card the factory made comes to the counter
    made = real_counter.factory_returns(batch, "made_newcomer")
    (row,) = cards_of(real_counter, NEWCOMER)
    assert (
        row["status"] == "ready_for_pickup"
        and row["card_number"] == batch["simulated_return"][0]["card_number"]
    )

    # 领卡: somebody else's card first — sent back out, untouched — then the card made for her
    someone = real_counter.card("yi_mabian")
    printed = real_counter.printed_pdfs()
    real_counter.pad.script("318642#", "318642#")
    wizard = open_item(qtbot, real_window, "apply")
    run(
        qtbot,
        wizard,
        {
            "variant": {"variant": "hand_over"},
            "identify": {"id_type": "resident_id", "id_number": NEWCOMER},
            **HOLDER_ANSWER,
        },
        until_key="hand_over",
    )
    wait_told(qtbot, wizard, INSERT_MADE_CARD)
    real_counter.insert("yi_mabian")
    wait_told(qtbot, wizard, "不是此人待领取的卡")
    assert str(TEST_CARDS["yi_mabian"].card_number) in progress_text(wizard)
    real_counter.remove_card()
    wait_told(qtbot, wizard, INSERT_MADE_CARD)
    real_counter.insert("made_newcomer")
    done = run(qtbot, wizard, {"activate_choice": {"choice": "now"}})
    assert done.kind is StepKind.DONE and done.outcome is not None, done.refusal
    collected = done.outcome.acceptance_number
    assert done.outcome.result == "已领卡，已激活"

    # the card: the holder's own PIN set on it; the other card's PIN untouched
    assert made.pin_matches("318642") and made.pin_tries_left == 6
    assert someone.pin_matches(TEST_CARDS["yi_mabian"].pin) and someone.pin_tries_left == 6
    # the server: the one card handed over and active; apply, hand_over, activate — once each
    (row,) = cards_of(real_counter, NEWCOMER)
    assert row["status"] == "active" and row["card_identifier"] == made.card_id.hex().upper()
    assert commands_of(real_counter, NEWCOMER) == ["apply", "hand_over", "activate"]
    assert real_counter.server_transaction(collected)["item_code"] == "apply"
    # the journal: one transaction and one audit entry per business, the chain intact
    real_counter.assert_journal(applied, "apply")
    real_counter.assert_journal(collected, "apply")
    form = real_counter.printed_form(printed, wizard)
    assert collected in form and "已领卡" in form and "林雪梅" in form and row["card_number"] in form


def test_collecting_for_a_person_who_never_applied_is_refused(
    real_window: MainWindow, real_counter: RealCounter, qtbot: QtBot
) -> None:
    holder = TEST_CARDS["muchuan_v3"]  # holds an active card, nothing waiting to be collected
    journal, on_server = real_counter.journal_counts(), real_counter.server_counts()
    wizard = open_item(qtbot, real_window, "apply")
    refused = run(
        qtbot,
        wizard,
        {
            "variant": {"variant": "hand_over"},
            "identify": {"id_type": "resident_id", "id_number": str(holder.social_security_number)},
        },
    )
    assert refused.kind is StepKind.REFUSED and refused.refusal is not None
    assert refused.refusal.code == "no_card_to_collect" and refused.refusal.message in wizard.page_text()
    assert real_counter.journal_counts() == journal and real_counter.server_counts() == on_server


# --- 申领 by a guardian and by an agent ------------------------------------------------------------------


MINOR = resident_id("511102", date(2014, 5, 1), "122")  # 女, born 2014, unknown to the seeded city
ADULT = resident_id("511181", date(1962, 10, 3), "031")  # 男, unknown to the seeded city
AGENT_ID = resident_id("511102", date(1965, 3, 9), "311")


def agent_json(transaction: dict[str, Any]) -> dict[str, Any]:
    agent = transaction["agent"]
    parsed: dict[str, Any] = json.loads(agent) if isinstance(agent, str) else agent
    return parsed


def test_a_guardian_applies_for_a_minor_with_the_guardianship_proof_and_an_agent_for_an_adult(
    real_window: MainWindow, real_counter: RealCounter, qtbot: QtBot
) -> None:
    guardian = {
        "requester": "guardian",
        "agent_name": "刘大明",
        "agent_id_type": "resident_id",
        "agent_id_number": AGENT_ID,
        "relation": "父女",
        "documents": ["agent_id", "principal_id"],
    }
    minor = {
        "variant": {"variant": "standard"},
        "identify": {"id_type": "resident_id", "id_number": MINOR},
        "new_person": {"name": "刘小宝", "ethnicity": "01"},
        "application": {"bank": "农业银行"},
    }
    # without the proof of guardianship: refused, nothing recorded anywhere
    journal, on_server = real_counter.journal_counts(), real_counter.server_counts()
    wizard = open_item(qtbot, real_window, "apply")
    refused = run(qtbot, wizard, {**minor, "presenter": guardian})
    assert refused.kind is StepKind.REFUSED and refused.refusal is not None
    assert refused.refusal.code == "guardianship_proof_missing"
    assert refused.refusal.message in wizard.page_text()
    assert real_counter.journal_counts() == journal and real_counter.server_counts() == on_server
    assert real_counter.server_rows("SELECT id FROM persons WHERE id_number = :n", n=MINOR) == []

    printed = real_counter.printed_pdfs()
    proved = {**guardian, "documents": ["agent_id", "principal_id", "guardianship"]}
    wizard = open_item(qtbot, real_window, "apply")
    done = run(qtbot, wizard, {**minor, "presenter": proved})
    assert done.kind is StepKind.DONE and done.outcome is not None, done.refusal
    number = done.outcome.acceptance_number
    real_counter.assert_journal(number, "apply")
    server = real_counter.server_transaction(number)
    assert server["command"] == "apply" and server["requester"] == "guardian"
    assert agent_json(server)["name"] == "刘大明"
    assert [c["status"] for c in cards_of(real_counter, MINOR)] == ["applied"]
    form = real_counter.printed_form(printed, wizard)
    assert "代办申领" in form and "刘大明" in form and "刘小宝" in form and "监护关系证明" in form

    # an adult's relative applies for him (代办): the agent is on the record and the form
    printed = real_counter.printed_pdfs()
    wizard = open_item(qtbot, real_window, "apply")
    done = run(
        qtbot,
        wizard,
        {
            "variant": {"variant": "standard"},
            "identify": {"id_type": "resident_id", "id_number": ADULT},
            "new_person": {"name": "罗永平", "ethnicity": "01"},
            "application": {"bank": "农业银行"},
            "presenter": {**guardian, "requester": "other", "agent_name": "罗小军", "relation": "父子"},
        },
    )
    assert done.kind is StepKind.DONE and done.outcome is not None, done.refusal
    number = done.outcome.acceptance_number
    real_counter.assert_journal(number, "apply")
    server = real_counter.server_transaction(number)
    assert server["requester"] == "other" and agent_json(server)["name"] == "罗小军"
    assert [c["status"] for c in cards_of(real_counter, ADULT)] == ["applied"]
    form = real_counter.printed_form(printed, wizard)
    assert "代办申领" in form and "罗小军" in form and "罗永平" in form


# --- 换卡: a 预制卡 handed out at the bank, personalised at the 人社 window --------------------------------------


def icbc_holder(counter: RealCounter) -> dict[str, Any]:
    rows = counter.server_rows(
        "SELECT p.id_number, p.name, c.id AS card_id, c.card_number FROM persons p "
        "JOIN cards c ON c.person_id = p.id WHERE c.status = 'active' AND c.bank = '工商银行' "
        "AND p.deceased_on IS NULL AND p.vulnerable_group IS NULL "
        "AND (julianday('now') - julianday(p.birth_date)) / 365.25 >= 18 "
        "AND NOT EXISTS (SELECT 1 FROM cards o WHERE o.person_id = p.id AND o.id != c.id "
        "AND o.status NOT IN ('replaced', 'cancelled')) ORDER BY p.id LIMIT 1"
    )
    assert rows, "the seeded population has no adult with one active 工商银行 card"
    return rows[0]


def test_a_prefab_handed_out_at_the_bank_is_personalised_at_the_hr_window(
    real_counter: RealCounter, qtbot: QtBot
) -> None:
    person = icbc_holder(real_counter)
    identify = {"identify": {"id_type": "resident_id", "id_number": person["id_number"]}}

    # at the 工商银行 outlet (no card equipment): 换卡 accepted, a blank 预制卡 handed out
    with real_counter.other_counter(ICBC_PLAIN) as bank:
        printed = bank.printed_pdfs()
        with counter_window(qtbot, bank, bank.settings) as window:
            wizard = open_item(qtbot, window, "replace")
            done = run(
                qtbot,
                wizard,
                {
                    "variant": {"variant": "prefab_handout"},
                    "read_card": {"choice": "absent"},
                    **identify,
                    "replacement": {"reason": "换卡（损坏）"},
                    **HOLDER_ANSWER,
                },
            )
            assert done.kind is StepKind.DONE and done.outcome is not None, done.refusal
            assert done.outcome.result == "已受理补换卡，已发放预制卡"
            handed_out = done.outcome.acceptance_number
            bank.assert_journal(handed_out, "replace")
            server = bank.server_transaction(handed_out)
            assert server["command"] == "replace" and server["operator_number"] == "GH0101"
            form = bank.printed_form(printed, wizard)
            assert "请持预制卡和本受理表到人社社会保障卡服务窗口制卡" in form and person["name"] in form
    old = real_counter.card_row(person["card_number"])
    assert old["status"] == "active" and old["replacement_applied"]  # usable until the new card is made
    assert real_counter.store.find(handed_out) is None  # the bank's journal, not this counter's

    # at the 人社 window: the 预制卡 the citizen brought is written and activated
    printed = real_counter.printed_pdfs()
    real_counter.pad.script("424242#", "424242#")
    with counter_window(qtbot, real_counter, real_counter.settings) as window:
        wizard = open_item(qtbot, window, "replace")
        run(
            qtbot,
            wizard,
            {"variant": {"variant": "prefab_personalise"}, **identify, **HOLDER_ANSWER},
            until_key="prefab",
        )
        wait_told(qtbot, wizard, "请将办事人带来的空白预制卡插入读卡器")
        prefab = real_counter.insert("card_b")
        done = run(qtbot, wizard, {"activate_choice": {"choice": "now"}})
        assert done.kind is StepKind.DONE and done.outcome is not None, done.refusal
        number = done.outcome.acceptance_number
        form = real_counter.printed_form(printed, wizard)
    real_counter.assert_journal(number, "replace")
    rows = cards_of(real_counter, person["id_number"])
    new = next(r for r in rows if r["card_identifier"] == TEST_CARDS["card_b"].card_id)
    assert real_counter.card_row(person["card_number"])["status"] == "replaced"
    assert new["status"] == "active" and new["bank"] == "工商银行"
    assert prefab.record(0x05, 0x07) == encoding.an(new["card_number"], 9) and prefab.pin_matches("424242")
    assert commands_of(real_counter, person["id_number"])[-3:] == ["replace", "instant_issue", "activate"]
    assert number in form and new["card_number"] in form and person["name"] in form


# --- 即时制卡 in a program killed with SIGKILL -----------------------------------------------------------


class CountingCard:
    """The emulated card in the reader, counting the UPDATE RECORDs it carried out, by record."""

    def __init__(self, card: EmulatedCard) -> None:
        self.card = card
        self.updates: Counter[bytes] = Counter()

    def process(self, command: bytes) -> bytes:
        response = self.card.process(command)
        if len(command) > 3 and command[1] == 0xDC and response[-2:] == b"\x90\x00":
            self.updates[bytes(command[2:4])] += 1  # P1 record, P2 SFI
        return response

    def atr(self) -> bytes:
        return self.card.atr()

    def power_on(self) -> None:
        self.card.power_on()

    def reset(self) -> None:
        self.card.reset()


class Child:
    """``python -m tests.ui.wizards.kill_driver``: its stdout lines as they come, stderr in a file."""

    def __init__(self, spec: dict[str, Any], env: dict[str, str], errors: Path) -> None:
        self.errors = errors
        with errors.open("w") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.ui.wizards.kill_driver", json.dumps(spec)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=sink,
                text=True,
            )
        self.lines: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.strip())

    def wait_for(self, prefix: str) -> str:
        """The first line starting with ``prefix`` (the child failing first fails the test)."""
        deadline = time.monotonic() + 180  # a hang guard, not a measurement
        while True:
            found = next((line for line in self.lines if line.startswith(prefix)), None)
            if found is not None:
                return found
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"the counter process never said {prefix!r} (exit {self.process.poll()}): "
                    f"{self.lines}\n{self.errors.read_text()[-4000:]}"
                )
            time.sleep(0.05)

    def kill(self) -> int:
        os.kill(self.process.pid, signal.SIGKILL)
        return self.process.wait(timeout=60)


#: Where the program dies: (before / after, UPDATE RECORD number, the 预制卡's serial, the applicant
#: — someone the city does not know yet, registered by the 申领 itself). The write has 10 records.
KILL_POINTS = [
    pytest.param("before", 1, 0x41, ("周晓燕", "2"), id="before-the-first-record"),
    pytest.param("after", 3, 0x42, ("吴建国", "1"), id="after-the-third-record"),
    pytest.param("after", 10, 0x43, ("郑丽华", "2"), id="after-the-last-record"),
]
RECORDS = 10


def blank_prefab(serial: int) -> tuple[EmulatedCard, str]:
    """A blank 预制卡 of 井研县 with its own 卡识别码 (each kill point issues a card of its own)."""
    card_id = TEST_CARDS["prefab_jingyan"].card_id[:-8] + f"{serial:08X}"
    image = card_image(profile="prefab", card_id=card_id, master_keys=TEST_MASTER_KEYS, pan=TEST_PAN)
    return EmulatedCard(image), card_id


@pytest.mark.parametrize(("hold", "at", "serial", "applicant"), KILL_POINTS)
def test_instant_issuance_in_a_program_killed_with_sigkill_is_finished_at_the_next_sign_in(
    real_counter: RealCounter,
    keyring_in_memory: MemoryKeyring,
    qtbot: QtBot,
    tmp_path: Path,
    hold: str,
    at: int,
    serial: int,
    applicant: tuple[str, str],
) -> None:
    """The counter program (another OS process on the same store, server and readers) personalises
    the 预制卡 and is killed with SIGKILL in the card write: before its first UPDATE RECORD (the card
    untouched, the server already issued it), after the third, or after the last (the card complete,
    the flow not knowing it). The next sign-in at this counter resumes the flow: the card is checked
    record by record and finished, one card is issued on the server and every record was written to
    the card once."""
    name, sex = applicant  # 性别 as the 证件号码's 17th digit says (odd: 男)
    born = date(1988, 3, serial - 0x40)
    ssn = resident_id("511124", born, f"0{serial - 0x40}{sex}")
    assert real_counter.server_rows("SELECT id FROM persons WHERE id_number = :n", n=ssn) == []
    prefab, card_id = blank_prefab(serial)
    card = CountingCard(prefab)
    settings = real_counter.settings
    spec = {
        "settings": {
            "data_dir": str(settings.data_dir),
            "server_url": settings.server_url,
            "outlet_code": settings.outlet_code,
            "counter_number": settings.counter_number,
            "card_reader_pattern": settings.card_reader_pattern,
            "psam_reader_pattern": settings.psam_reader_pattern,
            "pinpad_port": settings.pinpad_port,
        },
        "store": str(real_counter.store_path),
        "clerk": real_counter.place.clerk,
        "password": PASSWORDS[real_counter.place.clerk],
        "id_number": ssn,
        # as the wizard's page comes prefilled from the 证件号码
        "new_person": {
            "name": name,
            "sex": sex,
            "ethnicity": "01",
            "birth_date": born.isoformat(),
            "birthplace": "511124",
        },
        "bank": "农业银行",
        "updates": at,
        "hold": hold,
    }
    env = {
        **os.environ,
        "KILL_DRIVER_KEYRING": json.dumps([[s, u, p] for (s, u), p in keyring_in_memory.items.items()]),
    }
    journal = real_counter.journal_counts()
    with real_counter.program_stopped():  # the counter program is the child process now
        real_counter.remove_card()
        real_counter.card_slot.insert(card)  # the blank 预制卡 ready in the reader
        child = Child(spec, env, tmp_path / "child.err")
        flow_id = child.wait_for("flow ").split()[1]
        child.wait_for(f"at update {at}")
        assert child.kill() == -signal.SIGKILL
    carried_out = at if hold == "after" else at - 1
    assert sum(card.updates.values()) == carried_out

    # what the dead program left: a write begun (the records before the one it died at confirmed,
    # that one uncertain — marked so before it is sent), the card issued on the server, nothing
    # recorded as done
    checkpoint = real_counter.store.load_checkpoint(flow_id)
    assert checkpoint is not None
    pending = checkpoint["data"]["pending_write"]
    states = [r["state"] for r in pending["records"]]
    assert len(states) == RECORDS
    assert states[: at - 1] == ["confirmed"] * (at - 1) and states[at - 1] == "uncertain"
    assert "confirmed" not in states[at:]
    assert commands_of(real_counter, ssn) == ["apply", "instant_issue"]
    assert real_counter.journal_counts()[:2] == journal[:2]

    printed = real_counter.printed_pdfs()
    real_counter.pad.script("246810#", "246810#")
    with counter_window(qtbot, real_counter, settings) as window:  # the next sign-in
        launcher = window.services.start_flow
        assert isinstance(launcher, WizardLauncher)
        resumed = next_wizard(qtbot, launcher)  # opened by itself after the sign-in
        assert resumed.flow.flow_id == flow_id and "继续办理上次未办结的业务" in resumed.windowTitle()
        done = run(qtbot, resumed, {"activate_choice": {"choice": "now"}})
        assert done.kind is StepKind.DONE and done.outcome is not None, done.refusal
        assert done.outcome.result == "已当场制卡，已激活"
        number = done.outcome.acceptance_number
        form = real_counter.printed_form(printed, resumed)

    # the card: no record written twice, every record of the write on it (one the blank card already
    # held — the short name's FF extension — is not written again on resuming), the PIN set
    assert set(card.updates.values()) == {1}
    for record in pending["records"]:
        value = bytes.fromhex(record["data"])[2:]
        blank = set(value) == {0xFF}  # the emulator reads an all-FF record as blank (None)
        assert card.card.record(record["sfi"], record["tag"]) == (None if blank else value)
    if hold == "after":
        assert len(card.updates) == RECORDS
    (row,) = cards_of(real_counter, ssn)
    assert row["status"] == "active" and row["card_identifier"] == card_id
    assert card.card.record(0x05, 0x07) == encoding.an(row["card_number"], 9)
    assert card.card.pin_matches("246810")
    # the server: one application, one card issued, one activation
    assert commands_of(real_counter, ssn) == ["apply", "instant_issue", "activate"]
    assert real_counter.server_transaction(number)["item_code"] == "apply"
    # the journal: the one transaction with its one audit entry, the chain intact; no flow left open
    real_counter.assert_journal(number, "apply")
    assert real_counter.journal_counts()[:2] == (journal[0] + 1, journal[1] + 1)
    assert real_counter.store.load_checkpoint(flow_id) is None
    assert number in form and name in form and row["card_number"] in form


@pytest.fixture(autouse=True)
def _no_card_left(real_counter: RealCounter) -> Any:
    yield
    real_counter.remove_card()
