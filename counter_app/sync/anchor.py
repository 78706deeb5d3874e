"""Audit anchoring (审计链锚定): the local chain checked against the head the server holds.

Every outbox message carries the audit head of its time and the server keeps the highest one per
counter (``GET /counters/me/audit-head``). A local chain cut short (truncated tail) no longer reaches
that head; one recomputed from scratch (every hash redone after an edit) no longer passes through
it. `AuditAnchor.check` finds both (``counter_app.store.audit.verify_against_head``).
"""

from __future__ import annotations

from counter_app.store import AuditHead, ChainReport, Store
from counter_app.sync.client import CentralClient
from counter_app.sync.problems import Problem, ServerUnreachable


class AuditAnchor:
    """Compares the local audit chain with the server's acknowledged head."""

    def __init__(self, store: Store, client: CentralClient) -> None:
        self.store = store
        self.client = client

    def server_head(self) -> AuditHead | None:
        """The head the server acknowledged for this counter (None: none yet)."""
        response = self.client.get("/counters/me/audit-head")
        if response.status_code != 200:
            raise ServerUnreachable(f"无法取得中心确认的审计链头：{Problem.of(response).detail}")
        body = response.json()
        if body.get("seq") is None or not body.get("entry_hash"):
            return None
        return AuditHead(int(body["seq"]), str(body["entry_hash"]))

    def check(self) -> ChainReport:
        """The local chain, and whether it still reaches the server's head (``report.intact``)."""
        head = self.server_head()
        if head is None:
            return self.store.verify_audit()
        return self.store.verify_against_head(head)
