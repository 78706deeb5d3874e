"""Status words (状态字) → typed errors, per card-protocol §8.1.

The same status word means different things after different commands: ``63Cx`` is a wrong PIN after
VERIFY or CHANGE PIN but a failed cryptogram after EXTERNAL AUTHENTICATE, so the mapping takes the
command's `Kind`. Status words the table does not list become a `StatusError` carrying
−(SW as an unsigned integer), as the national interface does (spec §3.4).
"""

from __future__ import annotations

from collections.abc import Callable

from counter_app.card import errors as e
from counter_app.card.kinds import Kind

__all__ = ["error_for"]

_PIN_KINDS = frozenset({Kind.VERIFY, Kind.CHANGE_PIN})

_BY_SW: dict[int, Callable[[int], e.StatusError]] = {
    0x6700: e.WrongLength,
    0x6982: e.SecurityNotSatisfied,
    0x6984: e.NoValidChallenge,
    0x6985: e.ConditionsNotSatisfied,
    0x6986: e.NoCurrentFile,
    0x6988: e.MacInvalid,
    0x6A80: e.WrongData,
    0x6A82: e.FileNotFound,
    0x6A83: e.RecordNotFound,
    0x6A86: e.WrongParameters,
    0x6A88: e.KeyNotFound,
    0x6D00: e.InsNotSupported,
    0x6E00: e.ClaNotSupported,
}

_PSAM_MEANING: dict[int, str] = {
    0x6700: "命令长度错误",
    0x6985: "未选择应用或未初始化密钥",
    0x6A82: "没有社会保障 PSAM 应用",
    0x6A86: "命令参数错误",
    0x6D00: "不支持该命令",
    0x6E00: "不支持该命令类别",
}


def error_for(sw: int, kind: Kind) -> e.StatusError:
    """The typed error for status word ``sw`` answered to a command of ``kind``."""
    if kind.psam:
        if sw == 0x6A88:
            return e.PsamKeyMissing(sw)
        return e.PsamError(sw, _PSAM_MEANING.get(sw, "返回错误状态"))
    if sw & 0xFFF0 == 0x63C0:
        tries = sw & 0x0F
        if kind in _PIN_KINDS:
            return e.PinIncorrect(tries, sw)
        if kind is Kind.EXTERNAL_AUTH:
            return e.ExternalAuthFailed(tries, sw)
    if sw == 0x6983:
        if kind in _PIN_KINDS:
            return e.PinBlocked(sw)
        if kind is Kind.EXTERNAL_AUTH:
            return e.KeyBlocked(sw)
        return e.StatusError(sw, "认证方法已锁定", code="auth_blocked")
    factory = _BY_SW.get(sw)
    if factory is not None:
        return factory(sw)
    return e.StatusError(sw)
