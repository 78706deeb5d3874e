"""The HTTP client on its own (no central server): TLS verification, timeouts, which requests are
retried, problem+json, and the counter's credentials in the keyring."""

from __future__ import annotations

import datetime as dt
import http.server
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from counter_app.sync.client import CentralClient
from counter_app.sync.credentials import CounterCredentials, OperatorSession, Secret, TokenStore
from counter_app.sync.problems import CounterNotEnrolled, Problem, ServerUnreachable
from tests.harness.services import free_tcp_port
from tests.store.memory_keyring import MemoryKeyring
from tests.sync.helpers import fast_config

CREDENTIAL = "511102001-01.secret-of-the-counter"


@pytest.fixture
def credentials(memory_keyring: MemoryKeyring) -> CounterCredentials:
    c = CounterCredentials()
    c.save_counter_key(CREDENTIAL)
    return c


class _Script(http.server.BaseHTTPRequestHandler):
    """Answers from the server's ``script``: "drop" closes the connection without an answer."""

    def _answer(self) -> None:
        server = self.server
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        server.seen.append((self.command, self.path, dict(self.headers)))  # type: ignore[attr-defined]
        action = server.script.pop(0) if server.script else "ok"  # type: ignore[attr-defined]
        if action == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if action == "slow":
            time.sleep(3)
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def scripted() -> Iterator[http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_tcp_port()), _Script)
    server.script = []  # type: ignore[attr-defined]
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _client(
    server: http.server.ThreadingHTTPServer, credentials: CounterCredentials, **kw: object
) -> CentralClient:
    port = server.server_address[1]
    return CentralClient(fast_config(f"http://127.0.0.1:{port}", **kw), credentials)  # type: ignore[arg-type]


def test_a_keyed_post_is_retried_after_a_lost_answer_but_sign_in_is_not(
    scripted: http.server.ThreadingHTTPServer, credentials: CounterCredentials
) -> None:
    client = _client(scripted, credentials, retries=2)
    scripted.script[:] = ["drop", "ok"]  # type: ignore[attr-defined]
    response = client.post("/commands/change_contact", {"x": 1}, idempotency_key="k-1", token="t")
    assert response.status_code == 200
    assert [(m, p) for m, p, _ in scripted.seen] == [("POST", "/commands/change_contact")] * 2  # type: ignore[attr-defined]
    assert {h["Idempotency-Key"] for *_, h in scripted.seen} == {"k-1"}  # type: ignore[attr-defined]
    assert all(h["X-Counter-Key"] == CREDENTIAL for *_, h in scripted.seen)  # type: ignore[attr-defined]
    scripted.seen.clear()  # type: ignore[attr-defined]
    scripted.script[:] = ["drop", "ok"]  # type: ignore[attr-defined]
    with pytest.raises(ServerUnreachable):
        client.post("/auth/sign-in", {"operator_number": "H", "password": "p"})
    assert len(scripted.seen) == 1  # type: ignore[attr-defined]  # no second sign-in attempt
    with pytest.raises(ValueError, match="Idempotency-Key"):
        client.post("/commands/change_contact", {"x": 1})  # unkeyed state changes are refused here


def test_every_call_has_a_timeout(
    scripted: http.server.ThreadingHTTPServer, credentials: CounterCredentials
) -> None:
    client = _client(scripted, credentials, read_timeout=0.5, retries=0)
    scripted.script[:] = ["slow"]  # type: ignore[attr-defined]
    started = time.monotonic()
    with pytest.raises(ServerUnreachable):
        client.get("/persons", params={"id_number": "x"}, token="t")
    assert time.monotonic() - started < 2.5


def test_the_retry_policy_backs_off_with_jitter_and_respects_retry_after(
    credentials: CounterCredentials,
) -> None:
    config = fast_config("https://sbk.example/api", retries=3, backoff_factor=0.5, backoff_jitter=0.3)
    client = CentralClient(config, credentials)
    keyed = client.session.get_adapter("https://sbk.example/api/commands/x").max_retries  # type: ignore[attr-defined]
    auth = client.session.get_adapter("https://sbk.example/api/auth/sign-in").max_retries  # type: ignore[attr-defined]
    assert keyed.backoff_factor == 0.5 and keyed.backoff_jitter == 0.3 and keyed.respect_retry_after_header
    assert "POST" in keyed.allowed_methods and keyed.read == 3 and 503 in keyed.status_forcelist
    assert auth.read == 0 and auth.connect == 3 and not auth.status_forcelist
    assert client.session.verify is True and not client.session.trust_env


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]),
            False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "ca.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


