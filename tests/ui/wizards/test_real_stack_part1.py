"""Wizards, part 1, on the real stack (see `tests.ui.wizards.real_stack`): 密码修改, 密码重置/解锁,
激活, 挂失, 解挂, 非关键信息变更, 信息查询 and 补贴查询 — each allowed path and its refusals, with the
emulated card, the server's records, the local journal and audit chain, and the printed form checked.

The module shares one counter (server, store, readers): each test works on its own test card.
"""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
from pytestqt.qtbot import QtBot

from counter_app.emulator import TEST_CARDS
from counter_app.ui.main_window import MainWindow
from counter_app.ui.qt import Qt
from counter_app.workflows.base import StepKind
from tests.ui.conftest import press
from tests.ui.wizards.real_stack import (
    RealCounter,
    insert_and_read,
    open_item,
    pdf_text,
)
from tests.ui.wizards.real_stack import keyring_in_memory as keyring_in_memory
from tests.ui.wizards.real_stack import real_counter as real_counter
from tests.ui.wizards.real_stack import real_window as real_window
from tests.ui.wizards.test_flow_wizards import HOLDER_ANSWER, run

pytestmark = [pytest.mark.integration, pytest.mark.pcsc, pytest.mark.gui, pytest.mark.slow]


def identify(label: str) -> dict[str, dict[str, str]]:
    holder = TEST_CARDS[label].holder()
    assert holder is not None
    return {"identify": {"id_type": "resident_id", "id_number": holder.social_security_number}}


def card_number(label: str) -> str:
    number = TEST_CARDS[label].card_number
    assert number
    return str(number)


# --- 密码修改 ----------------------------------------------------------------------------------------


def test_pin_change_changes_the_pin_on_the_card_and_is_recorded_everywhere(
    real_window: MainWindow, real_counter: RealCounter, qtbot: QtBot
) -> None:
    card = insert_and_read(qtbot, real_window, real_counter, "muchuan_v3")
    printed = real_counter.printed_pdfs()
    # first the citizen types a wrong old PIN: the step says so with the tries left; 重试 works
    real_counter.pad.script("111111#", "852741#", "852741#", "147258#", "852741#", "852741#")
    wizard = open_item(qtbot, real_window, "pin_change")
    assert "申请条件" in wizard.ui.itemLabel.text()
    problem = run(qtbot, wizard, HOLDER_ANSWER, until_problem=True).problem
    assert problem is not None and problem.code == "pin_incorrect" and "5" in problem.message
    assert problem.message in wizard.page_text()
    assert card.pin_tries_left == 5 and card.pin_matches("147258")
    with qtbot.waitSignal(wizard.step_shown, timeout=30_000):
        press(qtbot, wizard.focusWidget() or wizard, Qt.Key.Key_Return)  # 重试
    done = run(qtbot, wizard, HOLDER_ANSWER)
    assert done.kind is StepKind.DONE and done.outcome is not None, done.refusal
    assert card.pin_matches("852741") and card.pin_tries_left == 6
    number = done.outcome.acceptance_number
    real_counter.assert_journal(number, "pin_change")
    assert real_counter.server_transaction(number)["item_code"] == "pin_change"
    form = real_counter.printed_form(printed, wizard)
    assert number in form and "密码修改" in form and "陈晓燕" in form
    assert wizard.preview is not None
    assert real_counter.pad.script_left == 0


# --- 密码重置 / 解锁 -----------------------------------------------------------------------------------


def test_pin_reset_reloads_a_locked_pin_and_unblock_refuses_a_card_not_locked(
    real_window: MainWindow, real_counter: RealCounter, qtbot: QtBot
) -> None:
    card = insert_and_read(qtbot, real_window, real_counter, "locked")
    assert card.pin_tries_left == 0
    printed = real_counter.printed_pdfs()
    real_counter.pad.script("864209#", "864209#")
    wizard = open_item(qtbot, real_window, "pin_reset")
    done = run(qtbot, wizard, {"variant": {"variant": "reset"}, **HOLDER_ANSWER})
    assert done.kind is StepKind.DONE and done.outcome is not None, done.refusal
    assert card.pin_matches("864209") and card.pin_tries_left == 6
    number = done.outcome.acceptance_number
    real_counter.assert_journal(number, "pin_reset")
    server = real_counter.server_transaction(number)
    assert (server["item_code"], server["command"]) == ("pin_reset", "pin_reset")
    assert number in real_counter.printed_form(printed, wizard)

    # 解锁 of a card whose PIN is not locked: refused in words, nothing recorded anywhere
    insert_and_read(qtbot, real_window, real_counter, "long_name")
    journal, on_server = real_counter.journal_counts(), real_counter.server_counts()
    wizard = open_item(qtbot, real_window, "pin_reset")
    refused = run(qtbot, wizard, {"variant": {"variant": "unblock"}, **HOLDER_ANSWER})
    assert refused.kind is StepKind.REFUSED and refused.refusal is not None
    assert refused.refusal.code == "pin_not_locked" and refused.refusal.message in wizard.page_text()
    assert real_counter.journal_counts() == journal and real_counter.server_counts() == on_server
    assert real_counter.card("long_name").pin_tries_left == 6


