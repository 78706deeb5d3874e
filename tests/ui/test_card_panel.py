"""The card panel and the device status bar follow the device thread (卡片面板与设备状态)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from counter_app.clock import SHANGHAI
from counter_app.devices.pcsc import DeviceEvent, EventKind, ReaderRole
from counter_app.emulator import InProcessTransport
from counter_app.threads import BlockingCallOnGuiThread
from counter_app.training.devices import EmulatedDevices, GuardedTransport
from counter_app.ui.main_window import MainWindow
from counter_app.ui.ports import ConnectivityState, Device, DeviceStatus, Health
from counter_app.ui.qt import Qt
from tests.ui.conftest import FakeCardStatus, FakeConnectivity, Shell, press, signed_in


def _insert(qtbot: QtBot, window: MainWindow, devices: EmulatedDevices, name: str) -> None:
    assert window.cards is not None
    with qtbot.waitSignal(window.cards.read_finished, timeout=5000):
        devices.insert(name)


def _panel(window: MainWindow) -> dict[str, str]:
    ui = window.card_panel.ui
    return {
        "state": ui.stateLabel.text(),
        "name": ui.nameValue.text(),
        "ssn": ui.ssnValue.text(),
        "card": ui.cardNumberValue.text(),
        "pin": ui.pinValue.text(),
        "status": ui.statusValue.text(),
        "custody": ui.custodyNotice.text() if ui.custodyNotice.isVisible() else "",
        "fields": "shown" if ui.fields.isVisible() else "hidden",
    }


def test_inserted_removed_and_swapped_cards_update_the_panel(
    shell: Shell, qtbot: QtBot, devices: EmulatedDevices
) -> None:
    window = shell()
    qtbot.waitUntil(lambda: "读卡器：已连接" in window.status.text(Device.CARD_READER))
    qtbot.waitUntil(lambda: "PSAM：正常" in window.status.text(Device.PSAM))
    assert _panel(window)["state"] == "请插入社会保障卡"

    _insert(qtbot, window, devices, "card_a")
    panel = _panel(window)
    assert panel["name"] == "张三" and panel["ssn"] == "511102199001011239"
    assert panel["card"] == "S11000018" and panel["pin"] == "剩余 6 次"
    assert panel["status"] == "登录后查询"  # no server lookup before sign-in
    assert window.card_panel.ui.validityValue.text() == "2025-03-01 至 2035-02-28"

    with qtbot.waitSignal(window.cards.card_changed) as removed:  # type: ignore[union-attr]
        devices.remove()
    assert removed.args == [None]
    assert _panel(window)["state"] == "请插入社会保障卡" and _panel(window)["fields"] == "hidden"

    _insert(qtbot, window, devices, "qianwei_v1")
    _insert(qtbot, window, devices, "emeishan_v2")  # swapped without a gap: the panel follows
    assert _panel(window)["name"] == "李秀英" and _panel(window)["card"] == "S11000034"


def test_signed_in_the_panel_shows_the_server_status_and_the_custody_notice(
    shell: Shell, qtbot: QtBot, devices: EmulatedDevices
) -> None:
    lookup = FakeCardStatus()
    window = shell(card_status=lookup)
    _insert(qtbot, window, devices, "emeishan_v2")
    signed_in(qtbot, window)
    qtbot.waitUntil(lambda: _panel(window)["status"] == "正常")
    assert _panel(window)["custody"] == "⚠ 代管代持：王志强（子女）代管代持，有效期至 2027-12-31"
    assert lookup.threads and threading.get_ident() not in lookup.threads
    _insert(qtbot, window, devices, "card_a")
    qtbot.waitUntil(lambda: _panel(window)["status"] == "正常")
    assert _panel(window)["custody"] == ""


def test_locked_pins_blank_prefabs_and_the_read_key(
    shell: Shell, qtbot: QtBot, devices: EmulatedDevices
) -> None:
    window = shell()
    _insert(qtbot, window, devices, "locked")
    assert _panel(window)["pin"] == "× 已锁定（需办理密码重置或解锁）"
    _insert(qtbot, window, devices, "card_b")
    assert _panel(window)["state"] == "空白预制卡（未个人化）" and _panel(window)["card"] == "空白"
    with qtbot.waitSignal(window.cards.read_finished):  # type: ignore[union-attr]
        press(qtbot, window, Qt.Key.Key_F1, Qt.KeyboardModifier.ShiftModifier)  # 读卡
    assert _panel(window)["card"] == "空白"


def test_reader_lost_and_back(shell: Shell, qtbot: QtBot, devices: EmulatedDevices) -> None:
    window = shell()
    _insert(qtbot, window, devices, "card_a")
    devices.set_reader_connected(False)
    qtbot.waitUntil(lambda: window.status.text(Device.CARD_READER) == "× 读卡器：未连接")
    assert window.status.labels[Device.CARD_READER].property("health") == "fault"
    assert _panel(window)["state"] == "读卡器未连接，请检查读卡器连线。"
    assert _panel(window)["fields"] == "hidden"
    with qtbot.waitSignal(window.cards.read_finished):  # type: ignore[union-attr]
        devices.set_reader_connected(True)  # the card was still in it
    assert window.status.text(Device.CARD_READER) == "● 读卡器：已连接"
    assert _panel(window)["name"] == "张三"


class ScriptedDevices:
    """A `DeviceService` whose events a test sends from a thread, as the PC/SC thread would."""

    def __init__(self) -> None:
        self.on_event: Callable[[DeviceEvent], None] = lambda e: None

    def start(self, on_event: Callable[[DeviceEvent], None]) -> None:
        self.on_event = on_event

    def stop(self) -> None:
        pass

    def submit(self, job: Callable[[Any], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_exception(RuntimeError("no card"))
        return future

    def send(self, *events: DeviceEvent) -> None:
        worker = threading.Thread(target=lambda: [self.on_event(e) for e in events], name="pcsc-device")
        worker.start()
        worker.join()


def test_pcsc_service_lost_and_back(shell: Shell, qtbot: QtBot) -> None:
    scripted = ScriptedDevices()
    window = shell(devices=scripted)
    card, psam = ReaderRole.CARD, ReaderRole.PSAM
    scripted.send(
        DeviceEvent(EventKind.READER_FOUND, card, "ACS ACR39U"),
        DeviceEvent(EventKind.READER_FOUND, psam, "SAM"),
    )
    qtbot.waitUntil(lambda: window.status.text(Device.CARD_READER) == "● 读卡器：已连接")
    assert window.status.text(Device.PSAM) == "▲ PSAM：未插卡"
    scripted.send(DeviceEvent(EventKind.SERVICE_LOST))
    qtbot.waitUntil(lambda: window.status.text(Device.CARD_READER) == "× 读卡器：智能卡服务停止")
    assert window.status.text(Device.PSAM) == "× PSAM：智能卡服务停止"
    assert _panel(window)["state"] == "智能卡服务已停止，正在重新连接…"
    scripted.send(DeviceEvent(EventKind.SERVICE_BACK))
    qtbot.waitUntil(lambda: window.status.text(Device.CARD_READER) == "… 读卡器：正在重新连接")
    scripted.send(DeviceEvent(EventKind.READER_FOUND, card, "ACS ACR39U"))
    qtbot.waitUntil(lambda: window.status.text(Device.CARD_READER) == "● 读卡器：已连接")
    assert _panel(window)["state"] == "请插入社会保障卡"


def test_server_lost_and_back_with_the_replica_age(
    shell: Shell, qtbot: QtBot, connectivity: FakeConnectivity
) -> None:
    window = shell()
    qtbot.waitUntil(lambda: window.status.text(Device.SERVER) == "● 服务器：在线")
    as_of = datetime(2026, 11, 27, 10, 32, tzinfo=SHANGHAI)
    connectivity.set(ConnectivityState(online=False, replica_as_of=as_of, detail="无法连接中心服务器"))
    qtbot.waitUntil(lambda: window.status.text(Device.SERVER) == "× 服务器：离线（数据截至 11-27 10:32）")
    label = window.status.labels[Device.SERVER]
    assert label.toolTip() == "无法连接中心服务器" and label.property("health") == "fault"
    connectivity.set(ConnectivityState(online=True))
    qtbot.waitUntil(lambda: window.status.text(Device.SERVER) == "● 服务器：在线")


def test_printer_and_pin_pad_probes_run_off_the_gui_thread(shell: Shell, qtbot: QtBot) -> None:
    threads: list[int] = []

    class Probe:
        device = Device.PRINTER

        def probe(self) -> DeviceStatus:
            threads.append(threading.get_ident())
            return DeviceStatus(Device.PRINTER, Health.FAULT, "缺纸")

    window = shell(probes=[Probe()])
    qtbot.waitUntil(lambda: window.status.text(Device.PRINTER) == "× 打印机：缺纸")
    assert window.status.text(Device.PIN_PAD) == "▲ 密码键盘：未配置"
    assert threads and threading.get_ident() not in threads


def test_card_io_on_the_gui_thread_is_refused() -> None:
    """The guard the tests switch on: the emulator transport refuses to run on the GUI thread."""
    slot = GuardedTransport(InProcessTransport("test"))
    with pytest.raises(BlockingCallOnGuiThread):
        slot.transmit(b"\x00\xa4\x04\x00")


def test_no_matching_reader_is_said_after_a_few_seconds_not_detecting_forever(
    shell: Shell, qtbot: QtBot
) -> None:
    scripted = ScriptedDevices()  # PC/SC up, but no reader matches the configured names: no event at all
    window = shell(devices=scripted)
    assert window.status.text(Device.CARD_READER) == "○ 读卡器：检测中"
    qtbot.waitUntil(lambda: window.status.text(Device.CARD_READER) == "× 读卡器：未找到读卡器", timeout=6000)
    assert window.status.text(Device.PSAM) == "× PSAM：未找到读卡器"
    assert _panel(window)["state"] == "未找到读卡器，请检查读卡器连线或设置。"
