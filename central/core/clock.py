"""The server's clock (时钟): timezone-aware Asia/Shanghai time, replaceable in tests."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from counter_app.domain.card_lifecycle import SHANGHAI


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The machine's clock in Asia/Shanghai."""

    def now(self) -> datetime:
        return datetime.now(SHANGHAI)