# --- 激活 ---------------------------------------------------------------------------------------------


def test_activation_keeps_a_pin_the_holder_set_before_and_activates_on_the_server(
    real_window: MainWindow, real_counter: RealCounter, qtbot: QtBot
) -> None:
    number_on_card = card_number("qianwei_v1")
    assert real_counter.card_row(number_on_card)["status"] == "issued_inactive"
    card = insert_and_read(qtbot, real_window, real_counter, "qianwei_v1")
    printed = real_counter.printed_pdfs()
    # the holder set a PIN on this card long ago: setting a new one over the initial PIN fails,
    # the step says so and asks for the holder's own PIN instead, which is then kept
    real_counter.pad.script("975310#", "975310#", "135790#")
    wizard = open_item(qtbot, real_window, "activate")
    answers = {"variant": {"variant": "social"}, **HOLDER_ANSWER}
    problem = run(qtbot, wizard, answers, until_problem=True).problem
    assert problem is not None and problem.code == "not_initial_pin"
    assert problem.message in wizard.page_text() and "自己的密码" in wizard.page_text()
    with qtbot.waitSignal(wizard.step_shown, timeout=30_000):
        press(qtbot, wizard.focusWidget() or wizard, Qt.Key.Key_Return)  # 重试: the holder's own PIN
    done = run(qtbot, wizard, answers)
    assert done.kind is StepKind.DONE and done.outcome is not None, done.refusal
    assert card.pin_matches("135790") and card.pin_tries_left == 6
    number = done.outcome.acceptance_number
    real_counter.assert_journal(number, "activate")
    assert real_counter.server_transaction(number)["command"] == "activate"
    assert real_counter.card_row(number_on_card)["status"] == "active"
    form = real_counter.printed_form(printed, wizard)
    assert number in form and "激活" in form and "核对后保留" in form

    # the same card again: already active, refused before the pad is asked
    journal = real_counter.journal_counts()
    wizard = open_item(qtbot, real_window, "activate")
    refused = run(qtbot, wizard, {"variant": {"variant": "social"}, **HOLDER_ANSWER})
    assert refused.refusal is not None and refused.refusal.code == "already_active"
    assert refused.refusal.message in wizard.page_text()
    assert real_counter.journal_counts() == journal and card.pin_tries_left == 6


# --- 挂失 / 解挂 -------------------------------------------------------------------------------------


def test_temporary_loss_then_cancelled_with_the_found_card(
    real_window: MainWindow, real_counter: RealCounter, qtbot: QtBot
) -> None:
    lost = card_number("card_a")
    printed = real_counter.printed_pdfs()
    wizard = open_item(qtbot, real_window, "report_loss")
    loss = run(
        qtbot,
        wizard,
        {
            "variant": {"variant": "temporary"},
            "read_card": {"choice": "absent"},
            "reason": {"reason": "遗失"},
            **identify("card_a"),
            **HOLDER_ANSWER,
        },
    )
    assert loss.kind is StepKind.DONE and loss.outcome is not None, loss.refusal
    real_counter.assert_journal(loss.outcome.acceptance_number, "report_loss")
    assert real_counter.server_transaction(loss.outcome.acceptance_number)["command"] == "report_loss_temp"
    assert real_counter.card_row(lost)["status"] == "temp_loss"
    assert "已临时挂失" in real_counter.printed_form(printed, wizard)

    # 临时挂失 once more is refused (only an upgrade to 正式挂失 is possible)
    journal = real_counter.journal_counts()
    again = run(
        qtbot,
        open_item(qtbot, real_window, "report_loss"),
        {"variant": {"variant": "temporary"}, "read_card": {"choice": "absent"}, **identify("card_a")},
    )
    assert again.kind is StepKind.REFUSED and again.refusal is not None
    assert real_counter.journal_counts() == journal and real_counter.card_row(lost)["status"] == "temp_loss"

    # the holder found the card: 解挂 with it in the reader
    insert_and_read(qtbot, real_window, real_counter, "card_a")
    printed = real_counter.printed_pdfs()
    wizard = open_item(qtbot, real_window, "cancel_loss")
    found = run(qtbot, wizard, HOLDER_ANSWER)
    assert found.kind is StepKind.DONE and found.outcome is not None, found.refusal
    real_counter.assert_journal(found.outcome.acceptance_number, "cancel_loss")
    assert real_counter.server_transaction(found.outcome.acceptance_number)["command"] == "cancel_loss"
    assert real_counter.card_row(lost)["status"] == "active"
    assert "解挂" in real_counter.printed_form(printed, wizard)

    # and 解挂 of a card that is not lost: refused, nothing recorded
    journal, on_server = real_counter.journal_counts(), real_counter.server_counts()
    refused = run(qtbot, open_item(qtbot, real_window, "cancel_loss"), HOLDER_ANSWER)
    assert refused.kind is StepKind.REFUSED and refused.refusal is not None
    assert real_counter.journal_counts() == journal and real_counter.server_counts() == on_server


