"""Composition root (程序装配): the one module that knows every concrete class.

It reads the settings, configures logging, shows the window first and then starts what is slow in
the background, so the clerk sees the workstation at once:

- 培训模式 (no configuration): the emulated card reader, PSAM and PIN pad, a training printer that
  keeps PDFs, and the embedded central server (``counter_app.training``);
- production: the PC/SC device thread with the configured reader patterns, the printer, the
  serial PIN pad's port, and the server at ``server_url``.

Sign-in (online and offline), card status and the online state come from the sync service
(``counter_app.sync``), seen by the shell through ``counter_app.ui.sync_shell``. The service opens
the local store and is built on a background thread too; the shell waits for it where it must.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import TYPE_CHECKING, Any

from counter_app import timing
from counter_app.config import ConfigError, Settings, load_settings
from counter_app.logs import configure_logging

if TYPE_CHECKING:
    from counter_app.training.environment import TrainingEnvironment
    from counter_app.ui.main_window import MainWindow
    from counter_app.ui.qt import QApplication
    from counter_app.ui.services import ShellServices

log = logging.getLogger(__name__)

ORGANISATION = "leshan-sscard"
APPLICATION = "counter-app"
#: ``1``: a blocking call on the GUI thread raises (tests, benchmark); otherwise it is logged.
STRICT_THREADS_ENV = "COUNTER_APP_STRICT_THREADS"


def _qt_application(qt_argv: list[str]) -> QApplication:
    from counter_app.ui.appearance import install_chinese
    from counter_app.ui.main_window import LARGE_FONT_KEY
    from counter_app.ui.qt import QApplication, QSettings

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(qt_argv)
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("乐山市社会保障卡柜面业务系统")
    install_chinese(app, large=bool(QSettings().value(LARGE_FONT_KEY, False, type=bool)))
    return app


def _show_config_error(exc: ConfigError) -> int:
    from counter_app.ui.qt import QCoreApplication, QMessageBox

    print(str(exc), file=sys.stderr)
    _qt_application(sys.argv[:1])
    QMessageBox.critical(None, QCoreApplication.translate("App", "无法启动"), str(exc))
    return 2


# -- the parts ---------------------------------------------------------------------------------


class ProductionSync:
    """The counter's sync service, built on a thread (the store opens and migrates first)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.failure: str | None = None
        self._sync: Any = None
        self._ready = threading.Event()

    def start_background(self, progress: Any) -> None:
        """Open the store and start the service on a thread; ``progress(message, busy)`` reports."""
        threading.Thread(target=self._start, args=(progress,), name="sync-start", daemon=True).start()

    def _start(self, progress: Any) -> None:
        from counter_app.store import Store, database_path
        from counter_app.sync import SyncConfig, SyncService

        progress("正在打开本机数据库并连接社保卡中心系统…", True)
        try:
            store = Store.open(database_path(self.settings.data_dir))
            sync = SyncService(SyncConfig.from_settings(self.settings), store)
            sync.start()
            self._sync = sync
            progress("", False)
        except Exception as error:
            log.exception("the sync service could not start")
            self.failure = f"无法启动与中心的同步（{error}），请联系信息科。"
            progress(f"× {self.failure}", False)
        finally:
            self._ready.set()

    def sync(self, wait: float) -> Any:
        self._ready.wait(wait)
        return self._sync

    def stop(self) -> None:
        if self._sync is not None:
            self._sync.stop()
            self._sync.store.close()


def _central_services(provider: Any) -> dict[str, Any]:
    """Sign-in, card status and online state for the shell, on the sync service."""
    from counter_app.ui.sync_shell import SyncShell

    shell = SyncShell(provider)
    return {"sign_in": shell, "card_status": shell, "connectivity": shell}


def _diagnose_text() -> str:
    from counter_app.__main__ import _version
    from counter_app.diagnose import collect, render_text

    return render_text(collect(version=_version()))


def _printer_names() -> list[str]:
    from counter_app.ui.qt import QPrinterInfo

    return list(QPrinterInfo.availablePrinterNames())


