"""Serial ports and printers for the diagnosis (串口与打印机诊断). Any failure becomes a line, never a crash."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from counter_app.diagnose.model import Printer, PrinterSection, SerialPort, SerialSection

LPSTAT_TIMEOUT = 10.0
_PRINTER = re.compile(r"^printer (\S+) (.*)$")
_DEFAULT = re.compile(r"^system default destination: (\S+)")


def serial_section(configured: str) -> tuple[SerialSection, list[str]]:
    """Every serial port pyserial finds, and whether the configured PIN pad port exists."""
    try:
        from serial.tools import list_ports
    except ImportError:
        return SerialSection(False, configured=configured, detail="未安装 pyserial，未检查串口"), []
    try:
        found = list_ports.comports()
    except Exception as error:  # a platform enumeration failure must not stop the report
        return SerialSection(False, configured=configured, detail=f"无法列出串口：{error}"), []
    ports = tuple(
        SerialPort(str(p.device), str(p.description or ""), str(p.hwid or ""))
        for p in sorted(found, key=lambda p: str(p.device))
    )
    present: bool | None = None
    problems = []
    if configured:
        present = any(p.device == configured for p in ports) or Path(configured).exists()
        if not present:
            problems.append(f"配置的密码键盘串口 {configured} 不存在")
    return SerialSection(True, ports, configured, present), problems


def _state(text: str) -> str:
    if "disabled" in text:
        return "已停用"
    if "now printing" in text:
        return "正在打印"
    if "is idle" in text:
        return "空闲"
    return text.strip()


def printer_section(configured: str, *, required: bool = True) -> tuple[PrinterSection, list[str]]:
    """Printers as ``lpstat -p -d`` lists them (CUPS; Linux counters).

    ``required`` False (培训模式 without a configured printer): a failure is a line, not a problem.
    """
    lpstat = shutil.which("lpstat")
    if lpstat is None:
        detail = "本机没有 lpstat（CUPS 客户端），未检查打印机；Windows 柜台请在“设备和打印机”中查看"
        return PrinterSection(False, configured=configured, detail=detail), []
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}  # the English output is the one parsed here
    try:
        done = subprocess.run(
            [lpstat, "-p", "-d"], capture_output=True, text=True, timeout=LPSTAT_TIMEOUT, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        detail = f"lpstat 在 {LPSTAT_TIMEOUT:g} 秒内没有结束，未检查打印机"
        return PrinterSection(False, configured=configured, detail=detail), [detail] if required else []
    except OSError as error:
        detail = f"lpstat 无法运行：{error}"
        return PrinterSection(False, configured=configured, detail=detail), [detail] if required else []
    default = ""
    printers = []
    for line in done.stdout.splitlines():
        if match := _PRINTER.match(line):
            printers.append((match.group(1), _state(match.group(2))))
        elif match := _DEFAULT.match(line):
            default = match.group(1)
    found = tuple(Printer(name, state, name == default) for name, state in printers)
    problems = []
    detail = ""
    complaint = done.stderr.strip()
    if done.returncode != 0 and complaint and "No destinations added" not in complaint:
        detail = (
            "打印服务（CUPS）未运行"
            if "Scheduler is not running" in complaint
            else f"lpstat 报告：{complaint}"
        )
        if required:
            problems.append(detail)
    present: bool | None = None
    if configured and not detail:
        present = any(p.name == configured for p in found)
        if not present:
            problems.append(f"配置的打印机 {configured} 不存在")
    section = PrinterSection(True, found, default, configured, present, detail)
    return section, problems