# --- 非关键信息变更 --------------------------------------------------------------------------------


def test_contact_change_reaches_the_server_and_a_bad_phone_is_shown(
    real_window: MainWindow, real_counter: RealCounter, qtbot: QtBot
) -> None:
    holder = TEST_CARDS["long_name"].holder()
    assert holder is not None
    printed = real_counter.printed_pdfs()
    answers = {
        "read_card": {"choice": "absent"},
        **identify("long_name"),
        "contact": {"address": "乐山市市中区嘉定北路1号", "phone": "13990001234"},
        **HOLDER_ANSWER,
    }
    wizard = open_item(qtbot, real_window, "change_contact")
    done = run(qtbot, wizard, answers)
    assert done.kind is StepKind.DONE and done.outcome is not None, done.refusal
    number = done.outcome.acceptance_number
    real_counter.assert_journal(number, "change_contact")
    assert real_counter.server_transaction(number)["command"] == "change_contact"
    person = real_counter.server_rows(
        "SELECT address, phone FROM persons WHERE id_number = :n", n=holder.social_security_number
    )
    assert person == [{"address": "乐山市市中区嘉定北路1号", "phone": "13990001234"}]
    assert "嘉定北路" in real_counter.printed_form(printed, wizard)

    # a phone number that is not one: the page says so; Esc then cancels with nothing written
    journal = real_counter.journal_counts()
    wizard = open_item(qtbot, real_window, "change_contact")
    step = run(qtbot, wizard, {**answers, "contact": {"phone": "12345"}}, until_problem=True)
    assert step.key == "contact" and step.problem is not None and step.problem.code == "phone_invalid"
    assert step.problem.message in wizard.page_text()
    with qtbot.waitSignal(wizard.step_shown, timeout=20_000):
        press(qtbot, wizard.focusWidget() or wizard, Qt.Key.Key_Escape)
    assert wizard.step.key == "cancelled" and real_counter.journal_counts() == journal


# --- 信息查询 with the household's subsidy payments -------------------------------------------------


