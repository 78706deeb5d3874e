"""The PIN canary: every PIN flow with PIN 731946, then everything the program owns is searched for it.

Flows run as at a counter: the citizen types on the training pad (pty, pyserial), the card is the
emulated 社保卡 behind the real pcscd + vpcd with the emulated PSAM, the APDU trace is on at DEBUG
and goes with every other log record of the program to a log file, each flow's transaction is
recorded through the real `Store` (transaction, audit, outbox in SQLite), and the outbox messages
are then sent to a real ``counter-central serve`` on loopback through a capturing proxy that keeps
every request and response byte. 731946 is the secret in every role: the PIN verified, the wrong
PIN, the old PIN, the new PIN, the confirmation.

Searched afterwards, for 731946 as ASCII, UTF-16 (LE/BE), base64, spaced hex and BCD (73 19 46,
with F padding): the log file, the trace, the SQLite files (-wal, -shm), the decrypted contents of
every stored transaction, checkpoint and outbox message, every exception text and traceback seen,
every PinResult message and every HTTP byte in both directions. Outside the program and excluded:
the pty between pad and host, the helper pipe, the card channel and pcscd's own log (started
without ``--apdu``).
"""

from __future__ import annotations

import base64
import http.client
import http.server
import json
import logging
import re
import sqlite3
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import keyring
import pytest
import requests

from counter_app.card.apdu import APDU_LOGGER
from counter_app.devices.pinpad import PinResult, PinService, SerialPinPad, VendorPadClient
from counter_app.devices.pinpad.service import CardSession
from counter_app.domain.errors import DomainError
from counter_app.emulator import build_card
from counter_app.emulator.pinpad import TrainingPinPad
from counter_app.store import Store, database_path
from counter_app.workflows.ports import PinEntryKind, PinPadOutcome, PinRequest, SecretPin, TransactionRecord
from tests.devices.pinpad.stack import Bench, pcsc_bench
from tests.fakes import FakeClock
from tests.harness.services import free_tcp_port
from tests.store.memory_keyring import MemoryKeyring

pytestmark = [pytest.mark.integration, pytest.mark.pcsc, pytest.mark.slow]

CANARY = "731946"
OTHER = "731947"  # differs only in the last digit, for the mismatch
OPERATOR, OUTLET, COUNTER = "HR0101", "511102001", "01"
SUPERVISOR = "HR0109"

TEXT_NEEDLES = {
    "ascii": CANARY.encode(),
    "utf-16-le": CANARY.encode("utf-16-le"),
    "utf-16-be": CANARY.encode("utf-16-be"),
    "base64": base64.b64encode(CANARY.encode()),
    "spaced hex": b"73 19 46",
    "bcd": bytes.fromhex("731946"),
}
#: In random ciphertext any 3 given bytes turn up about once per 16 MB, so the SQLite files are
#: searched for the F-padded BCD forms (4 bytes) and, fully, in their decrypted contents.
BINARY_NEEDLES = {
    **{k: v for k, v in TEXT_NEEDLES.items() if k != "bcd"},
    "bcd + FF": bytes.fromhex("731946FF"),
    "FF + bcd": bytes.fromhex("FF731946"),
}


def leaks(blobs: dict[str, bytes], needles: dict[str, bytes]) -> list[str]:
    return [
        f"{where}: {kind}"
        for where, data in blobs.items()
        for kind, needle in needles.items()
        if needle in data
    ]


# --- the central server and the capturing proxy ---------------------------------------------------------


@dataclass
class Capture:
    """Every byte that went to the central server and came back."""

    exchanges: list[tuple[bytes, bytes]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)


def capturing_proxy(upstream_port: int, capture: Capture) -> tuple[http.server.ThreadingHTTPServer, int]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            request = f"{self.requestline}\r\n{self.headers}".encode("latin-1") + body
            connection = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            connection.request(self.command, self.path, body=body or None, headers=headers)
            answer = connection.getresponse()
            data = answer.read()
            response = (
                f"HTTP/1.1 {answer.status} {answer.reason}\r\n{answer.headers}".encode("latin-1") + data
            )
            capture.exchanges.append((request, response))
            capture.statuses.append(answer.status)
            self.send_response(answer.status)
            for key, value in answer.getheaders():
                if key.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            connection.close()

        do_GET = do_POST = _forward  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            pass

    port = free_tcp_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, port


