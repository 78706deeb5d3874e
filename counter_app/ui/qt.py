"""The one place the UI imports Qt from, so a binding or version change touches one file."""

from PySide6.QtCore import QLibraryInfo, QLocale, Qt, QTimer, QTranslator, Signal, Slot
from PySide6.QtGui import QFont, QFontDatabase, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QWidget,
)

__all__ = [
    "QApplication",
    "QFont",
    "QFontDatabase",
    "QKeySequence",
    "QLabel",
    "QLibraryInfo",
    "QListWidgetItem",
    "QLocale",
    "QMainWindow",
    "QMessageBox",
    "QShortcut",
    "QTimer",
    "QTranslator",
    "QWidget",
    "Qt",
    "Signal",
    "Slot",
]
