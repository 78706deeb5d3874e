"""What the workstation shell needs from the rest of the program (界面端口). No Qt here.

The shell (main window, card panel, sign-in, status bar) is written against these small
interfaces; ``app.py`` plugs in the real objects (PC/SC device thread, the sync package's
sign-in and online state) or the training ones (emulator, embedded server), and the tests plug
in fakes. Every method that may block (card, PIN pad, HTTP) is called by the shell on a worker
thread, never on the GUI thread; callbacks may come from any thread and are marshalled to the GUI
thread by the shell.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from counter_app.card import CardInfo
from counter_app.devices.card_service import CardReading, DeviceAccess, DeviceService, read_card
from counter_app.domain.operators import Operator, Outlet

__all__ = [
    "CardReading",
    "CardStatus",
    "CardStatusLookup",
    "ConnectivityState",
    "ConnectivityStatus",
    "Device",
    "DeviceAccess",
    "DeviceService",
    "DeviceStatus",
    "Health",
    "OperatorSession",
    "SignInRefused",
    "SignInService",
    "StatusProbe",
    "read_card",
]


# -- devices -------------------------------------------------------------------------------------


class Device(enum.Enum):
    """The parts whose state the status bar always shows (设备状态栏)."""

    CARD_READER = "card_reader"  # 读卡器
    PSAM = "psam"  # PSAM 卡
    PIN_PAD = "pin_pad"  # 密码键盘
    PRINTER = "printer"  # 打印机
    SERVER = "server"  # 中心服务器


class Health(enum.Enum):
    """How a device is; shown as a word and a symbol, colour only as a second signal."""

    OK = "ok"
    WARNING = "warning"
    FAULT = "fault"
    BUSY = "busy"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class DeviceStatus:
    """One line of the status bar: ``text`` is the short Chinese state, ``detail`` the tooltip."""

    device: Device
    health: Health
    text: str
    detail: str = ""


@runtime_checkable
class StatusProbe(Protocol):
    """Looks at one device (printer, PIN pad) now; blocking, called on a worker thread."""

    device: Device

    def probe(self) -> DeviceStatus: ...


# -- the server ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectivityState:
    """Online or offline, and how old the local replica is (数据截至) when offline."""

    online: bool
    replica_as_of: datetime | None = None
    detail: str = ""
    starting: bool = False  # the embedded training server is still starting


@runtime_checkable
class ConnectivityStatus(Protocol):
    """The online/offline state (联机状态) with change callbacks from any thread."""

    def current(self) -> ConnectivityState: ...

    def subscribe(self, callback: Callable[[ConnectivityState], None]) -> None: ...


@dataclass(frozen=True)
class CardStatus:
    """What the server (or, offline, the replica) says about the card in the reader."""

    status_label: str  # 卡状态: 正常 / 临时挂失 / 已注销 …
    custody_notice: str = ""  # 代管代持: who holds an authorisation for this holder
    as_of: datetime | None = None  # set when the answer comes from the local replica
    known: bool = True  # False: the server has no such card


@runtime_checkable
class CardStatusLookup(Protocol):
    """The card's status and 代管代持 authorisations; blocking (HTTP or replica), worker thread."""

    def card_status(self, session: OperatorSession, info: CardInfo) -> CardStatus: ...


# -- operators -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OperatorSession:
    """A signed-in operator at this counter (操作员会话). Its token stays in the sign-in service."""

    operator: Operator
    outlet: Outlet | None
    offline: bool = False
    expires_at: datetime | None = None


class SignInRefused(Exception):
    """The sign-in was refused (登录失败); ``message`` is for the clerk, in Chinese.

    ``code`` is the server's (``invalid_credentials``, ``account_locked``, ``other_outlet``,
    ``rate_limited``, ``unavailable`` …); ``locked_until`` is set for a locked account.
    """

    def __init__(self, code: str, message: str, *, locked_until: datetime | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.locked_until = locked_until


@runtime_checkable
class SignInService(Protocol):
    """Operator sign-in at this counter (工号登录); blocking calls, run on a worker thread.

    ``confirm`` is a supervisor's second sign-in at the same counter (复核/授权) for ``requester``'s
    operation: the service checks the rule (a supervisor, of this outlet, someone else), refuses
    with `SignInRefused` (dropping that token) or keeps the token for the one operation.
    """

    def sign_in(self, operator_number: str, password: str) -> OperatorSession: ...

    def sign_out(self, session: OperatorSession) -> None: ...

    def confirm(self, operator_number: str, password: str, requester: OperatorSession) -> OperatorSession: ...
