"""PC/SC readers through pyscard (读卡器): the card transport and the device thread.

All PC/SC work runs on one device thread (`PcscDevices`): it owns the PC/SC context, watches the
configured readers with ``SCardGetStatusChange`` and runs the jobs the program submits (a card read,
a PIN change …) between two waits. Events reach the caller through a plain callback on that
thread; the UI turns them into Qt signals. Readers are chosen by configured name patterns, never by
index. A pcscd restart or a reader unplugged does not need a program restart: the thread makes a
new context and reports the card again when it is back.

No APDU is logged here: the card layer's trace (logger ``counter_app.apdu``) redacts PIN data.
"""

from __future__ import annotations

import enum
import fnmatch
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from smartcard import scard

from counter_app.threads import assert_not_gui_thread
from counter_app.workflows.ports import CardRemovedError, TransportError

log = logging.getLogger(__name__)

T = TypeVar("T")

#: hresults that mean "the card left" (pcsc-stack.md §5: first 0x80100016, after the next poll 0x80100069)
CARD_GONE = frozenset(
    {
        scard.SCARD_W_REMOVED_CARD,
        scard.SCARD_E_NOT_TRANSACTED,
        scard.SCARD_E_NO_SMARTCARD,
        scard.SCARD_W_UNPOWERED_CARD,
        scard.SCARD_W_UNRESPONSIVE_CARD,
    }
)
#: hresults that mean "the PC/SC service is gone": make a new context
SERVICE_GONE = frozenset(
    {
        scard.SCARD_E_NO_SERVICE,
        scard.SCARD_F_COMM_ERROR,
        scard.SCARD_E_SERVICE_STOPPED,
        scard.SCARD_E_INVALID_HANDLE,
    }
)
PNP_NOTIFICATION = "\\\\?PnP?\\Notification"
BUSY_WINDOW_SECONDS = 0.2


def _hex(hresult: int) -> str:
    return f"0x{hresult & 0xFFFFFFFF:08X}"


def transmit_result(hresult: int, response: list[int]) -> bytes:
    """The response of one ``SCardTransmit``, or the port's error for a failure.

    A response without a status word means the card did not answer: vpcd reports a card that drops
    off mid-command as success with 0 bytes. That is a `CardRemovedError` (whatever the command was,
    it may or may not have taken effect), never an empty answer.
    """
    if hresult != scard.SCARD_S_SUCCESS:
        if hresult in CARD_GONE:
            raise CardRemovedError("卡片已拔出，请重新插卡")
        raise TransportError(f"读卡器通讯失败（{scard.SCardGetErrorMessage(hresult)}，{_hex(hresult)}）")
    if len(response) < 2:
        raise CardRemovedError("卡片无应答（可能已拔出），请重新插卡")
    return bytes(response)


class ReaderRole(enum.Enum):
    """Which reader a slot is for: the citizen's card (社保卡) or the security module (PSAM)."""

    CARD = "card"
    PSAM = "psam"


class EventKind(enum.Enum):
    """What the device thread reports (设备事件)."""

    CARD_INSERTED = "card_inserted"
    CARD_REMOVED = "card_removed"
    READER_FOUND = "reader_found"
    READER_GONE = "reader_gone"
    SERVICE_LOST = "service_lost"
    SERVICE_BACK = "service_back"


@dataclass(frozen=True)
class DeviceEvent:
    kind: EventKind
    role: ReaderRole | None = None
    reader: str = ""
    atr: bytes = b""


def match_reader(pattern: str, readers: list[str]) -> str | None:
    """The one reader whose name matches ``pattern`` (case-insensitive glob, or a substring).

    Raises `TransportError` when several readers match: choosing one by position would put the
    citizen's card in the PSAM's place one day.
    """
    if not pattern:
        return None
    glob = pattern if any(c in pattern for c in "*?[") else f"*{pattern}*"
    hits = [r for r in readers if fnmatch.fnmatchcase(r.casefold(), glob.casefold())]
    if len(hits) > 1:
        raise TransportError(f"读卡器名称 {pattern!r} 同时匹配 {hits}，请在设置中写得更具体")
    return hits[0] if hits else None


