"""``counter-app diagnose``: the device report, through the real pcscd with an emulated card and PSAM.

The report must identify what is in each reader and change nothing on any card: the emulated card's
records, PIN and key try counters are compared before and after, and every command the card and the
PSAM received is recorded.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from counter_app.devices.pcsc import EventKind, PcscDevices, ReaderRole
from counter_app.devices.pcsc_probe import parse_features
from counter_app.diagnose import collect, render_json, render_text
from counter_app.diagnose.readers import mask_card_number
from counter_app.diagnose.system import printer_section, serial_section
from counter_app.emulator import EmulatedCard, EmulatedPsam, build_card, build_psam
from counter_app.emulator.vpcd import VpcdSlot
from tests.devices.pcsc_helpers import Events, wait_until_empty, wait_until_present

EF05_TAGS = (0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07)
EF06_TAGS = (0x08, 0x09, 0x4E, 0x0A, 0x0B, 0x0C, 0x0D)
CARD_READS = {0xA4, 0xC0, 0xB2}  # SELECT, GET RESPONSE, READ RECORD
PSAM_READS = {0xA4, 0xC0, 0xB0}  # SELECT, GET RESPONSE, READ BINARY


class Recording:
    """Serves a card or PSAM to vpcd and keeps the INS byte of every command it receives."""

    def __init__(self, chip: EmulatedCard | EmulatedPsam) -> None:
        self.chip = chip
        self.instructions: list[int] = []

    def process(self, command: bytes) -> bytes:
        self.instructions.append(command[1])
        return self.chip.process(command)

    def atr(self) -> bytes:
        return self.chip.atr()

    def power_on(self) -> None:
        self.chip.power_on()

    def reset(self) -> None:
        self.chip.reset()


def snapshot(card: EmulatedCard) -> dict[str, Any]:
    """Everything a diagnosis must leave alone."""
    return {
        "records": {
            (sfi, tag): card.record(sfi, tag)
            for sfi, tags in ((5, EF05_TAGS), (6, EF06_TAGS))
            for tag in tags
        },
        "pin_tries": card.pin_tries_left,
        "read_key_tries": card.key_tries_left(0x0A),
        "write_key_tries": card.key_tries_left(0x04),
        "pan": card.pan,
    }


@pytest.fixture
def readers(pcscd: dict[str, str]) -> Iterator[tuple[VpcdSlot, VpcdSlot, str, str]]:
    card_reader, psam_reader = pcscd["COUNTER_TEST_PCSC_CARD_READER"], pcscd["COUNTER_TEST_PCSC_PSAM_READER"]
    port = int(pcscd["COUNTER_TEST_VPCD_PORT"])
    card_slot, psam_slot = VpcdSlot(port=port), VpcdSlot(port=port + 1)
    yield card_slot, psam_slot, card_reader, psam_reader
    card_slot.remove()
    psam_slot.remove()
    wait_until_empty(card_reader, psam_reader)


def _wrong_pin_once(card: EmulatedCard) -> None:
    """One wrong VERIFY straight to the card, so that a counter reset would show as well."""
    card.process(bytes.fromhex("00A404000F7378312E73682EC9E7BBE1B1A3D5CF"))
    assert card.process(bytes.fromhex("0020000003999999"))[-2:] == bytes.fromhex("63C5")


# --- through the real pcscd ------------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.pcsc
@pytest.mark.parametrize(
    ("name", "version", "number"),
    [("card_a", "3.00", "S11****18"), ("emeishan_v2", "2.00", "S11****34"), ("card_b", "3.00", "")],
)
def test_report_names_the_card_and_the_psam_and_changes_nothing(
    readers: tuple[VpcdSlot, VpcdSlot, str, str], name: str, version: str, number: str
) -> None:
    card_slot, psam_slot, card_reader, psam_reader = readers
    card = build_card(name)
    _wrong_pin_once(card)
    before = snapshot(card)
    served_card, served_psam = Recording(card), Recording(build_psam())
    card_slot.insert(served_card)
    psam_slot.insert(served_psam)
    wait_until_present(card_reader, psam_reader)

    report = collect(card_reader, psam_reader, version="test")

    assert report.exit_code == 0 and report.pcsc.running and report.problems == ()
    by_name = {r.name: r for r in report.pcsc.readers}
    card_report, psam_report = by_name[card_reader], by_name[psam_reader]
    assert (card_report.role, psam_report.role) == ("card", "psam")
    assert card_report.atr == card.atr().hex().upper() and psam_report.atr == build_psam().atr().hex().upper()
    assert card_report.card is not None and psam_report.card is not None
    assert (card_report.card.kind, card_report.card.spec_version, card_report.card.algorithm) == (
        "sscard",
        version,
        "03",
    )
    assert card_report.card.card_number == number and card_report.card.region == "511100"
    assert (psam_report.card.kind, psam_report.card.terminal_id) == ("psam", "511100900001")
    for reader in (card_report, psam_report):  # vpcd answers every control code "not supported"
        assert reader.part10.supported is False and "0x8010001F" in reader.part10.detail

    text = render_text(report)
    assert card_report.card.blank == (number == "")
    assert f"规范版本 {version}" in text and "终端机编号 511100900001" in text
    assert (f"卡号 {number}" if number else "卡号空白（未个人化的预制卡）") in text
    assert "PC/SC Part 10：不支持" in text and "未发现问题" in text
    for identity in ("S11000018", "S11000034", "张三", "李秀英", "511102199001011239", "511181196807124023"):
        assert identity not in text  # no identity data in a report that gets pasted into tickets

    assert snapshot(card) == before  # records, PIN and key try counters: unchanged
    assert card.pin_tries_left == 5 and not card.pin_verified and card.security_state == frozenset()
    assert set(served_card.instructions) <= CARD_READS, served_card.instructions
    assert set(served_psam.instructions) <= PSAM_READS, served_psam.instructions


@pytest.mark.integration
@pytest.mark.pcsc
def test_cards_in_the_wrong_readers_are_named_as_problems(
    readers: tuple[VpcdSlot, VpcdSlot, str, str],
) -> None:
    card_slot, psam_slot, card_reader, psam_reader = readers
    card_slot.insert(build_psam())
    psam_slot.insert(build_card("qianwei_v1"))
    wait_until_present(card_reader, psam_reader)
    report = collect(card_reader, psam_reader)
    cards = {r.name: r.card for r in report.pcsc.readers}
    in_card_reader, in_psam_reader = cards[card_reader], cards[psam_reader]
    assert in_card_reader is not None and in_card_reader.kind == "psam"
    assert in_psam_reader is not None and in_psam_reader.spec_version == "1.00"
    assert f"社保卡读卡器 {card_reader} 中的卡不是社会保障卡" in report.problems
    assert f"PSAM 读卡器 {psam_reader} 中的卡不是 PSAM 卡" in report.problems
    assert report.exit_code == 0


@pytest.mark.integration
@pytest.mark.pcsc
def test_a_card_the_workstation_holds_is_left_alone(
    pcscd: dict[str, str], readers: tuple[VpcdSlot, VpcdSlot, str, str]
) -> None:
    card_slot, _, card_reader, psam_reader = readers
    served = Recording(build_card("card_a"))
    card_slot.insert(served)
    events = Events()
    devices = PcscDevices(card_reader, psam_reader, events)
    devices.start()
    try:
        events.wait_for(EventKind.CARD_INSERTED)
        devices.submit(lambda d: d.transport(ReaderRole.CARD)).result(10)  # the workstation's connection
        served.instructions.clear()
        report = collect(card_reader, psam_reader)
    finally:
        devices.stop()
    card = {r.name: r for r in report.pcsc.readers}[card_reader]
    assert card.in_use and card.card is not None and card.card.kind == "busy"
    assert "正被其他程序使用" in render_text(report)
    assert served.instructions == []  # not a single APDU interleaved with the workstation's session
    assert "PSAM 读卡器 " + psam_reader + " 中没有 PSAM 卡" in report.problems


@pytest.mark.integration
@pytest.mark.pcsc
def test_readers_from_the_counter_configuration(
    readers: tuple[VpcdSlot, VpcdSlot, str, str], isolated_counter_dirs: Path
) -> None:
    _, psam_slot, card_reader, psam_reader = readers
    config = isolated_counter_dirs / "config"
    config.mkdir()
    (config / "counter.toml").write_text(
        f"""[counter]