@dataclass
class Central:
    """The proxy's URL, what it captured, a card the server knows and this counter's credential."""

    url: str
    capture: Capture
    card_number: str
    counter_key: str | None


@pytest.fixture
def central(tmp_path: Path) -> Iterator[Central]:
    """``counter-central serve`` on a seeded SQLite database with this counter enrolled, behind the proxy."""
    database = tmp_path / "central.sqlite"
    base = [sys.executable, "-m", "central.cli", "--database-url", f"sqlite:///{database}"]
    outputs = []
    for step in (
        ["migrate"],
        ["seed", "--persons", "30", "--seed", "1"],
        ["enrol-counter", "--outlet", OUTLET, "--counter", COUNTER],
    ):
        done = subprocess.run([*base, *step], capture_output=True, timeout=120, check=False)
        assert done.returncode == 0 or step[0] == "enrol-counter", done.stderr.decode(errors="replace")
        outputs.append(done.stdout.decode(errors="replace"))
    keys = re.findall(rf"^{OUTLET}-{COUNTER}\.\S+$", outputs[-1], re.MULTILINE)
    with sqlite3.connect(database) as db:  # a card the server knows, so the commands can be accepted
        row = db.execute(
            "SELECT card_number FROM cards WHERE status = 'active' ORDER BY id LIMIT 1"
        ).fetchone()
    port = free_tcp_port()
    log = (tmp_path / "central.log").open("wb")
    server = subprocess.Popen(
        [*base, "serve", "--host", "127.0.0.1", "--port", str(port)], stdout=log, stderr=log
    )
    capture = Capture()
    proxy, proxy_port = capturing_proxy(port, capture)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "the central server did not start"
            time.sleep(0.1)
        card = row[0] if row else "S11000050"
        yield Central(f"http://127.0.0.1:{proxy_port}", capture, card, keys[0] if keys else None)
    finally:
        proxy.shutdown()
        server.terminate()
        server.wait(20)
        log.close()


# --- the program's own log file -------------------------------------------------------------------------


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """Everything the program logs, the APDU trace at DEBUG included, in one file (as logs.py sets up)."""
    path = tmp_path / "data" / "logs" / "counter-app.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"))
    root, trace = logging.getLogger(), logging.getLogger(APDU_LOGGER)
    saved = root.level, trace.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    trace.setLevel(logging.DEBUG)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(saved[0])
        trace.setLevel(saved[1])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    opened = Store.open(database_path(tmp_path / "data"), clock=FakeClock())
    try:
        yield opened
    finally:
        opened.close()
        keyring.set_keyring(previous)


# --- the flows ------------------------------------------------------------------------------------------


@dataclass
class Counter:
    """One counter running PIN flows and recording them as a workflow would."""

    bench: Bench
    pad: TrainingPinPad
    service: PinService
    store: Store
    card_number: str
    texts: list[str] = field(default_factory=list)  # every message and exception text seen
    numbers: list[str] = field(default_factory=list)
    sequence: int = 0

    def run(
        self, operation: str, keys: list[str], flow: Callable[[], PinResult], command: str | None
    ) -> PinResult:
        self.pad.script(*keys)
        flow_id = f"pin-{self.sequence}"
        self.store.save_checkpoint(flow_id, {"step": "pin_entry", "operation": operation})
        result = flow()
        self.texts += [result.message, repr(result)]
        if result.error is not None:
            self.texts += [str(result.error), repr(result.error), *traceback.format_exception(result.error)]
            logging.getLogger("counter_app.workflows.pin").warning("密码业务未完成：%s", result.error)
        self.record(operation, result, command if result.done else None)
        self.store.discard_checkpoint(flow_id)
        return result

    def record(self, operation: str, result: PinResult, command: str | None) -> None:
        self.sequence += 1
        number = self.store.next_acceptance_number(OUTLET, COUNTER, date(2026, 11, 27))
        self.numbers.append(number)
        details = {
            "operation": operation,
            "message": result.message,
            "done": result.done,
            "outcome": result.outcome.value if result.outcome else None,
            "error_code": result.error.code if result.error else None,
            "tries_left": result.tries_left,
            "interface_code": result.interface_code,
        }
        payload = {
            "acceptance_number": f"{OUTLET}-{COUNTER}-20261127-{self.sequence:04d}",
            "card": {"card_number": self.card_number},
            "requester": "holder",
        }
        self.store.record(
            TransactionRecord(
                acceptance_number=number,
                item_code="pin_change" if operation in ("verify", "change") else "pin_reset",
                operator_number=OPERATOR,
                outlet_code=OUTLET,
                counter_number=COUNTER,
                occurred_at=FakeClock().now(),
                holder_ref="canary-holder",
                result="done" if result.done else "refused",
                details=details,
                server_command=command,
                server_payload=payload,
            )
        )


