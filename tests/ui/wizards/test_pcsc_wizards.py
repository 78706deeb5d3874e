"""A wizard on the real PC/SC stack (pcscd + vpcd): the flow's card and PSAM commands go through
the device thread of `PcscDeviceService` while the wizard runs the flow on a shell worker."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from counter_app.devices.card_service import PcscDeviceService
from counter_app.domain.card_lifecycle import SocialStatus
from counter_app.emulator import build_card, build_psam
from counter_app.emulator.vpcd import VpcdSlot
from counter_app.receipts import ReportLabReceiptRenderer
from counter_app.ui.ports import Device
from counter_app.ui.qt import Qt
from counter_app.ui.wizards import WizardLauncher
from counter_app.ui.wizards.device_ports import DeviceThreadKeys, DeviceThreadTransport
from counter_app.workflows.base import StepKind
from counter_app.workflows.context import Context
from tests.ui.conftest import PRODUCTION, Shell, press, signed_in
from tests.ui.test_pcsc_shell import slots as slots
from tests.ui.wizards.test_flow_wizards import HOLDER_ANSWER, pdf_text, run
from tests.workflows.helpers import HR, World, card_of, holder_of

pytestmark = [pytest.mark.integration, pytest.mark.pcsc, pytest.mark.gui]


def test_pin_change_and_a_wrong_old_pin_through_pcscd(
    shell: Shell, qtbot: QtBot, pcscd: dict[str, str], slots: tuple[VpcdSlot, VpcdSlot]
) -> None:
    devices = PcscDeviceService(
        pcscd["COUNTER_TEST_PCSC_CARD_READER"], pcscd["COUNTER_TEST_PCSC_PSAM_READER"]
    )
    world = World(renderer=ReportLabReceiptRenderer())  # type: ignore[arg-type]
    person = holder_of("muchuan_v3", world.city)
    card_of("muchuan_v3", person, world.city, SocialStatus.ACTIVE)

    def make_context(session: Any) -> Context:
        ports = {"card_transport": DeviceThreadTransport(devices), "key_provider": DeviceThreadKeys(devices)}
        return dataclasses.replace(world.ctx(HR), **ports)  # type: ignore[arg-type]

    launcher = WizardLauncher(make_context)
    window = shell(PRODUCTION, devices=devices, start_flow=launcher)
    signed_in(qtbot, window)
    card_slot, psam_slot = slots
    psam_slot.insert(build_psam())
    qtbot.waitUntil(lambda: window.status.text(Device.PSAM) == "● PSAM：正常", timeout=10_000)
    card = build_card("muchuan_v3")
    with qtbot.waitSignal(window.cards.read_finished, timeout=10_000):  # type: ignore[union-attr]
        card_slot.insert(card)

    # the citizen types a wrong old PIN first: the step says so with the tries left, 重试 works
    world.queued_pad.push(["111111", "852741"], ["147258", "852741"])
    row = next(i for i, e in enumerate(window.entries) if e.code == "pin_change")
    window.ui.serviceList.setCurrentRow(row)
    press(qtbot, window.ui.serviceList, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: launcher.wizard is not None and launcher.wizard.isVisible(), timeout=10_000)
    wizard = launcher.wizard
    assert wizard is not None
    qtbot.addWidget(wizard)
    problem = run(qtbot, wizard, HOLDER_ANSWER, until_problem=True).problem
    assert problem is not None and problem.code == "pin_incorrect" and "5" in problem.message
    assert problem.message in wizard.page_text()
    assert card.pin_tries_left == 5
    with qtbot.waitSignal(wizard.step_shown, timeout=20_000):
        press(qtbot, wizard.focusWidget() or wizard, Qt.Key.Key_Return)  # 重试
    done = run(qtbot, wizard, HOLDER_ANSWER)
    assert done.kind is StepKind.DONE and done.outcome is not None, done.refusal
    assert card.pin_matches("852741") and card.pin_tries_left == 6
    assert world.memory.transactions[done.outcome.acceptance_number].item_code == "pin_change"
    assert "密码" in pdf_text(world.printer.jobs[-1][1])
    window.close()
