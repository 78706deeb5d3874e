"""The device status bar (设备状态栏): reader, PSAM, PIN pad, printer and server, always visible.

Each device is one label: a symbol, the device's name and its state in words (颜色只作辅助), so a
fault never shows only as a colour. A progress area on the left shows waits that run in the
background (the embedded training server starting) with their message.
"""

from __future__ import annotations

from counter_app.ui.ports import Device, DeviceStatus, Health
from counter_app.ui.qt import QCoreApplication, QLabel, QProgressBar, QStatusBar, QWidget

_SYMBOLS = {
    Health.OK: "●",
    Health.WARNING: "▲",
    Health.FAULT: "×",
    Health.BUSY: "…",
    Health.UNKNOWN: "○",
}


translate = QCoreApplication.translate


def device_name(device: Device) -> str:
    names = {
        Device.CARD_READER: translate("DeviceStatusBar", "读卡器"),
        Device.PSAM: translate("DeviceStatusBar", "PSAM"),
        Device.PIN_PAD: translate("DeviceStatusBar", "密码键盘"),
        Device.PRINTER: translate("DeviceStatusBar", "打印机"),
        Device.SERVER: translate("DeviceStatusBar", "服务器"),
    }
    return names[device]


class DeviceStatusBar:
    """Fills a `QStatusBar` with one indicator per device and a background-progress area."""

    def __init__(self, bar: QStatusBar, parent: QWidget) -> None:
        self._bar = bar
        self.message = QLabel(parent)
        self.message.setObjectName("backgroundMessage")
        self.progress = QProgressBar(parent)
        self.progress.setObjectName("backgroundProgress")
        self.progress.setMaximum(0)
        self.progress.setTextVisible(False)
        self.progress.setMaximumWidth(120)
        self.progress.setVisible(False)
        bar.addWidget(self.progress)
        bar.addWidget(self.message, 1)
        self.labels: dict[Device, QLabel] = {}
        self.states: dict[Device, DeviceStatus] = {}
        for device in Device:
            label = QLabel(parent)
            label.setObjectName(f"status_{device.value}")
            bar.addPermanentWidget(label)
            self.labels[device] = label
            self.show(DeviceStatus(device, Health.UNKNOWN, translate("DeviceStatusBar", "检测中")))

    def show(self, status: DeviceStatus) -> None:
        label = self.labels[status.device]
        self.states[status.device] = status
        label.setText(f"{_SYMBOLS[status.health]} {device_name(status.device)}：{status.text}")
        label.setToolTip(status.detail or status.text)
        label.setAccessibleName(f"{device_name(status.device)}状态")
        label.setAccessibleDescription(status.text)
        label.setProperty("health", status.health.value)
        style = label.style()
        style.unpolish(label)
        style.polish(label)

    def text(self, device: Device) -> str:
        return self.labels[device].text()

    def begin_wait(self, message: str) -> None:
        """A background wait started (or moved on): show its message with a busy bar."""
        self.message.setText(message)
        self.message.setToolTip(message)
        self.progress.setVisible(True)

    def end_wait(self, message: str = "") -> None:
        self.message.setText(message)
        self.message.setToolTip(message)
        self.progress.setVisible(False)