def test_query_shows_the_households_payments_with_reasons_and_prints_the_statement(
    real_window: MainWindow, real_counter: RealCounter, qtbot: QtBot
) -> None:
    # a household of the seeded population: the one asking, and a member whose payment failed
    household = real_counter.server_rows(
        "SELECT household_id FROM persons WHERE household_id IS NOT NULL "
        "GROUP BY household_id HAVING count(*) >= 2 ORDER BY household_id LIMIT 1"
    )[0]["household_id"]
    asking, member = real_counter.server_rows(
        "SELECT id_number, name FROM persons WHERE household_id = :h ORDER BY id LIMIT 2", h=household
    )
    period = f"{date.today().replace(day=1) - timedelta(days=1):%Y%m}"
    older = f"{date.today().year - 2}03"  # before the 12 months the query loads first
    real_counter.admin_post(
        "/subsidies/payments/import",
        {
            "batch_number": "RS-TEST-1",
            "records": [
                {
                    "beneficiary": {"id_type": "resident_id", "id_number": asking["id_number"]},
                    "item_code": "16.1",
                    "period": period,
                    "amount_fen": 7000,
                    "status": "paid",
                    "paid_on": date.today().isoformat(),
                },
                {
                    "beneficiary": {"id_type": "resident_id", "id_number": member["id_number"]},
                    "item_code": "16.1",
                    "period": period,
                    "amount_fen": 7000,
                    "status": "failed",
                    "failure_reason": "card_lost",
                },
                {
                    "beneficiary": {"id_type": "resident_id", "id_number": asking["id_number"]},
                    "item_code": "16.1",
                    "period": older,
                    "amount_fen": 6500,
                    "status": "paid",
                    "paid_on": f"{older[:4]}-{older[4:]}-20",
                },
            ],
        },
        key="real-stack-import-1",
    )
    answers = {
        "read_card": {"choice": "absent"},
        "identify": {"id_type": "resident_id", "id_number": asking["id_number"]},
        **HOLDER_ANSWER,
    }
    printed = real_counter.printed_pdfs()
    wizard = open_item(qtbot, real_window, "query")
    done = run(qtbot, wizard, answers)
    assert done.kind is StepKind.DONE and done.outcome is not None, done.refusal
    number = done.outcome.acceptance_number
    real_counter.assert_journal(number, "query")
    assert "查询" in real_counter.printed_form(printed, wizard)

    panel = wizard.subsidies
    assert panel is not None
    text = wizard.page_text()
    assert f"{period}　70.00 元　已发\n" in text or text.endswith(f"{period}　70.00 元　已发")
    assert f"{period}　70.00 元　失败　（家庭成员：{member['name']}）" in text and "失败原因：卡挂失" in text
    assert {b.objectName() for b in panel.fix_buttons} >= {"fix_cancel_loss"}
    assert f"{older}　65.00 元" not in text

    # another 发放期间, asked of the server: the older payment, and only what that period holds
    panel.period_from.setText(f"{older[:4]}01")
    panel.period_to.setText(f"{older[:4]}12")
    with qtbot.waitSignal(panel.reloaded, timeout=60_000) as reloaded:
        press(qtbot, panel.reload_button, Qt.Key.Key_Space)
    assert reloaded.args == [1]
    text = wizard.page_text()
    assert f"{older}　65.00 元　已发" in text and f"{period}　70.00 元" not in text
    panel.period_from.setText(f"{older[:4]}01")
    panel.period_to.setText(period)
    with qtbot.waitSignal(panel.reloaded, timeout=60_000) as reloaded:
        press(qtbot, panel.reload_button, Qt.Key.Key_Space)
    assert reloaded.args == [3]

    before = real_counter.printed_pdfs()
    with qtbot.waitSignal(panel.printed, timeout=60_000):
        press(qtbot, wizard, Qt.Key.Key_F10)
    assert panel.last_pdf is not None
    statement = pdf_text(panel.last_pdf)
    assert "补贴发放明细" in statement and member["name"] in statement
    assert "65.00" in statement and f"{older[:4]}年01月" in statement  # the period shown is printed
    assert number[-4:] in statement
    deadline = time.monotonic() + 60
    while not (real_counter.printed_pdfs() - before):
        assert time.monotonic() < deadline, "the statement never came out of the printer queue"
        time.sleep(0.2)

    # who looked at which periods and printed them after the query was recorded: on the audit chain
    entries = real_counter.audit_entries(number)
    looked = f"{older[:4]}年01月至{older[:4]}年12月"
    assert [(e["event"], e["item_code"], e["result"]) for e in entries] == [
        ("transaction", "query", entries[0]["result"]),
        ("subsidy_query", "query", f"再查询补贴发放 {looked}，1 条"),
        ("subsidy_query", "query", f"再查询补贴发放 {older[:4]}年01月至{period[:4]}年{period[4:]}月，3 条"),
        (
            "subsidy_statement",
            "query",
            f"打印补贴发放明细 {older[:4]}年01月至{period[:4]}年{period[4:]}月，3 条",
        ),
    ]
    assert len({e["holder_ref"] for e in entries}) == 1
    assert real_counter.store.verify_audit().intact


# --- the card panel and a wizard on one reader -------------------------------------------------------


def test_the_card_panel_does_not_read_while_a_wizard_drives_the_card(
    real_window: MainWindow, real_counter: RealCounter, qtbot: QtBot
) -> None:
    """The panel's read is one device job, the flow's APDUs are one job each: a panel read coming
    between a flow's SELECT and its write would break the write, so the panel waits its turn."""
    cards = real_window.cards
    assert cards is not None and cards.reading is None
    wizard = open_item(qtbot, real_window, "query")
    assert cards.held
    real_counter.card_slot.insert(real_counter.card("emeishan_v2"))
    qtbot.waitUntil(lambda: cards.card_present, timeout=20_000)
    qtbot.wait(1_000)
    assert cards.reading is None  # inserted, not read by the panel
    press(qtbot, wizard.focusWidget() or wizard, Qt.Key.Key_Escape)  # 取消办理: nothing was done
    qtbot.waitUntil(lambda: wizard.step.key == "cancelled" or not wizard.isVisible(), timeout=10_000)
    assert cards.held and cards.reading is None
    with qtbot.waitSignal(cards.read_finished, timeout=20_000):
        if wizard.isVisible():
            press(qtbot, wizard.focusWidget() or wizard, Qt.Key.Key_Return)  # 关闭
        qtbot.waitUntil(lambda: not wizard.isVisible(), timeout=10_000)
    assert not cards.held
    assert cards.reading is not None and cards.reading.info.card_number == card_number("emeishan_v2")
