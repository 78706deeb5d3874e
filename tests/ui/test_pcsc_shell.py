"""The shell on the real PC/SC stack (pcscd + vpcd): the card panel and the reader status follow
the device thread, and a pcscd restart shows as 智能卡服务停止 and comes back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from counter_app.devices.card_service import PcscDeviceService
from counter_app.emulator import build_card, build_psam
from counter_app.emulator.vpcd import VpcdSlot
from counter_app.ui.ports import Device
from tests.devices.pcsc_helpers import wait_until_empty
from tests.harness.services import restart_pcscd
from tests.ui.conftest import PRODUCTION, Shell

pytestmark = [pytest.mark.integration, pytest.mark.pcsc, pytest.mark.gui]


@pytest.fixture
def slots(pcscd: dict[str, str]) -> Iterator[tuple[VpcdSlot, VpcdSlot]]:
    port = int(pcscd["COUNTER_TEST_VPCD_PORT"])
    card_slot, psam_slot = VpcdSlot(port=port), VpcdSlot(port=port + 1)
    yield card_slot, psam_slot
    card_slot.remove()
    psam_slot.remove()
    wait_until_empty(pcscd["COUNTER_TEST_PCSC_CARD_READER"], pcscd["COUNTER_TEST_PCSC_PSAM_READER"])


def test_card_panel_and_reader_status_through_pcscd(
    shell: Shell, qtbot: QtBot, pcscd: dict[str, str], slots: tuple[VpcdSlot, VpcdSlot]
) -> None:
    devices = PcscDeviceService(
        pcscd["COUNTER_TEST_PCSC_CARD_READER"], pcscd["COUNTER_TEST_PCSC_PSAM_READER"]
    )
    window = shell(PRODUCTION, devices=devices)
    card_slot, psam_slot = slots
    psam_slot.insert(build_psam())
    qtbot.waitUntil(lambda: window.status.text(Device.CARD_READER) == "● 读卡器：已连接", timeout=10_000)
    qtbot.waitUntil(lambda: window.status.text(Device.PSAM) == "● PSAM：正常", timeout=10_000)
    qtbot.waitUntil(lambda: "511100900001" in window.status.labels[Device.PSAM].toolTip(), timeout=10_000)

    with qtbot.waitSignal(window.cards.read_finished, timeout=10_000):  # type: ignore[union-attr]
        card_slot.insert(build_card("card_a"))
    ui = window.card_panel.ui
    assert ui.nameValue.text() == "张三" and ui.pinValue.text() == "剩余 6 次"  # EF06 through the PSAM

    with qtbot.waitSignal(window.cards.card_changed, timeout=10_000):  # type: ignore[union-attr]
        card_slot.remove()
    assert ui.stateLabel.text() == "请插入社会保障卡"

    window.close()


def test_a_pcscd_restart_shows_and_recovers(
    shell: Shell, qtbot: QtBot, pcscd: dict[str, str], slots: tuple[VpcdSlot, VpcdSlot]
) -> None:
    # restart_pcscd below refuses (the test fails) when the harness did not start this pcscd.
    devices = PcscDeviceService(
        pcscd["COUNTER_TEST_PCSC_CARD_READER"], pcscd["COUNTER_TEST_PCSC_PSAM_READER"]
    )
    window = shell(PRODUCTION, devices=devices)
    card_slot, psam_slot = slots
    psam_slot.insert(build_psam())
    ui = window.card_panel.ui
    with qtbot.waitSignal(window.cards.read_finished, timeout=10_000):  # type: ignore[union-attr]
        card_slot.insert(build_card("emeishan_v2"))
    restart_pcscd(pcscd)
    qtbot.waitUntil(
        lambda: window.status.text(Device.CARD_READER) == "× 读卡器：智能卡服务停止", timeout=20_000
    )
    assert ui.stateLabel.text() == "智能卡服务已停止，正在重新连接…"
    qtbot.waitUntil(lambda: window.status.text(Device.CARD_READER) == "● 读卡器：已连接", timeout=30_000)
    card_slot.remove()  # vpcd dropped the card when pcscd stopped; the citizen puts it back
    psam_slot.remove()
    psam_slot.insert(build_psam())
    with qtbot.waitSignal(window.cards.read_finished, timeout=30_000):  # type: ignore[union-attr]
        card_slot.insert(build_card("emeishan_v2"))
    qtbot.waitUntil(lambda: ui.nameValue.text() == "李秀英", timeout=10_000)
    window.close()
