"""Everything the shell is given (界面装配清单): ports, settings and training parts. No Qt here.

``app.py`` fills one `ShellServices` for the real counter or for 培训模式; tests fill it with
fakes. A part left None is shown as not available rather than failing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from counter_app.clock import SHANGHAI
from counter_app.config import Settings, config_dir
from counter_app.domain.catalog import Catalog, load_catalog
from counter_app.ui.ports import (
    CardStatusLookup,
    ConnectivityStatus,
    DeviceService,
    SignInService,
    StatusProbe,
)


def _today() -> date:
    return datetime.now(SHANGHAI).date()


@dataclass
class TrainingParts:
    """What the training windows drive (客户操作, 客户密码键盘, 重置培训数据)."""

    hands: Any  # CustomerHands (counter_app.ui.training_windows)
    #: Test card name → (the line the "客户操作" list shows, its tooltip).
    cards: Mapping[str, tuple[str, str]]
    pad: Any = None  # PadKeys, or None when the training pad cannot run here (no pty)
    #: Registers the pad-event callback (called on the pad's thread with a PadEvent).
    subscribe_pad: Callable[[Callable[[Any], None]], None] | None = None
    #: 重置培训数据 (blocking; run on a worker thread).
    reset_data: Callable[[], None] | None = None


@dataclass
class ShellServices:
    settings: Settings
    catalog: Catalog = field(default_factory=load_catalog)
    devices: DeviceService | None = None
    sign_in: SignInService | None = None
    connectivity: ConnectivityStatus | None = None
    card_status: CardStatusLookup | None = None
    probes: Sequence[StatusProbe] = ()
    training: TrainingParts | None = None
    #: The ``counter-app diagnose`` report as text (blocking).
    diagnose: Callable[[], str] | None = None
    #: Printer queue names for the settings dialog (blocking).
    printers: Callable[[], Sequence[str]] = lambda: ()
    #: Sends a PDF to the counter's printer; returns a job id (blocking).
    print_pdf: Callable[[bytes, str], str] | None = None
    #: Starts the wizard of an item (issues 13/14); None hides 开始办理.
    start_flow: Callable[[str], None] | None = None
    idle_lock_ms: int = 5 * 60_000
    probe_interval_ms: int = 30_000
    today: Callable[[], date] = _today
    config_root: Path = field(default_factory=config_dir)
