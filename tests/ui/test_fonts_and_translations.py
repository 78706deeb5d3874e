"""No tofu: every visible text is covered by the UI font (or its configured fallbacks); Chinese
standard buttons from qtbase_zh_CN; our catalog loads when built."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

from pytestqt.qtbot import QtBot

from counter_app.emulator import TEST_CARDS
from counter_app.training.devices import EmulatedDevices
from counter_app.training.holders import card_labels
from counter_app.ui.appearance import UI_FONT_FAMILIES, install_translations, translations_dir
from counter_app.ui.main_window import MainWindow
from counter_app.ui.qt import (
    QAbstractButton,
    QApplication,
    QDialogButtonBox,
    QFont,
    QLabel,
    QMessageBox,
    QRawFont,
    QWidget,
)
from counter_app.ui.services import TrainingParts
from counter_app.ui.settings_dialog import SettingsDialog
from tests.ui.conftest import Shell, signed_in


@cache
def _raw(family: str) -> QRawFont:
    return QRawFont.fromFont(QFont(family, 11))


def _covered(font: QFont, char: str) -> bool:
    return any(_raw(family).supportsCharacter(ord(char)) for family in font.families())


def _texts(widget: QWidget) -> Iterator[tuple[QWidget, str]]:
    from PySide6.QtWidgets import QComboBox, QGroupBox, QLineEdit, QListWidget, QMenu, QTabWidget, QTextEdit

    yield widget, widget.windowTitle()
    for child in [widget, *widget.findChildren(QWidget)]:
        if not child.isVisible() and not isinstance(child, QMenu):
            continue
        if isinstance(child, QLabel):
            yield child, child.text()
        elif isinstance(child, QAbstractButton):
            yield child, child.text().replace("&", "")
        elif isinstance(child, QGroupBox):
            yield child, child.title()
        elif isinstance(child, QLineEdit):
            yield child, child.text() + child.placeholderText()
        elif isinstance(child, QListWidget):
            for row in range(child.count()):
                yield child, child.item(row).text()
        elif isinstance(child, QMenu):
            yield child, child.title().replace("&", "")
            for action in child.actions():
                yield child, action.text().replace("&", "")
        elif isinstance(child, QTabWidget):
            for index in range(child.count()):
                yield child, child.tabText(index).replace("&", "")
        elif isinstance(child, QComboBox):
            for index in range(child.count()):
                yield child, child.itemText(index)
        elif isinstance(child, QTextEdit):
            yield child, child.toPlainText()
        tip = child.toolTip()
        if tip:
            yield child, tip


def _tofu(*windows: QWidget) -> list[str]:
    missing: list[str] = []
    seen = 0
    for window in windows:
        for widget, text in _texts(window):
            for char in set(text):
                if char.isspace() or ord(char) < 0x20:
                    continue
                seen += 1
                if not _covered(widget.font(), char):
                    missing.append(f"{char!r} U+{ord(char):04X} in {type(widget).__name__} {text[:30]!r}")
    assert seen > 300, "the walk found too few characters to mean anything"
    return missing


def test_every_visible_text_is_covered_by_the_ui_font(
    shell: Shell, qtbot: QtBot, devices: EmulatedDevices
) -> None:
    assert QApplication.font().families()[0] in UI_FONT_FAMILIES  # a CJK font with simplified shapes
    window = shell(training=TrainingParts(hands=devices, cards=card_labels()))
    signed_in(qtbot, window, "ADMIN01")  # the settings are admin-only
    with qtbot.waitSignal(window.cards.read_finished):  # type: ignore[union-attr]
        devices.insert("long_name")
    customer = window.open_customer_window()
    assert customer is not None
    window.open_settings()
    settings = window._windows["settings"]
    assert isinstance(settings, SettingsDialog)
    qtbot.waitUntil(lambda: "正在检测" not in settings.ui.diagnoseText.toPlainText())
    window.lock()
    unlock = window.dialog
    assert unlock is not None
    assert not _tofu(window, customer, settings, unlock)
    rare = next(
        card for card in TEST_CARDS.values() if card.intended_holder and "𠈌" in card.intended_holder.name
    )
    assert any("𠈌" in text for _, text in _texts(customer)), rare.name  # the Extension B name is shown


def test_guide_pages_and_large_font_have_no_tofu(shell: Shell, qtbot: QtBot) -> None:
    window: MainWindow = shell()
    signed_in(qtbot, window)
    window.set_large_font(True)
    for row in range(window.ui.serviceList.count()):
        window.ui.serviceList.setCurrentRow(row)
        assert not _tofu(window)


def test_standard_buttons_are_chinese(qapp: QApplication) -> None:
    loaded = install_translations(qapp)
    assert "qtbase_zh_CN" in loaded
    box = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
    assert box.button(QDialogButtonBox.StandardButton.Save).text().startswith("保存")
    assert box.button(QDialogButtonBox.StandardButton.Cancel).text().startswith("取消")
    message = QMessageBox(QMessageBox.Icon.Question, "t", "t", QMessageBox.StandardButton.Yes)
    assert message.button(QMessageBox.StandardButton.Yes).text().startswith("是")


def test_our_catalog_is_built_from_the_ts_source() -> None:
    source = translations_dir() / "counter_app_zh_CN.ts"
    assert source.exists(), "resources/translations/counter_app_zh_CN.ts missing: run pyside6-lupdate"
    text = source.read_text(encoding="utf-8")
    for marked in (
        "<name>MainWindow</name>",
        "<name>SignInDialog</name>",
        "<name>CardPanel</name>",
        "× 此工号已锁定",
    ):
        assert marked in text
    compiled = source.with_suffix(".qm")
    assert compiled.exists() and compiled.stat().st_mtime >= source.stat().st_mtime, (
        "run make forms (lrelease)"
    )
