"""Typed card errors (卡片错误): each has a stable code, a Chinese message and the interface code.

Every error a clerk may see is a `CardError`, a `DomainError`, so the UI shows it like any other
refusal. ``sw`` is the status word the card (or PSAM) answered, when there was one;
``interface_code`` is the return value the national reader interface would give (spec §3.4):
−51/−52 for PIN failures, −(SW as an unsigned integer) for other status words, and the interface's
own codes (−21, −22, −36, −2201, −2202 …) for the terminal's rules.

Transport failures are not here: `CardRemovedError` and `TransportError` come from the port and are
passed through unchanged (a write sequence turns them into an "uncertain" outcome instead).
"""

from __future__ import annotations

from typing import Any

from counter_app.domain.errors import DomainError

__all__ = [
    "AlgorithmNotSupported",
    "CardDataError",
    "CardError",
    "CardMismatch",
    "ClaNotSupported",
    "ConditionsNotSatisfied",
    "ExternalAuthFailed",
    "FileNotFound",
    "InitialPinRefused",
    "InsNotSupported",
    "InternalAuthFailed",
    "InvalidWriteData",
    "KeyBlocked",
    "KeyNotFound",
    "MacInvalid",
    "NameNotWritable",
    "NoCurrentFile",
    "NoKeyProvider",
    "NoValidChallenge",
    "NotBlankPrefab",
    "PanNotFound",
    "PinBlocked",
    "PinFormatError",
    "PinIncorrect",
    "ProtocolError",
    "PsamError",
    "PsamKeyMissing",
    "PsamUnavailable",
    "ReadCardBasFormatError",
    "RecordFormatError",
    "RecordNotFound",
    "RewriteNotAllowed",
    "SecurityNotSatisfied",
    "StatusError",
    "TlvFormatError",
    "WriteVerifyFailed",
    "WrongData",
    "WrongLength",
    "WrongParameters",
]


def _restore(cls: type[CardError], state: dict[str, Any]) -> CardError:
    error = cls.__new__(cls)
    Exception.__init__(error, state["code"], state["message"], state["hint"])
    error.__dict__.update(state)
    return error


class CardError(DomainError):
    """The card, the PSAM or a card rule said no (社保卡操作失败)."""

    sw: int | None
    interface_code: int | None

    def __init__(
        self,
        code: str,
        message: str,
        hint: str | None = None,
        *,
        sw: int | None = None,
        interface_code: int | None = None,
    ) -> None:
        super().__init__(code, message, hint)
        self.sw = sw
        self.interface_code = interface_code if interface_code is not None else (-sw if sw else None)

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses take other constructor arguments; rebuild from the state, not from ``args``.
        return (_restore, (type(self), dict(self.__dict__)))


# --- status words (§8.1) -----------------------------------------------------------------------


class StatusError(CardError):
    """The card answered a status word other than 9000 (卡片返回错误状态)."""

    def __init__(
        self,
        sw: int,
        meaning: str = "卡片返回错误状态",
        *,
        code: str = "card_status",
        hint: str | None = None,
        interface_code: int | None = None,
        show_sw: bool = True,
    ) -> None:
        message = f"{meaning}（状态码 {sw:04X}）" if show_sw else meaning
        super().__init__(code, message, hint, sw=sw, interface_code=interface_code)


class PinIncorrect(StatusError):
    """Wrong PIN, the card says how many tries are left (密码错误)."""

    def __init__(self, tries_left: int, sw: int | None = None) -> None:
        self.tries_left = tries_left
        super().__init__(
            sw if sw is not None else 0x63C0 | tries_left,
            f"密码错误，还可尝试 {tries_left} 次",
            code="pin_incorrect",
            hint="请持卡人重新输入；次数用完后密码将被锁定",
            interface_code=-51,
            show_sw=False,
        )


class PinBlocked(StatusError):
    """The PIN try counter reached zero (密码已锁定)."""

    def __init__(self, sw: int = 0x6983) -> None:
        super().__init__(
            sw,
            "密码已锁定",
            code="pin_blocked",
            hint="请办理密码解锁或密码重置",
            interface_code=-52,
            show_sw=False,
        )


class ExternalAuthFailed(StatusError):
    """The card refused the PSAM's cryptogram (外部认证失败)."""

    def __init__(self, tries_left: int, sw: int | None = None) -> None:
        self.tries_left = tries_left
        super().__init__(
            sw if sw is not None else 0x63C0 | tries_left,
            f"外部认证失败，卡片密钥还可尝试 {tries_left} 次",
            code="external_auth_failed",
            hint="PSAM 卡与社保卡的密钥体系可能不符，请联系信息科",
        )


class KeyBlocked(StatusError):
    """The card's external-authentication key is locked (卡片密钥已锁定)."""

    def __init__(self, sw: int = 0x6983) -> None:
        super().__init__(
            sw, "外部认证失败，卡片密钥已锁定", code="key_blocked", hint="此卡需送社保卡管理中心处理"
        )


