"""Looking at the printer and the PIN pad now (设备巡检), for the status bar; blocking, worker thread.

Each probe answers a `DeviceStatus` (``counter_app.ui.ports``) in words. A probe never opens the
PIN pad's port (a wizard may be using it): it checks that the port exists.
"""

from __future__ import annotations

import os
import sys

from counter_app.threads import assert_not_gui_thread
from counter_app.ui.ports import Device, DeviceStatus, Health
from counter_app.workflows.ports import Printer


class PrinterProbe:
    """打印机: ready, or not ready with the reason (``Printer.is_ready``)."""

    device = Device.PRINTER

    def __init__(self, printer: Printer, name: str) -> None:
        self._printer = printer
        self._name = name

    def probe(self) -> DeviceStatus:
        assert_not_gui_thread("printer probe")
        if self._printer.is_ready():
            return DeviceStatus(self.device, Health.OK, "就绪", self._name)
        return DeviceStatus(self.device, Health.FAULT, "未就绪", f"{self._name}：打印队列未就绪或已暂停")


class SerialPortProbe:
    """密码键盘 (serial): the configured port is present."""

    device = Device.PIN_PAD

    def __init__(self, port: str) -> None:
        self._port = port

    def probe(self) -> DeviceStatus:
        if sys.platform == "win32":  # COM ports: present when listed by pyserial
            from serial.tools import list_ports

            present = any(p.device.upper() == self._port.upper() for p in list_ports.comports())
        else:
            present = os.path.exists(self._port)
        if present:
            return DeviceStatus(self.device, Health.OK, "已连接", self._port)
        return DeviceStatus(
            self.device, Health.FAULT, "未连接", f"串口 {self._port} 不存在，请检查密码键盘连线"
        )
