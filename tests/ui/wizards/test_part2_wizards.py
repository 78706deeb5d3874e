"""Wizards, part 2, driven by keyboard through the shell against the in-process counter world:
申领 (本人, 监护人代办, 单位批量 from an Excel/CSV list), 即时制卡, 领卡, 补换卡 with the card moves
guided (and a card pulled, and the program killed, mid-issuance), 关键信息变更 → 换卡, 参保地变更,
注销 and 代管代持 — each allowed path and its refusals with the card, the server, the journal
(transaction and audit) and the printed form checked."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import keyring
import pytest
from pytestqt.qtbot import QtBot

from counter_app.domain.card_lifecycle import SocialStatus
from counter_app.emulator import TEST_CARDS, build_card
from counter_app.store import Store, database_path
from counter_app.training.devices import EmulatedDevices
from counter_app.ui.main_window import MainWindow
from counter_app.ui.qt import QLabel, QPushButton, Qt
from counter_app.ui.wizards import FlowWizard, WizardLauncher
from counter_app.workflows.base import Step, StepKind
from tests.store.memory_keyring import MemoryKeyring
from tests.ui.conftest import Shell, activate, press, signed_in
from tests.ui.wizards.part2 import (
    Counter,
    DiesMidWrite,
    next_wizard,
    open_by_keyboard,
    progress_text,
    record_banners,
    supervisor_confirms,
    wait_told,
)
from tests.ui.wizards.test_flow_wizards import HOLDER_ANSWER, fill, pdf_text, run
from tests.workflows.city import resident_id
from tests.workflows.faults import PullingTransport
from tests.workflows.helpers import ABC_PLAIN, ABC_QUICK, AGENT_ID, HR, MINOR_ID, by_id, holder_of
from tests.workflows.lists import HEADER, write_csv, write_xlsx

OpenWizard = Callable[[str], FlowWizard]

#: The shell operator signed in for each outlet of the flow world.
SHELL_CLERK = {HR.code: "HR0101", ABC_QUICK.code: "NH0101", ABC_PLAIN.code: "NH0101"}


@pytest.fixture
def counter(request: pytest.FixtureRequest) -> Counter:
    outlet = getattr(request, "param", HR)
    return Counter(outlet)


@pytest.fixture
def window(shell: Shell, qtbot: QtBot, counter: Counter) -> MainWindow:
    launcher = counter.launcher = WizardLauncher(counter.context)
    window = counter.window = shell(start_flow=launcher)
    signed_in(qtbot, window, SHELL_CLERK[counter.outlet.code])
    return window


@pytest.fixture
def open_wizard(window: MainWindow, qtbot: QtBot, counter: Counter) -> OpenWizard:
    assert counter.launcher is not None
    launcher = counter.launcher
    return lambda code: open_by_keyboard(qtbot, window, launcher, code)


def record_of(counter: Counter, done: Step, item: str) -> Any:
    """The local transaction and its audit entry, as the wizard ended."""
    assert done.kind is StepKind.DONE and done.outcome is not None, done.refusal
    number = done.outcome.acceptance_number
    memory = counter.world.memory
    record = memory.transactions[number]
    assert record.item_code == item
    assert [a for a in memory.audit if a["acceptance_number"] == number] == [
        {"acceptance_number": number, "result": record.result}
    ]
    return record


def form_text(counter: Counter) -> str:
    return pdf_text(counter.pdfs[-1]).replace(" ", "")


# --- 申领 ------------------------------------------------------------------------------------------------


def test_apply_by_the_holder_accepts_the_application_and_prints_the_pickup_receipt(
    open_wizard: OpenWizard, counter: Counter, qtbot: QtBot
) -> None:
    person = counter.world.city.add_person(
        "周晓梅", resident_id("511102", date(1990, 4, 5), "026"), sex="2", birth_date=date(1990, 4, 5)
    )
    wizard = open_wizard("apply")
    done = run(
        qtbot,
        wizard,
        {
            "variant": {"variant": "standard"},
            "identify": by_id(person),
            "application": {"bank": "农业银行"},
            **HOLDER_ANSWER,
        },
    )
    record = record_of(counter, done, "apply")
    assert record.result == "已受理，制卡完成后领卡"
    cards = counter.world.city.person_cards(person["id"])
    assert [(c["status"], c["bank"]) for c in cards] == [("applied", "农业银行")]
    form = form_text(counter)
    assert "社会保障卡申领" in form and "个人申领" in form and "周晓梅" in form and "农业银行" in form


def test_a_guardian_applying_for_a_minor_needs_the_guardianship_proof(
    open_wizard: OpenWizard, counter: Counter, qtbot: QtBot
) -> None:
    minor = counter.world.city.add_person("刘小宝", MINOR_ID, sex="2", birth_date=date(2014, 5, 1))
    guardian = {
        "requester": "guardian",
        "agent_name": "刘大明",
        "agent_id_type": "resident_id",
        "agent_id_number": AGENT_ID,
        "relation": "父女",
        "documents": ["agent_id", "principal_id"],
    }
    answers = {"variant": {"variant": "standard"}, "identify": by_id(minor), "presenter": guardian}
    wizard = open_wizard("apply")
    refused = run(qtbot, wizard, answers)
    assert refused.kind is StepKind.REFUSED and refused.refusal is not None
    assert refused.refusal.code == "guardianship_proof_missing"
    assert refused.refusal.message in wizard.page_text()
    assert counter.world.city.commands == [] and counter.world.written() == (0, 0, 0)
    press(qtbot, wizard, Qt.Key.Key_Return)  # 关闭

    guardian["documents"] = ["agent_id", "principal_id", "guardianship"]
    done = run(qtbot, open_wizard("apply"), {**answers, "application": {"bank": "农业银行"}})
    record = record_of(counter, done, "apply")
    assert counter.world.city.commands[0][1]["requester"] == "guardian"
    form = form_text(counter)
    assert "代办申领" in form and "刘大明" in form and "户口簿等监护关系证明" in form
    assert record.details["acceptance_form"]["agent"]["name"] == "刘大明"


PUPILS = [
    ("王小明", resident_id("511102", date(2012, 9, 1), "013"), "男", "汉族"),
    ("阿苏阿呷", resident_id("511123", date(2013, 2, 14), "024"), "女", "彝族"),
    ("李思远", resident_id("511181", date(2012, 12, 30), "035"), "男", "汉族"),
]


def unit(path: Path) -> dict[str, Any]:
    return {
        "unit_name": "乐山市实验小学",
        "letter_number": "LS2026-12",
        "bank": "农业银行",
        "agent_name": "周老师",
        "agent_id_type": "resident_id",
        "agent_id_number": AGENT_ID,
        "list_file": str(path),
    }


def test_a_school_applies_for_its_pupils_from_an_excel_list(
    open_wizard: OpenWizard, counter: Counter, qtbot: QtBot, tmp_path: Path
) -> None:
    rows: list[list[Any]] = [list(HEADER)] + [
        [i, n, idn, s, e, "", ""] for i, (n, idn, s, e) in enumerate(PUPILS, 1)
    ]
    path = write_xlsx(tmp_path / "pupils.xlsx", rows)
    wizard = open_wizard("apply")
    seen: list[Step] = []
    wizard.step_shown.connect(seen.append)
    done = run(qtbot, wizard, {"variant": {"variant": "batch"}, "batch": unit(path)})
    assert [s.key for s in seen if s.kind is not StepKind.PORT][:3] == ["batch", "materials", "confirm"]
    confirm = next(s for s in seen if s.key == "confirm")
    assert dict(confirm.display)["申请人名单"] == "pupils.xlsx，共 3 人"
    assert done.outcome is not None and done.outcome.result.startswith("已受理批量申领 3 人")
    assert counter.world.city.count("apply") == 3
    assert len(counter.world.memory.transactions) == 3 and len(counter.world.memory.audit) == 3
    assert len(counter.pdfs) == 3  # each pupil gets the receipt they collect the card with
    forms = [pdf_text(p).replace(" ", "") for p in counter.pdfs]
    for (name, _, _, _), form in zip(PUPILS, forms, strict=True):
        assert name in form and "单位批量申领" in form and "乐山市实验小学" in form and "周老师" in form
    for name, number, _, _ in PUPILS:
        person = next(p for p in counter.world.city.people_rows.values() if p["id_number"] == number)
        assert person["name"] == name
        assert [c["status"] for c in counter.world.city.person_cards(person["id"])] == ["applied"]


def test_a_list_with_faulty_rows_is_shown_row_by_row_and_nothing_is_submitted(
    open_wizard: OpenWizard, counter: Counter, qtbot: QtBot, tmp_path: Path
) -> None:
    holder = counter.world.city.add_person("王小明", PUPILS[0][1], sex="1", birth_date=date(2012, 9, 1))
    counter.world.city.add_card(holder, SocialStatus.ACTIVE, card_number="S11000018")
    rows: list[list[Any]] = [list(HEADER)]
    rows += [[i, n, idn, s, e, "", ""] for i, (n, idn, s, e) in enumerate(PUPILS, 1)]
    rows[2][3] = "男"  # 阿苏阿呷's 公民身份号码 says 女
    path = write_csv(tmp_path / "pupils.csv", rows, encoding="gbk")
    wizard = open_wizard("apply")
    step = run(qtbot, wizard, {"variant": {"variant": "batch"}, "batch": unit(path)}, until_problem=True)
    assert step.key == "batch" and step.problem is not None and step.problem.code == "list_rows_invalid"
    text = wizard.page_text()
    assert "本批申领未提交任何人" in text
    assert "第 3 行（阿苏阿呷）：性别与公民身份号码不符" in text
    assert counter.world.city.commands == [] and counter.world.written() == (0, 0, 0)
    assert counter.pdfs == []


# --- 即时制卡 and 领卡 (a bank's quick-issuance outlet) -----------------------------------------------------


@pytest.mark.parametrize("counter", [ABC_QUICK], indirect=True)
def test_instant_issuance_tells_the_clerk_to_insert_the_prefab_and_activates(
    open_wizard: OpenWizard, counter: Counter, qtbot: QtBot
) -> None:
    person = holder_of("prefab_jingyan", counter.world.city)
    counter.world.queued_pad.push(["246810"])
    wizard = open_wizard("apply")
    run(
        qtbot,
        wizard,
        {"variant": {"variant": "instant"}, "identify": by_id(person), **HOLDER_ANSWER},
        until_key="prefab",
    )
    wait_told(qtbot, wizard, "请将空白预制卡插入读卡器")
    prefab = counter.world.insert("prefab_jingyan")
    done = run(qtbot, wizard, {"activate_choice": {"choice": "now"}})
    record = record_of(counter, done, "apply")
    assert record.result == "已当场制卡，已激活"
    info = counter.world.read()
    assert info.name == "赵雨涵" and prefab.pin_matches("246810")
    new = counter.world.city.card_of(info.card_number)
    assert new["status"] == "active" and new["card_identifier"] == TEST_CARDS["prefab_jingyan"].card_id
    form = form_text(counter)
    assert info.card_number in form and "赵雨涵" in form


@pytest.mark.parametrize("counter", [ABC_QUICK], indirect=True)
def test_hand_over_waits_for_the_card_and_sends_a_wrong_one_back_out(
    open_wizard: OpenWizard, counter: Counter, qtbot: QtBot
) -> None:
    person, card = counter.holder("card_a", SocialStatus.READY_FOR_PICKUP)
    counter.world.queued_pad.push(["975310"])
    wizard = open_wizard("apply")
    run(
        qtbot,
        wizard,
        {"variant": {"variant": "hand_over"}, "identify": by_id(person), **HOLDER_ANSWER},
        until_key="hand_over",
    )
    wait_told(qtbot, wizard, "请将此人待领取的社会保障卡插入读卡器核对")
    counter.world.insert("muchuan_v3")  # somebody else's card
    wait_told(qtbot, wizard, "不是此人待领取的卡")
    assert "S11000050" in progress_text(wizard)
    counter.world.slot.remove()
    wait_told(qtbot, wizard, "请将此人待领取的社会保障卡插入读卡器核对")
    counter.world.insert("card_a")
    done = run(qtbot, wizard, {"activate_choice": {"choice": "now"}})
    record = record_of(counter, done, "apply")
    assert record.result == "已领卡，已激活"
    assert counter.world.city.card_rows[card["id"]]["status"] == "active"
    assert counter.world.cards["card_a"].pin_matches("975310")
    assert "已领卡" in form_text(counter)


def test_hand_over_of_a_card_still_in_production_is_refused(
    open_wizard: OpenWizard, counter: Counter, qtbot: QtBot
) -> None:
    person, _ = counter.holder("card_a", SocialStatus.IN_PRODUCTION)
    wizard = open_wizard("apply")
    done = run(qtbot, wizard, {"variant": {"variant": "hand_over"}, "identify": by_id(person)})
    assert done.refusal is not None and done.refusal.code == "card_not_ready"
    assert "尚未制成" in wizard.page_text()
    assert counter.world.city.commands == [] and counter.world.written() == (0, 0, 0)


# --- 补换卡 --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("counter", [ABC_QUICK], indirect=True)
def test_exchange_on_the_spot_guides_old_card_out_and_prefab_in(
    open_wizard: OpenWizard, counter: Counter, qtbot: QtBot
) -> None:
    _, old = counter.holder("card_a", SocialStatus.ACTIVE)
    counter.world.insert("card_a")
    counter.world.queued_pad.push(["246810"])
    wizard = open_wizard("replace")
    run(
        qtbot,
        wizard,
        {"variant": {"variant": "instant"}, "replacement": {"reason": "换卡（损坏）"}, **HOLDER_ANSWER},
        until_key="take_out_card",
    )
    wait_told(qtbot, wizard, "请从读卡器取出持卡人的原卡")
    counter.world.slot.remove()
    wait_told(qtbot, wizard, "请将空白预制卡插入同一读卡器")
    prefab = build_card("prefab_jingyan")
    counter.world.slot.insert(prefab)
    done = run(qtbot, wizard, {"activate_choice": {"choice": "now"}})
    record = record_of(counter, done, "replace")
    assert record.result == "已当场制卡，已激活"
    city = counter.world.city
    assert city.card_rows[old["id"]]["status"] == "replaced"
    info = counter.world.read()
    assert city.card_of(info.card_number)["status"] == "active" and prefab.pin_matches("246810")
    assert counter.world.cards["card_a"].pin_matches("123456")  # the old card was never written
    form = form_text(counter)
    assert "换卡（损坏）" in form and "S11000018" in form and info.card_number in form


@pytest.mark.parametrize("counter", [ABC_QUICK], indirect=True)
def test_reissue_of_a_card_not_formally_lost_is_refused(
    open_wizard: OpenWizard, counter: Counter, qtbot: QtBot
) -> None:
    person, _ = counter.holder("card_a", SocialStatus.TEMP_LOSS, state_before_loss=SocialStatus.ACTIVE)
    wizard = open_wizard("replace")
    done = run(
        qtbot,
        wizard,
        {
            "variant": {"variant": "instant"},
            "identify": by_id(person),
            "replacement": {"reason": "补卡（遗失）"},
        },
    )
    assert done.refusal is not None and done.refusal.code == "make_loss_formal_first"
    assert done.refusal.message in wizard.page_text()
    assert counter.world.city.commands == [] and counter.world.written() == (0, 0, 0)


def test_prefab_handed_out_at_the_bank_then_personalised_at_the_hr_window(
    shell: Shell, qtbot: QtBot, fresh_devices: Callable[[], EmulatedDevices]
) -> None:
    world = Counter(ABC_PLAIN).world
    bank, hr = Counter(ABC_PLAIN, world=world), Counter(HR, world=world)
    _, old = bank.holder("card_a", SocialStatus.ACTIVE)
    person = world.city.people_rows[old["person_id"]]
    for counter, code in ((bank, "replace_handout"), (hr, "replace_personalise")):
        launcher = counter.launcher = WizardLauncher(counter.context)
        window = shell(start_flow=launcher, devices=fresh_devices())
        signed_in(qtbot, window, SHELL_CLERK[counter.outlet.code])
        wizard = open_by_keyboard(qtbot, window, launcher, "replace")
        if code == "replace_handout":
            done = run(
                qtbot,
                wizard,
                {
                    "variant": {"variant": "prefab_handout"},
                    "identify": by_id(person),
                    "replacement": {"reason": "换卡（损坏）"},
                    **HOLDER_ANSWER,
                },
            )
            assert done.outcome is not None and done.outcome.result == "已受理补换卡，已发放预制卡"
            assert world.city.card_rows[old["id"]]["status"] == "active"
            assert "请持预制卡和本受理表到人社社会保障卡服务窗口制卡" in form_text(counter)
        else:
            world.queued_pad.push(["246810"])
            run(
                qtbot,
                wizard,
                {"variant": {"variant": "prefab_personalise"}, "identify": by_id(person), **HOLDER_ANSWER},
                until_key="prefab",
            )
            wait_told(qtbot, wizard, "请将办事人带来的空白预制卡插入读卡器")
            world.insert("prefab_jingyan")
            done = run(qtbot, wizard, {"activate_choice": {"choice": "now"}})
            record_of(counter, done, "replace")
        window.close()
    assert world.city.card_rows[old["id"]]["status"] == "replaced"
    new = world.city.card_of(world.read().card_number)
    assert new["status"] == "active" and new["card_identifier"] == TEST_CARDS["prefab_jingyan"].card_id
    assert [c for c, _ in world.city.commands] == ["replace", "instant_issue", "activate"]


@pytest.mark.parametrize("counter", [ABC_QUICK], indirect=True)
def test_a_card_pulled_during_the_write_is_asked_back_and_issued_once(
    open_wizard: OpenWizard, counter: Counter, qtbot: QtBot
) -> None:
    person = holder_of("prefab_jingyan", counter.world.city)
    prefab = counter.world.insert("prefab_jingyan")
    counter.transport = pulling = PullingTransport(counter.world.slot, prefab, pull_at=20)
    counter.world.queued_pad.push(["246810"])
    wizard = open_wizard("apply")
    run(
        qtbot,
        wizard,
        {"variant": {"variant": "instant"}, "identify": by_id(person), **HOLDER_ANSWER},
        until_key="write_card",
    )
    wait_told(qtbot, wizard, "写卡中断：请将同一张卡插回读卡器")
    assert pulling.fired and not counter.world.slot.present
    pulling.reinsert()
    done = run(qtbot, wizard, {"activate_choice": {"choice": "now"}})
    record_of(counter, done, "apply")
    city = counter.world.city
    assert city.count("apply") == city.count("instant_issue") == city.count("activate") == 1
    info = counter.world.read()
    assert city.card_of(info.card_number)["status"] == "active" and prefab.pin_matches("246810")


@pytest.fixture
def fresh_devices() -> Iterator[Callable[[], EmulatedDevices]]:
    """Emulated readers for one more main window (a window's close stops its own)."""
    made: list[EmulatedDevices] = []

    def make() -> EmulatedDevices:
        made.append(EmulatedDevices())
        return made[-1]

    yield make
    for devices in made:
        devices.stop()


@pytest.fixture
def store_path(tmp_path: Path) -> Iterator[Path]:
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    yield database_path(tmp_path / "store-data")
    keyring.set_keyring(previous)


def test_instant_issuance_killed_mid_write_resumes_at_the_next_sign_in_without_a_second_card(
    shell: Shell, qtbot: QtBot, store_path: Path, fresh_devices: Callable[[], EmulatedDevices]
) -> None:
    counter = Counter(ABC_QUICK)
    world = counter.world
    person = holder_of("prefab_jingyan", world.city)
    prefab = world.insert("prefab_jingyan")
    world.queued_pad.push(["246810"])
    store = Store.open(store_path, clock=world.clock)
    counter.journal = DiesMidWrite(store)
    launcher = counter.launcher = WizardLauncher(counter.context)
    window = shell(start_flow=launcher)
    signed_in(qtbot, window, "NH0101")
    wizard = open_by_keyboard(qtbot, window, launcher, "apply")
    run(
        qtbot,
        wizard,
        {"variant": {"variant": "instant"}, "identify": by_id(person), **HOLDER_ANSWER},
        until_key="write_card",
    )
    qtbot.waitUntil(lambda: not wizard.busy, timeout=20_000)  # the power went off two records in
    assert "操作未完成" in wizard.page_text()
    checkpoint = store.load_checkpoint(wizard.flow.flow_id)
    assert checkpoint is not None and checkpoint["data"]["pending_write"] is not None  # half written
    # the program is killed: its windows go, the store stays as the dead process left it
    wizard.hide()
    window.close()
    store.close()
    assert world.city.count("instant_issue") == 1

    reopened = Store.open(store_path, clock=world.clock)
    try:
        counter.journal = reopened
        launcher = counter.launcher = WizardLauncher(counter.context)
        window = shell(start_flow=launcher, devices=fresh_devices())
        signed_in(qtbot, window, "NH0101")  # the counter's next sign-in resumes the flow by itself
        resumed = next_wizard(qtbot, launcher)
        assert "继续办理上次未办结的业务" in resumed.windowTitle()
        done = run(qtbot, resumed, {"activate_choice": {"choice": "now"}})
        assert done.kind is StepKind.DONE and done.outcome is not None, done.refusal
        record = reopened.find(done.outcome.acceptance_number)
        assert record is not None and record.result == "已当场制卡，已激活"
        assert reopened.verify_audit().intact and reopened.verify_audit().entries == 1
        qtbot.waitUntil(lambda: reopened.load_checkpoint(resumed.flow.flow_id) is None)
    finally:
        window.close()
        reopened.close()
    city = world.city
    assert city.count("apply") == city.count("instant_issue") == city.count("activate") == 1
    info = world.read()
    assert info.name == "赵雨涵" and city.card_of(info.card_number)["status"] == "active"
    assert prefab.pin_matches("246810")


# --- 关键信息变更 → 换卡 ------------------------------------------------------------------------------------


def test_key_information_change_leads_into_the_exchange_without_asking_again(
    open_wizard: OpenWizard, counter: Counter, qtbot: QtBot
) -> None:
    person, old = counter.holder("card_a", SocialStatus.ACTIVE)
    wizard = open_wizard("change_key_info")
    done = run(
        qtbot,
        wizard,
        {"identify": by_id(person), "changes": {"name": "张叁", "evidence": "户口簿"}, **HOLDER_ANSWER},
    )
    record_of(counter, done, "change_key_info")
    assert counter.world.city.people_rows[person["id"]]["name"] == "张叁"
    assert "须办理换卡（卡面信息变更）" in form_text(counter)
    button = wizard.findChild(QPushButton, "followUpButton")
    assert button is not None and button.text() == "接着办理：换卡（卡面信息变更）"
    button.setFocus()
    press(qtbot, button, Qt.Key.Key_Space)
    assert counter.launcher is not None
    exchange = next_wizard(qtbot, counter.launcher)
    assert exchange.step.key == "materials"  # holder, presenter and reason are known already
    done = run(qtbot, exchange)
    record = record_of(counter, done, "replace")
    assert record.result == "已受理补换卡，制卡完成后领卡"
    city = counter.world.city
    assert city.card_rows[old["id"]]["status"] == "active"  # 换: usable until the new card is collected
    assert city.commands[-1][1]["reason"] == "卡面信息变更"
    assert "换卡（卡面信息变更）" in form_text(counter) and "张叁" in form_text(counter)


def test_key_information_change_refuses_an_id_number_that_contradicts_the_sex(
    open_wizard: OpenWizard, counter: Counter, qtbot: QtBot
) -> None:
    person, _ = counter.holder("card_a", SocialStatus.ACTIVE)
    wizard = open_wizard("change_key_info")
    step = run(
        qtbot,
        wizard,
        {"identify": by_id(person), "changes": {"sex": "2", "evidence": "户口簿"}, **HOLDER_ANSWER},
        until_problem=True,
    )
    assert step.key == "changes" and step.problem is not None and step.problem.code == "id_number_invalid"
    assert step.problem.message in wizard.page_text()
    assert counter.world.city.commands == [] and counter.world.written() == (0, 0, 0)


# --- 参保地变更 -------------------------------------------------------------------------------------------------


def test_region_transfer_records_the_transfer_proof(
    open_wizard: OpenWizard, counter: Counter, qtbot: QtBot
) -> None:
    person, _ = counter.holder("card_a", SocialStatus.ACTIVE)
    wizard = open_wizard("transfer_region")
    done = run(
        qtbot,
        wizard,
        {
            "identify": by_id(person),
            "transfer": {"to_region": "511181", "certificate_number": "川社转〔2026〕0815号"},
            **HOLDER_ANSWER,
        },
    )
    record = record_of(counter, done, "transfer_region")
    assert counter.world.city.people_rows[person["id"]]["insured_region"] == "511181"
    payload = counter.world.city.commands[0][1]
    assert payload["certificate_number"] == "川社转〔2026〕0815号"
    assert record.details["acceptance_form"]["item_details"]["transfer_certificate"] == "川社转〔2026〕0815号"
    form = form_text(counter)
    assert "川社转〔2026〕0815号" in form and "峨眉山市" in form and "无需换卡" in form


def test_region_transfer_out_of_sichuan_is_refused(
    open_wizard: OpenWizard, counter: Counter, qtbot: QtBot
) -> None:
    person, _ = counter.holder("card_a", SocialStatus.ACTIVE)
    wizard = open_wizard("transfer_region")
    done = run(
        qtbot,
        wizard,
        {
            "identify": by_id(person),
            "transfer": {"to_region": "500103", "certificate_number": "渝0001"},
            **HOLDER_ANSWER,
        },
    )
    assert done.refusal is not None and done.refusal.code == "outside_sichuan"
    assert "不在四川省内" in wizard.page_text()
    assert counter.world.city.commands == [] and counter.world.written() == (0, 0, 0)


# --- 注销 ------------------------------------------------------------------------------------------------------------


def test_cancellation_after_death_needs_a_relative_and_the_supervisors_sign_in(
    open_wizard: OpenWizard, window: MainWindow, counter: Counter, qtbot: QtBot
) -> None:
    person, card = counter.holder("card_a", SocialStatus.ACTIVE)
    wizard = open_wizard("cancel_card")
    answers: dict[str, Any] = {
        "read_card": {"choice": "absent"},
        "identify": by_id(person),
        "reason": {"reason": "death"},
        **HOLDER_ANSWER,
    }
    step = run(qtbot, wizard, answers, until_problem=True)
    assert step.key == "presenter" and step.problem is not None and step.problem.code == "agent_required"
    relative = {
        "requester": "other",
        "agent_name": "张小三",
        "agent_id_type": "resident_id",
        "agent_id_number": AGENT_ID,
        "relation": "子女",
        "documents": ["agent_id", "principal_id"],
    }
    fill(qtbot, wizard, relative)
    with qtbot.waitSignal(wizard.step_shown, timeout=20_000):
        press(qtbot, wizard.focusWidget() or wizard, Qt.Key.Key_Return)
    step = run(qtbot, wizard, until_key="supervisor")
    supervisor_confirms(qtbot, window, wizard)
    done = run(qtbot, wizard)
    record = record_of(counter, done, "cancel_card")
    assert counter.world.city.card_rows[card["id"]]["status"] == "cancelled"
    assert counter.world.city.commands[0][1]["confirmer_number"] == "HR0109"
    assert record.details["reason"] == "death"
    form = form_text(counter)
    assert "持卡人死亡" in form and "HR0109" in form and "张小三" in form and "销户" in form


def test_cancelling_without_the_supervisor_stays_on_the_confirmation_and_changes_nothing(
    open_wizard: OpenWizard, window: MainWindow, counter: Counter, qtbot: QtBot
) -> None:
    from counter_app.ui.sign_in import SignInDialog

    person, card = counter.holder("card_a", SocialStatus.ACTIVE)
    wizard = open_wizard("cancel_card")
    run(
        qtbot,
        wizard,
        {
            "read_card": {"choice": "absent"},
            "identify": by_id(person),
            "reason": {"reason": "abroad"},
            **HOLDER_ANSWER,
        },
        until_key="supervisor",
    )
    press(qtbot, wizard.focusWidget() or wizard, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: any(d.isVisible() for d in window.findChildren(SignInDialog)))
    dialog = next(d for d in window.findChildren(SignInDialog) if d.isVisible())
    press(qtbot, dialog, Qt.Key.Key_Escape)  # the supervisor is not there
    qtbot.waitUntil(lambda: "复核人员未登录确认" in wizard.page_text())
    assert wizard.step.key == "supervisor"
    press(qtbot, wizard, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: wizard.step.key == "cancelled")
    assert counter.world.city.card_rows[card["id"]]["status"] == "active"
    assert counter.world.city.commands == [] and counter.world.written() == (0, 0, 0)


# --- 代管代持 ---------------------------------------------------------------------------------------------------------


CUSTODIAN_AGENT = {
    "requester": "custodian",
    "agent_name": "王志强",
    "agent_id_type": "resident_id",
    "agent_id_number": AGENT_ID,
    "relation": "侄子",
    "documents": ["agent_id", "principal_id", "custody"],
}


def test_custody_is_registered_from_the_refusal_and_shown_on_every_page_after(
    open_wizard: OpenWizard, window: MainWindow, counter: Counter, qtbot: QtBot
) -> None:
    person, card = counter.holder("card_a", SocialStatus.ACTIVE, vulnerable_group="disability")
    wizard = open_wizard("report_loss")
    banners = record_banners(wizard)
    answers = {"variant": {"variant": "formal"}, "identify": by_id(person), "presenter": CUSTODIAN_AGENT}
    refused = run(qtbot, wizard, answers)
    assert refused.refusal is not None and refused.refusal.code == "custody_not_authorised"
    assert "尚无有效的代管代持授权" in dict(banners())["refused"]
    assert counter.world.city.commands == [] and counter.world.written() == (0, 0, 0)

    button = wizard.findChild(QPushButton, "followUpButton")
    assert button is not None and "登记代管代持授权" in button.text()
    button.setFocus()
    press(qtbot, button, Qt.Key.Key_Space)
    assert counter.launcher is not None
    custody = next_wizard(qtbot, counter.launcher)
    assert custody.step.key == "custodian" and "待确认" in custody.ui.itemLabel.text()
    run(
        qtbot,
        custody,
        {"custodian": {"reason": "持卡人重度残疾，无法自行使用社保卡"}},
        until_key="supervisor",
    )
    supervisor_confirms(qtbot, window, custody)
    done = run(qtbot, custody)
    record = record_of(counter, done, "custody_authorisation")
    (entry,) = counter.world.city.people_rows[person["id"]]["custody_authorisations"]
    assert (entry["custodian_name"], entry["relation"], entry["approved_by"]) == ("王志强", "侄子", "HR0109")
    assert record.details["authorisation"]["reason"] == "持卡人重度残疾，无法自行使用社保卡"
    form = form_text(counter)
    assert "代管代持授权" in form and "王志强" in form and "残疾人" in form and "HR0109" in form

    # the custodian now reports the loss: the authorisation is on every page of the wizard
    press(qtbot, custody, Qt.Key.Key_Return)
    activate(qtbot, window)
    wizard = open_wizard("report_loss")
    banners = record_banners(wizard)
    done = run(qtbot, wizard, {**answers, "presenter": {**CUSTODIAN_AGENT, "requester": "other"}})
    record_of(counter, done, "report_loss")
    shown = [(key, text) for key, text in banners() if key not in ("identify",)]
    assert shown and all("王志强（侄子" in text for _, text in shown), shown
    assert counter.world.city.card_rows[card["id"]]["status"] == "formal_loss"
    assert counter.world.city.commands[-1][1]["requester"] == "custodian"


def test_the_forced_collection_warning_is_shown_to_the_clerk(
    open_wizard: OpenWizard, counter: Counter, qtbot: QtBot
) -> None:
    agent_answer = {
        "requester": "other",
        "agent_name": "张大山",
        "agent_id_type": "resident_id",
        "agent_id_number": AGENT_ID,
        "relation": "邻居",
        "documents": ["agent_id", "principal_id"],
    }
    for name in ("card_a", "muchuan_v3", "qianwei_v1", "emeishan_v2"):
        person, _ = counter.holder(name, SocialStatus.ACTIVE)
        wizard = open_wizard("report_loss")
        done = run(
            qtbot,
            wizard,
            {
                "variant": {"variant": "temporary"},
                "identify": by_id(person),
                "reason": {"reason": "遗失"},
                "presenter": agent_answer,
            },
        )
        assert done.kind is StepKind.DONE
        press(qtbot, wizard, Qt.Key.Key_Return)
    alert = wizard.findChild(QLabel, "alertText")
    assert alert is not None and "强制代领" in alert.text() and "报告复核人员" in alert.text()
    assert "强制代领" not in form_text(counter)
