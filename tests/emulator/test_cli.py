"""``counter-emulator`` as a separate process: list, serve through the real pcscd, the control channel."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from counter_app.card import PsamKeyProvider, SocialSecurityCard
from counter_app.card.errors import PinIncorrect
from counter_app.devices.pcsc import EventKind, PcscDevices, ReaderRole, RoleTransport
from counter_app.emulator import TEST_CARDS, build_card, build_psam
from counter_app.workflows.ports import SecretPin
from tests.devices.pcsc_helpers import Events, wait_until_empty
from tests.harness.services import free_tcp_port


def emulator_command() -> list[str]:
    """The installed console script next to this Python, else the module."""
    script = Path(sys.executable).with_name("counter-emulator")
    return [str(script)] if script.exists() else [sys.executable, "-m", "counter_app.emulator.cli"]


def run_emulator(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*emulator_command(), *args], capture_output=True, text=True, timeout=30, check=False
    )


class Serving:
    """A running ``counter-emulator serve`` and its output lines."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [*emulator_command(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def next_line(self, timeout: float = 15) -> str:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            stderr = (
                self.process.stderr.read() if self.process.poll() is not None and self.process.stderr else ""
            )
            raise AssertionError(f"counter-emulator printed nothing within {timeout} s; {stderr}") from None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


def test_list_prints_every_test_card_with_its_version_and_holder() -> None:
    done = run_emulator("list")
    assert done.returncode == 0, done.stderr
    rows = [line.split("\t") for line in done.stdout.splitlines()]
    assert [row[0] for row in rows] == list(TEST_CARDS)
    by_name = {row[0]: row for row in rows}
    assert by_name["card_a"][1:3] == ["3.00", "张三"]
    assert by_name["emeishan_v2"][1:3] == ["2.00", "李秀英"]
    assert by_name["qianwei_v1"][1:3] == ["1.00", "王建国"]
    assert by_name["card_b"][1:3] == ["3.00", "（空白预制卡）"]  # a 预制卡 is a blank 3.00 card
    assert all(row[1] in ("1.00", "2.00", "3.00") for row in rows)


def test_a_control_command_without_a_running_serve_fails_clearly() -> None:
    done = run_emulator("--control-port", str(free_tcp_port()), "status")
    assert done.returncode == 1 and done.stderr.startswith("counter-emulator: ")


def test_serve_without_vpcd_fails_clearly() -> None:
    done = run_emulator("--control-port", str(free_tcp_port()), "serve", "--port", str(free_tcp_port()))
    assert (
        done.returncode == 1 and "无法连接 vpcd 虚拟读卡器" in done.stderr and "Traceback" not in done.stderr
    )


def test_serve_refuses_an_unknown_card() -> None:
    done = run_emulator("--control-port", str(free_tcp_port()), "serve", "--card", "no_such_card")
    assert done.returncode == 2 and "没有名为 no_such_card 的测试卡" in done.stderr


# --- serve through the real pcscd ------------------------------------------------------------------


@pytest.fixture
def devices(pcscd: dict[str, str]) -> Iterator[tuple[PcscDevices, Events]]:
    events = Events()
    devices = PcscDevices(
        pcscd["COUNTER_TEST_PCSC_CARD_READER"], pcscd["COUNTER_TEST_PCSC_PSAM_READER"], events
    )
    devices.start()
    yield devices, events
    devices.stop()
    wait_until_empty(pcscd["COUNTER_TEST_PCSC_CARD_READER"], pcscd["COUNTER_TEST_PCSC_PSAM_READER"])


def control(port: int, *command: str) -> str:
    """Run ``counter-emulator insert|remove|status`` as another process; its answer."""
    done = run_emulator("--control-port", str(port), *command)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.integration
@pytest.mark.pcsc
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_serve_swaps_cards_on_command_and_stops_cleanly(
    pcscd: dict[str, str], devices: tuple[PcscDevices, Events], stop_signal: signal.Signals
) -> None:
    pcsc, events = devices
    keys = PsamKeyProvider(RoleTransport(pcsc, ReaderRole.PSAM))

    def read_name() -> str:
        return pcsc.submit(
            lambda d: SocialSecurityCard(d.transport(ReaderRole.CARD), keys).read_basic_info().name
        ).result(20)

    def wrong_pin() -> None:
        card = SocialSecurityCard(pcsc.submit(lambda d: d.transport(ReaderRole.CARD)).result(20), keys)
        with pytest.raises(PinIncorrect):
            pcsc.submit(lambda d: card.verify_pin(SecretPin(bytearray(b"000000")))).result(20)

    port = free_tcp_port()
    serving = Serving(
        "--control-port", str(port), "serve", "--card", "card_a", "--port", pcscd["COUNTER_TEST_VPCD_PORT"]
    )
    try:
        assert serving.next_line().startswith("serving PSAM")
        psam, card = events.wait_for_all(
            (EventKind.CARD_INSERTED, ReaderRole.PSAM), (EventKind.CARD_INSERTED, ReaderRole.CARD)
        )
        assert psam.atr == build_psam().atr() and card.atr == build_card("card_a").atr()
        assert read_name() == "张三"  # a 3.00 card: EF06 needs the PSAM, served by the same process
        wrong_pin()
        assert control(port, "status") == "card card_a"

        assert control(port, "insert", "qianwei_v1") == "inserted qianwei_v1"
        assert events.wait_for(EventKind.CARD_INSERTED).atr == build_card("qianwei_v1").atr()
        assert read_name() == "王建国"

        assert control(port, "remove") == "removed"
        events.wait_for(EventKind.CARD_REMOVED)
        assert control(port, "status") == "empty"

        assert control(port, "insert", "card_a") == "inserted card_a"
        assert events.wait_for(EventKind.CARD_INSERTED).atr == build_card("card_a").atr()
        tries = pcsc.submit(lambda d: SocialSecurityCard(d.transport(ReaderRole.CARD)).pin_tries_left())
        assert tries.result(20) == 5  # the same card_a: it kept its state while it was out

        refused = run_emulator("--control-port", str(port), "insert", "no_such_card")
        assert refused.returncode == 1 and "没有名为 no_such_card 的测试卡" in refused.stderr

        serving.process.send_signal(stop_signal)
        assert serving.process.wait(10) == 0
        assert serving.next_line() == "stopped"
        assert serving.process.stderr is not None and "Traceback" not in serving.process.stderr.read()
        events.wait_for_all(  # both cards left the readers
            (EventKind.CARD_REMOVED, ReaderRole.CARD), (EventKind.CARD_REMOVED, ReaderRole.PSAM)
        )
    finally:
        serving.stop()
