"""The HTTP client of the central server (中心接口客户端): one ``requests`` Session for the counter.

- TLS certificates are always verified (``SyncConfig.ca_bundle`` names the city's CA bundle; without
  it the default trust store is used); there is no switch to turn verification off.
- Every call has a (connect, read) timeout.
- Retries use urllib3's ``Retry`` (exponential backoff with jitter, ``Retry-After`` respected):
  connection failures always (nothing reached the server); read failures and 502/503/504 only for
  GET and for state changes that carry an ``Idempotency-Key`` (the server applies a key once, so a
  retry cannot apply twice). Sign-in and sign-out (``/auth/``) are retried on connection failures
  only; the health probe is not retried at all. A POST without a key is refused here, outside
  ``/auth/``, so nothing unkeyed can be retried by accident.
- Every call reports whether the server could be reached to the `observer` (the sync worker keeps
  the online/offline state from it).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from counter_app.store.audit import AuditHead
from counter_app.sync.config import SyncConfig
from counter_app.sync.credentials import CounterCredentials
from counter_app.sync.problems import Problem, ServerUnreachable
from counter_app.threads import assert_not_gui_thread

log = logging.getLogger(__name__)

USER_AGENT = "leshan-sscard-counter/1"
COUNTER_KEY = "X-Counter-Key"
IDEMPOTENCY_KEY = "Idempotency-Key"
AUDIT_HEAD = "X-Audit-Head"
AUDIT_HEAD_ACKNOWLEDGED = "X-Audit-Head-Acknowledged"
CONFIRMER = "X-Confirmer-Token"
REPLAYED = "Idempotent-Replayed"
_GATEWAY = (502, 503, 504)


class Observer(Protocol):
    """Told after every call whether the central system answered (the worker's online state)."""

    def reachable(self) -> None: ...

    def unreachable(self, reason: str) -> None: ...


class _Nobody:
    def reachable(self) -> None:
        return None

    def unreachable(self, reason: str) -> None:
        return None


def _retry(config: SyncConfig, *, unsafe_too: bool) -> Retry:
    """Connection errors always; read errors and gateway answers only when ``unsafe_too``."""
    return Retry(
        total=config.retries,
        connect=config.retries,
        read=config.retries if unsafe_too else 0,
        status=1 if unsafe_too else 0,
        other=0,
        allowed_methods=frozenset({"GET", "POST"}),
        status_forcelist=_GATEWAY if unsafe_too else (),
        backoff_factor=config.backoff_factor,
        backoff_max=config.backoff_max,
        backoff_jitter=config.backoff_jitter,
        respect_retry_after_header=True,
        raise_on_status=False,
        redirect=0,
        raise_on_redirect=False,
    )


def parse_audit_head(text: str | None) -> AuditHead | None:
    """``<seq>:<hex>`` (the server's acknowledgement header) as an `AuditHead`."""
    if not text:
        return None
    seq, _, digest = text.partition(":")
    try:
        return AuditHead(int(seq), digest) if digest else None
    except ValueError:
        return None


class CentralClient:
    """Requests to the central server with the counter's credential and, where needed, a token."""

    def __init__(self, config: SyncConfig, credentials: CounterCredentials) -> None:
        self.config = config
        self.credentials = credentials
        self.observer: Observer = _Nobody()
        session = requests.Session()
        session.verify = config.ca_bundle or True
        session.trust_env = False  # no proxy or CA settings from the environment: the config decides
        session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        base = config.base_url
        session.mount(base + "/", HTTPAdapter(max_retries=_retry(config, unsafe_too=True), pool_maxsize=8))
        session.mount(
            base + "/auth/", HTTPAdapter(max_retries=_retry(config, unsafe_too=False), pool_maxsize=4)
        )
        session.mount(base + "/health", HTTPAdapter(max_retries=Retry(total=0, redirect=0), pool_maxsize=2))
        self.session = session

    def close(self) -> None:
        self.session.close()

    # -- requests ------------------------------------------------------------------------------

    def _headers(self, token: str | None, counter: bool) -> dict[str, str]:
        headers: dict[str, str] = {}
        if counter:
            headers[COUNTER_KEY] = self.credentials.counter_key()
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def _send(self, method: str, path: str, **kw: Any) -> requests.Response:
        assert_not_gui_thread(f"HTTP {method} {path}")
        url = self.config.base_url + path
        try:
            response = self.session.request(
                method, url, timeout=self.config.timeout, allow_redirects=False, **kw
            )
        except requests.RequestException as exc:
            reason = f"{type(exc).__name__}: {exc}"
            log.info("central server unreachable (%s %s): %s", method, path, reason)
            self.observer.unreachable(reason)
            raise ServerUnreachable(f"无法连接社保卡中心系统（{type(exc).__name__}）") from exc
        if response.status_code in _GATEWAY:
            problem = Problem.of(response)
            self.observer.unreachable(str(problem))
            raise ServerUnreachable(f"社保卡中心系统暂不可用：{problem.detail}")
        self.observer.reachable()
        return response

    def get(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        token: str | None = None,
        counter: bool = True,
        stream: bool = False,
    ) -> requests.Response:
        """GET ``path``; raises `ServerUnreachable` when the server cannot answer (retries spent)."""
        return self._send("GET", path, params=params, headers=self._headers(token, counter), stream=stream)

    def post(
        self,
        path: str,
        body: Mapping[str, Any] | None,
        *,
        token: str | None = None,
        idempotency_key: str | None = None,
        audit_head: AuditHead | None = None,
        confirmer_token: str | None = None,
        counter: bool = True,
    ) -> requests.Response:
        """POST ``body`` as JSON; a state change outside ``/auth/`` must carry ``idempotency_key``."""
        if idempotency_key is None and not path.startswith("/auth/"):
            raise ValueError(f"POST {path} needs an Idempotency-Key (only keyed requests are retried)")
        headers = self._headers(token, counter)
        if idempotency_key is not None:
            headers[IDEMPOTENCY_KEY] = idempotency_key
        if audit_head is not None:
            headers[AUDIT_HEAD] = f"{audit_head.seq}:{audit_head.entry_hash}"
        if confirmer_token is not None:
            headers[CONFIRMER] = confirmer_token
        return self._send("POST", path, json=dict(body or {}), headers=headers)

    def health(self) -> bool:
        """One quick probe of ``/health`` (no retries, no credentials)."""
        try:
            return self._send("GET", "/health").status_code == 200
        except ServerUnreachable:
            return False
