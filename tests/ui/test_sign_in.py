"""Sign-in, lockout, the idle lock and supervisor confirmation (工号登录、锁定、复核/授权)."""

from __future__ import annotations

import threading

from pytestqt.qtbot import QtBot

from counter_app.training.devices import EmulatedDevices
from counter_app.ui.main_window import MainWindow
from counter_app.ui.ports import OperatorSession
from counter_app.ui.qt import Qt
from counter_app.ui.sign_in import Mode, SignInDialog
from tests.ui.conftest import FakeSignIn, Shell, press, signed_in, type_keys


def _dialog(window: MainWindow) -> SignInDialog:
    dialog = window.dialog
    assert dialog is not None
    return dialog


def _try(qtbot: QtBot, dialog: SignInDialog, number: str, password: str) -> None:
    dialog.ui.numberEdit.setText(number)
    dialog.ui.passwordEdit.clear()
    type_keys(qtbot, dialog.ui.passwordEdit, password)
    press(qtbot, dialog.ui.passwordEdit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.ui.busyBar.isVisible())


def test_sign_in_shows_the_operator_and_runs_off_the_gui_thread(
    shell: Shell, qtbot: QtBot, sign_in: FakeSignIn
) -> None:
    window = shell()
    assert window.ui.operatorLabel.text() == "操作员：未登录"
    assert window.ui.signInButton.isVisible() and not window.ui.lockButton.isVisible()
    signed_in(qtbot, window, "HR0101")
    assert window.ui.operatorLabel.text() == "操作员：HR0101 培训经办甲（人社窗口经办人）"
    assert window.ui.outletLabel.toolTip() == "乐山市人力资源和社会保障中心社会保障卡服务窗口 · 柜台 01"
    assert window.ui.lockButton.isVisible() and window.ui.signOutButton.isVisible()
    assert sign_in.threads and threading.get_ident() not in sign_in.threads
    window.sign_out()
    assert sign_in.signed_out == [] or sign_in.signed_out == ["HR0101"]
    qtbot.waitUntil(lambda: sign_in.signed_out == ["HR0101"])
    assert window.ui.operatorLabel.text() == "操作员：未登录"
    assert _dialog(window).isVisible()  # the next clerk is asked at once


def test_wrong_password_is_said_in_words_and_the_password_is_cleared(shell: Shell, qtbot: QtBot) -> None:
    window = shell()
    window.open_sign_in()
    dialog = _dialog(window)
    _try(qtbot, dialog, "HR0101", "wrong")
    assert dialog.ui.messageLabel.text() == "× 工号或密码错误。"
    assert dialog.ui.passwordEdit.text() == ""
    assert dialog.isVisible() and window.session is None
    press(qtbot, dialog.ui.passwordEdit, Qt.Key.Key_Return)
    assert dialog.ui.messageLabel.text() == "× 请输入密码。"


def test_lockout_after_repeated_failures_says_until_when_and_blocks_that_number(
    shell: Shell, qtbot: QtBot, sign_in: FakeSignIn
) -> None:
    window = shell()
    window.open_sign_in()
    dialog = _dialog(window)
    for _ in range(4):
        _try(qtbot, dialog, "HR0101", "wrong")
        assert dialog.ui.okButton.isEnabled()
    _try(qtbot, dialog, "HR0101", "wrong")
    assert "此工号已锁定，12:30 后可再登录" in dialog.ui.messageLabel.text()
    assert not dialog.ui.okButton.isEnabled()
    calls = len(sign_in.calls)
    type_keys(qtbot, dialog.ui.passwordEdit, "pw")  # even the right password is not sent
    press(qtbot, dialog.ui.passwordEdit, Qt.Key.Key_Return)
    assert len(sign_in.calls) == calls and window.session is None
    dialog.ui.numberEdit.setText("HR0102")  # another clerk may still sign in here
    assert dialog.ui.okButton.isEnabled()
    _try(qtbot, dialog, "HR0102", "pw")
    assert window.session is not None and window.session.operator.number == "HR0102"


def test_a_slow_sign_in_shows_progress_and_can_be_cancelled(
    shell: Shell, qtbot: QtBot, sign_in: FakeSignIn
) -> None:
    sign_in.gate = threading.Event()
    window = shell()
    window.open_sign_in()
    dialog = _dialog(window)
    dialog.ui.numberEdit.setText("HR0101")
    dialog.ui.passwordEdit.setText("pw")
    dialog.ui.okButton.click()
    assert dialog.ui.busyBar.isVisible() and not dialog.ui.okButton.isEnabled()
    assert "正在登录" in dialog.ui.messageLabel.text()
    dialog.ui.cancelButton.click()
    assert not dialog.ui.busyBar.isVisible() and dialog.ui.messageLabel.text() == "已取消等待。"
    sign_in.gate.set()
    qtbot.wait(200)
    assert window.session is None  # the late answer is dropped