class PcscTransport:
    """`CardTransport` over one connected card; used only on the device thread."""

    def __init__(
        self, devices: PcscDevices, role: ReaderRole, reader: str, handle: int, protocol: int, atr: bytes
    ):
        self._devices = devices
        self.role = role
        self._reader = reader
        self._handle = handle
        self._pci = scard.SCARD_PCI_T0 if protocol == scard.SCARD_PROTOCOL_T0 else scard.SCARD_PCI_T1
        self._atr = atr
        self.closed = False

    @property
    def reader_name(self) -> str:
        return self._reader

    def atr(self) -> bytes:
        return self._atr

    def transmit(self, command: bytes | bytearray) -> bytes:
        assert_not_gui_thread("PC/SC transmit")
        self._devices.assert_device_thread()
        if self.closed:
            raise CardRemovedError("卡片已拔出，请重新插卡")
        hresult, response = scard.SCardTransmit(self._handle, self._pci, list(command))
        try:
            return transmit_result(hresult, response)
        except TransportError:
            failed = hresult if hresult != scard.SCARD_S_SUCCESS else scard.SCARD_W_REMOVED_CARD
            self._devices.connection_failed(self, failed)
            raise

    def control(self, controlCode: int, command: list[int] | None = None) -> list[int]:  # noqa: N803
        """``SCardControl`` on this connection (PC/SC Part 10: the reader's own PIN pad); device
        thread only. Raises pyscard's ``SmartcardException`` with the ``hresult`` on failure."""
        from smartcard.Exceptions import SmartcardException

        self._devices.assert_device_thread()
        if self.closed:
            raise CardRemovedError("卡片已拔出，请重新插卡")
        hresult, response = scard.SCardControl(self._handle, controlCode, list(command or []))
        if hresult != scard.SCARD_S_SUCCESS:
            raise SmartcardException(f"SCardControl {controlCode:#x} failed", hresult=hresult)
        return [b & 0xFF for b in response]

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            scard.SCardDisconnect(self._handle, scard.SCARD_LEAVE_CARD)


class RoleTransport:
    """`CardTransport` for whatever card is in ``role``'s reader now (角色卡座); device thread only.

    Each call goes to the current connection of that reader and connects on first use, so a
    long-lived user such as the PSAM's `PsamKeyProvider` survives the PSAM being reset, reconnected
    or pcscd restarting (it sees a `TransportError` once and opens a new session). The citizen's
    card is better served by `PcscDevices.transport`, bound to one connection: a swapped card then
    fails instead of answering in the previous card's place.
    """

    def __init__(self, devices: PcscDevices, role: ReaderRole) -> None:
        self._devices = devices
        self.role = role

    @property
    def reader_name(self) -> str:
        return self._devices.transport(self.role).reader_name

    def atr(self) -> bytes:
        return self._devices.transport(self.role).atr()

    def transmit(self, command: bytes | bytearray) -> bytes:
        return self._devices.transport(self.role).transmit(command)


def _event_count(state: int) -> int:
    """The reader's card-event counter pcsc-lite and Windows keep in the high word of a state: it
    changes when a card went out and in again, even if we did not see the reader empty."""
    return (state >> 16) & 0xFFFF


@dataclass
class _Slot:
    role: ReaderRole
    pattern: str
    reader: str | None = None
    state: int = scard.SCARD_STATE_UNAWARE
    atr: bytes = b""
    present: bool = False
    connection: PcscTransport | None = None


