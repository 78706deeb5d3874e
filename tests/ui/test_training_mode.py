"""培训模式 end to end in one process: the real embedded central server (SQLite, seeded and cached),
the real sync service, the emulated card and PSAM, and the shell on top of them."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
from pytestqt.qtbot import QtBot

from counter_app.app import training_services
from counter_app.config import Mode, Settings
from counter_app.training.central import EmbeddedCentral
from counter_app.training.credentials import SERVICE
from counter_app.training.environment import TrainingEnvironment
from counter_app.ui.main_window import MainWindow
from counter_app.ui.ports import Device
from tests.store.memory_keyring import MemoryKeyring
from tests.ui.conftest import activate

pytestmark = [pytest.mark.integration, pytest.mark.gui, pytest.mark.slow]

CLERK, CLERK_PASSWORD = "HR0101", "peixun-jingban"
FAST = {"poll_seconds": 0.5, "probe_seconds": 0.5, "verifier_scrypt_n": 2**10, "retries": 0}


@pytest.fixture(scope="module")
def keyring_in_memory() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(scope="module")
def environment(
    tmp_path_factory: pytest.TempPathFactory, keyring_in_memory: MemoryKeyring
) -> Iterator[TrainingEnvironment]:
    root = tmp_path_factory.mktemp("training")
    settings = Settings(mode=Mode.TRAINING, config_file=None, data_dir=root)
    env = TrainingEnvironment(settings, persons=60, kdf_n=2**10, sync_overrides=FAST)
    messages: list[tuple[str, bool]] = []
    env.start_background(lambda message, busy: messages.append((message, busy)))
    assert env.sync(60) is not None, env.failure
    assert messages[-1][0].startswith("内置培训服务器已就绪") and not messages[-1][1]
    yield env
    env.stop()


class SharedDevices:
    """The module's emulated reader for one window: closing the window does not stop it."""

    def __init__(self, devices: Any) -> None:
        self._devices = devices

    def start(self, on_event: Any) -> None:
        self._devices.start(on_event)

    def submit(self, job: Any) -> Any:
        return self._devices.submit(job)

    def stop(self) -> None:
        pass


@pytest.fixture
def window(qtbot: QtBot, environment: TrainingEnvironment) -> Iterator[MainWindow]:
    services = dataclasses.replace(
        training_services(environment.settings, environment),
        devices=SharedDevices(environment.devices),
        probe_interval_ms=3_600_000,
    )
    shell = MainWindow(services)
    qtbot.addWidget(shell)
    with qtbot.waitExposed(shell):
        shell.show()
    activate(qtbot, shell)
    shell.start()
    yield shell
    environment.devices.remove().result()
    shell.close()  # signs the operator out
    qtbot.waitUntil(lambda: environment.sync(0).tokens.current is None)


def _sign_in(qtbot: QtBot, window: MainWindow, number: str, password: str) -> str:
    window.open_sign_in()
    dialog = window.dialog
    assert dialog is not None
    dialog.ui.numberEdit.setText(number)
    dialog.ui.passwordEdit.setText(password)
    dialog.ui.okButton.click()
    qtbot.waitUntil(lambda: not dialog.ui.busyBar.isVisible(), timeout=30_000)
    return dialog.ui.messageLabel.text()


def test_the_counter_is_enrolled_with_its_secrets_in_the_keyring(
    environment: TrainingEnvironment, keyring_in_memory: MemoryKeyring
) -> None:
    stored = {user for service, user in keyring_in_memory.items if service == SERVICE}
    assert {"counter-credential", "receipt-key", "store-key"} <= stored
    assert keyring_in_memory.items[(SERVICE, "counter-credential")].startswith("511102001-01.")
    assert not any(service == "leshan-sscard-counter" for service, _ in keyring_in_memory.items)


def test_sign_in_card_status_and_custody_through_the_real_server(
    window: MainWindow, qtbot: QtBot, environment: TrainingEnvironment
) -> None:
    qtbot.waitUntil(lambda: window.status.text(Device.SERVER).startswith("● 服务器：在线"), timeout=10_000)
    assert _sign_in(qtbot, window, CLERK, CLERK_PASSWORD) == ""
    assert window.session is not None and not window.session.offline
    assert window.ui.operatorLabel.text() == "操作员：HR0101 培训经办甲（人社窗口经办人）"
    assert len(window.visible_codes()) == 12
    panel = window.card_panel.ui
    with qtbot.waitSignal(window.cards.read_finished):  # type: ignore[union-attr]
        environment.devices.insert("emeishan_v2")
    qtbot.waitUntil(lambda: panel.statusValue.text() == "正常", timeout=10_000)
    assert panel.custodyNotice.isVisible()
    assert "王志强（子女）" in panel.custodyNotice.text() and "代管代持" in panel.custodyNotice.text()
    with qtbot.waitSignal(window.cards.read_finished):  # type: ignore[union-attr]
        environment.devices.insert("yi_mabian")
    qtbot.waitUntil(lambda: panel.statusValue.text() == "正式挂失", timeout=10_000)
    assert not panel.custodyNotice.isVisible()


def test_five_wrong_passwords_lock_the_number_on_the_server(window: MainWindow, qtbot: QtBot) -> None:
    for _ in range(4):
        assert _sign_in(qtbot, window, "HR0102", "wrong") == "× 工号或密码错误。"
    message = _sign_in(qtbot, window, "HR0102", "wrong")
    assert "锁定" in message
    assert not window.dialog.ui.okButton.isEnabled()  # type: ignore[union-attr]
    assert window.session is None


def test_server_lost_and_back(window: MainWindow, qtbot: QtBot, environment: TrainingEnvironment) -> None:
    server = window.status.labels[Device.SERVER]
    qtbot.waitUntil(lambda: server.text().startswith("● 服务器：在线"), timeout=10_000)
    assert _sign_in(qtbot, window, CLERK, CLERK_PASSWORD) == ""  # the worker's rounds notice the loss
    environment.central.stop()
    qtbot.waitUntil(lambda: server.text().startswith("× 服务器：离线"), timeout=15_000)
    assert server.property("health") == "fault"
    environment.central.start(lambda message: None)
    qtbot.waitUntil(lambda: server.text().startswith("● 服务器：在线"), timeout=15_000)


def test_the_seeded_database_is_built_once_and_reused(
    tmp_path: Path, keyring_in_memory: MemoryKeyring
) -> None:
    central = EmbeddedCentral(tmp_path, persons=20, kdf_n=2**10)
    assert central.prepare(lambda message: None) is True
    assert central.prepare(lambda message: None) is False  # cached, and the working copy is current
    central.working.unlink()
    assert central.prepare(lambda message: None) is False  # the copy comes back from the cache
    assert central.working.exists()
    central.socket.close()