def test_tls_is_verified_against_the_configured_ca_bundle(
    tmp_path: Path, credentials: CounterCredentials
) -> None:
    cert, key = _self_signed(tmp_path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_tcp_port()), _Script)
    server.script, server.seen = [], []  # type: ignore[attr-defined]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{server.server_address[1]}"
    try:
        untrusted = CentralClient(fast_config(url, retries=0), credentials)
        assert not untrusted.health()  # the default trust store does not know this CA: refused
        trusted = CentralClient(fast_config(url, retries=0, ca_bundle=str(cert)), credentials)
        assert trusted.health()
    finally:
        server.shutdown()
        server.server_close()


def test_problem_json_kinds_whatever_the_base_uri() -> None:
    def answer(status: int, body: dict[str, object], **headers: str) -> requests.Response:
        response = requests.Response()
        response.status_code = status
        response._content = __import__("json").dumps(body).encode()
        response.headers.update({"Content-Type": "application/problem+json", **headers})
        return response

    refused = Problem.of(
        answer(
            409,
            {
                "type": "https://city.example/p/refused/card_lost",
                "code": "card_lost",
                "detail": "此卡已挂失",
                "hint": "先解挂",
            },
        )
    )
    assert refused.kind == "refused/card_lost" and refused.refusal and refused.hint == "先解挂"
    busy = Problem.of(
        answer(409, {"type": "https://x/problems/idempotency/in-flight", "code": "c"}, **{"Retry-After": "2"})
    )
    assert busy.in_flight and not busy.refusal and busy.retry_after == 2.0
    assert Problem.of(answer(422, {"type": "https://x/problems/idempotency/key-reused"})).key_reused
    assert Problem.of(answer(401, {"type": "https://x/problems/auth/token_expired"})).sign_in_needed
    locked = Problem.of(answer(403, {"type": "https://x/problems/auth/account-locked"}))
    assert not locked.sign_in_needed
    assert Problem.of(answer(503, {"type": "https://x/problems/unavailable/database"})).server_down
    garbage = requests.Response()
    garbage.status_code, garbage._content = 500, b"<html>"
    assert Problem.of(garbage).kind == "http/500"


def test_the_counter_credential_lives_in_the_keyring_and_tokens_only_in_memory(
    memory_keyring: MemoryKeyring, tmp_path: Path
) -> None:
    credentials = CounterCredentials()
    with pytest.raises(CounterNotEnrolled):
        credentials.counter_key()
    credentials.save_counter_key(CREDENTIAL)
    credentials.save_receipt_key(b"k" * 32)
    assert credentials.counter_key() == CREDENTIAL and credentials.receipt_key() == b"k" * 32
    assert set(memory_keyring.items) == {
        ("leshan-sscard-counter", "counter-credential"),
        ("leshan-sscard-counter", "receipt-key"),
    }
    assert not any(CREDENTIAL in p.read_text(errors="ignore") for p in tmp_path.rglob("*") if p.is_file())
    from counter_app.clock import SystemClock
    from counter_app.domain.operators import Operator, Outlet, OutletCapabilities, OutletType, Role

    tokens = TokenStore()
    outlet = Outlet("511102001", "窗口", OutletType.HR_WINDOW, OutletCapabilities())
    session = OperatorSession(
        Operator("HR0101", "甲", Role.HR_CLERK, "511102001"),
        outlet,
        SystemClock().now(),
        token=Secret("s3cr3t-token-value"),
    )
    assert tokens.set_current(session) == []
    assert tokens.token_of("HR0101") == "s3cr3t-token-value" and tokens.token_of("HR0102") is None
    assert "s3cr3t" not in repr(session)
    [taken] = tokens.take_all()
    taken.wipe()
    assert tokens.any_token() is None and not session.online
    credentials.forget()
    assert memory_keyring.items == {}
