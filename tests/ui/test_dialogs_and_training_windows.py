"""设置与设备 (admin only, with the diagnose report), and the training windows 客户操作 and 客户密码键盘."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from counter_app.config import Settings, load_settings
from counter_app.training.devices import EmulatedDevices
from counter_app.training.holders import card_labels
from counter_app.ui.qt import QDialogButtonBox
from counter_app.ui.services import TrainingParts
from counter_app.ui.settings_dialog import SettingsDialog
from tests.ui.conftest import PRODUCTION, TRAINING, Shell, signed_in


def _settings_dialog(
    shell: Shell, qtbot: QtBot, settings: Settings, tmp_path: Path, threads: list[int]
) -> SettingsDialog:
    def diagnose() -> str:
        threads.append(threading.get_ident())
        return "设备诊断报告\nPC/SC 服务：运行中"

    window = shell(
        settings, diagnose=diagnose, printers=lambda: ["PDF", "HP-LaserJet"], config_root=tmp_path / "cfg"
    )
    signed_in(qtbot, window, "ADMIN01")
    window.ui.actionSettings.trigger()
    dialog = window._windows["settings"]
    assert isinstance(dialog, SettingsDialog)
    qtbot.waitUntil(lambda: dialog.ui.diagnoseText.toPlainText().startswith("设备诊断报告"))
    return dialog


def test_settings_are_admin_only_and_show_the_diagnosis_off_the_gui_thread(
    shell: Shell, qtbot: QtBot, tmp_path: Path
) -> None:
    window = shell(PRODUCTION)
    signed_in(qtbot, window, "HR0101")
    assert not window.ui.actionSettings.isEnabled()
    window.open_settings()
    assert "settings" not in window._windows
    threads: list[int] = []
    dialog = _settings_dialog(shell, qtbot, PRODUCTION, tmp_path, threads)
    assert threads and threading.get_ident() not in threads
    qtbot.waitUntil(lambda: dialog.ui.printerCombo.count() == 2)


def test_production_settings_are_saved_to_counter_toml_and_read_back(
    shell: Shell, qtbot: QtBot, tmp_path: Path
) -> None:
    dialog = _settings_dialog(shell, qtbot, PRODUCTION, tmp_path, [])
    ui = dialog.ui
    ui.serverEdit.setText("ftp://wrong")
    ui.buttonBox.button(QDialogButtonBox.StandardButton.Save).click()
    assert ui.validationLabel.text().startswith("× 未保存：") and "https://" in ui.validationLabel.text()
    ui.serverEdit.setText("https://sbk.leshan.example/api")
    ui.cardReaderEdit.setText("ACR39U ICC 00")
    ui.psamReaderEdit.setText("*SAM*")
    ui.pinPadEdit.setText("/dev/ttyUSB0")
    ui.printerCombo.setEditText("HP-LaserJet")
    ui.paperCombo.setCurrentIndex(ui.paperCombo.findData("slip_80mm"))
    with qtbot.waitSignal(dialog.accepted):
        ui.buttonBox.button(QDialogButtonBox.StandardButton.Save).click()
    saved = load_settings(config_root=tmp_path / "cfg", data_root=tmp_path / "data")
    assert saved.server_url == "https://sbk.leshan.example/api"
    assert (saved.card_reader_pattern, saved.psam_reader_pattern) == ("ACR39U ICC 00", "*SAM*")
    assert (saved.pinpad_port, saved.printer, saved.paper_profile) == (
        "/dev/ttyUSB0",
        "HP-LaserJet",
        "slip_80mm",
    )
    assert saved.outlet_code == PRODUCTION.outlet_code


def test_training_settings_are_never_saved(shell: Shell, qtbot: QtBot, tmp_path: Path) -> None:
    dialog = _settings_dialog(shell, qtbot, TRAINING, tmp_path, [])
    assert not dialog.ui.buttonBox.button(QDialogButtonBox.StandardButton.Save).isEnabled()
    assert "不会保存" in dialog.ui.modeLabel.text()
    assert not (tmp_path / "cfg").exists()


def test_customer_window_inserts_swaps_and_removes_cards(
    shell: Shell, qtbot: QtBot, devices: EmulatedDevices
) -> None:
    window = shell(training=TrainingParts(hands=devices, cards=card_labels()))
    customer = window.open_customer_window()
    assert customer is not None
    ui = customer.ui  # type: ignore[attr-defined]
    assert ui.cardList.count() == len(card_labels())
    assert "李秀英  S11000034 · 2.00 卡、正常、有代管代持" in [
        ui.cardList.item(i).text() for i in range(ui.cardList.count())
    ]
    ui.cardList.setCurrentRow(0)
    with qtbot.waitSignal(window.cards.read_finished):  # type: ignore[union-attr]
        ui.insertButton.click()
    assert window.card_panel.ui.nameValue.text() == "张三"
    qtbot.waitUntil(lambda: ui.inReaderLabel.text().startswith("读卡器中：张三"))
    assert not ui.insertButton.isEnabled() and ui.swapButton.isEnabled()
    ui.cardList.setCurrentRow(2)
    with qtbot.waitSignal(window.cards.read_finished):  # type: ignore[union-attr]
        ui.swapButton.click()
    assert window.card_panel.ui.nameValue.text() == "李秀英"
    with qtbot.waitSignal(window.cards.card_changed):  # type: ignore[union-attr]
        ui.removeButton.click()
    qtbot.waitUntil(lambda: ui.inReaderLabel.text() == "读卡器中：无卡")
    ui.readerButton.click()
    qtbot.waitUntil(lambda: window.card_panel.ui.stateLabel.text() == "读卡器未连接，请检查读卡器连线。")
    assert ui.readerButton.text() == "连接读卡器(&D)"
    ui.readerButton.click()
    qtbot.waitUntil(lambda: window.card_panel.ui.stateLabel.text() == "请插入社会保障卡")


@pytest.mark.skipif(not hasattr(__import__("os"), "openpty"), reason="the training pad needs a pty")
def test_pin_pad_window_shows_the_prompt_and_digit_count_never_the_digits(shell: Shell, qtbot: QtBot) -> None:
    from counter_app.devices.pinpad import SerialPinPad
    from counter_app.emulator.pinpad import TrainingPinPad
    from counter_app.workflows.ports import PinEntryKind, PinPadOutcome, PinRequest

    listeners: list[Callable[[Any], None]] = []

    def dispatch(event: Any) -> None:
        for listener in listeners:
            listener(event)

    pad = TrainingPinPad(on_event=dispatch).start()
    try:
        window = shell(training=TrainingParts(hands=None, cards={}, pad=pad, subscribe_pad=listeners.append))
        pad_window = window.open_pin_pad_window()
        assert pad_window is not None
        ui = pad_window.ui  # type: ignore[attr-defined]
        assert ui.promptLabel.text() == "待机"
        host = SerialPinPad(pad.port)
        result: dict[str, object] = {}

        def collect() -> None:  # the device side runs off the GUI thread, as in the app
            host.open()
            with host.collect(PinRequest(PinEntryKind.VERIFY, 6, 6, 10)) as entries:
                result["outcome"] = entries.outcome
                result["digits"] = len(entries.entries[0].digits) if entries.entries else 0

        citizen = threading.Thread(target=collect)
        citizen.start()
        qtbot.waitUntil(lambda: ui.promptLabel.text() == "请输入密码")
        for key in (ui.key1, ui.key2, ui.key3):
            key.click()
        qtbot.waitUntil(lambda: ui.digitsLabel.text() == "●●●○○○")
        ui.keyClear.click()
        qtbot.waitUntil(lambda: ui.digitsLabel.text() == "●●○○○○")
        for key in (ui.key3, ui.key4, ui.key5, ui.key6, ui.keyEnter):
            key.click()
        citizen.join(10)
        assert result == {"outcome": PinPadOutcome.ENTERED, "digits": 6}
        qtbot.waitUntil(lambda: ui.statusLabel.text() == "已确认")
        assert "1" not in ui.digitsLabel.text() and ui.promptLabel.text() == "待机"
        host.close()
    finally:
        pad.stop()