class SecurityNotSatisfied(StatusError):
    """Access condition not met (安全状态不满足), e.g. EF06 of a 3.0 card without RKSSSE."""

    def __init__(self, sw: int = 0x6982) -> None:
        super().__init__(sw, "安全状态不满足（未通过外部认证）", code="security_not_satisfied")


class NoValidChallenge(StatusError):
    """No challenge was pending on the card (随机数无效)."""

    def __init__(self, sw: int = 0x6984) -> None:
        super().__init__(sw, "卡片随机数无效", code="no_valid_challenge", hint="请重新操作")


class ConditionsNotSatisfied(StatusError):
    """The command is not allowed now (使用条件不满足)."""

    def __init__(self, sw: int = 0x6985) -> None:
        super().__init__(sw, "使用条件不满足", code="conditions_not_satisfied")


class NoCurrentFile(StatusError):
    """No current EF for a command with SFI 0 (未选择文件)."""

    def __init__(self, sw: int = 0x6986) -> None:
        super().__init__(sw, "未选择当前文件", code="no_current_file")


class MacInvalid(StatusError):
    """The card rejected a MAC (安全报文校验错)."""

    def __init__(self, sw: int = 0x6988) -> None:
        super().__init__(
            sw, "安全报文校验错误（MAC 不符）", code="mac_invalid", hint="PSAM 卡与社保卡的密钥体系可能不符"
        )


class WrongData(StatusError):
    """The card rejected the data field (数据错误), e.g. a malformed PIN or a tag mismatch."""

    def __init__(self, sw: int = 0x6A80) -> None:
        super().__init__(sw, "数据错误", code="wrong_data")


class FileNotFound(StatusError):
    """No such file or application on the card (文件或应用不存在)."""

    def __init__(self, sw: int = 0x6A82) -> None:
        super().__init__(sw, "卡内无此文件或应用", code="file_not_found")


class RecordNotFound(StatusError):
    """No such record on the card (记录不存在), e.g. 姓名扩展 on a 1.0 card."""

    def __init__(self, sw: int = 0x6A83) -> None:
        super().__init__(sw, "卡内无此记录", code="record_not_found")


class WrongParameters(StatusError):
    """The card rejected P1/P2 (参数错误)."""

    def __init__(self, sw: int = 0x6A86) -> None:
        super().__init__(sw, "命令参数 P1/P2 错误", code="wrong_parameters")


class KeyNotFound(StatusError):
    """The card has no key with that index (卡内无此密钥)."""

    def __init__(self, sw: int = 0x6A88) -> None:
        super().__init__(
            sw, "卡内无此密钥", code="key_not_found", hint="密钥索引配置与卡片不符，请联系信息科"
        )


class WrongLength(StatusError):
    """The card rejected a length (长度错误)."""

    def __init__(self, sw: int = 0x6700) -> None:
        super().__init__(sw, "命令长度错误", code="wrong_length")


class InsNotSupported(StatusError):
    """The card does not know the instruction (不支持的命令)."""

    def __init__(self, sw: int = 0x6D00) -> None:
        super().__init__(sw, "卡片不支持该命令", code="ins_not_supported")


class ClaNotSupported(StatusError):
    """The card does not accept the class byte (不支持的命令类别)."""

    def __init__(self, sw: int = 0x6E00) -> None:
        super().__init__(sw, "卡片不支持该命令类别", code="cla_not_supported")


class PsamError(StatusError):
    """The PSAM answered an error status word (PSAM卡错误)."""

    def __init__(self, sw: int, meaning: str) -> None:
        super().__init__(sw, f"PSAM 卡：{meaning}", code="psam_error", hint="请检查 PSAM 卡是否插好")


class PsamUnavailable(CardError):
    """The PSAM's reader failed or the PSAM is missing (PSAM卡不可用, 无PSAM卡 −2201).

    Raised instead of the PSAM transport's `TransportError`, so that a fault of the PSAM slot is
    never mistaken for the citizen's card leaving its reader.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(
            "psam_unavailable",
            f"PSAM 卡不可用：{detail}",
            "请检查 PSAM 卡及其读卡器",
            interface_code=-2201,
        )


class PsamKeyMissing(StatusError):
    """The PSAM has no master key for the purpose (PSAM卡内无此密钥), e.g. no RKSSSE: −2203."""

    def __init__(self, sw: int = 0x6A88, *, read_auth: bool = False) -> None:
        super().__init__(
            sw,
            "PSAM 卡内没有 RKSSSE 密钥" if read_auth else "PSAM 卡内没有此用途的密钥",
            code="psam_key_missing",
            hint="请确认使用的是本市社会保障 PSAM 卡",
            interface_code=-2203 if read_auth else -24,
        )


# --- the exchange itself ---------------------------------------------------------------------


class ProtocolError(CardError):
    """The card's answers break the transmission rules (卡片应答异常)."""

    def __init__(self, detail: str) -> None:
        super().__init__("card_protocol", f"卡片应答异常：{detail}", "请重新插卡后再试", interface_code=-4)


# --- data read from the card or from a peer --------------------------------------------------


