"""``counter-app diagnose``: the device report city IT runs on a counter (设备诊断).

It lists the PC/SC service, every reader with its ATR, what card is in it (社保卡: 规范版本, masked
卡号; PSAM: 终端机编号), each reader's PC/SC Part 10 features, the serial ports and the printers.
It changes nothing on any card (see `counter_app.diagnose.readers`) and nothing in the settings.
Exit code 1 when the PC/SC service is not running, else 0; problems are listed at the end.
"""

from __future__ import annotations

import sys
from datetime import datetime

from counter_app.clock import SHANGHAI
from counter_app.config import ConfigError, load_settings
from counter_app.diagnose.model import Diagnosis, PcscSection
from counter_app.diagnose.render import render_json, render_text
from counter_app.diagnose.system import printer_section, serial_section

__all__ = ["Diagnosis", "collect", "main", "render_json", "render_text"]


def _pcsc(card_pattern: str, psam_pattern: str, patterns_from: str) -> tuple[PcscSection, list[str]]:
    try:  # pyscard needs the PC/SC client library; a counter without it still gets the rest of the report
        from counter_app.diagnose.readers import pcsc_section
    except ImportError as error:
        detail = f"无法使用 PC/SC：pyscard 或 PC/SC 客户端库未安装（{error}）"
        return PcscSection(False, detail, card_pattern, psam_pattern, patterns_from), [detail]
    return pcsc_section(card_pattern, psam_pattern, patterns_from)


def collect(
    card_reader: str | None = None, psam_reader: str | None = None, *, version: str = ""
) -> Diagnosis:
    """Look at everything once. Reader patterns given here win over the configured ones."""
    problems: list[str] = []
    pinpad_port = printer = ""
    configured = False
    card_pattern = psam_pattern = ""
    try:
        settings = load_settings()
    except ConfigError as error:
        mode, config, configured = "配置错误", str(error), True
        problems.append(f"配置无法使用：{error}")
    else:
        if settings.training:
            mode, config = "培训模式（本机未配置）", "无"
        else:
            mode, config, configured = "正式", str(settings.config_file), True
        card_pattern, psam_pattern = settings.card_reader_pattern, settings.psam_reader_pattern
        pinpad_port, printer = settings.pinpad_port, settings.printer
    from_config = bool(card_pattern or psam_pattern)
    if card_reader is not None or psam_reader is not None:
        card_pattern = card_reader if card_reader is not None else card_pattern
        psam_pattern = psam_reader if psam_reader is not None else psam_pattern
        patterns_from = "命令行"
    else:
        patterns_from = "配置文件" if from_config else "未配置，可用 --card-reader/--psam-reader 指定"

    pcsc, pcsc_problems = _pcsc(card_pattern, psam_pattern, patterns_from)
    serial, serial_problems = serial_section(pinpad_port)
    printers, printer_problems = printer_section(printer, required=configured or bool(printer))
    return Diagnosis(
        generated_at=datetime.now(SHANGHAI).isoformat(timespec="seconds"),
        version=version,
        mode=mode,
        config=config,
        pcsc=pcsc,
        serial=serial,
        printers=printers,
        problems=tuple(problems + pcsc_problems + serial_problems + printer_problems),
    )


def main(
    *,
    as_json: bool = False,
    card_reader: str | None = None,
    psam_reader: str | None = None,
    version: str = "",
) -> int:
    """Print the report to stdout; the exit code of `Diagnosis.exit_code`."""
    report = collect(card_reader, psam_reader, version=version)
    sys.stdout.write(render_json(report) if as_json else render_text(report))
    sys.stdout.flush()
    return report.exit_code
