"""Settings and devices (设置与设备), for the ``admin`` role only.

柜台设置: server address, reader name patterns, PIN-pad port, printer and paper profile, saved to
``counter.toml`` (takes effect at the next start). 设备诊断: the ``counter-app diagnose`` report,
collected on a worker thread. In 培训模式 nothing is saved: saving would make this PC a
configured counter, and city IT configures real counters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from counter_app.config import PAPER_PROFILES, ConfigError, Settings
from counter_app.ui import settings_file
from counter_app.ui.bridge import BackgroundTasks
from counter_app.ui.generated.ui_settings_dialog import Ui_SettingsDialog
from counter_app.ui.qt import QDialog, QDialogButtonBox, QWidget


class SettingsDialog(QDialog):
    """Edit this counter's settings and look at its devices."""

    def __init__(
        self,
        settings: Settings,
        tasks: BackgroundTasks,
        *,
        config_root: Path,
        diagnose: Callable[[], str],
        printers: Callable[[], Sequence[str]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ui = Ui_SettingsDialog()
        self.ui.setupUi(self)
        self._settings = settings
        self._tasks = tasks
        self._config_root = config_root
        self._diagnose = diagnose
        self.saved_to: Path | None = None
        ui = self.ui
        for code in PAPER_PROFILES:
            ui.paperCombo.addItem(self._paper_label(code), code)
        ui.paperCombo.setCurrentIndex(max(0, PAPER_PROFILES.index(settings.paper_profile)))
        ui.serverEdit.setText(settings.server_url or "")
        ui.cardReaderEdit.setText(settings.card_reader_pattern)
        ui.psamReaderEdit.setText(settings.psam_reader_pattern)
        ui.pinPadEdit.setText(settings.pinpad_port)
        ui.printerCombo.setEditText(settings.printer)
        save = ui.buttonBox.button(QDialogButtonBox.StandardButton.Save)
        if settings.training:
            ui.modeLabel.setText(
                self.tr("培训模式：以下为演示设置，不会保存。正式柜台的设置由信息科配置（counter.toml）。")
            )
            save.setEnabled(False)
        else:
            ui.modeLabel.setText(
                self.tr("网点 %1，柜台 %2。保存后重新启动程序生效。")
                .replace("%1", settings.outlet_code)
                .replace("%2", settings.counter_number)
            )
        ui.buttonBox.accepted.connect(self._save)
        ui.buttonBox.rejected.connect(self.reject)
        ui.diagnoseButton.clicked.connect(self.run_diagnosis)
        ui.serverEdit.setFocus()
        tasks.run(printers, self._fill_printers, lambda _error: None)
        self.run_diagnosis()

    def _paper_label(self, code: str) -> str:
        labels = {
            "a4_two_part": self.tr("A4 两联（受理表 + 回执）"),
            "a5": self.tr("A5"),
            "slip_80mm": self.tr("80 毫米小票"),
        }
        return labels.get(code, code)

    def _fill_printers(self, names: Sequence[str]) -> None:
        current = self.ui.printerCombo.currentText()
        self.ui.printerCombo.clear()
        self.ui.printerCombo.addItems(list(names))
        self.ui.printerCombo.setEditText(current)

    def run_diagnosis(self) -> None:
        self.ui.diagnoseButton.setEnabled(False)
        self.ui.diagnoseProgress.setVisible(True)
        self.ui.diagnoseText.setPlainText(self.tr("正在检测设备…"))
        self._tasks.run(self._diagnose, self._diagnosed, self._diagnosis_failed)

    def _diagnosed(self, report: str) -> None:
        self.ui.diagnoseText.setPlainText(report)
        self.ui.diagnoseButton.setEnabled(True)
        self.ui.diagnoseProgress.setVisible(False)

    def _diagnosis_failed(self, error: BaseException) -> None:
        self._diagnosed(self.tr("× 设备诊断失败：%1").replace("%1", str(error) or type(error).__name__))

    def edited(self) -> Settings:
        ui = self.ui
        return replace(
            self._settings,
            server_url=ui.serverEdit.text().strip() or None,
            card_reader_pattern=ui.cardReaderEdit.text().strip(),
            psam_reader_pattern=ui.psamReaderEdit.text().strip(),
            pinpad_port=ui.pinPadEdit.text().strip(),
            printer=ui.printerCombo.currentText().strip(),
            paper_profile=str(ui.paperCombo.currentData()),
        )

    def _save(self) -> None:
        if self._settings.training:
            return
        try:
            self.saved_to = settings_file.save(self.edited(), self._config_root)
        except (ConfigError, OSError) as error:
            label = self.ui.validationLabel
            label.setText(self.tr("× 未保存：%1").replace("%1", str(error)))
            label.setProperty("severity", "error")
            label.style().unpolish(label)
            label.style().polish(label)
            return
        self.accept()
