"""The vendor-pad seam: `VendorPadClient` ↔ a helper process (JSON lines) ↔ a pad.

The helper is the reference helper (`python -m counter_app.devices.pinpad.helper`) driving the
training pad over its pty, so the seam is exercised across a real process boundary; small scripted
helpers stand in for a vendor helper that hangs or crashes.
"""

from __future__ import annotations

import io
import os
import queue
import signal
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from counter_app.devices.pinpad import PinPadFault, PinPadUnavailable, Prompt, VendorPadClient
from counter_app.devices.pinpad.vendor import _Message, _Reader
from counter_app.emulator.pinpad import TrainingPinPad
from counter_app.workflows.ports import PinEntryKind, PinPadOutcome, PinRequest


@pytest.fixture
def pad() -> Iterator[TrainingPinPad]:
    with TrainingPinPad() as training:
        yield training


def helper_command(port: str) -> list[str]:
    return [sys.executable, "-m", "counter_app.devices.pinpad.helper", "--port", port]


@pytest.fixture
def client(pad: TrainingPinPad) -> Iterator[VendorPadClient]:
    vendor = VendorPadClient(helper_command(pad.port), grace_seconds=1.0)
    yield vendor
    vendor.stop()


def test_the_reference_helper_says_hello_and_carries_a_verify(
    pad: TrainingPinPad, client: VendorPadClient
) -> None:
    assert client.start() == "LSSB-TRAINING-PAD/1" and client.can_cancel
    pad.script("731946#")
    with client.collect(PinRequest(PinEntryKind.VERIFY)) as entries:
        assert entries.outcome is PinPadOutcome.ENTERED
        assert [bytes(p.digits) for p in entries.entries] == [b"731946"]


def test_change_through_the_helper_with_mismatch_cancel_and_timeout(
    pad: TrainingPinPad, client: VendorPadClient
) -> None:
    pad.script("123456#", "731946#", "731946#")
    with client.collect(PinRequest(PinEntryKind.CHANGE)) as entries:
        assert [bytes(p.digits) for p in entries.entries] == [b"123456", b"731946"]
    pad.script("123456#", "731946#", "731947#")
    assert client.collect(PinRequest(PinEntryKind.CHANGE)).outcome is PinPadOutcome.MISMATCH
    pad.script("12*")
    assert client.collect(PinRequest(PinEntryKind.VERIFY)).outcome is PinPadOutcome.CITIZEN_CANCELLED
    pad.script("12")
    assert (
        client.collect(PinRequest(PinEntryKind.VERIFY, timeout_seconds=1)).outcome is PinPadOutcome.TIMED_OUT
    )


def test_clerk_cancel_travels_through_the_helper_to_the_pad(
    pad: TrainingPinPad, client: VendorPadClient
) -> None:
    client.start()
    pad.script("73")
    threading.Timer(0.5, client.cancel).start()
    assert client.collect(PinRequest(PinEntryKind.VERIFY)).outcome is PinPadOutcome.CLERK_CANCELLED
    assert pad.host_cancels == 1


def test_progress_events_cross_the_process_boundary(pad: TrainingPinPad) -> None:
    seen: list[tuple[Prompt, int]] = []
    with VendorPadClient(helper_command(pad.port), on_progress=lambda p, n: seen.append((p, n))) as client:
        pad.script("7319<#4#")
        client.collect(PinRequest(PinEntryKind.VERIFY, 4, 6)).wipe()
    assert seen == [(Prompt.ENTER_PIN, n) for n in (1, 2, 3, 4, 3, 4)]


def test_a_helper_that_dies_is_unavailable_and_restarted_next_time(
    pad: TrainingPinPad, client: VendorPadClient
) -> None:
    client.start()
    process = client._process
    assert process is not None
    killer = threading.Timer(0.5, lambda: os.kill(process.pid, signal.SIGKILL))
    killer.start()
    with pytest.raises(PinPadUnavailable, match="适配程序已退出"):
        client.collect(PinRequest(PinEntryKind.VERIFY))
    pad.script("731946#")
    with client.collect(PinRequest(PinEntryKind.VERIFY)) as entries:  # a new helper
        assert entries.outcome is PinPadOutcome.ENTERED


def scripted_helper(tmp_path: Path, body: str) -> list[str]:
    script = tmp_path / "helper.py"
    script.write_text(
        "import json, sys, time\n"
        "def out(m): sys.stdout.buffer.write(json.dumps(m).encode() + b'\\n'); sys.stdout.buffer.flush()\n"
        + textwrap.dedent(body)
    )
    return [sys.executable, str(script)]


HELLO = """
for line in sys.stdin.buffer:
    m = json.loads(line)
    if m["op"] == "hello":
        out({"id": m["id"], "ok": True, "protocol": 1, "model": "FAKE", "can_cancel": False})
"""


def test_a_helper_that_hangs_is_timed_out_and_replaced(tmp_path: Path) -> None:
    command = scripted_helper(tmp_path, HELLO + "    elif m['op'] == 'entry':\n        time.sleep(60)\n")
    client = VendorPadClient(command, grace_seconds=0.3)
    try:
        started = time.monotonic()
        assert (
            client.collect(PinRequest(PinEntryKind.VERIFY, timeout_seconds=1)).outcome
            is PinPadOutcome.TIMED_OUT
        )
        assert time.monotonic() - started < 15 and client._process is None  # killed, restarted on next use
        assert client.cancel() is False  # this helper said it cannot cancel
    finally:
        client.stop()


def test_helper_errors_and_bad_helpers(tmp_path: Path) -> None:
    command = scripted_helper(
        tmp_path,
        HELLO + "    elif m['op'] == 'entry':\n"
        "        out({'id': m['id'], 'result': 'error', 'code': 'Bad code with 731946'})\n",
    )
    with VendorPadClient(command) as client, pytest.raises(PinPadFault) as raised:
        client.collect(PinRequest(PinEntryKind.VERIFY))
    assert "731946" not in str(raised.value) and "unknown" in str(raised.value)  # foreign text is not echoed
    with pytest.raises(PinPadUnavailable, match="无法启动"):
        VendorPadClient([str(tmp_path / "missing-helper.exe")]).start()
    silent = scripted_helper(tmp_path, "time.sleep(30)\n")
    with pytest.raises(PinPadUnavailable, match="没有正确应答"):
        VendorPadClient(silent, start_seconds=0.5).start()


class Trickle(io.RawIOBase):
    """A pipe that delivers one byte per read."""

    def __init__(self, data: bytes) -> None:
        self._data = bytearray(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        if not self._data:
            return 0
        buffer[0] = self._data.pop(0)
        return 1


def test_the_reader_takes_digits_after_their_header_even_byte_by_byte() -> None:
    stream = b'{"id": 3, "event": "key", "count": 1}\n{"id": 3, "result": "entered", "length": 6}\n731946\n'
    inbox: queue.SimpleQueue[_Message | None] = queue.SimpleQueue()
    reader = _Reader(Trickle(stream), inbox)
    reader.run()
    key, entered, end = inbox.get(), inbox.get(), inbox.get()
    assert key is not None and key.header == {"id": 3, "event": "key", "count": 1} and key.secret is None
    assert entered is not None and entered.secret == bytearray(b"731946") and end is None
    assert "731946" not in repr(entered.header)