def sign_in(central: Central, operator: str, password: str) -> str | None:
    """A clerk's (or supervisor's) token at this counter; None when the server refuses."""
    headers = {"X-Counter-Key": central.counter_key} if central.counter_key else {}
    body = {"operator_number": operator, "password": password}
    answer = requests.post(f"{central.url}/auth/sign-in", json=body, headers=headers, timeout=30)
    return str(answer.json()["token"]) if answer.status_code == 200 else None


def send_outbox(store: Store, central: Central) -> int:
    """What the sync relay will do: sign in, POST each pending message with its idempotency key."""
    clerk = sign_in(central, OPERATOR, "peixun-jingban")
    supervisor = sign_in(central, SUPERVISOR, "peixun-fuhe")
    sent = 0
    for message in store.outbox.messages():
        headers = {
            "Idempotency-Key": message.id,
            "X-Operator": OPERATOR,
            "X-Outlet": OUTLET,
            "X-Counter": COUNTER,
        }
        if central.counter_key:
            headers["X-Counter-Key"] = central.counter_key
        if clerk:
            headers["Authorization"] = f"Bearer {clerk}"
        if supervisor and message.command != "pin_change":
            headers["X-Confirmer-Token"] = supervisor
        url = f"{central.url}/commands/{message.command}"
        requests.post(url, json=dict(message.payload), headers=headers, timeout=30)
        sent += 1
    return sent


