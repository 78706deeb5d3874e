"""Settings of the sync layer (同步配置): server, TLS, timeouts, retries, offline sign-in, page sizes.

``SyncConfig.from_settings`` takes what the counter's configuration file says (server URL, CA bundle,
outlet and counter); everything else has defaults a counter rarely changes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from counter_app.config import Settings


@dataclass(frozen=True)
class SyncConfig:
    """How this counter talks to the central server."""

    server_url: str
    outlet_code: str
    counter_number: str
    #: CA bundle file (or folder) for TLS; None: the default trust store. Verification is never off.
    ca_bundle: str | None = None
    connect_timeout: float = 3.05
    read_timeout: float = 20.0
    #: Retries of one request (connection errors; read errors and 502/503/504 only for keyed and GET
    #: requests), with exponential backoff and jitter (urllib3 ``Retry``).
    retries: int = 3
    backoff_factor: float = 0.25
    backoff_max: float = 8.0
    backoff_jitter: float = 0.25
    #: Seconds between sync rounds while online, and between reachability probes while offline.
    poll_seconds: float = 5.0
    probe_seconds: float = 10.0
    #: How long an answer ``idempotency/in-flight`` is waited for (a clerk's own command).
    in_flight_wait_seconds: float = 10.0
    #: Relay: the first retry of a failed message, and the longest wait between retries.
    relay_retry_seconds: float = 2.0
    relay_retry_max_seconds: float = 300.0
    relay_batch: int = 50
    #: Messages in flight at once (on different holders and cards; 1: one by one in queue order).
    relay_window: int = 8
    #: The server's ``CENTRAL_IDEMPOTENCY_RETENTION_HOURS``: a message that may have reached the server
    #: earlier than this (less the margin) is not replayed blindly but flagged for reconciliation.
    key_retention_hours: float = 720.0
    key_retention_margin_hours: float = 24.0
    #: Offline sign-in (离线登录) works this many hours after the operator's last online sign-in.
    offline_sign_in_hours: float = 72.0
    #: Local lockout of offline sign-in after this many failures in a row, for this long.
    lockout_failures: int = 5
    lockout_minutes: float = 15.0
    #: scrypt cost of the offline verifier (2**14: about 16 MB and a few tens of ms per check).
    verifier_scrypt_n: int = 2**14
    feed_page: int = 1000
    snapshot_page: int = 2000
    #: The county (区县行政区划) the replica covers; None: the outlet's region from ``GET /outlets``.
    county: str | None = None

    @property
    def base_url(self) -> str:
        return self.server_url.rstrip("/")

    @property
    def timeout(self) -> tuple[float, float]:
        """(connect, read) seconds, given to every request."""
        return (self.connect_timeout, self.read_timeout)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> SyncConfig:
        """The configuration of the counter in ``settings`` (production or an embedded training server)."""
        if not settings.server_url:
            raise ValueError("the counter's settings name no server_url")
        base = cls(
            server_url=settings.server_url,
            outlet_code=settings.outlet_code,
            counter_number=settings.counter_number,
            ca_bundle=settings.ca_bundle,
        )
        return replace(base, **overrides)