def test_idle_lock_hides_the_citizen_and_needs_the_same_password(
    shell: Shell, qtbot: QtBot, devices: EmulatedDevices
) -> None:
    window = shell(idle_lock_ms=300)
    signed_in(qtbot, window, "HR0101")
    with qtbot.waitSignal(window.cards.read_finished):  # type: ignore[union-attr]
        devices.insert("card_a")
    assert window.card_panel.ui.nameValue.text() == "张三"
    with qtbot.waitSignal(window.locked_changed, timeout=3000) as locked:
        pass  # no input for 300 ms
    assert locked.args == [True]
    dialog = _dialog(window)
    assert dialog.mode is Mode.UNLOCK and dialog.isVisible()
    panel = window.card_panel.ui
    assert (
        not panel.fields.isVisible() and panel.stateLabel.text() == "屏幕已锁定，卡片信息已隐藏"
    )  # 张三 is gone
    assert window.ui.workStack.currentWidget() is window.ui.welcomePage
    assert window.ui.welcomeTitle.text() == "屏幕已锁定"
    assert dialog.ui.numberEdit.text() == "HR0101" and dialog.ui.numberEdit.isReadOnly()
    with qtbot.waitSignal(window.cards.read_finished):  # type: ignore[union-attr]
        devices.insert("emeishan_v2")  # the next citizen's card, while the screen is locked
    assert not panel.fields.isVisible() and panel.stateLabel.text() == "屏幕已锁定，卡片信息已隐藏"
    _try(qtbot, dialog, "HR0101", "wrong")
    assert window.locked
    with qtbot.waitSignal(window.locked_changed) as unlocked:
        _try(qtbot, dialog, "HR0101", "pw")
    assert unlocked.args == [False]
    assert panel.fields.isVisible() and panel.nameValue.text() == "李秀英"
    assert window.ui.workStack.currentWidget() is window.ui.itemPage  # back where the clerk was
    assert window.session is not None and window.session.operator.number == "HR0101"


def test_activity_keeps_the_screen_unlocked_and_switch_operator_signs_out(
    shell: Shell, qtbot: QtBot, sign_in: FakeSignIn
) -> None:
    window = shell(idle_lock_ms=400)
    signed_in(qtbot, window)
    for _ in range(4):
        qtbot.wait(150)
        press(qtbot, window.ui.serviceList, Qt.Key.Key_Down)
    assert not window.locked
    window.lock()  # 锁定 by hand (Ctrl+Shift+L)
    dialog = _dialog(window)
    dialog.ui.secondaryButton.click()  # 切换操作员
    assert window.session is None
    qtbot.waitUntil(lambda: sign_in.signed_out == ["HR0101"])
    assert _dialog(window).mode is Mode.SIGN_IN


def _confirm(qtbot: QtBot, window: MainWindow) -> tuple[SignInDialog, list[OperatorSession | None]]:
    results: list[OperatorSession | None] = []
    dialog = window.request_confirmation("注销须复核。", results.append)
    assert dialog is not None and dialog.mode is Mode.CONFIRM
    assert dialog.windowTitle() == "复核/授权确认"
    return dialog, results


def test_supervisor_confirmation_is_a_second_sign_in_by_another_supervisor(
    shell: Shell, qtbot: QtBot, sign_in: FakeSignIn
) -> None:
    window = shell()
    signed_in(qtbot, window, "HR0109")  # a supervisor doing the work needs another supervisor
    dialog, results = _confirm(qtbot, window)
    _try(qtbot, dialog, "HR0109", "pw")
    assert "另一人" in dialog.ui.messageLabel.text() and dialog.isVisible()
    _try(qtbot, dialog, "HR0102", "pw")  # a clerk cannot confirm
    assert "没有复核/授权权限" in dialog.ui.messageLabel.text()
    _try(qtbot, dialog, "GH0101", "pw")  # nor someone from another outlet
    assert dialog.isVisible() and not results
    qtbot.waitUntil(lambda: sign_in.signed_out == ["HR0109", "HR0102", "GH0101"])  # confirm tokens dropped
    _try(qtbot, dialog, "HR0108", "pw")
    assert [r.operator.number for r in results if r is not None] == ["HR0108"]
    assert window.session is not None and window.session.operator.number == "HR0109"  # unchanged
    dialog2, results2 = _confirm(qtbot, window)
    dialog2.ui.cancelButton.click()
    assert results2 == [None]