server_url = "https://sbk.leshan.example/api"
outlet_code = "511102001"
counter_number = "03"

[devices]
card_reader = "{card_reader}"
psam_reader = "{psam_reader}"
pinpad_port = "/dev/no-such-pinpad"

[printing]
printer = "no-such-printer"
""",
        encoding="utf-8",
    )
    psam_slot.insert(build_psam())
    wait_until_present(psam_reader)
    report = collect()
    assert report.mode == "正式" and report.pcsc.patterns_from == "配置文件"
    assert [r.role for r in report.pcsc.readers] == ["card", "psam"]
    assert "配置的密码键盘串口 /dev/no-such-pinpad 不存在" in report.problems
    text = render_text(report)
    assert "配置的密码键盘串口：/dev/no-such-pinpad（不存在）" in text
    assert "终端机编号 511100900001" in text and "1. " + card_reader + "（社保卡读卡器）" in text


def _run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("counter-app-cli")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "counter_app"]
    return subprocess.run(
        [*command, "diagnose", *args], capture_output=True, text=True, timeout=60, env=env, check=False
    )


@pytest.mark.integration
@pytest.mark.pcsc
def test_the_command_prints_json(readers: tuple[VpcdSlot, VpcdSlot, str, str]) -> None:
    card_slot, psam_slot, card_reader, psam_reader = readers
    card_slot.insert(build_card("qianwei_v1"))
    psam_slot.insert(build_psam())
    wait_until_present(card_reader, psam_reader)
    done = _run_cli("--json", "--card-reader", card_reader, "--psam-reader", psam_reader)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["exit_code"] == 0 and report["pcsc"]["running"] is True
    assert report["mode"] == "培训模式（本机未配置）" and report["pcsc"]["patterns_from"] == "命令行"
    cards = {r["name"]: r["card"] for r in report["pcsc"]["readers"]}
    assert cards[card_reader]["spec_version"] == "1.00" and cards[card_reader]["card_number"] == "S11****42"
    assert cards[psam_reader]["terminal_id"] == "511100900001"


# --- without the PC/SC service ---------------------------------------------------------------------


def test_without_the_pc_sc_service_it_says_so_and_exits_1() -> None:
    # The client library finds pcscd through PCSCLITE_CSOCK_NAME: a socket that does not exist is a
    # stopped service for this process only, without touching the pcscd other tests use.
    env = {**os.environ, "PCSCLITE_CSOCK_NAME": "/nonexistent/pcscd.comm"}
    done = _run_cli(env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert (
        "PC/SC 服务未运行" in done.stdout and "0x8010001D" in done.stdout and "Traceback" not in done.stderr
    )
    assert "[串口]" in done.stdout and "[打印机]" in done.stdout  # the rest of the report is still there
    as_json = _run_cli("--json", env=env)
    assert as_json.returncode == 1 and json.loads(as_json.stdout)["pcsc"]["running"] is False


@pytest.mark.integration
@pytest.mark.pcsc
def test_a_broken_configuration_is_reported_not_raised(
    pcscd: dict[str, str], isolated_counter_dirs: Path
) -> None:
    data = isolated_counter_dirs / "data"
    data.mkdir()
    (data / "configured-counter").write_text("511102001/03\n", encoding="utf-8")  # configured once, file gone
    report = collect(pcscd["COUNTER_TEST_PCSC_CARD_READER"], pcscd["COUNTER_TEST_PCSC_PSAM_READER"])
    assert report.mode == "配置错误" and report.problems[0].startswith("配置无法使用")
    assert report.pcsc.running and report.pcsc.patterns_from == "命令行"
    assert "配置错误" in render_text(report) and json.loads(render_json(report))["exit_code"] == 0


# --- pieces ------------------------------------------------------------------------------------------


def test_card_numbers_are_masked() -> None:
    assert mask_card_number("S11000018") == "S11****18"
    assert mask_card_number("S1100") == "*****"


def test_part10_feature_list_is_parsed() -> None:
    answer = bytes.fromhex("0604420000D40704420000D51204420000D67F0400000000")
    assert parse_features(answer) == ("VERIFY_PIN_DIRECT", "MODIFY_PIN_DIRECT", "GET_TLV_PROPERTIES", "0x7F")


def _fake_lpstat(folder: Path, script: str) -> None:
    folder.mkdir(exist_ok=True)
    path = folder / "lpstat"
    path.write_text("#!/bin/sh\n" + script, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_printers_from_lpstat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_lpstat(
        tmp_path / "bin",
        'echo "printer counter-a4 is idle.  enabled since Mon 01 Jan 2026"\n'
        'echo "printer slip80 disabled since Mon 01 Jan 2026 -"\n'
        'echo "system default destination: counter-a4"\n',
    )
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    section, problems = printer_section("counter-a4")
    assert [(p.name, p.state, p.default) for p in section.printers] == [
        ("counter-a4", "空闲", True),
        ("slip80", "已停用", False),
    ]
    assert section.configured_present is True and problems == []
    assert printer_section("missing")[1] == ["配置的打印机 missing 不存在"]


def test_printer_failures_are_lines_not_crashes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    section, problems = printer_section("")
    assert not section.checked and "没有 lpstat" in section.detail and problems == []

    _fake_lpstat(
        tmp_path / "bin",
        'echo "no system default destination"\necho "lpstat: Scheduler is not running." >&2\nexit 1\n',
    )
    section, problems = printer_section("counter-a4")
    assert section.detail == "打印服务（CUPS）未运行" and problems == ["打印服务（CUPS）未运行"]
    assert printer_section("", required=False)[1] == []  # 培训模式 without a printer: a line only

    _fake_lpstat(tmp_path / "bin", "exec /bin/sleep 5\n")
    monkeypatch.setattr("counter_app.diagnose.system.LPSTAT_TIMEOUT", 0.3)
    section, problems = printer_section("")
    assert "没有结束" in section.detail and problems


def test_serial_ports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from serial.tools import list_ports

    ports = [SimpleNamespace(device="/dev/ttyUSB0", description="USB-Serial", hwid="USB VID:PID=067B:2303")]
    monkeypatch.setattr(list_ports, "comports", lambda: ports)
    section, problems = serial_section("/dev/ttyUSB0")
    assert (
        [p.device for p in section.ports] == ["/dev/ttyUSB0"] and section.configured_present and not problems
    )
    pty = tmp_path / "pinpad"  # a pad on a pty is not listed by pyserial but exists
    pty.touch()
    assert serial_section(str(pty))[0].configured_present is True
    assert serial_section("/dev/ttyUSB9")[1] == ["配置的密码键盘串口 /dev/ttyUSB9 不存在"]

    def broken() -> list[Any]:
        raise OSError("sysfs unreadable")

    monkeypatch.setattr(list_ports, "comports", broken)
    section, _ = serial_section("")
    assert not section.checked and "sysfs unreadable" in section.detail
