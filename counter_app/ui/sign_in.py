"""Sign-in dialogs (工号登录): sign in, unlock after the idle lock, supervisor confirmation.

One form (``forms/sign_in_dialog.ui``) in three modes:

- `Mode.SIGN_IN` — 工号 and 密码 for this counter;
- `Mode.UNLOCK` — the screen was locked (手动或闲置): the same operator types the password again,
  or 切换操作员 signs them out;
- `Mode.CONFIRM` — 复核/授权: a supervisor's second sign-in at the same counter; the sign-in service
  checks the rule (a supervisor, of this outlet, someone else) and says why not.

The call to the sign-in service runs on a worker thread with a busy bar; 取消 stops waiting (the
answer, if it comes, is dropped). Refusals are shown in words (× …), never only in red; a locked
account says until when and keeps the button off for that 工号 until then.
"""

from __future__ import annotations

import enum
from datetime import datetime

from counter_app.clock import SHANGHAI
from counter_app.ui.bridge import BackgroundTasks, Task
from counter_app.ui.generated.ui_sign_in_dialog import Ui_SignInDialog
from counter_app.ui.ports import OperatorSession, SignInRefused, SignInService
from counter_app.ui.qt import QDialog, QRegularExpression, QRegularExpressionValidator, QWidget, Signal


class Mode(enum.Enum):
    SIGN_IN = "sign_in"
    UNLOCK = "unlock"
    CONFIRM = "confirm"


