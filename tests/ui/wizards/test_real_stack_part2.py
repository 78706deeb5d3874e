"""Wizards, part 2, on the real stack (see `tests.ui.wizards.real_stack`): 即时制卡 guided through the
card moves (and killed mid-write, and a card pulled mid-write, both finished on the same card), a
name the chip cannot hold, 单位批量申领 from a CSV list, 关键信息变更 → 换卡, 参保地变更, 注销 with the
supervisor's sign-in, 代管代持 registered from the refusal and shown on every page, and the server's
forced-collection warning — each checked on the emulated card, the server's database, the local
journal and audit chain, and the printed forms.

The module has its own counter (server, store, readers): the 人社 window 511102001 with quick-issuance
equipment, signed in as its clerk.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from counter_app.emulator import TEST_CARDS
from counter_app.ui.main_window import MainWindow
from counter_app.ui.qt import QLabel, QPushButton, Qt
from counter_app.ui.wizards import FlowWizard, WizardLauncher
from counter_app.workflows.base import Step, StepKind
from counter_app.workflows.context import Context
from counter_app.workflows.ports import CardTransport
from tests.ui.conftest import activate, press
from tests.ui.wizards.part2 import DiesMidWrite, next_wizard, record_banners, supervisor_confirms, wait_told
from tests.ui.wizards.real_stack import (
    PASSWORDS,
    SUPERVISOR,
    RealCounter,
    counter_window,
    insert_and_read,
    open_item,
    pdf_text,
)
from tests.ui.wizards.real_stack import keyring_in_memory as keyring_in_memory
from tests.ui.wizards.real_stack import real_counter as real_counter
from tests.ui.wizards.real_stack import real_window as real_window
from tests.ui.wizards.test_flow_wizards import HOLDER_ANSWER, run
from tests.workflows.city import resident_id
from tests.workflows.lists import HEADER, write_csv

pytestmark = [pytest.mark.integration, pytest.mark.pcsc, pytest.mark.gui, pytest.mark.slow]


def ssn(label: str) -> str:
    card = TEST_CARDS[label]
    holder = card.holder() or card.intended_holder
    assert holder is not None
    return str(holder.social_security_number)


def identify(label: str) -> dict[str, dict[str, str]]:
    return {"identify": {"id_type": "resident_id", "id_number": ssn(label)}}


def launcher_of(window: MainWindow) -> WizardLauncher:
    launcher = window.services.start_flow
    assert isinstance(launcher, WizardLauncher)
    return launcher


def wrap_context(window: MainWindow, change: Callable[[Context], Context]) -> Callable[[], None]:
    """The production context with a fault put in (the PC dying, the card pulled); undo to restore."""
    launcher = launcher_of(window)
    inner = launcher._make_context

    def make(session: Any) -> Context | None:
        ctx = inner(session)
        return None if ctx is None else change(ctx)

    launcher._make_context = make

    def undo() -> None:
        launcher._make_context = inner

    return undo


def confirm_as_supervisor(qtbot: QtBot, window: MainWindow, wizard: FlowWizard) -> None:
    supervisor_confirms(qtbot, window, wizard, SUPERVISOR, PASSWORDS[SUPERVISOR])


def printed_forms(counter: RealCounter, before: set[Path], count: int, timeout_s: float = 60) -> list[Path]:
    """Wait until cups-pdf wrote ``count`` new jobs; their paths."""
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        new = sorted(counter.printed_pdfs() - before)
        if len(new) >= count:
            return new
        assert time.monotonic() < deadline, f"{len(new)} of {count} forms printed"
        time.sleep(0.2)


# --- 即时制卡 -----------------------------------------------------------------------------------------


def test_instant_issuance_killed_mid_write_is_finished_at_the_next_sign_in_on_the_same_prefab(
    real_window: MainWindow, real_counter: RealCounter, qtbot: QtBot
) -> None:
    prefab = real_counter.card("prefab_jingyan")
    dying: list[DiesMidWrite] = []

    def dies(ctx: Context) -> Context:
        dying.append(DiesMidWrite(ctx.journal))
        return dataclasses.replace(ctx, journal=dying[-1])

    undo = wrap_context(real_window, dies)
    real_counter.pad.script("246810#", "246810#")
    wizard = open_item(qtbot, real_window, "apply")
    answers = {
        "variant": {"variant": "instant"},
        **identify("prefab_jingyan"),
        "application": {"bank": "农业银行"},
    }
    run(qtbot, wizard, {**answers, **HOLDER_ANSWER}, until_key="prefab")
    wait_told(qtbot, wizard, "请将空白预制卡插入读卡器")
    real_counter.insert("prefab_jingyan")
    try:
        qtbot.waitUntil(lambda: wizard.step.key == "write_card" and not wizard.busy, timeout=60_000)
    except Exception:
        raise AssertionError(f"{wizard.step.key} busy={wizard.busy}: {wizard.page_text()}") from None
    assert dying and getattr(dying[-1], "died", False) and "操作未完成" in wizard.page_text()
    flow_id = wizard.flow.flow_id
    checkpoint = real_counter.store.load_checkpoint(flow_id)
    assert checkpoint is not None and checkpoint["data"]["pending_write"] is not None
    undo()
    # the program is killed: the window goes (the store keeps what the dead process wrote)
    wizard.hide()
    real_window.close()
    qtbot.waitUntil(lambda: real_counter.sync.tokens.current is None, timeout=10_000)

    printed = real_counter.printed_pdfs()
    with counter_window(qtbot, real_counter, real_counter.settings) as window:  # the next sign-in
        resumed = next_wizard(qtbot, launcher_of(window))  # opened by itself after the sign-in
        assert resumed.flow.flow_id == flow_id and "继续办理上次未办结的业务" in resumed.windowTitle()
        done = run(qtbot, resumed, {"activate_choice": {"choice": "now"}})
        assert done.kind is StepKind.DONE and done.outcome is not None, done.refusal
        number = done.outcome.acceptance_number
        real_counter.assert_journal(number, "apply")
        card_rows = real_counter.server_rows(
            "SELECT card_number, status, card_identifier FROM cards WHERE card_identifier = :i",
            i=TEST_CARDS["prefab_jingyan"].card_id,
        )
        assert len(card_rows) == 1 and card_rows[0]["status"] == "active"
        commands = [
            r["command"]
            for r in real_counter.server_rows(
                "SELECT t.command FROM transactions t JOIN persons p ON p.id = t.person_id "
                "WHERE p.id_number = :n ORDER BY t.id",
                n=ssn("prefab_jingyan"),
            )
        ]
        assert commands == ["apply", "instant_issue", "activate"]
        assert prefab.pin_matches("246810")  # the emulated prefab: written once, PIN set once
        form = real_counter.printed_form(printed, resumed)
        assert number in form and "赵雨涵" in form and card_rows[0]["card_number"] in form
        assert real_counter.store.load_checkpoint(flow_id) is None


class PullsAtUpdate:
    """The card transport; the vpcd card leaves the reader before the ``n``-th UPDATE RECORD."""

    def __init__(self, inner: CardTransport, counter: RealCounter, n: int) -> None:
        self.inner = inner
        self.counter = counter
        self.n = n
        self.updates = 0
        self.pulled = False

    @property
    def reader_name(self) -> str:
        return self.inner.reader_name

    def atr(self) -> bytes:
        return self.inner.atr()

    def transmit(self, command: bytes | bytearray) -> bytes:
        if len(command) > 1 and command[1] == 0xDC:
            self.updates += 1
            if self.updates == self.n and not self.pulled:
                self.pulled = True
                self.counter.remove_card()
        return self.inner.transmit(command)


def test_a_card_pulled_during_the_write_is_asked_back_and_issued_once(
    real_window: MainWindow, real_counter: RealCounter, qtbot: QtBot
) -> None:
    transports: list[PullsAtUpdate] = []

    def pulls(ctx: Context) -> Context:
        transports.append(PullsAtUpdate(ctx.card_transport, real_counter, 3))
        return dataclasses.replace(ctx, card_transport=transports[-1])

    undo = wrap_context(real_window, pulls)
    try:
        printed = real_counter.printed_pdfs()
        real_counter.pad.script("135246#", "135246#")
        wizard = open_item(qtbot, real_window, "apply")
        answers = {
            "variant": {"variant": "instant"},
            **identify("card_b"),
            "application": {"bank": "农业银行"},
        }
        run(qtbot, wizard, {**answers, **HOLDER_ANSWER}, until_key="prefab")
        wait_told(qtbot, wizard, "请将空白预制卡插入读卡器")
        prefab = real_counter.insert("card_b")
        wait_told(qtbot, wizard, "写卡中断：请将同一张卡插回读卡器")
        assert transports[-1].pulled
        real_counter.card_slot.insert(prefab)
        done = run(qtbot, wizard, {"activate_choice": {"choice": "now"}})
    finally:
        undo()
    assert done.kind is StepKind.DONE and done.outcome is not None, done.refusal
    real_counter.assert_journal(done.outcome.acceptance_number, "apply")
    rows = real_counter.server_rows(
        "SELECT card_number, status FROM cards WHERE card_identifier = :i", i=TEST_CARDS["card_b"].card_id
    )
    assert len(rows) == 1 and rows[0]["status"] == "active"
    assert prefab.pin_matches("135246")
    assert rows[0]["card_number"] in real_counter.printed_form(printed, wizard)


def test_instant_issuance_of_a_name_the_chip_cannot_hold_is_refused_before_anything(
    real_window: MainWindow, real_counter: RealCounter, qtbot: QtBot
) -> None:
    journal, on_server = real_counter.journal_counts(), real_counter.server_counts()
    wizard = open_item(qtbot, real_window, "apply")
    refused = run(
        qtbot,
        wizard,
        {
            "variant": {"variant": "instant"},
            **identify("rare_char"),
            "application": {"bank": "农业银行"},
            **HOLDER_ANSWER,
        },
    )
    assert refused.kind is StepKind.REFUSED and refused.refusal is not None
    assert refused.refusal.code == "name_not_writable" and "普通申领" in wizard.page_text()
    assert real_counter.journal_counts() == journal and real_counter.server_counts() == on_server


# --- 单位批量申领 -------------------------------------------------------------------------------------------


def test_a_school_applies_for_new_pupils_from_a_csv_list(
    real_window: MainWindow, real_counter: RealCounter, qtbot: QtBot, tmp_path: Path
) -> None:
    pupils = [
        ("何小川", resident_id("511102", date(2014, 3, 2), "051"), "男", "汉族"),
        ("沙玛阿果", resident_id("511132", date(2014, 7, 9), "062"), "女", "彝族"),
    ]
    rows: list[list[Any]] = [list(HEADER)]
    rows += [[i, n, idn, s, e, "", ""] for i, (n, idn, s, e) in enumerate(pupils, 1)]
    unit = {
        "unit_name": "乐山市实验小学",
        "letter_number": "LS2026-12",
        "bank": "农业银行",
        "agent_name": "周老师",
        "agent_id_type": "resident_id",
        "agent_id_number": resident_id("511102", date(1980, 6, 1), "043"),
    }

    # a list with a pupil who holds a card already: nothing is submitted
    listed = [*rows, [3, "张三", ssn("card_a"), "", "汉族", "", ""]]
    journal, on_server = real_counter.journal_counts(), real_counter.server_counts()
    wizard = open_item(qtbot, real_window, "apply")
    step = run(
        qtbot,
        wizard,
        {
            "variant": {"variant": "batch"},
            "batch": {**unit, "list_file": str(write_csv(tmp_path / "a.csv", listed))},
        },
        until_problem=True,
    )
    assert step.problem is not None and step.problem.code == "list_rows_invalid"
    assert "第 4 行（张三）" in wizard.page_text() and "本批申领未提交任何人" in wizard.page_text()
    assert real_counter.journal_counts() == journal and real_counter.server_counts() == on_server
    press(qtbot, wizard, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: wizard.step.key == "cancelled")

    printed = real_counter.printed_pdfs()
    wizard = open_item(qtbot, real_window, "apply")
    done = run(
        qtbot,
        wizard,
        {
            "variant": {"variant": "batch"},
            "batch": {**unit, "list_file": str(write_csv(tmp_path / "b.csv", rows))},
        },
    )
    assert done.kind is StepKind.DONE and done.outcome is not None, done.refusal
    assert done.outcome.result.startswith("已受理批量申领 2 人")
    for name, number, _, _ in pupils:
        (person,) = real_counter.server_rows("SELECT id, name FROM persons WHERE id_number = :n", n=number)
        assert person["name"] == name
        (card,) = real_counter.server_rows("SELECT status FROM cards WHERE person_id = :p", p=person["id"])
        assert card["status"] == "applied"
        (transaction,) = real_counter.server_rows(
            "SELECT acceptance_number, agent, requester FROM transactions WHERE person_id = :p",
            p=person["id"],
        )
        real_counter.assert_journal(transaction["acceptance_number"], "apply")
        agent = transaction["agent"]
        assert (json.loads(agent) if isinstance(agent, str) else agent)["name"] == "周老师"
    new = printed_forms(real_counter, printed, 2)
    assert len(new) == 2


# --- 关键信息变更 → 换卡 ------------------------------------------------------------------------------------


def test_key_information_change_leads_into_the_exchange(
    real_window: MainWindow, real_counter: RealCounter, qtbot: QtBot
) -> None:
    old_number = str(TEST_CARDS["card_a"].card_number)
    printed = real_counter.printed_pdfs()
    wizard = open_item(qtbot, real_window, "change_key_info")
    done = run(
        qtbot,
        wizard,
        {**identify("card_a"), "changes": {"name": "张叁", "evidence": "户口簿"}, **HOLDER_ANSWER},
    )
    assert done.kind is StepKind.DONE and done.outcome is not None, done.refusal
    real_counter.assert_journal(done.outcome.acceptance_number, "change_key_info")
    assert real_counter.server_transaction(done.outcome.acceptance_number)["command"] == "change_key_info"
    assert real_counter.server_rows("SELECT name FROM persons WHERE id_number = :n", n=ssn("card_a")) == [
        {"name": "张叁"}
    ]
    assert "换卡（卡面信息变更）" in real_counter.printed_form(printed, wizard)

    button = wizard.findChild(QPushButton, "followUpButton")
    assert button is not None
    button.setFocus()
    press(qtbot, button, Qt.Key.Key_Space)
    exchange = next_wizard(qtbot, launcher_of(real_window))
    assert exchange.step.key == "materials"
    printed = real_counter.printed_pdfs()
    done = run(qtbot, exchange)
    assert done.kind is StepKind.DONE and done.outcome is not None, done.refusal
    real_counter.assert_journal(done.outcome.acceptance_number, "replace")
    server = real_counter.server_transaction(done.outcome.acceptance_number)
    assert server["command"] == "replace"
    old = real_counter.card_row(old_number)
    assert old["status"] == "active" and old["replacement_applied"]  # 换: until the new card is collected
    new = real_counter.server_rows("SELECT status FROM cards WHERE replaces_card_id = :i", i=old["id"])
    assert new == [{"status": "applied"}]
    form = real_counter.printed_form(printed, exchange)
    assert "换卡（卡面信息变更）" in form and "张叁" in form


# --- 参保地变更 -------------------------------------------------------------------------------------------------


def test_region_transfer_records_the_transfer_proof_on_the_server(
    real_window: MainWindow, real_counter: RealCounter, qtbot: QtBot
) -> None:
    printed = real_counter.printed_pdfs()
    wizard = open_item(qtbot, real_window, "transfer_region")
    done = run(
        qtbot,
        wizard,
        {
            **identify("muchuan_v3"),
            "transfer": {"to_region": "511181", "certificate_number": "CHUAN-ZHUAN-2026-0815"},
            **HOLDER_ANSWER,
        },
    )
    assert done.kind is StepKind.DONE and done.outcome is not None, done.refusal
    number = done.outcome.acceptance_number
    real_counter.assert_journal(number, "transfer_region")
    server = real_counter.server_transaction(number)
    assert server["command"] == "transfer_region" and "CHUAN-ZHUAN-2026-0815" in str(server["details"])
    assert real_counter.server_rows(
        "SELECT insured_region FROM persons WHERE id_number = :n", n=ssn("muchuan_v3")
    ) == [{"insured_region": "511181"}]
    form = real_counter.printed_form(printed, wizard)
    assert "CHUAN-ZHUAN-2026-0815" in form and "峨眉山市" in form


# --- 注销 ------------------------------------------------------------------------------------------------------------


def test_cancellation_is_confirmed_by_the_supervisors_sign_in(
    real_window: MainWindow, real_counter: RealCounter, qtbot: QtBot
) -> None:
    insert_and_read(qtbot, real_window, real_counter, "locked")
    printed = real_counter.printed_pdfs()
    wizard = open_item(qtbot, real_window, "cancel_card")
    run(qtbot, wizard, {"reason": {"reason": "abroad"}, **HOLDER_ANSWER}, until_key="supervisor")
    confirm_as_supervisor(qtbot, real_window, wizard)
    done = run(qtbot, wizard)
    assert done.kind is StepKind.DONE and done.outcome is not None, done.refusal
    number = done.outcome.acceptance_number
    real_counter.assert_journal(number, "cancel_card")
    server = real_counter.server_transaction(number)
    assert server["command"] == "cancel_card" and server["confirmer_number"] == SUPERVISOR
    assert real_counter.card_row(str(TEST_CARDS["locked"].card_number))["status"] == "cancelled"
    form = real_counter.printed_form(printed, wizard)
    assert "出国（境）定居" in form and SUPERVISOR in form

    # the cancelled card again: refused, nothing recorded
    journal, on_server = real_counter.journal_counts(), real_counter.server_counts()
    refused = run(qtbot, open_item(qtbot, real_window, "cancel_card"), HOLDER_ANSWER)
    assert refused.kind is StepKind.REFUSED and refused.refusal is not None
    assert real_counter.journal_counts() == journal and real_counter.server_counts() == on_server


# --- 代管代持 and the forced-collection warning -------------------------------------------------------------------


def four_groups_person(counter: RealCounter) -> dict[str, Any]:
    rows = counter.server_rows(
        "SELECT p.id, p.id_number, p.name, c.card_number FROM persons p JOIN cards c ON c.person_id = p.id "
        "WHERE p.vulnerable_group IS NOT NULL AND c.status = 'active' AND p.deceased_on IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM custody_authorisations a WHERE a.person_id = p.id) "
        "AND (julianday('now') - julianday(p.birth_date)) / 365.25 >= 18 ORDER BY p.id LIMIT 1"
    )
    assert rows, "the seeded population has no adult of the 四类人 with an active card"
    return rows[0]


def test_custody_registered_from_the_refusal_then_shown_on_every_page(
    real_window: MainWindow, real_counter: RealCounter, qtbot: QtBot
) -> None:
    person = four_groups_person(real_counter)
    custodian = {
        "requester": "custodian",
        "agent_name": "王志强",
        "agent_id_type": "resident_id",
        "agent_id_number": resident_id("511181", date(1990, 3, 15), "401"),
        "relation": "侄子",
        "documents": ["agent_id", "principal_id", "custody"],
    }
    answers = {
        "variant": {"variant": "temporary"},
        "identify": {"id_type": "resident_id", "id_number": person["id_number"]},
        "reason": {"reason": "遗失"},
        "presenter": custodian,
    }
    journal, on_server = real_counter.journal_counts(), real_counter.server_counts()
    wizard = open_item(qtbot, real_window, "report_loss")
    refused = run(qtbot, wizard, answers)
    assert refused.refusal is not None and refused.refusal.code == "custody_not_authorised"
    assert real_counter.journal_counts() == journal and real_counter.server_counts() == on_server

    button = wizard.findChild(QPushButton, "followUpButton")
    assert button is not None
    button.setFocus()
    press(qtbot, button, Qt.Key.Key_Space)
    custody = next_wizard(qtbot, launcher_of(real_window))
    assert custody.step.key == "custodian"
    printed = real_counter.printed_pdfs()
    run(
        qtbot,
        custody,
        {"custodian": {"reason": "持卡人重度残疾，无法自行使用社会保障卡"}},
        until_key="supervisor",
    )
    confirm_as_supervisor(qtbot, real_window, custody)
    done = run(qtbot, custody)
    assert done.kind is StepKind.DONE and done.outcome is not None, done.refusal
    number = done.outcome.acceptance_number
    real_counter.assert_journal(number, "custody_authorisation")
    server = real_counter.server_transaction(number)
    assert server["command"] == "authorise_custody" and server["confirmer_number"] == SUPERVISOR
    (row,) = real_counter.server_rows(
        "SELECT custodian_name, relation, approved_by FROM custody_authorisations WHERE person_id = :p",
        p=person["id"],
    )
    assert row == {"custodian_name": "王志强", "relation": "侄子", "approved_by": SUPERVISOR}
    form = real_counter.printed_form(printed, custody)
    assert "代管代持授权" in form and "王志强" in form and SUPERVISOR in form
    press(qtbot, custody, Qt.Key.Key_Return)
    activate(qtbot, real_window)

    # the custodian reports the card lost: the authorisation is shown on every page
    wizard = open_item(qtbot, real_window, "report_loss")
    banners = record_banners(wizard)
    done = run(qtbot, wizard, {**answers, "presenter": {**custodian, "requester": "other"}})
    assert done.kind is StepKind.DONE and done.outcome is not None, done.refusal
    shown = [(key, text) for key, text in banners() if key != "identify"]
    assert shown and all("王志强（侄子" in text for _, text in shown), shown
    server = real_counter.server_transaction(done.outcome.acceptance_number)
    assert server["requester"] == "custodian"
    assert real_counter.card_row(person["card_number"])["status"] == "temp_loss"


def test_the_servers_forced_collection_warning_is_shown_to_the_clerk(
    real_window: MainWindow, real_counter: RealCounter, qtbot: QtBot
) -> None:
    principals = real_counter.server_rows(
        "SELECT p.id_number FROM persons p JOIN cards c ON c.person_id = p.id "
        "WHERE p.vulnerable_group IS NULL AND c.status = 'active' AND p.deceased_on IS NULL "
        "AND (julianday('now') - julianday(p.birth_date)) / 365.25 >= 18 ORDER BY p.id DESC LIMIT 4"
    )
    assert len(principals) == 4
    agent_number = resident_id("511102", date(1970, 1, 1), "995")
    agent = {
        "requester": "other",
        "agent_name": "某村干部",
        "agent_id_type": "resident_id",
        "agent_id_number": agent_number,
        "relation": "村干部",
        "documents": ["agent_id", "principal_id"],
    }
    step: Step | None = None
    wizard: FlowWizard | None = None
    for principal in principals:
        wizard = open_item(qtbot, real_window, "report_loss")
        step = run(
            qtbot,
            wizard,
            {
                "variant": {"variant": "temporary"},
                "identify": {"id_type": "resident_id", "id_number": principal["id_number"]},
                "reason": {"reason": "遗失"},
                "presenter": agent,
            },
        )
        assert step.kind is StepKind.DONE, step.refusal
        if step is not None and not step.alerts:
            press(qtbot, wizard, Qt.Key.Key_Return)
    assert step is not None and wizard is not None and step.alerts
    alert = wizard.findChild(QLabel, "alertText")
    assert alert is not None and "强制代领" in alert.text()
    notices = real_counter.server_rows(
        "SELECT kind, message FROM supervisor_notices WHERE kind = 'forced_collection'"
    )
    assert notices and agent_number[-4:] in notices[-1]["message"]
    assert step.outcome is not None
    form = pdf_text(wizard.flow.ctx.renderer.last_pdf)  # type: ignore[attr-defined]
    assert "强制代领" not in form


@pytest.fixture(autouse=True)
def _no_card_left(real_counter: RealCounter) -> Iterator[None]:
    yield
    real_counter.remove_card()
