"""The diagnosis report (设备诊断报告) as data: what `collect` found, what `render` prints.

Plain frozen dataclasses of strings, booleans and tuples, so the JSON form is just `to_dict`.
Identity data never enters it: a card shows its 规范版本, 算法标识, 发卡地区 and a masked 卡号 only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

CardKind = Literal["sscard", "psam", "unknown", "busy", "error"]
EXIT_OK = 0
EXIT_NO_PCSC = 1


@dataclass(frozen=True)
class CardCheck:
    """What a read-only look at the card in one reader found (卡片识别)."""

    kind: CardKind
    spec_version: str = ""  # 规范版本 (社保卡)
    algorithm: str = ""  # 算法标识, two hex digits (社保卡)
    card_number: str = ""  # 卡号, masked (社保卡); "" on a blank 预制卡
    blank: bool = False  # a 预制卡 not yet personalised (no 卡号)
    region: str = ""  # 发卡地区: the first 6 characters of 卡识别码 (社保卡)
    terminal_id: str = ""  # 终端机编号 (PSAM)
    detail: str = ""  # why the card could not be identified or read, in Chinese


@dataclass(frozen=True)
class Part10Check:
    """PC/SC Part 10 features of a reader (扩展功能); ``supported`` None = could not be asked."""

    supported: bool | None
    features: tuple[str, ...] = ()
    pin_pad: bool = False
    detail: str = ""


@dataclass(frozen=True)
class ReaderReport:
    """One reader the PC/SC service lists (读卡器)."""

    name: str
    role: str  # "card" (社保卡读卡器), "psam" (PSAM 读卡器) or "" (neither pattern matches)
    card_present: bool
    atr: str  # upper-case hex, "" without a card
    in_use: bool  # another program holds a connection to the card
    card: CardCheck | None
    part10: Part10Check


@dataclass(frozen=True)
class PcscSection:
    """The PC/SC service (pcscd, Windows 智能卡服务) and its readers."""

    running: bool
    detail: str
    card_reader_pattern: str
    psam_reader_pattern: str
    patterns_from: str  # 配置文件 / 命令行 / 未配置
    readers: tuple[ReaderReport, ...] = ()


@dataclass(frozen=True)
class SerialPort:
    device: str
    description: str
    hwid: str


@dataclass(frozen=True)
class SerialSection:
    """Serial ports (串口), e.g. for a serial 密码键盘."""

    checked: bool
    ports: tuple[SerialPort, ...] = ()
    configured: str = ""  # the configured PIN pad port, "" when none
    configured_present: bool | None = None
    detail: str = ""


@dataclass(frozen=True)
class Printer:
    name: str
    state: str  # in Chinese: 空闲 / 正在打印 / 已停用 …
    default: bool = False


@dataclass(frozen=True)
class PrinterSection:
    """Printers as CUPS lists them (打印机)."""

    checked: bool
    printers: tuple[Printer, ...] = ()
    default: str = ""
    configured: str = ""
    configured_present: bool | None = None
    detail: str = ""


@dataclass(frozen=True)
class Diagnosis:
    """The whole report. Exit code 1 when the PC/SC service is not running, else 0."""

    generated_at: str
    version: str
    mode: str
    config: str
    pcsc: PcscSection
    serial: SerialSection
    printers: PrinterSection
    problems: tuple[str, ...]

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.pcsc.running else EXIT_NO_PCSC

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``--json``)."""
        return {**asdict(self), "exit_code": self.exit_code}
