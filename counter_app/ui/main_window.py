"""The main window (主界面): what a clerk sees all day around the wizards.

Layout from ``forms/main_window.ui``: the 培训模式 banner, a header with the outlet and the
operator, the service menu (F1–F12, filtered by role and outlet capability), the work area (the
item's 办事指南 until the wizards arrive), the card panel, and the device status bar. This class
wires them: sign-in, sign-out, the idle lock, supervisor confirmation, 大字体, and the training
windows. It never waits for a device or the server: those calls go through the `GuiBridge` and
`BackgroundTasks`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from counter_app.clock import SHANGHAI
from counter_app.domain.operators import Role
from counter_app.ui.appearance import set_large_font
from counter_app.ui.bridge import BackgroundTasks, GuiBridge
from counter_app.ui.card_controller import CardController
from counter_app.ui.card_panel import CardPanel
from counter_app.ui.generated.ui_main_window import Ui_MainWindow
from counter_app.ui.idle import IdleWatcher
from counter_app.ui.menu import MenuEntry, allowed_codes, menu_entries
from counter_app.ui.ports import ConnectivityState, Device, DeviceStatus, Health, OperatorSession
from counter_app.ui.qt import (
    QAction,
    QApplication,
    QBuffer,
    QByteArray,
    QCloseEvent,
    QIODevice,
    QKeySequence,
    QLabel,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPageSize,
    QPdfWriter,
    QResizeEvent,
    QSettings,
    QSizePolicy,
    Qt,
    QTextDocument,
    QTimer,
    QWidget,
    Signal,
)
from counter_app.ui.services import ShellServices
from counter_app.ui.sign_in import Mode, SignInDialog
from counter_app.ui.status_bar import DeviceStatusBar

log = logging.getLogger(__name__)

TRAINING_TITLE_SUFFIX = " 【培训模式】"
LARGE_FONT_KEY = "ui/large_font"


class MainWindow(QMainWindow):
    """The workstation shell: one per process."""

    session_changed = Signal(object)  # OperatorSession | None
    locked_changed = Signal(bool)

    def __init__(self, services: ShellServices, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.training = services.settings.training
        self.ui = Ui_MainWindow()
        self.ui.setupUi(self)
        self.session: OperatorSession | None = None
        self.locked = False
        self.online = True
        self.dialog: SignInDialog | None = None
        self.bridge = GuiBridge(self)
        self.tasks = BackgroundTasks(self.bridge)
        self.status = DeviceStatusBar(self.ui.statusBar, self)
        self.card_panel = CardPanel(self.ui.cardPane)
        self.ui.cardPaneLayout.addWidget(self.card_panel)
        self._entries = menu_entries(services.catalog)
        self._actions: dict[str, QAction] = {}
        self._allowed: frozenset[str] = frozenset()
        self._windows: dict[str, QWidget] = {}
        self._outlet_text = ""
        self._page_before_lock: QWidget | None = None
        self._setup_frame()
        self._setup_menu()
        self._setup_actions()
        self.idle = IdleWatcher(services.idle_lock_ms, self)
        self.idle.idle.connect(self.lock)
        self.cards: CardController | None = None
        if services.devices is not None:
            self.cards = CardController(
                services.devices,
                self.bridge,
                self.tasks,
                self.card_panel,
                self.status,
                lookup=services.card_status,
                session=lambda: None if self.locked else self.session,
                today=services.today,
                parent=self,
            )
        else:
            self.card_panel.show_waiting(self.tr("未配置读卡器"))
            for device in (Device.CARD_READER, Device.PSAM):
                self.status.show(DeviceStatus(device, Health.WARNING, self.tr("未配置")))
        attach = getattr(services.start_flow, "attach", None)
        if callable(attach):  # a WizardLauncher: it opens wizards over this window, with its tasks
            attach(self)
        self._show_session()

    # -- construction ---------------------------------------------------------------------------

    def _setup_frame(self) -> None:
        ui = self.ui
        ui.trainingBanner.setVisible(self.training)
        ui.trainingMenu.menuAction().setVisible(self.training)
        if self.training:
            self.setWindowTitle(self.windowTitle() + TRAINING_TITLE_SUFFIX)
        ui.splitter.setStretchFactor(0, 0)
        ui.splitter.setStretchFactor(1, 1)
        ui.splitter.setStretchFactor(2, 0)
        ui.splitter.setSizes([300, 620, 360])
        ui.workStack.setCurrentWidget(ui.welcomePage)
        ui.startButton.setVisible(self.services.start_flow is not None)
        ui.printGuideButton.setText(self.tr("打印办事指南 (Shift+F2)"))
        for label in (ui.outletLabel, self.status.message):  # long texts give way; never widen the window
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            label.setMinimumWidth(80)
        self.mode_label = QLabel(self.tr("培训模式") if self.training else self.tr("正式环境"), self)
        self.mode_label.setObjectName("modeLabel")
        ui.headerLayout.insertWidget(0, self.mode_label)
        ui.headerLayout.setStretchFactor(ui.outletLabel, 1)  # the outlet's name takes the free room

    def _setup_menu(self) -> None:
        ui = self.ui
        for row, entry in enumerate(self._entries):
            item = QListWidgetItem(entry.title)
            item.setData(Qt.ItemDataRole.UserRole, entry.code)
            ui.serviceList.addItem(item)
            action = QAction(f"{entry.title}", self)
            if entry.key:
                action.setShortcut(QKeySequence(entry.key))
            action.triggered.connect(lambda _checked=False, r=row: self._choose(r))
            ui.serviceMenu.addAction(action)
            self._actions[entry.code] = action
        ui.serviceList.currentRowChanged.connect(self._show_entry)
        ui.serviceList.itemActivated.connect(lambda _item: self._activate())
        ui.startButton.clicked.connect(self._activate)
        ui.printGuideButton.clicked.connect(self.print_current)

    def _setup_actions(self) -> None:
        ui = self.ui
        ui.actionReadCard.triggered.connect(self.read_card)
        ui.actionPrint.triggered.connect(self.print_current)
        ui.actionSignIn.triggered.connect(self.open_sign_in)
        ui.actionLock.triggered.connect(self.lock)
        ui.actionSignOut.triggered.connect(self.sign_out)
        ui.actionSettings.triggered.connect(self.open_settings)
        ui.actionQuit.triggered.connect(self.close)
        ui.actionCustomer.triggered.connect(self.open_customer_window)
        ui.actionPinPad.triggered.connect(self.open_pin_pad_window)
        ui.actionResetTraining.triggered.connect(self.reset_training_data)
        ui.signInButton.clicked.connect(self.open_sign_in)
        ui.lockButton.clicked.connect(self.lock)
        ui.signOutButton.clicked.connect(self.sign_out)
        large = bool(QSettings().value(LARGE_FONT_KEY, False, type=bool))
        ui.actionLargeFont.setChecked(large)
        ui.actionLargeFont.toggled.connect(self.set_large_font)
        self.addActions([ui.actionReadCard, ui.actionPrint, ui.actionLock])

    def start(self) -> None:
        """Start the device thread, the server watch and the probes (after the window is shown)."""
        if self.cards is not None:
            self.cards.start()
        connectivity = self.services.connectivity
        if connectivity is not None:
            connectivity.subscribe(lambda state: self.bridge.post(lambda: self.show_server_state(state)))
        else:
            self.status.show(DeviceStatus(Device.SERVER, Health.WARNING, self.tr("未配置")))
        self._probe_timer = QTimer(self)
        self._probe_timer.timeout.connect(self.probe_devices)
        self._probe_timer.start(self.services.probe_interval_ms)
        self.probe_devices()

    # -- the menu -------------------------------------------------------------------------------

    @property
    def entries(self) -> list[MenuEntry]:
        return list(self._entries)

    def visible_codes(self) -> list[str]:
        """The items the list shows now, in order (for tests and the F-keys)."""
        lst = self.ui.serviceList
        return [
            str(lst.item(row).data(Qt.ItemDataRole.UserRole))
            for row in range(lst.count())
            if not lst.item(row).isHidden()
        ]

    def _apply_menu_filter(self) -> None:
        signed_in = self.session is not None and not self.locked
        self._allowed = allowed_codes(self.services.catalog, self.session) if signed_in else frozenset()
        lst = self.ui.serviceList
        for row, entry in enumerate(self._entries):
            item = lst.item(row)
            allowed = entry.code in self._allowed
            usable = allowed and (self.online or not entry.online_only)
            item.setHidden(signed_in and not allowed)
            title = entry.title
            if entry.key:
                title += f"    {entry.key}"
            if allowed and not usable:
                title += self.tr("（须联网）")
            item.setText(title)
            flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
            item.setFlags(flags if usable else Qt.ItemFlag.NoItemFlags)
            self._actions[entry.code].setEnabled(usable)
            self._actions[entry.code].setVisible(allowed or not signed_in)
        if signed_in and not self._allowed:
            self.ui.menuHint.setText(self.tr("此工号不办理柜面业务（系统管理员请使用 系统 → 设置与设备）。"))
        else:
            self.ui.menuHint.setText(self.tr("F1–F12 选择业务，Enter 开始"))

    def _choose(self, row: int) -> None:
        entry = self._entries[row]
        if entry.code not in self._allowed:
            return
        self.ui.serviceList.setCurrentRow(row)
        self.ui.serviceList.setFocus()

    def _show_entry(self, row: int) -> None:
        if not 0 <= row < len(self._entries) or self.session is None:
            return
        entry = self._entries[row]
        self.ui.itemTitle.setText(entry.title)
        self.ui.itemDetails.setHtml(entry.details_html)
        self.ui.workStack.setCurrentWidget(self.ui.itemPage)

    def _activate(self) -> None:
        """Enter on an item: start its wizard (when wired), else move to the guide's buttons."""
        code = self.selected_code()
        if code is None or code not in self._allowed:
            return
        if self.services.start_flow is not None:
            self.services.start_flow(code)
        else:
            self.ui.printGuideButton.setFocus()

    def selected_code(self) -> str | None:
        item = self.ui.serviceList.currentItem()
        return None if item is None else str(item.data(Qt.ItemDataRole.UserRole))

    # -- operators ------------------------------------------------------------------------------

    def _show_session(self) -> None:
        ui = self.ui
        session = self.session
        counter = self.services.settings.counter_number
        if session is None:
            ui.operatorLabel.setText(self.tr("操作员：未登录"))
            self._outlet_text = self.tr("柜台 %1").replace("%1", counter)
            ui.welcomeTitle.setText(self.tr("请先登录"))
            ui.workStack.setCurrentWidget(ui.welcomePage)
        else:
            op = session.operator
            text = self.tr("操作员：%1 %2（%3）").replace("%1", op.number).replace("%2", op.name)
            text = text.replace("%3", op.role.label)
            if session.offline:
                text += self.tr(" · 离线登录")
            ui.operatorLabel.setText(text)
            outlet = session.outlet.name if session.outlet is not None else self.tr("后台")
            self._outlet_text = self.tr("%1 · 柜台 %2").replace("%1", outlet).replace("%2", counter)
            ui.welcomeTitle.setText(self.tr("请选择业务事项"))
        ui.outletLabel.setToolTip(self._outlet_text)
        self._elide_outlet()
        signed_in = session is not None
        ui.signInButton.setVisible(not signed_in)
        ui.lockButton.setVisible(signed_in)
        ui.signOutButton.setVisible(signed_in)
        ui.actionSignIn.setEnabled(not signed_in)
        ui.actionLock.setEnabled(signed_in)
        ui.actionSignOut.setEnabled(signed_in)
        ui.actionSettings.setEnabled(
            signed_in and session is not None and session.operator.role is Role.ADMIN
        )
        self._apply_menu_filter()

    def _elide_outlet(self) -> None:
        """The outlet's long name gives way to the operator (…), whole in its tooltip."""
        label = self.ui.outletLabel
        label.setText(
            label.fontMetrics().elidedText(
                self._outlet_text, Qt.TextElideMode.ElideRight, max(40, label.width())
            )
        )

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        QTimer.singleShot(0, self._elide_outlet)  # after the layout has given the label its width

    def open_sign_in(self) -> None:
        if self.session is not None or self.services.sign_in is None:
            return
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.raise_()
            return
        self.dialog = SignInDialog(self.services.sign_in, self.tasks, parent=self)
        self.dialog.signed_in.connect(self._signed_in)
        self.dialog.open()

    def _signed_in(self, session: OperatorSession) -> None:
        self.session = session
        self.locked = False
        log.info("operator %s signed in (%s)", session.operator.number, session.operator.role.value)
        self._show_session()
        self.idle.arm()
        self.session_changed.emit(session)
        if self.cards is not None:
            self.cards.refresh_status()
        self.activateWindow()
        self.ui.serviceList.setFocus()
        visible = self.visible_codes()
        if visible:
            self._choose(next(e.number - 1 for e in self._entries if e.code == visible[0]))

    def sign_out(self) -> None:
        session = self.session
        if session is None:
            return
        self.session = None
        self.locked = False
        self.idle.disarm()
        self._set_private(False)
        if self.services.sign_in is not None:
            service = self.services.sign_in
            self.tasks.run(lambda: service.sign_out(session), lambda _: None)
        log.info("operator %s signed out", session.operator.number)
        self._show_session()
        self.session_changed.emit(None)
        if self.cards is not None and self.cards.reading is not None:
            self.card_panel.show_card(self.cards.reading, today=self.services.today())
        self.open_sign_in()

    def lock(self) -> None:
        """锁定: hide the citizen's data and ask the operator's password again."""
        if self.session is None or self.locked or self.services.sign_in is None:
            return
        self.locked = True
        self.idle.disarm()
        self._set_private(True)
        self._apply_menu_filter()
        self.locked_changed.emit(True)
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.reject()
        self.dialog = SignInDialog(
            self.services.sign_in, self.tasks, mode=Mode.UNLOCK, session=self.session, parent=self
        )
        self.dialog.signed_in.connect(self._unlocked)
        self.dialog.switch_operator.connect(self.sign_out)
        self.dialog.open()

    def _unlocked(self, session: OperatorSession) -> None:
        self.session = session
        self.locked = False
        self._set_private(False)
        self._show_session()
        self.idle.arm()
        self.locked_changed.emit(False)
        if self.cards is not None:
            self.cards.refresh_status()

    def _set_private(self, hidden: bool) -> None:
        """While locked: no citizen data and no guide on screen, the menu out of reach."""
        ui = self.ui
        self.card_panel.hide_for_privacy(hidden)
        ui.serviceList.setEnabled(not hidden)
        if hidden:
            self._page_before_lock = ui.workStack.currentWidget()
            ui.welcomeTitle.setText(self.tr("屏幕已锁定"))
            ui.welcomeText.setText(self.tr("请输入密码解锁，或切换操作员。"))
            ui.workStack.setCurrentWidget(ui.welcomePage)
        else:
            ui.welcomeText.setText(
                self.tr("登录后在左侧选择业务事项。插入社会保障卡后，卡片信息显示在右侧。")
            )
            if self.session is not None and self._page_before_lock is not None:
                ui.workStack.setCurrentWidget(self._page_before_lock)

    def request_confirmation(
        self, reason: str, on_done: Callable[[OperatorSession | None], None]
    ) -> SignInDialog | None:
        """复核/授权: a supervisor's second sign-in here; ``on_done(session or None)``."""
        session = self.session
        if session is None or session.outlet is None or self.services.sign_in is None:
            on_done(None)
            return None
        dialog = SignInDialog(
            self.services.sign_in,
            self.tasks,
            mode=Mode.CONFIRM,
            session=session,
            reason=reason,
            parent=self,
        )
        dialog.signed_in.connect(on_done)
        dialog.rejected.connect(lambda: on_done(None))
        dialog.open()
        return dialog

    # -- devices and server ---------------------------------------------------------------------

    def read_card(self) -> None:
        if self.cards is not None and not self.locked:
            self.cards.read()

    def show_server_state(self, state: ConnectivityState) -> None:
        if state.starting:
            status = DeviceStatus(Device.SERVER, Health.BUSY, self.tr("启动中"), state.detail)
        elif state.online:
            status = DeviceStatus(Device.SERVER, Health.OK, self.tr("在线"), state.detail)
        else:
            text = self.tr("离线")
            if state.replica_as_of is not None:
                as_of = state.replica_as_of.astimezone(SHANGHAI)
                text += self.tr("（数据截至 %1）").replace("%1", as_of.strftime("%m-%d %H:%M"))
            status = DeviceStatus(Device.SERVER, Health.FAULT, text, state.detail)
        online = state.online or state.starting
        self.status.show(status)
        if online != self.online:
            self.online = online
            self._apply_menu_filter()

    def probe_devices(self) -> None:
        for probe in self.services.probes:
            self.tasks.run(probe.probe, self.status.show, self._probe_failure(probe.device))
        missing = {Device.PRINTER, Device.PIN_PAD} - {p.device for p in self.services.probes}
        for device in missing:
            self.status.show(DeviceStatus(device, Health.WARNING, self.tr("未配置")))

    def _probe_failure(self, device: Device) -> Callable[[BaseException], None]:
        def failed(error: BaseException) -> None:
            self.status.show(DeviceStatus(device, Health.FAULT, self.tr("故障"), str(error)))

        return failed

    def show_background(self, message: str, *, busy: bool) -> None:
        """A background wait (the training server starting …) in the status bar."""
        if busy:
            self.status.begin_wait(message)
        else:
            self.status.end_wait(message)

    # -- printing -------------------------------------------------------------------------------

    def print_current(self) -> None:
        """打印: the item's 办事指南 for the citizen to take away (the wizards print their forms)."""
        code = self.selected_code()
        if code is None or self.session is None or self.ui.workStack.currentWidget() is not self.ui.itemPage:
            self.status.end_wait(self.tr("没有可打印的内容：请先选择业务事项。"))
            return
        print_pdf = self.services.print_pdf
        if print_pdf is None:
            self.status.end_wait(self.tr("× 未配置打印机。"))
            return
        pdf = self._guide_pdf()
        title = self.ui.itemTitle.text()
        self.status.begin_wait(self.tr("正在打印“%1”…").replace("%1", title))
        self.tasks.run(
            lambda: print_pdf(pdf, title),
            lambda job: self.status.end_wait(self.tr("已发送到打印机（%1）。").replace("%1", job)),
            lambda error: self.status.end_wait(self.tr("× 打印失败：%1").replace("%1", str(error))),
        )

    def _guide_pdf(self) -> bytes:
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        writer = QPdfWriter(buffer)
        writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
        writer.setTitle(self.ui.itemTitle.text())
        document = QTextDocument()
        document.setDefaultFont(self.font())
        document.setHtml(f"<h2>{self.ui.itemTitle.text()}</h2>" + self.ui.itemDetails.toHtml())
        document.print_(writer)
        buffer.close()
        return bytes(data.data())

    # -- appearance and windows -----------------------------------------------------------------

    def set_large_font(self, large: bool) -> None:
        """大字体 (适老化) on or off, remembered for this user."""
        app = QApplication.instance()
        if isinstance(app, QApplication):
            set_large_font(app, large)
        QSettings().setValue(LARGE_FONT_KEY, large)
        QTimer.singleShot(0, self._elide_outlet)
        if self.ui.actionLargeFont.isChecked() != large:
            self.ui.actionLargeFont.setChecked(large)

    def open_settings(self) -> None:
        if self.session is None or self.session.operator.role is not Role.ADMIN:
            return
        from counter_app.ui.settings_dialog import SettingsDialog

        diagnose = self.services.diagnose or (lambda: self.tr("设备诊断不可用。"))
        dialog = SettingsDialog(
            self.services.settings,
            self.tasks,
            config_root=self.services.config_root,
            diagnose=diagnose,
            printers=self.services.printers,
            parent=self,
        )
        dialog.open()
        self._windows["settings"] = dialog

    def open_customer_window(self) -> QWidget | None:
        parts = self.services.training
        if parts is None:
            return None
        window = self._windows.get("customer")
        if window is None:
            from counter_app.ui.training_windows import CustomerWindow

            window = CustomerWindow(parts.hands, parts.cards, self.bridge, parent=self)
            self._windows["customer"] = window
        window.show()
        window.raise_()
        return window

    def open_pin_pad_window(self) -> QWidget | None:
        parts = self.services.training
        if parts is None or parts.pad is None:
            self.status.end_wait(self.tr("本机不能运行培训密码键盘。"))
            return None
        window = self._windows.get("pinpad")
        if window is None:
            from counter_app.ui.training_windows import PinPadWindow

            pad_window = PinPadWindow(parts.pad, parent=self)
            if parts.subscribe_pad is not None:
                parts.subscribe_pad(
                    lambda e: self.bridge.post(
                        lambda: pad_window.on_pad_event(
                            e.kind, e.prompt.text, e.typed, e.prompt.max_length, e.ending
                        )
                    )
                )
            window = self._windows["pinpad"] = pad_window
        window.show()
        window.raise_()
        return window

    def reset_training_data(self) -> None:
        parts = self.services.training
        if parts is None or parts.reset_data is None:
            return
        answer = QMessageBox.question(
            self,
            self.tr("重置培训数据"),
            self.tr("将培训数据恢复为初始状态，已演练的业务全部清除。继续吗？"),
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        reset = parts.reset_data
        self.status.begin_wait(self.tr("正在重置培训数据…"))
        self.tasks.run(
            reset,
            lambda _: self.status.end_wait(self.tr("培训数据已重置。")),
            lambda error: self.status.end_wait(self.tr("× 重置失败：%1").replace("%1", str(error))),
        )

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        self.idle.disarm()
        if self.session is not None and self.services.sign_in is not None:
            session, service = self.session, self.services.sign_in
            self.tasks.run(lambda: service.sign_out(session), lambda _: None)
        if self.services.devices is not None:
            self.services.devices.stop()
        self.tasks.shutdown()
        for window in self._windows.values():
            window.close()
        super().closeEvent(event)
