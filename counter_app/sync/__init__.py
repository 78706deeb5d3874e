"""Sync with the central server (与中心同步): the `CentralApi` port, outbox relay, change-feed
replica, online/offline state, operator sign-in and the counter's credentials.

`SyncService` wires it all for one counter; ``app.py`` builds one and hands its ports to the flows.
"""

from __future__ import annotations

from counter_app.sync.config import SyncConfig
from counter_app.sync.offline import Connectivity, ItemAvailability
from counter_app.sync.problems import CounterNotEnrolled, ServerUnreachable, SignInRefused, SignInRequired
from counter_app.sync.relay import Alarm, DrainReport, Rejection
from counter_app.sync.service import SyncService
from counter_app.sync.signin import SignedIn
from counter_app.sync.worker import SyncStatus

__all__ = [
    "Alarm",
    "Connectivity",
    "CounterNotEnrolled",
    "DrainReport",
    "ItemAvailability",
    "Rejection",
    "ServerUnreachable",
    "SignInRefused",
    "SignInRequired",
    "SignedIn",
    "SyncConfig",
    "SyncService",
    "SyncStatus",
]
