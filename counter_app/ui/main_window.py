"""The main window (主界面): service menu, work area, status bar and the 培训模式 banner.

The layout is the Qt Designer form ``forms/main_window.ui`` (compiled by ``make forms``); this class
fills it in. The wizards, card panel and device status arrive with their own issues.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from counter_app.ui.generated.ui_main_window import Ui_MainWindow
from counter_app.ui.qt import QKeySequence, QLabel, QListWidgetItem, QMainWindow, QShortcut, Qt, QWidget

TRAINING_BANNER_STYLE = (
    "QLabel { background: #b71c1c; color: white; font-weight: bold; padding: 8px; font-size: 16pt; }"
)
TRAINING_TITLE_SUFFIX = " 【培训模式】"


@dataclass(frozen=True)
class MenuEntry:
    """One service item as the menu shows it (业务菜单项)."""

    code: str
    title: str
    details_html: str


class MainWindow(QMainWindow):
    """The workstation shell: one per process."""

    def __init__(self, entries: Sequence[MenuEntry], *, training: bool, parent: QWidget | None = None):
        super().__init__(parent)
        self.ui = Ui_MainWindow()
        self.ui.setupUi(self)
        self.training = training
        self._entries = list(entries)
        self.ui.trainingBanner.setStyleSheet(TRAINING_BANNER_STYLE)
        self.ui.trainingBanner.setVisible(training)
        if training:
            self.setWindowTitle(self.windowTitle() + TRAINING_TITLE_SUFFIX)
        self._fill_menu()
        self.ui.splitter.setSizes([320, 880])
        self.ui.serviceList.currentRowChanged.connect(self._show_entry)
        self.operator_label = QLabel("操作员：未登录")
        self.mode_label = QLabel("培训模式" if training else "正式环境")
        self.ui.statusBar.addWidget(self.operator_label)
        self.ui.statusBar.addPermanentWidget(self.mode_label)

    @property
    def banner(self) -> QLabel:
        return self.ui.trainingBanner

    def _fill_menu(self) -> None:
        for number, entry in enumerate(self._entries, start=1):
            key = f"F{number}" if number <= 12 else ""
            item = QListWidgetItem(f"{entry.title}    {key}".rstrip())
            item.setData(Qt.ItemDataRole.UserRole, entry.code)
            self.ui.serviceList.addItem(item)
            if key:
                shortcut = QShortcut(QKeySequence(key), self)
                shortcut.activated.connect(lambda row=number - 1: self.ui.serviceList.setCurrentRow(row))

    def _show_entry(self, row: int) -> None:
        if not 0 <= row < len(self._entries):
            return
        entry = self._entries[row]
        self.ui.itemTitle.setText(entry.title)
        self.ui.itemDetails.setHtml(entry.details_html)

    def selected_code(self) -> str | None:
        item = self.ui.serviceList.currentItem()
        return None if item is None else str(item.data(Qt.ItemDataRole.UserRole))
