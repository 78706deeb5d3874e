"""Wizards, part 2, on the real stack (see `tests.ui.wizards.real_stack`) at a bank: 补换卡 with instant
issuance at the 农业银行 quick-issuance outlet that issued the card (换卡 guided from the old card to the
预制卡, 补卡 of a formally lost card), and what the bank may not do — another bank's card, an item
only the 人社 window does — each checked on the emulated cards, the server's database, the local
journal and audit chain, and the printed forms.

The module has its own counter (server, store, readers), enrolled as counter 01 of 农业银行乐山分行营业部
(511102101: quick-issuance equipment, may activate the 社保 function), signed in as its clerk NH0101.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from counter_app.emulator import TEST_CARDS, encoding
from counter_app.ui.main_window import MainWindow
from counter_app.ui.wizards import WizardLauncher
from counter_app.workflows.base import StepKind
from tests.ui.wizards.part2 import next_wizard, wait_told
from tests.ui.wizards.real_stack import ABC_QUICK, RealCounter, insert_and_read, open_item
from tests.ui.wizards.real_stack import keyring_in_memory as keyring_in_memory
from tests.ui.wizards.real_stack import real_counter as real_counter
from tests.ui.wizards.real_stack import real_window as real_window
from tests.ui.wizards.test_flow_wizards import HOLDER_ANSWER, run

pytestmark = [pytest.mark.integration, pytest.mark.pcsc, pytest.mark.gui, pytest.mark.slow]

COUNTER_PLACE = ABC_QUICK


def ssn(label: str) -> str:
    return str(TEST_CARDS[label].social_security_number)


def cards_of(counter: RealCounter, id_number: str) -> list[dict[str, Any]]:
    return counter.server_rows(
        "SELECT c.id, c.status, c.card_number, c.card_identifier, c.bank, c.financial_status, "
        "c.replaces_card_id FROM cards c JOIN persons p ON p.id = c.person_id WHERE p.id_number = :n "
        "ORDER BY c.id",
        n=id_number,
    )


def test_the_counter_is_the_banks_quick_issuance_outlet(real_window: MainWindow) -> None:
    session = real_window.session
    assert session is not None
    assert (session.outlet.code, session.operator.number) == ("511102101", "NH0101")
    assert session.outlet.capabilities.bank == "农业银行" and session.outlet.capabilities.instant_issuance


# --- 补换卡 with instant issuance at the issuing bank -------------------------------------------------------


def test_exchange_at_the_issuing_banks_outlet_writes_the_prefab_and_retires_the_old_card(
    real_window: MainWindow, real_counter: RealCounter, qtbot: QtBot
) -> None:
    old = insert_and_read(qtbot, real_window, real_counter, "card_a")
    printed = real_counter.printed_pdfs()
    real_counter.pad.script("246810#", "246810#")
    wizard = open_item(qtbot, real_window, "replace")
    run(
        qtbot,
        wizard,
        {"variant": {"variant": "instant"}, "replacement": {"reason": "换卡（损坏）"}, **HOLDER_ANSWER},
        until_key="take_out_card",
    )
    wait_told(qtbot, wizard, "请从读卡器取出持卡人的原卡")
    real_counter.remove_card()
    wait_told(qtbot, wizard, "请将空白预制卡插入同一读卡器")
    prefab = real_counter.insert("card_b")  # a blank 预制卡 of the bank's stock
    done = run(qtbot, wizard, {"activate_choice": {"choice": "now"}})
    assert done.kind is StepKind.DONE and done.outcome is not None, done.refusal
    assert done.outcome.result == "已当场制卡，已激活"
    number = done.outcome.acceptance_number

    # the cards: the prefab now holds 张三's new card with the PIN he set; the old card untouched
    rows = {r["card_number"]: r for r in cards_of(real_counter, ssn("card_a"))}
    retired = rows.pop(str(TEST_CARDS["card_a"].card_number))
    ((new_number, new),) = rows.items()
    assert prefab.record(0x05, 0x07) == encoding.an(new_number, 9)
    assert prefab.pin_matches("246810") and old.pin_matches("123456")
    # the server: the old card replaced by the new one, active in both functions (the bank's own card)
    assert retired["status"] == "replaced"
    assert new["replaces_card_id"] == retired["id"] and new["bank"] == "农业银行"
    assert new["card_identifier"] == TEST_CARDS["card_b"].card_id
    assert (new["status"], new["financial_status"]) == ("active", "active")
    server = real_counter.server_transaction(number)
    assert server["command"] == "replace" and server["item_code"] == "replace"
    # the journal and the form
    real_counter.assert_journal(number, "replace")
    form = real_counter.printed_form(printed, wizard)
    assert number in form and "换卡（损坏）" in form and new_number in form and "NH0101" in form


def test_reissue_of_a_formally_lost_card_at_the_issuing_banks_outlet(
    real_window: MainWindow, real_counter: RealCounter, qtbot: QtBot
) -> None:
    holder = ssn("yi_mabian")
    (lost,) = cards_of(real_counter, holder)
    assert lost["status"] == "formal_loss"
    printed = real_counter.printed_pdfs()
    real_counter.pad.script("975310#", "975310#")
    wizard = open_item(qtbot, real_window, "replace")
    run(
        qtbot,
        wizard,
        {
            "variant": {"variant": "instant"},
            "read_card": {"choice": "absent"},
            "identify": {"id_type": "resident_id", "id_number": holder},
            "replacement": {"reason": "补卡（遗失）"},
            **HOLDER_ANSWER,
        },
        until_key="prefab",
    )
    wait_told(qtbot, wizard, "请将空白预制卡插入读卡器")
    prefab = real_counter.insert("prefab_jingyan")
    done = run(qtbot, wizard, {"activate_choice": {"choice": "now"}})
    assert done.kind is StepKind.DONE and done.outcome is not None, done.refusal
    number = done.outcome.acceptance_number
    old, new = cards_of(real_counter, holder)
    assert old["id"] == lost["id"] and old["status"] == "replaced"
    assert (new["status"], new["replaces_card_id"]) == ("active", lost["id"])
    assert prefab.record(0x05, 0x07) == encoding.an(new["card_number"], 9)
    assert prefab.pin_matches("975310")
    real_counter.assert_journal(number, "replace")
    form = real_counter.printed_form(printed, wizard)
    assert "补卡（遗失）" in form and "吉克阿呷" in form and new["card_number"] in form


# --- what the bank may not do ------------------------------------------------------------------------------


def other_banks_holder(counter: RealCounter) -> dict[str, Any]:
    rows = counter.server_rows(
        "SELECT p.id_number, c.card_number, c.bank FROM persons p JOIN cards c ON c.person_id = p.id "
        "WHERE c.status = 'active' AND c.bank IS NOT NULL AND c.bank != '农业银行' "
        "AND p.deceased_on IS NULL AND p.vulnerable_group IS NULL "
        "AND (julianday('now') - julianday(p.birth_date)) / 365.25 >= 18 ORDER BY p.id LIMIT 1"
    )
    assert rows, "the seeded population has no adult with another bank's active card"
    return rows[0]


def test_another_banks_card_is_refused_and_nothing_is_recorded(
    real_window: MainWindow, real_counter: RealCounter, qtbot: QtBot
) -> None:
    person = other_banks_holder(real_counter)
    journal, on_server = real_counter.journal_counts(), real_counter.server_counts()
    wizard = open_item(qtbot, real_window, "replace")
    refused = run(
        qtbot,
        wizard,
        {
            "variant": {"variant": "instant"},
            "read_card": {"choice": "absent"},
            "identify": {"id_type": "resident_id", "id_number": person["id_number"]},
            "replacement": {"reason": "换卡（损坏）"},
            **HOLDER_ANSWER,
        },
    )
    assert refused.kind is StepKind.REFUSED and refused.refusal is not None
    assert refused.refusal.code == "out_of_scope"
    assert person["bank"] in wizard.page_text() and "原发卡银行" in wizard.page_text()
    assert real_counter.journal_counts() == journal and real_counter.server_counts() == on_server
    assert real_counter.card_row(person["card_number"])["status"] == "active"


def test_an_item_only_the_hr_window_does_is_not_offered_and_refused_when_started(
    real_window: MainWindow, real_counter: RealCounter, qtbot: QtBot
) -> None:
    assert "replace" in real_window.visible_codes()
    assert "transfer_region" not in real_window.visible_codes()  # 参保地变更: 人社 only
    journal, on_server = real_counter.journal_counts(), real_counter.server_counts()
    launcher = real_window.services.start_flow
    assert isinstance(launcher, WizardLauncher)
    launcher.start("transfer_region")  # as if started some other way than the menu
    wizard = next_wizard(qtbot, launcher)
    qtbot.waitUntil(lambda: wizard.step.kind is StepKind.REFUSED, timeout=20_000)
    refusal = wizard.step.refusal
    assert refusal is not None and refusal.message in wizard.page_text()
    assert real_counter.journal_counts() == journal and real_counter.server_counts() == on_server


@pytest.fixture(autouse=True)
def _no_card_left(real_counter: RealCounter) -> Iterator[None]:
    yield
    real_counter.remove_card()
