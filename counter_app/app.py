"""Composition root (程序装配): the one module that knows every concrete class.

It reads the settings, configures logging, and builds the window with what the mode needs. Training
mode wires the embedded parts as their issues land (central server on 127.0.0.1, emulated card, PSAM
and PIN pad); production mode wires the real readers, PIN pad, printer and server.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

from counter_app.config import ConfigError, Settings, load_settings
from counter_app.logs import configure_logging

if TYPE_CHECKING:
    from counter_app.ui.main_window import MainWindow

log = logging.getLogger(__name__)

UI_FONT_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "WenQuanYi Micro Hei")


def _install_chinese(app: object) -> None:
    """Chinese standard buttons (qtbase_zh_CN) and a CJK UI font that renders simplified shapes."""
    from counter_app.ui.qt import QApplication, QFont, QFontDatabase, QLibraryInfo, QLocale, QTranslator

    assert isinstance(app, QApplication)
    QLocale.setDefault(QLocale(QLocale.Language.Chinese, QLocale.Country.China))
    translator = QTranslator(app)
    if translator.load("qtbase_zh_CN", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(translator)
    families = set(QFontDatabase.families())
    for family in UI_FONT_FAMILIES:
        if family in families:
            app.setFont(QFont(family, 11))
            break
    else:
        log.warning("no CJK UI font found among %s; Chinese may render as boxes", UI_FONT_FAMILIES)


def _show_config_error(exc: ConfigError) -> int:
    from counter_app.ui.qt import QApplication, QMessageBox

    print(str(exc), file=sys.stderr)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    _install_chinese(app)
    QMessageBox.critical(None, "无法启动", str(exc))
    return 2


def build_main_window(settings: Settings) -> MainWindow:
    """The main window for these settings (used by ``run_workstation`` and the UI tests)."""
    from counter_app.domain.catalog import load_catalog
    from counter_app.ui.main_window import MainWindow
    from counter_app.ui.menu import menu_entries

    return MainWindow(menu_entries(load_catalog()), training=settings.training)


def run_workstation(qt_argv: list[str]) -> int:
    """Start the GUI and run its event loop; returns the process exit code."""
    from counter_app.ui.qt import QApplication

    try:
        settings = load_settings()
    except ConfigError as exc:
        return _show_config_error(exc)
    log_file = configure_logging(settings.data_dir / "logs")
    log.info("starting in %s mode; log file %s", settings.mode.value, log_file)
    app = QApplication(qt_argv)
    app.setApplicationName("乐山市社会保障卡柜面业务系统")
    _install_chinese(app)
    window = build_main_window(settings)
    window.show()
    log.info("main window shown (training banner visible: %s)", settings.training)
    return int(app.exec())
