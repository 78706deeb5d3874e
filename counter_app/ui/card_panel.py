"""The card panel (卡片信息面板): who the card in the reader belongs to, and what state it is in.

Filled from two sources that arrive separately: the chip (姓名, 社会保障号码, 卡号, 有效期, 规范版本,
密码剩余次数), read on the device thread, and the server (卡状态, 代管代持), asked on a worker
thread once an operator is signed in. Every state is said in words; colour only underlines it.
"""

from __future__ import annotations

from datetime import date

from counter_app.card import HolderStatus
from counter_app.ui.generated.ui_card_panel import Ui_CardPanel
from counter_app.ui.ports import CardReading, CardStatus
from counter_app.ui.qt import QWidget, Signal


def _day(value: date | None, raw: str) -> str:
    return value.isoformat() if value is not None else (raw or "—")


class CardPanel(QWidget):
    """Shows one card; `read_requested` asks the shell to read the card again (读卡)."""

    read_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ui = Ui_CardPanel()
        self.ui.setupUi(self)
        self.ui.readButton.clicked.connect(self.read_requested)
        self.reading: CardReading | None = None
        self._hidden: tuple[str, bool, bool, bool] | None = None
        self.show_waiting(self.tr("请插入社会保障卡"))

    # -- states ---------------------------------------------------------------------------------

    def show_waiting(self, message: str) -> None:
        """No card to show: ``message`` says why (no card, no reader, service stopped …)."""
        self.reading = None
        self.ui.stateLabel.setText(message)
        self.ui.readProgress.setVisible(False)
        self.ui.fields.setVisible(False)
        self.ui.custodyNotice.setVisible(False)
        self._rehide()

    def show_reading(self) -> None:
        self.reading = None
        self.ui.stateLabel.setText(self.tr("正在读卡，请勿拔卡…"))
        self.ui.readProgress.setVisible(True)
        self.ui.fields.setVisible(False)
        self.ui.custodyNotice.setVisible(False)
        self._rehide()

    def show_error(self, message: str) -> None:
        self.reading = None
        self.ui.stateLabel.setText(self.tr("× 读卡失败：%1").replace("%1", message))
        self.ui.readProgress.setVisible(False)
        self.ui.fields.setVisible(False)
        self.ui.custodyNotice.setVisible(False)
        self._rehide()

    def show_card(self, reading: CardReading, *, today: date) -> None:
        self.reading = reading
        info = reading.info
        ui = self.ui
        ui.readProgress.setVisible(False)
        ui.fields.setVisible(True)
        if info.is_blank:
            ui.stateLabel.setText(self.tr("空白预制卡（未个人化）"))
        else:
            ui.stateLabel.setText(self.tr("已读卡"))
        if info.holder_status is HolderStatus.READ:
            name = info.name or "—"
            if not info.name_encoding_ok:
                name += self.tr("（姓名编码异常）")
            ui.nameValue.setText(name)
            ui.ssnValue.setText(info.ssn or "—")
        else:
            ui.nameValue.setText(self.tr("未读取（%1）").replace("%1", info.holder_status.label))
            ui.ssnValue.setText("—")
        ui.cardNumberValue.setText(info.card_number or self.tr("空白"))
        expiry = info.expiry_date_value
        validity = (
            f"{_day(info.issue_date_value, info.issue_date)} {self.tr('至')} {_day(expiry, info.expiry_date)}"
        )
        if expiry is not None and expiry < today:
            validity += self.tr("（已过期）")
        ui.validityValue.setText(validity if not info.is_blank else "—")
        ui.versionValue.setText(self.tr("%1 版").replace("%1", info.spec_version or "?"))
        ui.pinValue.setText(self._pin_text(reading.pin_tries_left))
        ui.statusValue.setText(self.tr("登录后查询"))
        ui.custodyNotice.setVisible(False)
        self._rehide()

    def _rehide(self) -> None:
        """A change while the screen is locked is kept for later, not shown."""
        if self._hidden is not None:
            self._hidden = None
            self.hide_for_privacy(True)

    def _pin_text(self, tries: int | None) -> str:
        if tries is None:
            return self.tr("卡片未提供剩余次数")
        if tries == 0:
            return self.tr("× 已锁定（需办理密码重置或解锁）")
        return self.tr("剩余 %1 次").replace("%1", str(tries))

    def show_status_pending(self) -> None:
        self.ui.statusValue.setText(self.tr("正在查询…"))
        self._rehide()

    def show_status(self, status: CardStatus) -> None:
        text = status.status_label
        if status.as_of is not None:
            text += self.tr("（本地数据，截至 %1）").replace("%1", status.as_of.strftime("%m-%d %H:%M"))
        self.ui.statusValue.setText(text)
        if status.custody_notice:
            self.ui.custodyNotice.setText(self.tr("⚠ 代管代持：%1").replace("%1", status.custody_notice))
            self.ui.custodyNotice.setVisible(True)
        else:
            self.ui.custodyNotice.setVisible(False)
        self._rehide()

    def show_status_unavailable(self, message: str) -> None:
        self.ui.statusValue.setText(self.tr("未能查询：%1").replace("%1", message))
        self._rehide()

    def hide_for_privacy(self, hidden: bool) -> None:
        """Hide the holder's data while the screen is locked (锁屏时隐藏个人信息), and bring it back."""
        ui = self.ui
        if hidden and self._hidden is None:
            self._hidden = (
                ui.stateLabel.text(),
                ui.fields.isVisibleTo(self),
                ui.custodyNotice.isVisibleTo(self),
                ui.readProgress.isVisibleTo(self),
            )
            ui.stateLabel.setText(self.tr("屏幕已锁定，卡片信息已隐藏"))
            for widget in (ui.fields, ui.custodyNotice, ui.readProgress):
                widget.setVisible(False)
            ui.readButton.setEnabled(False)
        elif not hidden and self._hidden is not None:
            text, fields, custody, progress = self._hidden
            self._hidden = None
            ui.stateLabel.setText(text)
            ui.fields.setVisible(fields)
            ui.custodyNotice.setVisible(custody)
            ui.readProgress.setVisible(progress)
            ui.readButton.setEnabled(True)

    @property
    def private(self) -> bool:
        return self._hidden is not None
