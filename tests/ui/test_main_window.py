"""The shell in 培训模式 and in production, driven offscreen with pytest-qt."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from counter_app.app import build_main_window
from counter_app.config import Mode, Settings
from counter_app.ui.main_window import MainWindow
from counter_app.ui.qt import Qt

TRAINING = Settings(mode=Mode.TRAINING, config_file=None, data_dir=Path("/nonexistent"))
PRODUCTION = Settings(
    mode=Mode.PRODUCTION,
    config_file=None,
    data_dir=TRAINING.data_dir,
    server_url="https://x",
    outlet_code="1",
)


def _window(qtbot: QtBot, settings: Settings) -> MainWindow:
    window = build_main_window(settings)
    assert isinstance(window, MainWindow)
    qtbot.addWidget(window)
    with qtbot.waitExposed(window):
        window.show()
    with qtbot.waitActive(window):
        window.activateWindow()
    return window


def test_training_mode_shows_the_banner_and_says_so_in_the_title(qtbot: QtBot) -> None:
    window = _window(qtbot, TRAINING)
    assert window.banner.isVisible()
    assert window.banner.text().startswith("培训模式")
    assert "培训模式" in window.windowTitle()
    assert window.mode_label.text() == "培训模式"


def test_production_mode_has_no_banner(qtbot: QtBot) -> None:
    window = _window(qtbot, PRODUCTION)
    assert not window.banner.isVisible()
    assert "培训模式" not in window.windowTitle()


def test_menu_lists_the_twelve_items_and_f_keys_open_their_guide(qtbot: QtBot) -> None:
    window = _window(qtbot, TRAINING)
    assert window.ui.serviceList.count() == 12
    assert window.ui.serviceList.item(0).text().startswith("1. 申领")
    qtbot.keyClick(window, Qt.Key.Key_F2)
    assert window.selected_code() == "activate"
    assert window.ui.itemTitle.text() == "2. 激活"
    html = window.ui.itemDetails.toPlainText()
    assert "社会保障卡处于未激活状态" in html  # 申请条件 copied from the brochure
    qtbot.keyClick(window, Qt.Key.Key_F12)
    assert window.selected_code() == "cancel_card"
    assert "待确认" in window.ui.itemDetails.toPlainText()  # 注销 lost its text: assumed fields are marked
