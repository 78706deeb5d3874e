"""The sync service as the shell's ports (同步服务适配): sign-in, online state, card status. No Qt.

``counter_app.sync.SyncService`` is built in the background (its store opens and migrates, and in
培训模式 it waits for the embedded server), so `SyncShell` is given a *provider* that waits for it.
Sign-in calls wait up to a minute (they run on a worker thread behind the dialog's busy bar and
取消); the online state reads "starting" until the service exists.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from counter_app.card import CardInfo
from counter_app.clock import SHANGHAI
from counter_app.domain.errors import DomainError
from counter_app.ui.card_status import CentralCardStatus
from counter_app.ui.ports import CardStatus, ConnectivityState, OperatorSession, SignInRefused
from counter_app.workflows.ports import CentralUnavailable

log = logging.getLogger(__name__)

Provider = Callable[[float], Any]
"""Returns the `SyncService`, waiting up to the given seconds; None when it is not there (yet)."""

SIGN_IN_WAIT = 60.0
LOCK_CODES = frozenset({"account_locked", "offline_sign_in_locked"})
#: When the server says "locked" without a time, the dialog holds that 工号 back this long.
LOCK_FALLBACK = timedelta(minutes=1)


class SyncShell:
    """`SignInService`, `ConnectivityStatus` and `CardStatusLookup` on a (late) `SyncService`."""

    def __init__(self, provider: Provider, *, starting_detail: str = "正在连接社保卡中心系统…") -> None:
        self._provider = provider
        self._starting = ConnectivityState(online=False, starting=True, detail=starting_detail)
        self._callbacks: list[Callable[[ConnectivityState], None]] = []
        self._bound = False
        self._lock = threading.Lock()

    def _sync(self, wait: float) -> Any:
        sync = self._provider(wait)
        if sync is None:
            raise SignInRefused("unavailable", "社保卡中心系统连接尚未就绪，请稍候再试。")
        return sync

    # -- SignInService ----------------------------------------------------------------------------

    @staticmethod
    def _refused(error: Exception) -> SignInRefused:
        if isinstance(error, DomainError):
            message = error.message + (f"\n{error.hint}" if error.hint else "")
            locked = datetime.now(SHANGHAI) + LOCK_FALLBACK if error.code in LOCK_CODES else None
            return SignInRefused(
                error.code, message, locked_until=getattr(error, "locked_until", None) or locked
            )
        return SignInRefused("unavailable", str(error) or "无法连接社保卡中心系统。")

    def sign_in(self, operator_number: str, password: str) -> OperatorSession:
        sync = self._sync(SIGN_IN_WAIT)
        try:
            result = sync.sign_in(operator_number, password)
        except (DomainError, CentralUnavailable) as error:
            raise self._refused(error) from error
        return OperatorSession(
            result.operator, result.outlet, offline=not result.online, expires_at=result.expires_at
        )

    def confirm(self, operator_number: str, password: str, requester: OperatorSession) -> OperatorSession:
        sync = self._sync(SIGN_IN_WAIT)
        try:
            operator = sync.confirm(operator_number, password)
        except (DomainError, CentralUnavailable) as error:
            raise self._refused(error) from error
        return OperatorSession(operator, requester.outlet)

    def sign_out(self, session: OperatorSession) -> None:
        sync = self._provider(0)
        if sync is not None:
            sync.sign_out()

    # -- ConnectivityStatus -----------------------------------------------------------------------

    @staticmethod
    def _state(status: Any) -> ConnectivityState:
        return ConnectivityState(online=status.online, replica_as_of=status.replica_as_of, detail=status.text)

    def current(self) -> ConnectivityState:
        sync = self._provider(0)
        return self._starting if sync is None else self._state(sync.status())

    def subscribe(self, callback: Callable[[ConnectivityState], None]) -> None:
        with self._lock:
            self._callbacks.append(callback)
        callback(self.current())
        if not self._bound:
            self._bound = True
            threading.Thread(target=self._bind, name="sync-shell-bind", daemon=True).start()

    def _bind(self) -> None:
        sync = self._provider(3600.0)
        if sync is None:
            return

        def publish(*_: Any) -> None:
            state = self._state(sync.status())
            with self._lock:
                callbacks = list(self._callbacks)
            for callback in callbacks:
                callback(state)

        sync.on_status(publish)
        sync.connectivity.subscribe(publish)
        publish()

    # -- CardStatusLookup -------------------------------------------------------------------------

    def card_status(self, session: OperatorSession, info: CardInfo) -> CardStatus:
        sync = self._sync(0)
        return CentralCardStatus(sync.central, sync.replica).card_status(session, info)
