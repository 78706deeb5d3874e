"""Language, fonts and look of the workstation (界面语言与字体).

- Chinese through Qt's translation system: ``qtbase_zh_CN`` (standard buttons: 确定, 取消 …) and
  our catalog ``resources/translations/counter_app_zh_CN.qm`` (built from the ``.ts`` source by
  ``pyside6-lrelease``; the source texts are Chinese, so a missing catalog still shows Chinese).
- A CJK UI font that renders simplified shapes (under ``LANG=C`` fontconfig would pick the
  Japanese face), with fallbacks for 生僻字 in names.
- 大字体 (适老化): the same screens at a larger base size; every size in the style sheet is
  relative to it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from counter_app.resources import resources_root
from counter_app.ui.qt import QApplication, QFont, QFontDatabase, QLibraryInfo, QLocale, QTranslator

log = logging.getLogger(__name__)

#: The UI font, in order of preference (Linux counters, then Windows).
UI_FONT_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "WenQuanYi Micro Hei")
#: Fallbacks for characters the UI font lacks (CJK Extension B and later in names).
FALLBACK_FAMILIES = ("HanaMinA", "HanaMinB", "AR PL UMing CN", "SimSun-ExtB", "BabelStone Han")
NORMAL_POINT_SIZE = 11
LARGE_POINT_SIZE = 15
CATALOG = "counter_app_zh_CN"

_installed: list[QTranslator] = []


def translations_dir() -> Path:
    return resources_root() / "translations"


def install_translations(app: QApplication) -> list[str]:
    """Load qtbase_zh_CN and our catalog; returns the names of those that loaded."""
    QLocale.setDefault(QLocale(QLocale.Language.Chinese, QLocale.Country.China))
    while _installed:
        app.removeTranslator(_installed.pop())
    loaded = []
    qt = QTranslator(app)
    if qt.load("qtbase_zh_CN", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(qt)
        _installed.append(qt)
        loaded.append("qtbase_zh_CN")
    else:
        log.warning("qtbase_zh_CN not found: standard buttons will be in English")
    ours = QTranslator(app)
    if ours.load(CATALOG, str(translations_dir())):
        app.installTranslator(ours)
        _installed.append(ours)
        loaded.append(CATALOG)
    else:
        log.info("%s.qm not built (make forms); showing the Chinese source texts", CATALOG)
    return loaded


def ui_font(point_size: int = NORMAL_POINT_SIZE) -> QFont | None:
    """The CJK UI font with its fallbacks, or None when no CJK font is installed."""
    families = set(QFontDatabase.families())
    primary = next((f for f in UI_FONT_FAMILIES if f in families), None)
    if primary is None:
        return None
    font = QFont(primary, point_size)
    font.setFamilies([primary, *(f for f in FALLBACK_FAMILIES if f in families)])
    return font


def install_fonts(app: QApplication, *, large: bool = False) -> QFont | None:
    font = ui_font(LARGE_POINT_SIZE if large else NORMAL_POINT_SIZE)
    if font is None:
        log.warning("no CJK UI font found among %s; Chinese may render as boxes", UI_FONT_FAMILIES)
        return None
    app.setFont(font)
    return font


def install_chinese(app: QApplication, *, large: bool = False) -> None:
    """Translations, the UI font and the style sheet: everything the first window needs."""
    install_translations(app)
    install_fonts(app, large=large)
    app.setStyleSheet(style_sheet(large=large))


def set_large_font(app: QApplication, large: bool) -> None:
    """Switch 大字体 on or off for every open window."""
    install_fonts(app, large=large)
    app.setStyleSheet(style_sheet(large=large))


# Colours: a calm navy/grey palette; state colours are always paired with words and symbols.
NAVY = "#1f3a5f"
ACCENT = "#1565c0"
BANNER = "#b71c1c"
HEALTH_COLOURS = {
    "ok": ("#1b5e20", "#e8f5e9"),
    "warning": ("#8a4b00", "#fff3e0"),
    "fault": ("#b71c1c", "#ffebee"),
    "busy": ("#0d47a1", "#e3f2fd"),
    "unknown": ("#424242", "#eeeeee"),
}


def style_sheet(*, large: bool = False) -> str:
    """The application style sheet; sizes follow the base font size."""
    base = LARGE_POINT_SIZE if large else NORMAL_POINT_SIZE
    big, title = base + 3, base + 6
    health = "".join(
        f'QLabel[health="{name}"] {{ color: {fg}; background: {bg}; border: 1px solid {fg}; }}\n'
        for name, (fg, bg) in HEALTH_COLOURS.items()
    )
    return f"""
