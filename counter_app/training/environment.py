"""The whole of 培训模式 in one object (培训环境): devices, PIN pad, printer, server and sync.

`TrainingEnvironment` is built on the GUI thread in a few milliseconds (no database, no server);
`start_background` then, on a thread: prepares the training database (built once, cached), opens
the training counter's local store, starts the embedded central server, enrols the counter and
starts the real sync service (``counter_app.sync``) against it, reporting progress. `sync` is what
the shell's sign-in and status ports wait on. Nothing here is used by a configured counter.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from counter_app.clock import SHANGHAI
from counter_app.config import Settings
from counter_app.training.central import DEFAULT_PERSONS, TRAINING_COUNTER, TRAINING_OUTLET, EmbeddedCentral
from counter_app.training.credentials import SERVICE, ensure_keyring
from counter_app.training.devices import EmulatedDevices
from counter_app.training.holders import card_labels
from counter_app.ui.ports import Device, DeviceStatus, Health
from counter_app.ui.services import TrainingParts

log = logging.getLogger(__name__)

Progress = Callable[[str, bool], None]
"""``progress(message, busy)``: called on the background thread."""


def _remove(database: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)


class TrainingPrinter:
    """打印机 in training: every print is kept as a PDF (培训样张) in the training data folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def is_ready(self) -> bool:
        return True

    def print_pdf(self, pdf: bytes, *, job_name: str) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(SHANGHAI).strftime("%Y%m%d-%H%M%S")
        safe = re.sub(r"[^\w.-]+", "_", job_name)[:40]
        path = self.folder / f"{stamp}-{safe}.pdf"
        path.write_bytes(pdf)
        return str(path)


class TrainingPrinterProbe:
    device = Device.PRINTER

    def probe(self) -> DeviceStatus:
        return DeviceStatus(self.device, Health.OK, "培训样张", "培训模式：打印件保存为 PDF，不送打印机")


class TrainingPadProbe:
    device = Device.PIN_PAD

    def __init__(self, environment: TrainingEnvironment) -> None:
        self._environment = environment

    def probe(self) -> DeviceStatus:
        pad = self._environment.pad
        if pad is None:
            return DeviceStatus(self.device, Health.WARNING, "不可用", "本机不能运行培训密码键盘（需要 pty）")
        return DeviceStatus(self.device, Health.OK, "培训键盘", f"培训密码键盘，串口 {pad.port}")


class TrainingEnvironment:
    """Emulated reader and PSAM, training pad and printer, embedded server and the sync service."""

    def __init__(
        self,
        settings: Settings,
        *,
        persons: int = DEFAULT_PERSONS,
        kdf_n: int | None = None,
        sync_overrides: dict[str, Any] | None = None,
    ) -> None:
        self.settings = dataclasses.replace(
            settings, outlet_code=TRAINING_OUTLET, counter_number=TRAINING_COUNTER
        )
        self.data_dir = settings.data_dir
        self.devices = EmulatedDevices()
        self.central = EmbeddedCentral(self.data_dir / "central", persons=persons, kdf_n=kdf_n)
        self.settings = dataclasses.replace(self.settings, server_url=self.central.base_url)
        self.printer = TrainingPrinter(self.data_dir / "培训样张")
        self.pad: Any = None
        self.store: Any = None
        self._sync: Any = None
        self._sync_overrides = {"probe_seconds": 2.0, **(sync_overrides or {})}
        self._pad_listeners: list[Callable[[Any], None]] = []
        self._ready = threading.Event()
        self.failure: str | None = None
        self._thread: threading.Thread | None = None
        self._start_pad()

    def _start_pad(self) -> None:
        if sys.platform == "win32":
            return  # the training pad lives on a pseudo-terminal (POSIX only)
        try:
            from counter_app.emulator.pinpad import TrainingPinPad

            self.pad = TrainingPinPad(on_event=self._pad_event).start()
        except Exception:
            log.exception("training PIN pad could not start")
            self.pad = None

    def _pad_event(self, event: Any) -> None:
        for listener in list(self._pad_listeners):
            listener(event)

    def parts(self) -> TrainingParts:
        return TrainingParts(
            hands=self.devices,
            cards=card_labels(),
            pad=self.pad,
            subscribe_pad=self._pad_listeners.append,
            reset_data=self.reset_data,
        )

    def probes(self) -> list[Any]:
        return [TrainingPrinterProbe(), TrainingPadProbe(self)]

    # -- starting -------------------------------------------------------------------------------

    def start_background(self, progress: Progress) -> None:
        """Prepare, serve and sync on a thread; ``progress`` reports (from that thread)."""
        self._thread = threading.Thread(
            target=self._start, args=(progress,), name="training-start", daemon=True
        )
        self._thread.start()

    def _start(self, progress: Progress) -> None:
        started = time.monotonic()
        try:
            progress("内置培训服务器启动中…", True)
            self._bring_up(lambda message: progress(message, True))
            progress(f"内置培训服务器已就绪（{time.monotonic() - started:.1f} 秒）", False)
        except Exception as error:
            log.exception("training environment failed to start")
            self.failure = f"内置培训服务器启动失败：{error}"
            progress(f"× {self.failure}（详见运行日志）", False)
        finally:
            self._ready.set()

    def _bring_up(self, progress: Callable[[str], None]) -> None:
        from counter_app.store import (
            KeyringKeySource,
            Store,
            StoreKeyMismatch,
            StoreKeyMissing,
            database_path,
        )
        from counter_app.sync import SyncConfig, SyncService
        from counter_app.sync.credentials import CounterCredentials

        credentials = self.central.credentials = CounterCredentials(SERVICE)
        persistent = ensure_keyring()
        store_file = database_path(self.data_dir)
        if not persistent:  # its key would be gone: start the training store afresh
            _remove(store_file)
        try:
            self.store = Store.open(store_file, KeyringKeySource(SERVICE))
        except (StoreKeyMissing, StoreKeyMismatch):
            log.warning("training store key lost: starting the training store afresh")
            _remove(store_file)
            self.store = Store.open(store_file, KeyringKeySource(SERVICE))
        credential = self.central.start(progress)
        progress("正在登记培训柜台…")
        sync = SyncService(
            SyncConfig.from_settings(self.settings, **self._sync_overrides),
            self.store,
            credentials=credentials,
        )
        sync.enrol(credential)
        sync.start()
        self._sync = sync

    def sync(self, wait: float) -> Any:
        """The `SyncService`, waiting up to ``wait`` seconds for it; None when not (yet) there."""
        self._ready.wait(wait)
        return self._sync

    # -- 重置培训数据 -----------------------------------------------------------------------------

    def reset_data(self) -> None:
        """Sign out, stop, restore the pristine training data and a fresh counter store, start again."""
        self._ready.wait()
        self._ready.clear()
        try:
            self._stop_sync()
            self.central.stop()
            self.central.reset_working_copy()
            self._bring_up(lambda message: None)
        finally:
            self._ready.set()

    def _stop_sync(self) -> None:
        from counter_app.store import database_path

        sync, self._sync = self._sync, None
        if sync is not None:
            sync.sign_out(flush_seconds=0)
            sync.stop()
        if self.store is not None:
            self.store.close()
            self.store = None
            _remove(database_path(self.data_dir))

    def stop(self) -> None:
        self.devices.stop()
        if self.pad is not None:
            self.pad.stop()
        if self._thread is not None:
            self._thread.join(timeout=30)
        sync, self._sync = self._sync, None
        if sync is not None:
            sync.stop()
        if self.store is not None:
            self.store.close()
        self.central.stop()
