"""未办结业务 — which flows of this counter may still stand half done, to resume after a restart.

The journal keeps one checkpoint per unfinished flow (``Journal.save_checkpoint``) but has no list
of them; this index is itself a checkpoint (id ``open-flows:<网点>:<柜台>``) naming the flows the
wizard opened. A flow's id is added when its wizard opens and removed when it ends; a killed
program leaves it listed, and the next sign-in at the counter asks `resumable`:

- a flow whose checkpoint is gone ended after all (only the index missed it): dropped;
- a flow that changed nothing outside itself (no server command answered or in flight, nothing
  written on a card, nothing recorded) is forgotten: the citizen may be gone, and starting again
  costs nothing;
- a flow that changed something (a command accepted or in flight, a card write begun, a PIN being
  set) is resumed, because only finishing it leaves the card, the server and the journal in step —
  an 即时制卡 resumes on the same 预制卡 and never issues a second card.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from counter_app.workflows.ports import Journal

_LOCK = threading.Lock()


def index_id(outlet_code: str, counter_number: str) -> str:
    return f"open-flows:{outlet_code}:{counter_number}"


def needs_finishing(state: Mapping[str, Any]) -> bool:
    """Whether an unfinished flow changed something that only finishing it puts in step."""
    data = state.get("data") or {}
    return bool(
        state.get("committed")
        or data.get("in_flight")
        or data.get("pending_write")
        or data.get("pin_state") == "started"
    )


class OpenFlows:
    """The index of this counter's flows that may be unfinished."""

    def __init__(self, journal: Journal, outlet_code: str, counter_number: str) -> None:
        self._journal = journal
        self._id = index_id(outlet_code, counter_number)

    def _load(self) -> list[dict[str, str]]:
        state = self._journal.load_checkpoint(self._id) or {}
        return [dict(e) for e in state.get("flows") or () if isinstance(e, Mapping)]

    def _store(self, flows: list[dict[str, str]]) -> None:
        if flows:
            self._journal.save_checkpoint(self._id, {"flows": flows})
        else:
            self._journal.discard_checkpoint(self._id)

    def add(self, flow_id: str, item_code: str) -> None:
        with _LOCK:
            flows = [f for f in self._load() if f.get("flow_id") != flow_id]
            flows.append({"flow_id": flow_id, "item_code": item_code})
            self._store(flows)

    def remove(self, flow_id: str) -> None:
        with _LOCK:
            flows = self._load()
            kept = [f for f in flows if f.get("flow_id") != flow_id]
            if kept != flows:
                self._store(kept)

    def listed(self) -> list[str]:
        with _LOCK:
            return [str(f["flow_id"]) for f in self._load() if f.get("flow_id")]

    def resumable(self) -> list[str]:
        """The flows to resume now, oldest first; the rest are forgotten (see the module's rules)."""
        with _LOCK:
            flows = self._load()
            keep: list[dict[str, str]] = []
            for entry in flows:
                state = self._journal.load_checkpoint(str(entry.get("flow_id")))
                if state is None or state.get("status", "running") != "running":
                    continue
                if needs_finishing(state):
                    keep.append(entry)
                else:
                    self._journal.discard_checkpoint(str(entry["flow_id"]))
            if keep != flows:
                self._store(keep)
            return [str(f["flow_id"]) for f in keep]