def production_services(settings: Settings, sync: ProductionSync) -> ShellServices:
    """The real counter: PC/SC readers, printer, PIN pad port and the sync service."""
    from counter_app.devices.card_service import PcscDeviceService
    from counter_app.ui.probes import PrinterProbe, SerialPortProbe
    from counter_app.ui.services import ShellServices
    from counter_app.ui.wizards import WizardLauncher
    from counter_app.ui.wizards.compose import production_context

    probes: list[Any] = []
    print_pdf = None
    printer = None
    if settings.printer:
        from counter_app.devices.printing import printer_for

        printer = printer_for(settings.printer)
        probes.append(PrinterProbe(printer, settings.printer))

        def print_pdf(pdf: bytes, title: str) -> str:
            return printer.print_pdf(pdf, job_name=title)

    if settings.pinpad_port and settings.pinpad in ("", "serial") and not settings.pinpad_helper:
        probes.append(SerialPortProbe(settings.pinpad_port))
    devices = None
    if settings.card_reader_pattern:
        devices = PcscDeviceService(settings.card_reader_pattern, settings.psam_reader_pattern)
    return ShellServices(
        settings=settings,
        devices=devices,
        start_flow=WizardLauncher(production_context(settings, sync.sync, devices, printer)),
        probes=probes,
        diagnose=_diagnose_text,
        printers=_printer_names,
        print_pdf=print_pdf,
        **_central_services(sync.sync),
    )


def training_services(settings: Settings, environment: TrainingEnvironment) -> ShellServices:
    """培训模式: everything embedded (see `counter_app.training`)."""
    from counter_app.ui.services import ShellServices
    from counter_app.ui.wizards import WizardLauncher
    from counter_app.ui.wizards.compose import training_context

    printer = environment.printer
    return ShellServices(
        settings=settings,
        devices=environment.devices,
        start_flow=WizardLauncher(training_context(environment)),
        probes=environment.probes(),
        training=environment.parts(),
        diagnose=_diagnose_text,
        printers=_printer_names,
        print_pdf=lambda pdf, title: printer.print_pdf(pdf, job_name=title),
        **_central_services(environment.sync),
    )


def build_main_window(settings: Settings, services: ShellServices | None = None) -> MainWindow:
    """The main window for these settings; without ``services`` a shell with no devices or server."""
    from counter_app.ui.main_window import MainWindow
    from counter_app.ui.services import ShellServices

    return MainWindow(services or ShellServices(settings=settings))


# -- running -----------------------------------------------------------------------------------


def run_workstation(qt_argv: list[str]) -> int:
    """Start the GUI and run its event loop; returns the process exit code."""
    timing.mark("main")
    try:
        settings = load_settings()
    except ConfigError as exc:
        return _show_config_error(exc)
    log_file = configure_logging(settings.data_dir / "logs")
    log.info("starting in %s mode; log file %s", settings.mode.value, log_file)
    from counter_app.threads import forbid_on_thread

    app = _qt_application(qt_argv)
    forbid_on_thread(strict=os.environ.get(STRICT_THREADS_ENV) == "1")
    environment: TrainingEnvironment | None = None
    production: ProductionSync | None = None
    if settings.training:
        from counter_app.training.environment import TrainingEnvironment

        environment = TrainingEnvironment(settings)
        services = training_services(environment.settings, environment)
    else:
        production = ProductionSync(settings)
        services = production_services(settings, production)
    window = build_main_window(settings, services)
    _after_first_paint(window, lambda: _started(window, environment, production))
    window.show()
    log.info("main window shown (training banner visible: %s)", settings.training)
    try:
        return int(app.exec())
    finally:
        if environment is not None:
            environment.stop()
        if production is not None:
            production.stop()


def _after_first_paint(window: MainWindow, then: Any) -> None:
    from counter_app.ui.qt import QEvent, QObject, QTimer

    class FirstPaint(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
            if event.type() == QEvent.Type.Paint:
                window.removeEventFilter(self)
                timing.mark("window_shown")
                QTimer.singleShot(0, then)
            return False

    window._first_paint = FirstPaint(window)  # type: ignore[attr-defined]
    window.installEventFilter(window._first_paint)  # type: ignore[attr-defined]


def _started(
    window: MainWindow, environment: TrainingEnvironment | None, production: ProductionSync | None
) -> None:
    """After the first paint: devices, probes, the server and sync in the background, then sign-in."""
    window.start()

    def show(message: str, busy: bool) -> None:
        window.bridge.post(lambda: window.show_background(message, busy=busy))

    if production is not None:
        production.start_background(show)
    if environment is not None:

        def progress(message: str, busy: bool) -> None:
            if not busy and environment.failure is None:
                timing.mark("server_answering")
            show(message, busy)

        environment.start_background(progress)
    if timing.script():
        from counter_app.ui.timing_script import run_script

        run_script(window, environment)
    else:
        window.open_sign_in()
