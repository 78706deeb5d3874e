"""The PC/SC part of the diagnosis (读卡器诊断): service, readers, ATRs, cards, PSAM, Part 10.

Read-only by construction. The only commands sent to a card are SELECT, GET RESPONSE and
READ RECORD (社保卡: SSSE, then 卡识别码, 规范版本, 卡号 of EF05) or READ BINARY (PSAM: 终端机编号).
No VERIFY, no external or internal authentication, no GET CHALLENGE, no UPDATE: PIN and key try
counters and records cannot move. Cards are reached through exclusive connections only
(`PcscProbe.connect`), so a session of the workstation on the same card is never disturbed.
"""

from __future__ import annotations

from collections.abc import Callable

from counter_app.card.apdu import Channel
from counter_app.card.errors import CardError, ProtocolError, PsamError, StatusError
from counter_app.card.keys import PsamKeyProvider
from counter_app.card.records import Field, decode
from counter_app.card.settings import DEFAULT_SETTINGS
from counter_app.card.ssse import SsseApplication
from counter_app.devices.pcsc import match_reader
from counter_app.devices.pcsc_probe import (
    PcscProbe,
    PcscUnavailable,
    ReaderBusy,
    ReaderState,
)
from counter_app.diagnose.model import CardCheck, Part10Check, PcscSection, ReaderReport
from counter_app.workflows.ports import CardTransport, TransportError

NOT_RUNNING = "PC/SC 服务未运行"
_START_HINT = "Linux 上请启动 pcscd（systemctl start pcscd），Windows 上请启动“智能卡”服务（SCardSvr）"


def mask_card_number(number: str) -> str:
    """卡号 for a report: the first 3 and last 2 characters stay (``S11****18``)."""
    if len(number) <= 5:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 5) + number[-2:]


def _sscard(transport: CardTransport) -> CardCheck | None:
    """SELECT SSSE and read EF05 卡识别码, 规范版本, 卡号; None when the card has no SSSE."""
    app = SsseApplication(Channel(transport, "card"), None, DEFAULT_SETTINGS)  # no keys: no auth possible
    try:
        algorithm = app.select()
    except (StatusError, ProtocolError):  # 6A82 on most cards; a PSAM answers 6700 (its AIDs are 6 bytes)
        return None
    try:
        card_id = app.read(Field.CARD_ID).hex().upper()
        version = decode(Field.SPEC_VERSION, app.read(Field.SPEC_VERSION))
        number = decode(Field.CARD_NUMBER, app.read(Field.CARD_NUMBER))
    except CardError as error:
        return CardCheck("sscard", algorithm=f"{algorithm:02X}", detail=f"读取发卡机构数据失败：{error}")
    return CardCheck(
        "sscard",
        spec_version=version,
        algorithm=f"{algorithm:02X}",
        card_number=mask_card_number(number),
        blank=not number,
        region=card_id[:6],
    )


def _psam(transport: CardTransport) -> CardCheck | None:
    """SELECT the PSAM application and READ BINARY 终端机编号; None when there is no such application."""
    try:
        return CardCheck("psam", terminal_id=PsamKeyProvider(transport).terminal_id())
    except PsamError:
        return None
    except ProtocolError as error:
        return CardCheck("psam", detail=f"终端机编号无法读取：{error}")


def identify(transport: CardTransport, *, psam_first: bool) -> CardCheck:
    """Which card this is: a 社保卡, a PSAM, or something else (read-only)."""
    checks: tuple[Callable[[CardTransport], CardCheck | None], ...] = (
        (_psam, _sscard) if psam_first else (_sscard, _psam)
    )
    for check in checks:
        found = check(transport)
        if found is not None:
            return found
    return CardCheck("unknown", detail="既不是社会保障卡，也不是社会保障 PSAM 卡")


def _role(name: str, patterns: dict[str, str], readers: list[str], problems: list[str]) -> str:
    for role, pattern in patterns.items():
        try:
            if match_reader(pattern, readers) == name:
                return role
        except TransportError as error:
            if str(error) not in problems:
                problems.append(str(error))
    return ""


def _card(probe: PcscProbe, state: ReaderState, role: str) -> CardCheck | None:
    if not state.present:
        return None
    if state.mute:
        return CardCheck("error", detail="卡片对复位无应答（可能插反、脏污或损坏）")
    try:
        with probe.connect(state.name) as transport:
            return identify(transport, psam_first=role == "psam")
    except ReaderBusy as busy:
        return CardCheck("busy", detail=str(busy))
    except (TransportError, CardError) as error:
        return CardCheck("error", detail=str(error))


def _part10(probe: PcscProbe, reader: str) -> Part10Check:
    report = probe.features(reader)
    return Part10Check(report.supported, report.features, report.pin_pad, report.detail)


_LABEL = {"card": "社保卡读卡器", "psam": "PSAM 读卡器"}
_EXPECTED = {"card": ("sscard", "社会保障卡"), "psam": ("psam", " PSAM 卡")}
_IDENTIFIED = ("sscard", "psam", "unknown")


def _problems(readers: list[ReaderReport], patterns: dict[str, str]) -> list[str]:
    problems = []
    if not readers:
        problems.append("未发现任何读卡器，请检查读卡器连接和驱动")
    for role, pattern in patterns.items():
        found = [r for r in readers if r.role == role]
        if not pattern:
            continue
        if not found:
            problems.append(f"未找到{_LABEL[role]}（名称匹配“{pattern}”）")
            continue
        reader, (kind, label) = found[0], _EXPECTED[role]
        if role == "psam" and not reader.card_present:
            problems.append(f"PSAM 读卡器 {reader.name} 中没有 PSAM 卡")
        elif reader.card is not None and reader.card.kind in _IDENTIFIED and reader.card.kind != kind:
            problems.append(f"{_LABEL[role]} {reader.name} 中的卡不是{label}")
    for reader in readers:
        card = reader.card
        if card is not None and card.detail and card.kind in ("sscard", "psam", "error"):
            problems.append(f"{reader.name}：{card.detail}")
    return problems


def pcsc_section(card_pattern: str, psam_pattern: str, patterns_from: str) -> tuple[PcscSection, list[str]]:
    """Look at the PC/SC service and every reader; the section and the problems found."""

    def down(error: PcscUnavailable) -> tuple[PcscSection, list[str]]:
        detail = f"{NOT_RUNNING}（{error}）。{_START_HINT}"
        return PcscSection(False, detail, card_pattern, psam_pattern, patterns_from), [NOT_RUNNING]

    patterns = {"card": card_pattern, "psam": psam_pattern}
    problems: list[str] = []
    try:
        with PcscProbe() as probe:
            names = probe.readers()
            states = probe.states(names)
            reports = []
            for state in states:
                role = _role(state.name, patterns, names, problems)
                reports.append(
                    ReaderReport(
                        name=state.name,
                        role=role,
                        card_present=state.present,
                        atr=state.atr.hex().upper(),
                        in_use=state.in_use,
                        card=_card(probe, state, role),
                        part10=_part10(probe, state.name),
                    )
                )
    except PcscUnavailable as error:
        return down(error)
    except TransportError as error:
        section = PcscSection(True, f"运行中，但{error}", card_pattern, psam_pattern, patterns_from)
        return section, [str(error)]
    detail = f"运行中，{len(reports)} 个读卡器"
    section = PcscSection(True, detail, card_pattern, psam_pattern, patterns_from, tuple(reports))
    return section, problems + _problems(reports, patterns)