class SignInDialog(QDialog):
    """Emits `signed_in` with the session (and accepts) when the service says yes."""

    signed_in = Signal(object)  # OperatorSession
    switch_operator = Signal()

    def __init__(
        self,
        service: SignInService,
        tasks: BackgroundTasks,
        *,
        mode: Mode = Mode.SIGN_IN,
        session: OperatorSession | None = None,
        reason: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ui = Ui_SignInDialog()
        self.ui.setupUi(self)
        self.mode = mode
        self._service = service
        self._tasks = tasks
        self._session = session  # UNLOCK: who is signed in; CONFIRM: who asks for confirmation
        self._task: Task | None = None
        self._locked: dict[str, datetime] = {}
        self._leaving = False
        self.ui.numberEdit.setValidator(
            QRegularExpressionValidator(QRegularExpression("[0-9A-Za-z]{1,16}"), self.ui.numberEdit)
        )
        self.ui.busyBar.setVisible(False)
        self.ui.okButton.clicked.connect(self._submit)
        self.ui.cancelButton.clicked.connect(self._cancel)
        self.ui.secondaryButton.clicked.connect(self._switch)
        self.ui.numberEdit.returnPressed.connect(self._number_entered)
        self.ui.numberEdit.textChanged.connect(self._number_changed)
        self.ui.passwordEdit.returnPressed.connect(self._submit)
        self._configure(reason)

    def _configure(self, reason: str) -> None:
        ui = self.ui
        ui.secondaryButton.setVisible(self.mode is Mode.UNLOCK)
        if self.mode is Mode.SIGN_IN:
            ui.numberEdit.setFocus()
        elif self.mode is Mode.UNLOCK:
            assert self._session is not None
            operator = self._session.operator
            self.setWindowTitle(self.tr("屏幕已锁定"))
            ui.headingLabel.setText(self.tr("屏幕已锁定"))
            ui.purposeLabel.setText(
                self.tr("请 %1 输入密码解锁，或切换操作员。").replace(
                    "%1", f"{operator.number} {operator.name}"
                )
            )
            ui.numberEdit.setText(operator.number)
            ui.numberEdit.setReadOnly(True)
            ui.okButton.setText(self.tr("解锁"))
            ui.cancelButton.setVisible(False)
            ui.passwordEdit.setFocus()
        else:
            self.setWindowTitle(self.tr("复核/授权确认"))
            ui.headingLabel.setText(self.tr("复核/授权确认"))
            text = self.tr("此业务须由本网点另一位复核/授权人员登录确认。")
            if reason:
                text = reason + "\n" + text
            ui.purposeLabel.setText(text)
            ui.okButton.setText(self.tr("确认"))
            ui.numberEdit.setFocus()

    # -- input ----------------------------------------------------------------------------------

    def _number_entered(self) -> None:
        """Enter in 工号 moves on to 密码 (Enter advances)."""
        if self.ui.numberEdit.text().strip():
            self.ui.passwordEdit.setFocus()

    def _number_changed(self, number: str) -> None:
        self._update_lock(number)

    def _update_lock(self, number: str) -> None:
        until = self._locked.get(number)
        locked = until is not None and until > datetime.now(SHANGHAI)
        self.ui.okButton.setEnabled(not locked and self._task is None)

    def _message(self, text: str, severity: str = "error") -> None:
        label = self.ui.messageLabel
        label.setText(text)
        label.setProperty("severity", severity)
        label.style().unpolish(label)
        label.style().polish(label)

    def _busy(self, busy: bool) -> None:
        ui = self.ui
        ui.busyBar.setVisible(busy)
        ui.numberEdit.setEnabled(not busy)
        ui.passwordEdit.setEnabled(not busy)
        ui.okButton.setEnabled(not busy)
        ui.secondaryButton.setEnabled(not busy)
        if self.mode is Mode.UNLOCK:
            ui.cancelButton.setVisible(busy)  # only a wait can be cancelled here

    # -- the request ----------------------------------------------------------------------------

    def _submit(self) -> None:
        if self._task is not None:
            return
        number = self.ui.numberEdit.text().strip()
        password = self.ui.passwordEdit.text()
        if not number:
            self._message(self.tr("× 请输入工号。"))
            self.ui.numberEdit.setFocus()
            return
        if not password:
            self._message(self.tr("× 请输入密码。"))
            self.ui.passwordEdit.setFocus()
            return
        until = self._locked.get(number)
        if until is not None and until > datetime.now(SHANGHAI):
            self._message(self._locked_text(until))
            return
        self.ui.passwordEdit.clear()
        self._busy(True)
        self._message(self.tr("正在登录，请稍候…（可按“取消”停止等待）"), "info")
        service, requester = self._service, self._session
        if self.mode is Mode.CONFIRM:
            assert requester is not None
            self._task = self._tasks.run(
                lambda: service.confirm(number, password, requester), self._succeeded, self._failed
            )
        else:
            self._task = self._tasks.run(
                lambda: service.sign_in(number, password), self._succeeded, self._failed
            )

    def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
            self._busy(False)
            self._message(self.tr("已取消等待。"), "info")
            self.ui.passwordEdit.setFocus()
            return
        self.reject()

    def _switch(self) -> None:
        self._leaving = True
        self.reject()
        self.switch_operator.emit()

    def reject(self) -> None:
        """A locked screen stays locked: Esc and the close box do not dismiss the unlock dialog."""
        if self.mode is Mode.UNLOCK and not self._leaving:
            return
        super().reject()

    def _succeeded(self, session: OperatorSession) -> None:
        self._task = None
        self._busy(False)
        if self.mode is Mode.UNLOCK:
            assert self._session is not None
            if session.operator.number != self._session.operator.number:
                self._message(self.tr("× 只能由已登录的操作员解锁。"))
                return
        self._message("")
        self.accept()
        self.signed_in.emit(session)

    def _failed(self, error: BaseException) -> None:
        self._task = None
        self._busy(False)
        if isinstance(error, SignInRefused):
            number = self.ui.numberEdit.text().strip()
            if error.locked_until is not None:
                self._locked[number] = error.locked_until
                self._message(self._locked_text(error.locked_until) + "\n" + error.message)
                self._update_lock(number)
            else:
                self._message("× " + error.message)
            if self.mode is Mode.CONFIRM:
                self.ui.numberEdit.setFocus()
                self.ui.numberEdit.selectAll()
                return
        else:
            self._message(self.tr("× 系统错误，登录未完成：%1").replace("%1", type(error).__name__))
        self.ui.passwordEdit.setFocus()

    def _locked_text(self, until: datetime) -> str:
        local = until.astimezone(SHANGHAI)
        return self.tr("× 此工号已锁定，%1 后可再登录。").replace("%1", local.strftime("%H:%M"))
