"""The diagnosis as plain Chinese text (for city IT to read or paste) or as JSON (``--json``)."""

from __future__ import annotations

import json

from counter_app.diagnose.model import CardCheck, Diagnosis, Part10Check, ReaderReport

_ROLE = {"card": "社保卡读卡器", "psam": "PSAM 读卡器", "": "未指定用途"}


def _card_lines(card: CardCheck) -> list[str]:
    if card.kind == "sscard":
        line = "社会保障卡："
        if card.spec_version:
            number = "卡号空白（未个人化的预制卡）" if card.blank else f"卡号 {card.card_number}"
            line += (
                f"规范版本 {card.spec_version}，算法标识 {card.algorithm}，{number}，发卡地区 {card.region}"
            )
        else:
            line += f"算法标识 {card.algorithm}"
        return [line] + ([f"注意：{card.detail}"] if card.detail else [])
    if card.kind == "psam":
        if card.terminal_id:
            return [f"PSAM 卡：终端机编号 {card.terminal_id}"]
        return [f"PSAM 卡：{card.detail}"]
    if card.kind == "busy":
        return [f"卡片：{card.detail}"]
    if card.kind == "unknown":
        return [f"卡片：{card.detail}"]
    return [f"卡片读取失败：{card.detail}"]


def _part10_line(part10: Part10Check) -> str:
    if part10.supported is None:
        return f"PC/SC Part 10：未能查询（{part10.detail}）"
    if not part10.supported:
        return f"PC/SC Part 10：不支持（{part10.detail}），该读卡器没有密码键盘等扩展功能"
    features = "、".join(part10.features) or "（无）"
    pad = "，带密码键盘（安全输入）" if part10.pin_pad else ""
    return f"PC/SC Part 10：支持 {features}{pad}"


def _reader_lines(number: int, reader: ReaderReport) -> list[str]:
    lines = [f"  {number}. {reader.name}（{_ROLE.get(reader.role, reader.role)}）"]
    if not reader.card_present:
        lines.append("     卡座：无卡")
    else:
        lines.append(f"     卡座：有卡{'（正被其他程序使用）' if reader.in_use else ''}，ATR {reader.atr}")
        if reader.card is not None:
            lines += [f"     {line}" for line in _card_lines(reader.card)]
    lines.append(f"     {_part10_line(reader.part10)}")
    return lines


def render_text(report: Diagnosis) -> str:
    """The report for people: one fact per line, problems summed up at the end."""
    pcsc = report.pcsc
    lines = [
        "乐山市社会保障卡柜面系统 设备诊断报告",
        f"生成时间：{report.generated_at}　程序版本：{report.version}",
        f"运行模式：{report.mode}　配置：{report.config}",
        "",
        "[PC/SC 服务]",
        f"  {pcsc.detail}",
        f"  读卡器名称（{pcsc.patterns_from}）：社保卡“{pcsc.card_reader_pattern or '未指定'}”，"
        f"PSAM“{pcsc.psam_reader_pattern or '未指定'}”",
    ]
    if pcsc.running:
        lines += ["", "[读卡器]"]
        if not pcsc.readers:
            lines.append("  （没有读卡器）")
        for number, reader in enumerate(pcsc.readers, 1):
            lines += _reader_lines(number, reader)

    serial = report.serial
    lines += ["", "[串口]"]
    if not serial.checked:
        lines.append(f"  {serial.detail}")
    elif not serial.ports:
        lines.append("  未发现串口")
    for port in serial.ports:
        extra = "，".join(x for x in (port.description, port.hwid) if x and x != "n/a")
        lines.append(f"  {port.device}{'（' + extra + '）' if extra else ''}")
    if serial.configured:
        state = {True: "存在", False: "不存在", None: "未检查"}[serial.configured_present]
        lines.append(f"  配置的密码键盘串口：{serial.configured}（{state}）")

    printers = report.printers
    lines += ["", "[打印机]"]
    if printers.detail:
        lines.append(f"  {printers.detail}")
    if printers.checked and not printers.printers and not printers.detail:
        lines.append("  未配置任何打印机")
    for printer in printers.printers:
        lines.append(f"  {printer.name}：{printer.state}{'（默认）' if printer.default else ''}")
    if printers.configured:
        state = {True: "存在", False: "不存在", None: "未检查"}[printers.configured_present]
        lines.append(f"  配置的打印机：{printers.configured}（{state}）")

    lines += ["", "[结论]"]
    if report.problems:
        lines.append(f"  发现 {len(report.problems)} 个问题：")
        lines += [f"  - {problem}" for problem in report.problems]
    else:
        lines.append("  未发现问题")
    lines.append("  （本诊断只读取设备信息：未校验密码，未写卡，未做卡片认证，未改变任何卡片。）")
    return "\n".join(lines) + "\n"


def render_json(report: Diagnosis) -> str:
    return json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n"
