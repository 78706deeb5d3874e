"""The real clock (系统时钟): Asia/Shanghai wall time and a monotonic counter."""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class SystemClock:
    """`Clock` port on the machine's clock."""

    def now(self) -> datetime:
        return datetime.now(SHANGHAI)

    def monotonic(self) -> float:
        return time.monotonic()
