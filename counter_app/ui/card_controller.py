"""Device events → card panel and status bar (读卡控制): the card panel's behaviour, no layout.

Events come from the device thread through `GuiBridge.device_event` (queued, so the slots run on
the GUI thread); the card read is a job on the device thread and the server lookup a call on a
worker thread. A sequence number per insertion drops the answer for a card that has meanwhile
been pulled or swapped, so the panel never shows the previous citizen's data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date

from counter_app.devices.pcsc import DeviceEvent, EventKind, ReaderRole
from counter_app.domain.errors import DomainError
from counter_app.ui.bridge import BackgroundTasks, GuiBridge, Task
from counter_app.ui.card_panel import CardPanel
from counter_app.ui.ports import (
    CardReading,
    CardStatus,
    CardStatusLookup,
    Device,
    DeviceAccess,
    DeviceService,
    DeviceStatus,
    Health,
    OperatorSession,
    read_card,
)
from counter_app.ui.qt import QCoreApplication, QObject, QTimer, Signal
from counter_app.ui.status_bar import DeviceStatusBar
from counter_app.workflows.ports import CardRemovedError, TransportError

log = logging.getLogger(__name__)


translate = QCoreApplication.translate


def card_error_text(error: BaseException) -> str:
    """A failure of a card job, in words for the clerk."""
    if isinstance(error, CardRemovedError):
        return translate("CardController", "卡片已拔出或无应答，请重新插卡。")
    if isinstance(error, DomainError):
        return error.message
    if isinstance(error, TransportError):
        return str(error) or translate("CardController", "读卡器通讯失败。")
    log.error("card read failed", exc_info=error)
    return translate("CardController", "系统错误（%1），详见运行日志。").replace("%1", type(error).__name__)


def _psam_terminal(access: DeviceAccess) -> str:
    keys = access.key_provider()
    return keys.terminal_id() if keys is not None else ""


class CardController(QObject):
    """Keeps the card panel and the reader/PSAM indicators in step with the device thread."""

    card_changed = Signal(object)  # CardReading | None
    read_finished = Signal()

    def __init__(
        self,
        devices: DeviceService,
        bridge: GuiBridge,
        tasks: BackgroundTasks,
        panel: CardPanel,
        status: DeviceStatusBar,
        *,
        lookup: CardStatusLookup | None,
        session: Callable[[], OperatorSession | None],
        today: Callable[[], date],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._devices = devices
        self._bridge = bridge
        self._tasks = tasks
        self._panel = panel
        self._status = status
        self._lookup = lookup
        self._session = session
        self._today = today
        self._seq = 0
        self._lookup_task: Task | None = None
        self.card_present = False
        self.reader_connected = False
        self.reading: CardReading | None = None
        self._held = 0  # wizards whose flows drive the card now
        panel.read_requested.connect(self.read)
        bridge.device_event.connect(self.on_event)

    def start(self, *, detect_ms: int = 3000) -> None:
        self._devices.start(self._bridge.post_event)
        QTimer.singleShot(detect_ms, self._not_found_yet)

    def _not_found_yet(self) -> None:
        """No reader reported by now: say so instead of 检测中 forever (PC/SC gives no "none" event)."""
        detail = translate("CardController", "没有与设置中的名称匹配的读卡器，请检查连线或设置。")
        for device in (Device.CARD_READER, Device.PSAM):
            if self._status.states[device].health is not Health.UNKNOWN:
                continue
            self._show(device, Health.FAULT, translate("CardController", "未找到读卡器"), detail)
            if device is Device.CARD_READER:
                self._panel.show_waiting(
                    translate("CardController", "未找到读卡器，请检查读卡器连线或设置。")
                )

    # -- events ---------------------------------------------------------------------------------

    def on_event(self, event: DeviceEvent) -> None:
        if event.kind is EventKind.SERVICE_LOST:
            self.reader_connected = False
            self._forget_card(translate("CardController", "智能卡服务已停止，正在重新连接…"))
            text = translate("CardController", "智能卡服务停止")
            self._show(Device.CARD_READER, Health.FAULT, text)
            self._show(Device.PSAM, Health.FAULT, text)
        elif event.kind is EventKind.SERVICE_BACK:
            self._show(Device.CARD_READER, Health.BUSY, translate("CardController", "正在重新连接"))
        elif event.role is ReaderRole.PSAM:
            self._psam_event(event)
        elif event.role is ReaderRole.CARD:
            self._card_event(event)

    def _card_event(self, event: DeviceEvent) -> None:
        if event.kind is EventKind.READER_FOUND:
            self.reader_connected = True
            self._show(Device.CARD_READER, Health.OK, translate("CardController", "已连接"), event.reader)
            if not self.card_present:
                self._panel.show_waiting(translate("CardController", "请插入社会保障卡"))
        elif event.kind is EventKind.READER_GONE:
            self.reader_connected = False
            self._show(Device.CARD_READER, Health.FAULT, translate("CardController", "未连接"), event.reader)
            self._forget_card(translate("CardController", "读卡器未连接，请检查读卡器连线。"))
        elif event.kind is EventKind.CARD_INSERTED:
            self.card_present = True
            self.read()
        elif event.kind is EventKind.CARD_REMOVED:
            self._forget_card(translate("CardController", "请插入社会保障卡"))

    def _psam_event(self, event: DeviceEvent) -> None:
        if event.kind is EventKind.READER_FOUND:
            self._show(Device.PSAM, Health.WARNING, translate("CardController", "未插卡"), event.reader)
        elif event.kind is EventKind.READER_GONE:
            self._show(Device.PSAM, Health.FAULT, translate("CardController", "读卡器未连接"), event.reader)
        elif event.kind is EventKind.CARD_INSERTED:
            self._show(Device.PSAM, Health.OK, translate("CardController", "正常"), event.reader)
            self._bridge.deliver(
                self._devices.submit(_psam_terminal),
                lambda terminal: self._show(
                    Device.PSAM,
                    Health.OK,
                    translate("CardController", "正常"),
                    translate("CardController", "终端机编号 %1").replace("%1", terminal),
                ),
                lambda error: self._show(
                    Device.PSAM, Health.FAULT, translate("CardController", "无法使用"), card_error_text(error)
                ),
            )
        elif event.kind is EventKind.CARD_REMOVED:
            self._show(Device.PSAM, Health.FAULT, translate("CardController", "未插卡"), event.reader)

    def _show(self, device: Device, health: Health, text: str, detail: str = "") -> None:
        self._status.show(DeviceStatus(device, health, text, detail))

    def _forget_card(self, message: str) -> None:
        self._seq += 1
        self.card_present = False
        if self._lookup_task is not None:
            self._lookup_task.cancel()
            self._lookup_task = None
        self._panel.show_waiting(message)
        if self.reading is not None:
            self.reading = None
            self.card_changed.emit(None)

    # -- reading --------------------------------------------------------------------------------

    @property
    def held(self) -> bool:
        return self._held > 0

    def hold(self) -> None:
        """A wizard's flow drives the card from now on: no read of the panel's own (its APDUs would
        come between the flow's, e.g. between a SELECT and the write that relies on it)."""
        self._held += 1
        self._seq += 1  # the answer of a read still running is dropped
        if self.card_present:
            self._panel.show_waiting(
                translate("CardController", "业务办理中：卡片由办理向导读写，办结后自动读卡")
            )

    def release(self) -> None:
        """The wizard closed: read whatever card is in the reader now."""
        self._held = max(0, self._held - 1)
        if self._held:
            return
        if self.card_present:
            self.read()
        else:
            self._panel.show_waiting(translate("CardController", "请插入社会保障卡"))

    def read(self) -> None:
        """读卡: read the card in the reader on the device thread (also the F-key and the button)."""
        if self.held:
            self._panel.show_waiting(
                translate("CardController", "业务办理中：卡片由办理向导读写，办结后自动读卡")
            )
            self.read_finished.emit()
            return
        self._seq += 1
        seq = self._seq
        if self._lookup_task is not None:
            self._lookup_task.cancel()
            self._lookup_task = None
        self._panel.show_reading()
        self._bridge.deliver(
            self._devices.submit(read_card),
            lambda reading: self._read_done(seq, reading),
            lambda error: self._read_failed(seq, error),
        )

    def _read_done(self, seq: int, reading: CardReading) -> None:
        if seq != self._seq:
            return  # the card was pulled or swapped meanwhile
        self.card_present = True
        self.reading = reading
        self._panel.show_card(reading, today=self._today())
        self.card_changed.emit(reading)
        self.read_finished.emit()
        self.refresh_status()

    def _read_failed(self, seq: int, error: BaseException) -> None:
        if seq != self._seq:
            return
        if isinstance(error, CardRemovedError) and not self.card_present:
            self._panel.show_waiting(translate("CardController", "读卡器中没有卡，请插入社会保障卡"))
        else:
            self._panel.show_error(card_error_text(error))
        self.read_finished.emit()

    def refresh_status(self) -> None:
        """Ask the server (or replica) for the shown card's status, when someone is signed in."""
        reading, session = self.reading, self._session()
        if reading is None or self._lookup is None or session is None or reading.info.is_blank:
            return
        if self._lookup_task is not None:
            self._lookup_task.cancel()
        seq, lookup, info = self._seq, self._lookup, reading.info
        self._panel.show_status_pending()

        def done(status: CardStatus) -> None:
            if seq == self._seq:
                self._panel.show_status(status)

        def failed(error: BaseException) -> None:
            if seq == self._seq:
                self._panel.show_status_unavailable(str(error) or type(error).__name__)

        self._lookup_task = self._tasks.run(lambda: lookup.card_status(session, info), done, failed)
