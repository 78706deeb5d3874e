"""Fixtures for the shell tests: fakes of the sign-in, online state and card-status ports, the
emulated devices, an in-memory keyring, and the GUI-thread guard switched on (strict) for every test.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import keyring
import pytest
from pytestqt.qtbot import QtBot

from counter_app.card import CardInfo
from counter_app.clock import SHANGHAI
from counter_app.config import Mode, Settings
from counter_app.domain.errors import DomainError
from counter_app.domain.operators import (
    Operator,
    Outlet,
    OutletCapabilities,
    OutletType,
    Role,
    check_confirmer,
)
from counter_app.threads import allow_on_thread, forbid_on_thread
from counter_app.training.devices import EmulatedDevices
from counter_app.ui.main_window import MainWindow
from counter_app.ui.ports import (
    CardStatus,
    ConnectivityState,
    OperatorSession,
    SignInRefused,
)
from counter_app.ui.qt import QApplication, QSettings, Qt, QWidget
from counter_app.ui.services import ShellServices, TrainingParts
from tests.store.memory_keyring import MemoryKeyring

HR = Outlet(
    "511102001",
    "乐山市人力资源和社会保障中心社会保障卡服务窗口",
    OutletType.HR_WINDOW,
    OutletCapabilities(True, True),
)
ICBC = Outlet(
    "511102102", "工商银行乐山市中区支行", OutletType.BANK_OUTLET, OutletCapabilities(bank="工商银行")
)
ABC = Outlet(
    "511102101",
    "农业银行乐山分行营业部（快速制卡网点）",
    OutletType.BANK_OUTLET,
    OutletCapabilities(True, True, "农业银行"),
)

OPERATORS: dict[str, tuple[Operator, Outlet | None, str]] = {
    "HR0101": (Operator("HR0101", "培训经办甲", Role.HR_CLERK, HR.code), HR, "pw"),
    "HR0102": (Operator("HR0102", "培训经办乙", Role.HR_CLERK, HR.code), HR, "pw"),
    "HR0109": (Operator("HR0109", "培训复核甲", Role.HR_SUPERVISOR, HR.code), HR, "pw"),
    "HR0108": (Operator("HR0108", "培训复核乙", Role.HR_SUPERVISOR, HR.code), HR, "pw"),
    "GH0101": (Operator("GH0101", "工行经办", Role.BANK_CLERK, ICBC.code), ICBC, "pw"),
    "NH0101": (Operator("NH0101", "农行经办", Role.BANK_CLERK, ABC.code), ABC, "pw"),
    "ADMIN01": (Operator("ADMIN01", "培训管理员", Role.ADMIN, None), None, "pw"),
}

TRAINING = Settings(mode=Mode.TRAINING, config_file=None, data_dir=Path("/nonexistent"))
PRODUCTION = Settings(
    mode=Mode.PRODUCTION,
    config_file=None,
    data_dir=TRAINING.data_dir,
    server_url="https://sbk.example.gov.cn/api",
    outlet_code="511102001",
)


class FakeSignIn:
    """`SignInService` like the server's: 5 wrong passwords in a row lock the 工号 (15 minutes)."""

    def __init__(self, *, lock_after: int = 5) -> None:
        self.lock_after = lock_after
        self.failures: dict[str, int] = {}
        self.locked_until: dict[str, datetime] = {}
        self.signed_out: list[str] = []
        self.calls: list[str] = []
        self.gate: threading.Event | None = None  # set by a test to hold a call "on the wire"
        self.threads: list[int] = []

    def _check(self, number: str, password: str) -> OperatorSession:
        self.threads.append(threading.get_ident())
        self.calls.append(number)
        if self.gate is not None:
            self.gate.wait(10)
        until = self.locked_until.get(number)
        if until is not None:
            raise SignInRefused("account_locked", "密码错误次数过多，此工号已锁定。", locked_until=until)
        known = OPERATORS.get(number)
        if known is None or known[2] != password:
            count = self.failures[number] = self.failures.get(number, 0) + 1
            if known is not None and count >= self.lock_after:
                until = datetime(2030, 1, 1, 12, 30, tzinfo=SHANGHAI)
                self.locked_until[number] = until
                raise SignInRefused("account_locked", "密码错误次数过多，此工号已锁定。", locked_until=until)
            raise SignInRefused("invalid_credentials", "工号或密码错误。")
        self.failures[number] = 0
        return OperatorSession(known[0], known[1])

    def sign_in(self, operator_number: str, password: str) -> OperatorSession:
        return self._check(operator_number, password)

    def confirm(self, operator_number: str, password: str, requester: OperatorSession) -> OperatorSession:
        confirmer = self._check(operator_number, password)
        assert requester.outlet is not None
        try:
            check_confirmer(confirmer.operator, requester.operator, requester.outlet)
        except DomainError as refusal:
            self.sign_out(confirmer)  # the confirm token is dropped at once
            raise SignInRefused(refusal.code, refusal.message) from refusal
        return confirmer

    def sign_out(self, session: OperatorSession) -> None:
        self.signed_out.append(session.operator.number)