QMainWindow {{ background: #f4f6f9; }}
QDialog {{ background: white; }}
QDialog#SignInDialog {{ border: 1px solid #90a4ae; }}
QLabel#headingLabel {{ font-size: {big}pt; font-weight: bold; color: {NAVY}; padding-bottom: 4px;
    border-bottom: 2px solid {NAVY}; }}
QLabel#trainingBanner {{ background: {BANNER}; color: white; font-weight: bold; padding: 6px;
    font-size: {big}pt; }}
QFrame#headerBar {{ background: {NAVY}; }}
QFrame#headerBar QLabel {{ color: white; font-size: {base + 1}pt; }}
QFrame#headerBar QLabel#modeLabel {{ background: white; color: {NAVY}; font-weight: bold;
    border-radius: 3px; padding: 1px 8px; margin-right: 8px; }}
QFrame#headerBar QPushButton {{ color: white; background: transparent; border: 1px solid #8fa6c4;
    border-radius: 3px; padding: 3px 12px; }}
QFrame#headerBar QPushButton:focus {{ border: 2px solid white; }}
QLabel#menuTitle, QLabel#itemTitle {{ font-size: {big}pt; font-weight: bold; color: {NAVY};
    padding: 4px 0; }}
QLabel#welcomeTitle {{ font-size: {title}pt; font-weight: bold; color: {NAVY}; padding-top: 80px; }}
QLabel#welcomeText, QLabel#menuHint {{ color: #455a64; }}
QListWidget#serviceList {{ background: white; border: 1px solid #cfd8dc; font-size: {base + 1}pt; }}
QListWidget#serviceList::item {{ padding: 7px 8px; border-bottom: 1px solid #eceff1; }}
QListWidget#serviceList::item:selected {{ background: {ACCENT}; color: white; }}
QListWidget#serviceList::item:disabled {{ color: #9e9e9e; }}
QTextBrowser#itemDetails, QPlainTextEdit {{ background: white; border: 1px solid #cfd8dc; }}
QGroupBox#cardBox {{ background: white; border: 1px solid #cfd8dc; border-radius: 4px;
    margin-top: {base + 10}px; padding: 8px; font-weight: bold; }}
QGroupBox#cardBox::title {{ subcontrol-origin: margin; left: 10px; color: {NAVY};
    font-size: {base + 2}pt; }}
QGroupBox#cardBox QLabel {{ font-weight: normal; }}
QLabel#stateLabel {{ font-size: {base + 2}pt; color: {NAVY}; padding: 4px 0; }}
QLabel#nameValue {{ font-size: {big}pt; font-weight: bold; }}
QLabel#custodyNotice {{ background: #fff3e0; color: #8a4b00; border: 1px solid #8a4b00;
    border-radius: 3px; padding: 6px; }}
QLabel#messageLabel[severity="error"], QLabel#validationLabel[severity="error"] {{ color: #b71c1c; }}
QLabel#messageLabel[severity="info"] {{ color: #0d47a1; }}
QPushButton {{ padding: 5px 14px; }}
QPushButton:default {{ font-weight: bold; }}
QStatusBar {{ background: #e9edf2; border-top: 1px solid #cfd8dc; }}
QStatusBar QLabel {{ padding: 1px 4px; }}
QStatusBar::item {{ border: none; }}
QLabel[health] {{ border-radius: 3px; padding: 1px 6px; margin: 2px 1px; }}
{health}
QLabel#promptLabel {{ font-size: {big}pt; font-weight: bold; color: {NAVY}; }}
QLabel#digitsLabel {{ font-size: {title}pt; letter-spacing: 4px; }}
QWidget#PinPadWindow QPushButton {{ font-size: {big}pt; min-height: 44px; }}
"""