class PcscDevices:
    """The device thread: watches the card and PSAM readers and runs submitted jobs (设备线程)."""

    def __init__(
        self,
        card_pattern: str,
        psam_pattern: str,
        on_event: Callable[[DeviceEvent], None],
        *,
        wait_ms: int = 250,
        busy_wait_ms: int = 5,
        retry_seconds: float = 1.0,
    ) -> None:
        self._slots = {
            ReaderRole.CARD: _Slot(ReaderRole.CARD, card_pattern),
            ReaderRole.PSAM: _Slot(ReaderRole.PSAM, psam_pattern),
        }
        self._on_event = on_event
        self._wait_ms = wait_ms
        self._busy_wait_ms = busy_wait_ms
        self._last_job = 0.0
        self._retry = retry_seconds
        self._jobs: queue.SimpleQueue[tuple[Callable[[PcscDevices], Any], Future[Any]]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._context: int | None = None
        self._context_lock = threading.Lock()
        self._service_up = True
        self._pnp_state = scard.SCARD_STATE_UNAWARE
        self._thread = threading.Thread(target=self._run, name="pcsc-device", daemon=True)

    # -- life cycle --------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake()
        self._thread.join(timeout)

    def assert_device_thread(self) -> None:
        if threading.current_thread() is not self._thread:
            raise RuntimeError("PC/SC calls must run on the device thread (use PcscDevices.submit)")

    # -- jobs --------------------------------------------------------------------------------

    def submit(self, job: Callable[[PcscDevices], T]) -> Future[T]:
        """Run ``job(devices)`` on the device thread; its result or exception comes in the future."""
        future: Future[T] = Future()
        if self._stop.is_set():
            future.set_exception(TransportError("设备线程已停止"))
            return future
        self._jobs.put((job, future))
        self._wake()
        return future

    def transport(self, role: ReaderRole) -> PcscTransport:
        """The connected card in ``role``'s reader (connects on first use). Device thread only."""
        self.assert_device_thread()
        slot = self._slots[role]
        if slot.connection is not None and not slot.connection.closed:
            return slot.connection
        if self._context is None or slot.reader is None:
            raise TransportError(
                "未找到读卡器，请检查读卡器连接" if role is ReaderRole.CARD else "未找到 PSAM 读卡器"
            )
        hresult, handle, protocol = scard.SCardConnect(
            self._context,
            slot.reader,
            scard.SCARD_SHARE_SHARED,
            scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
        )
        if hresult in CARD_GONE:
            raise CardRemovedError(
                ("读卡器中没有卡，请插入社会保障卡" if role is ReaderRole.CARD else "PSAM 卡未插入")
                + f"（{_hex(hresult)}）"
            )
        if hresult != scard.SCARD_S_SUCCESS:
            raise TransportError(f"无法连接卡片（{scard.SCardGetErrorMessage(hresult)}，{_hex(hresult)}）")
        slot.connection = PcscTransport(self, role, slot.reader, handle, protocol, slot.atr)
        return slot.connection

    def connection_failed(self, connection: PcscTransport, hresult: int) -> None:
        """A transmit failed: forget the connection so the next job reconnects."""
        connection.closed = True
        slot = self._slots[connection.role]
        if slot.connection is connection:
            slot.connection = None
        if hresult in SERVICE_GONE:
            self._drop_context()

    # -- the thread --------------------------------------------------------------------------

    def _wake(self) -> None:
        with self._context_lock:
            if self._context is not None:
                scard.SCardCancel(self._context)

    def _emit(self, event: DeviceEvent) -> None:
        try:
            self._on_event(event)
        except Exception:
            log.exception("device event handler failed for %s", event.kind.value)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self._context is None and not self._establish():
                    self._run_jobs()
                    self._stop.wait(self._retry)
                    continue
                self._run_jobs()
                self._watch()
            except Exception:  # never let the device thread die
                log.exception("device thread error; making a new PC/SC context")
                self._drop_context()
                self._stop.wait(self._retry)
        self._run_jobs()
        self._drop_context(report=False)

    def _run_jobs(self) -> None:
        while True:
            try:
                job, future = self._jobs.get_nowait()
            except queue.Empty:
                return
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(job(self))
            except BaseException as exc:
                future.set_exception(exc)
            self._last_job = time.monotonic()

    def _establish(self) -> bool:
        hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hresult != scard.SCARD_S_SUCCESS:
            if self._service_up:
                self._service_up = False
                self._emit(DeviceEvent(EventKind.SERVICE_LOST))
            return False
        with self._context_lock:
            self._context = context
        if not self._service_up:
            self._service_up = True
            self._emit(DeviceEvent(EventKind.SERVICE_BACK))
        self._refresh_readers()
        return True

    def _drop_context(self, *, report: bool = True) -> None:
        for slot in self._slots.values():
            if slot.connection is not None:
                slot.connection.closed = True
                slot.connection = None
            if slot.present and report:
                self._emit(DeviceEvent(EventKind.CARD_REMOVED, slot.role, slot.reader or ""))
            if slot.reader is not None and report:
                self._emit(DeviceEvent(EventKind.READER_GONE, slot.role, slot.reader))
            slot.reader, slot.present, slot.atr, slot.state = None, False, b"", scard.SCARD_STATE_UNAWARE
        self._pnp_state = scard.SCARD_STATE_UNAWARE
        with self._context_lock:
            context, self._context = self._context, None
        if context is not None:
            scard.SCardReleaseContext(context)
            if report and self._service_up:
                self._service_up = False
                self._emit(DeviceEvent(EventKind.SERVICE_LOST))

    def _refresh_readers(self) -> None:
        assert self._context is not None
        hresult, readers = scard.SCardListReaders(self._context, [])
        if hresult in SERVICE_GONE:
            self._drop_context()
            return
        names = [str(r) for r in readers] if hresult == scard.SCARD_S_SUCCESS else []
        for slot in self._slots.values():
            try:
                found = match_reader(slot.pattern, names)
            except TransportError:
                log.error("reader pattern %r matches several readers: %s", slot.pattern, names)
                found = None
            if found == slot.reader:
                continue
            if slot.reader is not None:
                self._slot_lost(slot)
            if found is not None:
                slot.reader, slot.state = found, scard.SCARD_STATE_UNAWARE
                self._emit(DeviceEvent(EventKind.READER_FOUND, slot.role, found))

    def _slot_lost(self, slot: _Slot) -> None:
        if slot.connection is not None:
            slot.connection.closed = True
            slot.connection = None
        if slot.present:
            self._emit(DeviceEvent(EventKind.CARD_REMOVED, slot.role, slot.reader or ""))
        self._emit(DeviceEvent(EventKind.READER_GONE, slot.role, slot.reader or ""))
        slot.reader, slot.present, slot.atr, slot.state = None, False, b"", scard.SCARD_STATE_UNAWARE

    def _watch(self) -> None:
        """One SCardGetStatusChange round over our readers and the PnP pseudo-reader."""
        assert self._context is not None
        watched = [s for s in self._slots.values() if s.reader is not None]
        states = [(s.reader, s.state) for s in watched] + [(PNP_NOTIFICATION, self._pnp_state)]
        if not self._jobs.empty():  # a job arrived since the last round: run it first
            return
        # SCardCancel (from submit) wakes a wait, but one sent just before the wait starts is lost:
        # while jobs keep coming (a card being read), wait in short slices so none waits long.
        busy = time.monotonic() - self._last_job < BUSY_WINDOW_SECONDS
        timeout = self._busy_wait_ms if busy else self._wait_ms
        hresult, new_states = scard.SCardGetStatusChange(self._context, timeout, states)
        if hresult in (scard.SCARD_E_TIMEOUT, scard.SCARD_E_CANCELLED):
            return
        if hresult in SERVICE_GONE:
            self._drop_context()
            return
        if hresult in (scard.SCARD_E_UNKNOWN_READER, scard.SCARD_E_READER_UNAVAILABLE):
            self._refresh_readers()
            return
        if hresult != scard.SCARD_S_SUCCESS:
            raise TransportError(f"SCardGetStatusChange: {_hex(hresult)}")
        for reader, event_state, atr in new_states:
            if reader == PNP_NOTIFICATION:
                first = self._pnp_state == scard.SCARD_STATE_UNAWARE
                self._pnp_state = event_state & ~scard.SCARD_STATE_CHANGED
                if event_state & scard.SCARD_STATE_CHANGED and not first:
                    self._refresh_readers()
                continue
            slot = next((s for s in watched if s.reader == reader), None)
            if slot is None:
                continue
            known = slot.state != scard.SCARD_STATE_UNAWARE
            swapped = known and _event_count(event_state) != _event_count(slot.state)
            slot.state = event_state & ~scard.SCARD_STATE_CHANGED
            if event_state & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE):
                self._refresh_readers()
                continue
            present = (
                bool(event_state & scard.SCARD_STATE_PRESENT) and not event_state & scard.SCARD_STATE_MUTE
            )
            new_atr = bytes(atr)
            if present and (not slot.present or new_atr != slot.atr or swapped):
                if slot.present:  # swapped between two polls (another ATR, or pcscd counted events)
                    self._card_left(slot)
                slot.present, slot.atr = True, new_atr
                self._emit(DeviceEvent(EventKind.CARD_INSERTED, slot.role, reader, new_atr))
            elif not present and slot.present:
                self._card_left(slot)

    def _card_left(self, slot: _Slot) -> None:
        if slot.connection is not None:
            slot.connection.close()
            slot.connection = None
        slot.present, slot.atr = False, b""
        self._emit(DeviceEvent(EventKind.CARD_REMOVED, slot.role, slot.reader or ""))
