"""The shell in 培训模式 and in production: banner, menu and F-keys, role filters, 大字体, printing."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from counter_app.app import build_main_window
from counter_app.ui.main_window import MainWindow
from counter_app.ui.qt import QApplication, Qt
from tests.ui.conftest import PRODUCTION, TRAINING, Shell, press, signed_in


def test_training_mode_shows_the_banner_and_says_so_in_the_title(qtbot: QtBot) -> None:
    window = build_main_window(TRAINING)
    qtbot.addWidget(window)
    with qtbot.waitExposed(window):
        window.show()
    assert window.ui.trainingBanner.isVisible()
    assert window.ui.trainingBanner.text().startswith("培训模式")
    assert "培训模式" in window.windowTitle()
    assert window.mode_label.text() == "培训模式"
    assert window.ui.trainingMenu.menuAction().isVisible()


def test_production_mode_has_no_banner_and_no_training_menu(qtbot: QtBot) -> None:
    window = build_main_window(PRODUCTION)
    qtbot.addWidget(window)
    with qtbot.waitExposed(window):
        window.show()
    assert not window.ui.trainingBanner.isVisible()
    assert "培训模式" not in window.windowTitle()
    assert not window.ui.trainingMenu.menuAction().isVisible()


def test_before_sign_in_the_menu_is_shown_but_nothing_can_be_started(shell: Shell, qtbot: QtBot) -> None:
    window = shell()
    assert window.ui.serviceList.count() == 12
    assert window.ui.serviceList.item(0).text().startswith("1. 申领")
    press(qtbot, window, Qt.Key.Key_F2)
    assert window.selected_code() is None
    assert window.ui.workStack.currentWidget() is window.ui.welcomePage
    assert window.ui.welcomeTitle.text() == "请先登录"


def test_f_keys_open_the_guide_of_their_item(shell: Shell, qtbot: QtBot) -> None:
    window = shell()
    signed_in(qtbot, window)
    press(qtbot, window, Qt.Key.Key_F2)
    assert window.selected_code() == "activate"
    assert window.ui.itemTitle.text() == "2. 激活"
    assert "社会保障卡处于未激活状态" in window.ui.itemDetails.toPlainText()  # 申请条件, from the brochure
    press(qtbot, window, Qt.Key.Key_F12)
    assert window.selected_code() == "cancel_card"
    assert "待确认" in window.ui.itemDetails.toPlainText()  # 注销 lost its text: assumed fields are marked


def _dismiss(window: MainWindow) -> None:
    assert window.dialog is not None
    window.dialog.reject()


def _visible(window: MainWindow) -> set[str]:
    return set(window.visible_codes())


def test_role_and_outlet_capability_filter_the_menu(shell: Shell, qtbot: QtBot) -> None:
    window = shell()
    signed_in(qtbot, window, "HR0101")
    hr = _visible(window)
    assert len(hr) == 12  # an HR window offers every item
    window.sign_out()
    qtbot.waitUntil(lambda: window.dialog is not None and window.dialog.isVisible())
    _dismiss(window)

    signed_in(qtbot, window, "GH0101")  # 工商银行 outlet: no quick issuance, cannot activate social
    bank = _visible(window)
    assert "transfer_region" not in bank and "change_key_info" not in bank  # never at a bank outlet
    assert {"report_loss", "cancel_loss", "query", "pin_change", "activate"} <= bank
    assert bank < hr
    assert not window._actions["transfer_region"].isVisible()  # its F-key does nothing either
    press(qtbot, window, Qt.Key.Key_F11)
    assert window.selected_code() != "transfer_region"
    assert not window.ui.actionSettings.isEnabled()
    window.sign_out()
    _dismiss(window)

    signed_in(qtbot, window, "ADMIN01")
    assert _visible(window) == set()
    assert "系统管理员" in window.ui.menuHint.text()
    assert window.ui.actionSettings.isEnabled()


def test_offline_greys_out_items_that_need_the_server(shell: Shell, qtbot: QtBot, connectivity) -> None:  # type: ignore[no-untyped-def]
    from counter_app.ui.ports import ConnectivityState

    window = shell()
    signed_in(qtbot, window)
    row = next(i for i, e in enumerate(window.entries) if e.online_only)
    item = window.ui.serviceList.item(row)
    assert item.flags() & Qt.ItemFlag.ItemIsEnabled
    connectivity.set(ConnectivityState(online=False))
    qtbot.waitUntil(lambda: "须联网" in item.text())
    assert not item.flags() & Qt.ItemFlag.ItemIsEnabled
    connectivity.set(ConnectivityState(online=True))
    qtbot.waitUntil(lambda: "须联网" not in item.text())


def test_large_font_mode_enlarges_every_window_and_is_remembered(shell: Shell, qtbot: QtBot) -> None:
    window = shell()
    before = QApplication.font().pointSize()
    window.ui.actionLargeFont.trigger()
    assert QApplication.font().pointSize() > before
    assert window.ui.serviceList.font().pointSize() > before
    again = shell()
    assert again.ui.actionLargeFont.isChecked()  # kept in the user's settings
    again.ui.actionLargeFont.trigger()
    assert QApplication.font().pointSize() == before


def test_print_sends_the_guide_as_pdf_off_the_gui_thread(shell: Shell, qtbot: QtBot, tmp_path: Path) -> None:
    import threading

    printed: list[tuple[bytes, str, int]] = []

    def print_pdf(pdf: bytes, title: str) -> str:
        printed.append((pdf, title, threading.get_ident()))
        return "PDF-1"

    window = shell(print_pdf=print_pdf)
    signed_in(qtbot, window)
    press(qtbot, window, Qt.Key.Key_F8)
    press(qtbot, window, Qt.Key.Key_F2, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: "已发送到打印机" in window.status.message.text())
    pdf, title, thread = printed[0]
    assert pdf.startswith(b"%PDF") and title == "8. 挂失"
    assert thread != threading.get_ident()