def test_the_canary_pin_is_nowhere_the_program_keeps_or_sends_anything(
    pcscd: dict[str, str],
    central: Central,
    log_file: Path,
    store: Store,
    tmp_path: Path,
) -> None:
    capture = central.capture
    card = build_card("muchuan_v3")  # PIN 147258: 731946 starts as a wrong PIN
    with pcsc_bench(pcscd) as bench, TrainingPinPad() as pad:
        host = SerialPinPad(pad.port, grace_seconds=1.0)
        service = PinService(host, bench.runner, timeout_seconds=2)
        counter = Counter(bench, pad, service, store, central.card_number)
        bench.insert(card)
        c = CANARY + "#"

        wrong = [counter.run("verify", [c], service.verify, None) for _ in range(6)]  # wrong PIN → 锁定
        assert [r.tries_left for r in wrong] == [5, 4, 3, 2, 1, 0] and card.pin_tries_left == 0
        assert counter.run("change", [], service.change, "pin_change").interface_code == -52  # not prompted
        assert counter.run("unblock", [], service.unblock, "pin_unblock").tries_left == 6
        assert counter.run("change", [c, c, c], service.change, "pin_change").tries_left == 5  # wrong old PIN
        mismatch = counter.run("reload", [c, OTHER + "#"], service.reload, "pin_reset")
        assert mismatch.outcome is PinPadOutcome.MISMATCH
        assert counter.run("reload", [c, c], service.reload, "pin_reset").done and card.pin_matches(CANARY)
        assert counter.run("verify", [c], service.verify, None).done
        assert counter.run("change", [c, c, c], service.change, "pin_change").done  # old = new = 731946
        assert (
            counter.run("change", [c, c, OTHER + "#"], service.change, None).outcome is PinPadOutcome.MISMATCH
        )
        assert counter.run("verify", ["7319*"], service.verify, None).message == "客户取消输入"
        assert counter.run("verify", ["73194"], service.verify, None).message == "输入超时"
        threading.Timer(0.4, service.cancel).start()
        assert counter.run("verify", ["731"], service.verify, None).message == "柜员已取消输入"
        helper = [sys.executable, "-m", "counter_app.devices.pinpad.helper", "--port", pad.port]
        with VendorPadClient(helper) as vendor:
            assert counter.run(
                "verify", [c], PinService(vendor, bench.runner, timeout_seconds=2).verify, None
            ).done
        host.close()
        assert pad.script_left == 0

        # Exceptions raised along the way, formatted as the UI and the log would.
        def pin_too_long(session: CardSession) -> None:
            session.card.verify_pin(SecretPin(bytearray((CANARY * 3).encode())))

        failures: list[Callable[[], object]] = [
            lambda: bench.runner(pin_too_long),
            lambda: SerialPinPad(str(tmp_path / "no-such-pad")).collect(PinRequest(PinEntryKind.VERIFY)),
        ]
        for failing in failures:
            with pytest.raises(DomainError) as raised:
                failing()
            counter.texts += [
                str(raised.value),
                repr(raised.value),
                *traceback.format_exception(raised.value),
            ]
            logging.getLogger("counter_app.workflows.pin").error("系统错误", exc_info=raised.value)

    sent = send_outbox(store, central)
    store.close()

    # --- it really ran ---
    log_text = log_file.read_text(encoding="utf-8")
    trace = [line for line in log_text.splitlines() if f" {APDU_LOGGER} " in line]
    assert any("card > 0020000003 <3 字节已隐去>" in line for line in trace), (
        "no redacted VERIFY in the trace"
    )
    assert any("card > 805E010007 <7 字节已隐去>" in line for line in trace), "no redacted CHANGE PIN"
    assert any("card > 805E000007 <7 字节已隐去>" in line for line in trace), "no redacted RELOAD PIN"
    assert any("psam > 80FA0100" in line for line in trace), "no PSAM MAC in the trace"
    assert len(counter.numbers) == 18 and sent == 3  # unblock, reload, change
    assert len(capture.exchanges) == sent + 2  # and the two sign-ins
    assert all(status < 500 for status in capture.statuses), capture.statuses
    assert any("密码错误，还可尝试" in text for text in counter.texts)
    with Store.open(database_path(tmp_path / "data")) as reopened:  # decrypted, as the program reads them
        stored = [reopened.find(number) for number in counter.numbers]
        assert all(t is not None for t in stored)
        outbox = reopened.outbox.messages()
        decrypted = json.dumps(
            [{"details": dict(t.details), "payload": dict(t.server_payload)} for t in stored if t is not None]
            + [{"payload": dict(m.payload), "command": m.command} for m in outbox],
            ensure_ascii=False,
        ).encode("utf-8")
        checkpoint = reopened.load_checkpoint("pin-0")
    assert checkpoint is None and b"pin_reset" in decrypted

    # --- and the canary is nowhere ---
    files = {
        str(p.relative_to(tmp_path)): p.read_bytes() for p in (tmp_path / "data").rglob("*") if p.is_file()
    }
    databases = {k: v for k, v in files.items() if ".sqlite" in k}
    others = {k: v for k, v in files.items() if k not in databases}
    assert any(k.endswith(".sqlite") for k in databases), files.keys()
    (tmp_path / "http-capture.txt").write_bytes(
        b"\n\n".join(req + b"\n\n" + resp for req, resp in capture.exchanges)
    )
    http_bytes = {f"http #{i} request": req for i, (req, _) in enumerate(capture.exchanges)}
    http_bytes |= {f"http #{i} response": resp for i, (_, resp) in enumerate(capture.exchanges)}
    texts = {f"text #{i}": t.encode("utf-8") for i, t in enumerate(counter.texts)}
    found = (
        leaks(others, TEXT_NEEDLES)
        + leaks(databases, BINARY_NEEDLES)
        + leaks({"decrypted store": decrypted}, TEXT_NEEDLES)
        + leaks(http_bytes, TEXT_NEEDLES)
        + leaks(texts, TEXT_NEEDLES)
    )
    assert found == []
    # The search itself works: the same needles find the canary where it is on purpose.
    planted = {
        "trace": b"card > 0020000003" + CANARY.encode(),
        "blob": b"\x00" + bytes.fromhex("731946FF") + b"\x00",
        "utf-16": "密码".encode("utf-16-le") + CANARY.encode("utf-16-le"),
    }
    assert leaks(planted, BINARY_NEEDLES) == ["trace: ascii", "blob: bcd + FF", "utf-16: utf-16-le"]