class FakeConnectivity:
    """`ConnectivityStatus` whose state a test sets, with callbacks from a foreign thread."""

    def __init__(self) -> None:
        self.state = ConnectivityState(online=True)
        self.callbacks: list[Callable[[ConnectivityState], None]] = []

    def current(self) -> ConnectivityState:
        return self.state

    def subscribe(self, callback: Callable[[ConnectivityState], None]) -> None:
        self.callbacks.append(callback)
        callback(self.state)

    def set(self, state: ConnectivityState) -> None:
        self.state = state
        worker = threading.Thread(target=lambda: [cb(state) for cb in self.callbacks])
        worker.start()
        worker.join()


class FakeCardStatus:
    """`CardStatusLookup`: 正常 for every card, 代管代持 for 李秀英."""

    def __init__(self) -> None:
        self.threads: list[int] = []

    def card_status(self, session: OperatorSession, info: CardInfo) -> CardStatus:
        self.threads.append(threading.get_ident())
        notice = "王志强（子女）代管代持，有效期至 2027-12-31" if info.name == "李秀英" else ""
        return CardStatus("正常", custody_notice=notice)


@pytest.fixture(autouse=True)
def gui_thread_guard(qapp: QApplication) -> Iterator[None]:
    """A blocking device or network call on the GUI thread fails the test (strict)."""
    forbid_on_thread(strict=True)
    yield
    allow_on_thread()


@pytest.fixture(autouse=True)
def isolated_qsettings(tmp_path: Path, qapp: QApplication) -> Iterator[None]:
    """QSettings (大字体) in the test's own folder, and the normal font size afterwards."""
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "qsettings"))
    qapp.setOrganizationName("leshan-sscard-test")
    qapp.setApplicationName("counter-app-test")
    from counter_app.ui.appearance import install_chinese

    install_chinese(qapp)
    yield
    install_chinese(qapp)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def sign_in() -> FakeSignIn:
    return FakeSignIn()


@pytest.fixture
def connectivity() -> FakeConnectivity:
    return FakeConnectivity()


@pytest.fixture
def devices() -> Iterator[EmulatedDevices]:
    emulated = EmulatedDevices()
    yield emulated
    emulated.stop()


Shell = Callable[..., MainWindow]


@pytest.fixture
def shell(
    qtbot: QtBot, sign_in: FakeSignIn, connectivity: FakeConnectivity, devices: EmulatedDevices
) -> Shell:
    """A started main window with fakes and the emulated reader; keyword arguments override."""

    def build(settings: Settings = TRAINING, **overrides: Any) -> MainWindow:
        fields: dict[str, Any] = {
            "settings": settings,
            "devices": devices,
            "sign_in": sign_in,
            "connectivity": connectivity,
            "card_status": FakeCardStatus(),
            "training": TrainingParts(hands=devices, cards={}) if settings.training else None,
            "probe_interval_ms": 3_600_000,
        }
        fields.update(overrides)
        window = MainWindow(ShellServices(**fields))
        qtbot.addWidget(window)
        with qtbot.waitExposed(window):
            window.show()
        activate(qtbot, window)
        window.start()
        return window

    return build


def signed_in(qtbot: QtBot, window: MainWindow, number: str = "HR0101", password: str = "pw") -> None:
    """Sign in through the dialog as a clerk would: 工号, Enter, 密码, Enter."""
    window.open_sign_in()
    dialog = window.dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible)
    type_keys(qtbot, dialog.ui.numberEdit, number)
    press(qtbot, dialog.ui.numberEdit, Qt.Key.Key_Return)
    assert dialog.ui.passwordEdit.hasFocus() or dialog.focusWidget() is dialog.ui.passwordEdit
    type_keys(qtbot, dialog.ui.passwordEdit, password)
    with qtbot.waitSignal(window.session_changed, timeout=5000):
        press(qtbot, dialog.ui.passwordEdit, Qt.Key.Key_Return)
    activate(qtbot, window)


def press(
    qtbot: QtBot, widget: QWidget, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier
) -> None:
    """One key press, as the clerk's keyboard sends it (pytest-qt's keyClick, typed)."""
    qtbot.keyClick(widget, key, modifier)  # type: ignore[no-untyped-call]


def type_keys(qtbot: QtBot, widget: QWidget, text: str) -> None:
    """ASCII typed key by key (Chinese goes through QInputMethodEvent: keyClicks aborts on it)."""
    assert text.isascii()
    qtbot.keyClicks(widget, text)  # type: ignore[no-untyped-call]


def activate(qtbot: QtBot, window: QWidget) -> None:
    """Make ``window`` the active window (window shortcuts such as the F-keys need it)."""
    with qtbot.waitActive(window):
        window.activateWindow()