class CardDataError(CardError):
    """Data read from a card (or a reader driver) does not have the expected form (卡内数据格式错误)."""


class RecordFormatError(CardDataError):
    """A record (EF05/EF06 ``tag L value``) cannot be decoded (记录格式错误)."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            "record_format", f"卡内记录格式错误：{detail}", "此卡数据异常，请送社保卡管理中心检测"
        )


class PanNotFound(CardDataError):
    """No record of the financial application holds a PAN (未读到银行卡号)."""

    def __init__(self) -> None:
        super().__init__(
            "pan_not_found", "未能从卡片金融应用中读到银行卡号", "请到发卡银行核查此卡的金融应用"
        )


class TlvFormatError(CardDataError):
    """BER-TLV data (FCI, financial records) cannot be parsed (TLV 格式错误)."""

    def __init__(self, detail: str) -> None:
        super().__init__("tlv_format", f"卡片应答数据格式错误：{detail}")


class ReadCardBasFormatError(CardDataError):
    """An ``iReadCardBas`` string cannot be parsed (读卡基本信息串格式错误)."""

    def __init__(self, detail: str) -> None:
        super().__init__("readcardbas_format", f"读卡基本信息格式错误：{detail}", interface_code=-23)


# --- the terminal's own rules ----------------------------------------------------------------


class PinFormatError(CardError):
    """A PIN that the terminal will not send: length or characters (密码格式错误, −33)."""

    def __init__(self, detail: str) -> None:
        super().__init__("pin_format", f"密码格式错误：{detail}", "请重新输入", interface_code=-33)


class InitialPinRefused(CardError):
    """The new PIN is the initial PIN 123456 (不能改为初始密码, −36)."""

    def __init__(self) -> None:
        super().__init__(
            "initial_pin_refused", "新密码不能是初始密码", "请持卡人另设一个密码", interface_code=-36
        )


class NoKeyProvider(CardError):
    """The operation needs the PSAM (or HSM) and none is connected (无PSAM卡, −2201)."""

    def __init__(self) -> None:
        super().__init__(
            "no_key_provider",
            "此操作需要 PSAM 卡，但未连接 PSAM 卡",
            "请检查 PSAM 读卡器",
            interface_code=-2201,
        )


class AlgorithmNotSupported(CardError):
    """The card's 算法标识 is not among the supported ones (算法不支持, −2202)."""

    def __init__(self, algorithm: int) -> None:
        self.algorithm = algorithm
        super().__init__(
            "algorithm_not_supported",
            f"卡片算法标识 {algorithm:02X} 不受支持，不能进行密钥运算",
            "请联系信息科",
            interface_code=-2202,
        )


class InternalAuthFailed(CardError):
    """The card's answer to INTERNAL AUTHENTICATE is wrong (内部认证失败（用户卡不合法）, −21)."""

    def __init__(self) -> None:
        super().__init__(
            "internal_auth_failed", "内部认证失败（用户卡不合法）", "请停止办理并核查此卡", interface_code=-21
        )


class CardMismatch(CardError):
    """The card in the reader is not the expected one (卡片不符, −22)."""

    def __init__(self, expected: str, found: str) -> None:
        self.expected = expected
        self.found = found
        super().__init__(
            "card_mismatch",
            f"卡片不符：应为卡识别码 {expected} 的卡，读卡器中是 {found}",
            "请插入正确的卡",
            interface_code=-22,
        )


class NotBlankPrefab(CardError):
    """A prefab card to personalise already carries 卡号 or dates (非空白预制卡)."""

    def __init__(self) -> None:
        super().__init__(
            "not_blank_prefab",
            "此卡不是空白预制卡（已写有卡号或日期），不能再次制卡",
            "如为上次中断的制卡，请按未完成的制卡记录继续",
        )


class NameNotWritable(CardError):
    """The holder's name cannot be written to the chip (姓名无法写入芯片): outside GBK or too long."""

    def __init__(self, message: str, unwritable: tuple[str, ...] = ()) -> None:
        self.unwritable = unwritable
        super().__init__(
            "name_not_writable", message, "姓名在系统中照常保存；芯片个人化不能办理", interface_code=-23
        )


class InvalidWriteData(CardError):
    """A value to write does not fit its record (传入数据不合法, −23)."""

    def __init__(self, detail: str) -> None:
        super().__init__("invalid_write_data", f"写卡数据不合法：{detail}", interface_code=-23)


class RewriteNotAllowed(CardError):
    """A chip rewrite that the configuration or the rules forbid (不允许改写芯片信息)."""

    def __init__(self, detail: str) -> None:
        super().__init__("rewrite_not_allowed", f"不允许改写芯片信息：{detail}")


class WriteVerifyFailed(CardError):
    """The read-back after a write differs twice (写卡校验失败)."""

    def __init__(self, field: str) -> None:
        super().__init__(
            "write_verify_failed",
            f"写卡校验失败：{field}写入后读回的内容不一致",
            "请重新插卡再试；仍失败请换卡",
        )
