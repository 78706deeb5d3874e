"""PIN pad errors (密码键盘故障): a pad that is missing, broken or cannot do what was asked.

These are faults of the device, not of the citizen: a cancel, a timeout or two different new PINs
are ordinary outcomes (`PinPadOutcome`), never exceptions. Messages are Chinese and never hold a
digit the citizen typed.
"""

from __future__ import annotations

from counter_app.domain.errors import DomainError

__all__ = ["NoPinPadOnReader", "PinPadError", "PinPadFault", "PinPadNotCapable", "PinPadUnavailable"]


class PinPadError(DomainError):
    """The PIN pad cannot serve this request (密码键盘不可用)."""


class PinPadUnavailable(PinPadError):
    """The pad is not connected or stopped answering (密码键盘未连接)."""

    def __init__(self, detail: str) -> None:
        super().__init__("pinpad_unavailable", f"密码键盘不可用：{detail}", "请检查密码键盘的连接后重试")


class PinPadFault(PinPadError):
    """The pad answered something the protocol does not allow (密码键盘应答异常)."""

    def __init__(self, detail: str) -> None:
        super().__init__("pinpad_fault", f"密码键盘应答异常：{detail}", "请重试；仍失败请联系信息科")


class NoPinPadOnReader(PinPadError):
    """The reader offers no PC/SC Part 10 secure PIN entry (此读卡器没有密码键盘)."""

    def __init__(self, reader: str = "") -> None:
        where = f"（{reader}）" if reader else ""
        super().__init__(
            "no_pinpad_on_reader", f"此读卡器没有密码键盘{where}", "请在设置中选择串口密码键盘或厂商密码键盘"
        )


class PinPadNotCapable(PinPadError):
    """The pad cannot do this kind of entry (密码键盘不支持此操作), e.g. 密码重置 on a Part 10 reader."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            "pinpad_not_capable", f"此密码键盘不支持该操作：{detail}", "请使用柜台配置的其他密码键盘"
        )
