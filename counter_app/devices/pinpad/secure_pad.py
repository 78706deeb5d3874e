"""The reader's own keypad through PC/SC Part 10 (读卡器密码键盘): the PIN never reaches the host.

`Part10PinPad.enter_on_card` runs on the device thread with the card's transport: it discovers the
reader's features with ``CM_IOCTL_GET_FEATURE_REQUEST`` (control codes from that answer, never
hard-coded), reads the PIN properties, and sends a PIN_VERIFY or PIN_MODIFY structure whose APDU
template the reader fills with the digits typed on its keypad. The card's status word comes back;
the reader's own 6400/6401/6402 become the outcomes 输入超时, 客户取消输入, 两次输入的新密码不一致.

What it cannot do, by construction: 密码重置 (RELOAD needs a PSAM MAC over the new PIN, which the
host never sees), PINs of variable length (the card takes exactly the BCD digits, no padding
bytes), the "不能改为初始密码" rule (−36), and a clerk-side cancel (SCardControl blocks until the
reader answers). These readers are checked by hand at the pilot (docs/pinpad.md §2.4).

The connection it talks to has pyscard's ``CardConnection.control`` shape (a list of ints in and
out, `SmartcardException` with ``hresult`` on failure); `ScardControl` gives that shape to a raw
PC/SC card handle.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from smartcard import scard
from smartcard.Exceptions import SmartcardException

from counter_app.card.errors import PinFormatError
from counter_app.devices.pinpad import part10
from counter_app.devices.pinpad.errors import (
    NoPinPadOnReader,
    PinPadFault,
    PinPadNotCapable,
    PinPadUnavailable,
)
from counter_app.devices.pinpad.part10 import Feature, PinProperties, TlvProperties
from counter_app.workflows.ports import (
    CardRemovedError,
    CardTransport,
    PinEntries,
    PinEntryKind,
    PinPadOutcome,
    PinRequest,
    SecurePinResult,
)

__all__ = [
    "CM_IOCTL_GET_FEATURE_REQUEST",
    "ControlConnection",
    "Part10PinPad",
    "ReaderCapabilities",
    "ScardControl",
    "discover",
    "transport_control",
]

log = logging.getLogger(__name__)

#: SCARD_CTL_CODE(3400) with this platform's formula (pcsc-lite: 0x42000000 + 3400).
CM_IOCTL_GET_FEATURE_REQUEST: int = scard.SCARD_CTL_CODE(3400)

#: "No such control code": pcsc-lite's SCARD_E_UNSUPPORTED_FEATURE; WinSCard's ERROR_INVALID_FUNCTION
#: and ERROR_NOT_SUPPORTED (the Windows values are unverified, docs/pinpad.md §2.4).
_UNSUPPORTED = frozenset({scard.SCARD_E_UNSUPPORTED_FEATURE & 0xFFFFFFFF, 0x00000001, 0x00000032})
_CARD_GONE = frozenset(
    code & 0xFFFFFFFF
    for code in (scard.SCARD_W_REMOVED_CARD, scard.SCARD_E_NO_SMARTCARD, scard.SCARD_W_RESET_CARD)
)


class ControlConnection(Protocol):
    """What this module needs of a connection: pyscard's ``CardConnection.control``."""

    def control(self, controlCode: int, command: list[int] | None = None) -> list[int]: ...  # noqa: N803


class ScardControl:
    """``control`` over a raw card handle from ``SCardConnect`` (device thread only)."""

    def __init__(self, handle: int) -> None:
        self._handle = handle

    def control(self, controlCode: int, command: list[int] | None = None) -> list[int]:  # noqa: N803
        hresult, response = scard.SCardControl(self._handle, controlCode, command or [])
        if hresult != scard.SCARD_S_SUCCESS:
            raise SmartcardException(f"SCardControl {controlCode:#x} failed", hresult=hresult)
        return [b & 0xFF for b in response]


def transport_control(transport: CardTransport) -> ControlConnection:
    """The control channel of a PC/SC transport: its own ``control`` or its public ``handle``."""
    if callable(getattr(transport, "control", None)):
        return transport  # type: ignore[return-value]
    handle = getattr(transport, "handle", None)
    if isinstance(handle, int):
        return ScardControl(handle)
    raise PinPadNotCapable(f"读卡器连接 {transport.reader_name} 不提供 SCardControl 控制通道")


def _hresult(error: SmartcardException) -> int:
    return int(getattr(error, "hresult", -1)) & 0xFFFFFFFF


@dataclass(frozen=True)
class ReaderCapabilities:
    """What a reader said about secure PIN entry (读卡器密码键盘能力)."""

    features: dict[int, int]
    pin_properties: PinProperties | None = None
    tlv_properties: TlvProperties | None = None

    @property
    def can_verify(self) -> bool:
        return Feature.VERIFY_PIN_DIRECT in self.features

    @property
    def can_modify(self) -> bool:
        return Feature.MODIFY_PIN_DIRECT in self.features

    def check_lengths(self, request: PinRequest) -> None:
        """Refuse a request the reader said it cannot take (bMinPINSize/bMaxPINSize)."""
        tlv = self.tlv_properties
        if tlv is None:
            return
        low = tlv.min_pin_size if tlv.min_pin_size else 0
        high = tlv.max_pin_size if tlv.max_pin_size else 99
        if request.min_length < low or request.max_length > high:
            raise PinPadNotCapable(f"读卡器键盘只接受 {low}–{high} 位密码")


def discover(connection: ControlConnection, reader: str = "") -> ReaderCapabilities:
    """Ask the reader for its Part 10 features and PIN properties.

    ``SCARD_E_UNSUPPORTED_FEATURE`` (0x8010001F) — vpcd, most plain readers — means no PIN pad.
    """
    try:
        raw = connection.control(CM_IOCTL_GET_FEATURE_REQUEST, [])
    except SmartcardException as error:
        code = _hresult(error)
        if code in _UNSUPPORTED:
            raise NoPinPadOnReader(reader) from None
        raise _control_failure(code, error) from None
    features = part10.parse_features(bytes(raw))
    pin_properties = tlv_properties = None
    if Feature.IFD_PIN_PROPERTIES in features:
        pin_properties = part10.parse_pin_properties(
            bytes(_control(connection, features[Feature.IFD_PIN_PROPERTIES], []))
        )
    if Feature.GET_TLV_PROPERTIES in features:
        tlv_properties = part10.parse_tlv_properties(
            bytes(_control(connection, features[Feature.GET_TLV_PROPERTIES], []))
        )
    capabilities = ReaderCapabilities(features, pin_properties, tlv_properties)
    log.info(
        "读卡器 %s 的 Part 10 功能：%s；USB %s；固件 %s",
        reader,
        ", ".join(f"{tag:02X}" for tag in sorted(features)) or "无",
        tlv_properties.usb_id if tlv_properties else "",
        tlv_properties.firmware_id if tlv_properties and tlv_properties.firmware_id else "",
    )
    return capabilities


def _control(connection: ControlConnection, code: int, command: list[int]) -> list[int]:
    try:
        return connection.control(code, command)
    except SmartcardException as error:
        raise _control_failure(_hresult(error), error) from None


def _control_failure(code: int, error: SmartcardException) -> Exception:
    if code in _CARD_GONE:
        return CardRemovedError("卡片已拔出，请重新插卡")
    return PinPadUnavailable(f"读卡器控制命令失败（0x{code:08X}）")


class Part10PinPad:
    """`PinPad` of a Part 10 reader (读卡器内置密码键盘): ``secure``; VERIFY and CHANGE only."""

    secure = True

    def __init__(
        self,
        connection_for: Callable[[CardTransport], ControlConnection] = transport_control,
        *,
        lang_id: int = part10.LANG_ZH_CN,
    ) -> None:
        self._connection_for = connection_for
        self._lang_id = lang_id
        self._capabilities: dict[str, ReaderCapabilities] = {}

    def capabilities(self, transport: CardTransport) -> ReaderCapabilities:
        """The reader's capabilities, discovered once per reader name."""
        name = transport.reader_name
        known = self._capabilities.get(name)
        if known is None:
            known = discover(self._connection_for(transport), name)
            self._capabilities[name] = known
        return known

    def collect(self, request: PinRequest) -> PinEntries:
        raise PinPadNotCapable("读卡器密码键盘把密码直接送给卡片，不交给主机")

    def cancel(self) -> bool:
        return False  # SCardControl cannot be interrupted: the citizen's 取消 key or the timer ends it

    def enter_on_card(self, request: PinRequest, transport: CardTransport) -> SecurePinResult:
        """Prompt on the reader's keypad and let the reader send VERIFY or CHANGE PIN to the card."""
        if request.kind is PinEntryKind.RELOAD:
            raise PinPadNotCapable("密码重置需要 PSAM 对新密码计算 MAC，读卡器密码键盘不能办理")
        if request.min_length != request.max_length:
            raise PinPadNotCapable("读卡器密码键盘只能输入固定位数的密码")
        capabilities = self.capabilities(transport)
        feature = (
            Feature.VERIFY_PIN_DIRECT if request.kind is PinEntryKind.VERIFY else Feature.MODIFY_PIN_DIRECT
        )
        if feature not in capabilities.features:
            raise NoPinPadOnReader(transport.reader_name)
        capabilities.check_lengths(request)
        build = part10.verify_structure if feature is Feature.VERIFY_PIN_DIRECT else part10.modify_structure
        structure = build(
            timeout=min(255, max(1, math.ceil(request.timeout_seconds))),
            min_length=request.min_length,
            max_length=request.max_length,
            lang_id=self._lang_id,
        )
        answer = _control(self._connection_for(transport), capabilities.features[feature], list(structure))
        if len(answer) != 2:
            raise PinPadFault(f"读卡器返回 {len(answer)} 字节，应为状态字 2 字节")
        sw = (answer[0] << 8) | answer[1]
        if sw == part10.SPE_LENGTH:
            raise PinFormatError("输入的位数不符")
        if sw == part10.SPE_BAD_PARAMETERS:
            raise PinPadFault("读卡器拒绝了密码输入参数（6B80）")
        outcome = part10.spe_outcome(sw)
        if outcome is not None:
            log.info("读卡器密码键盘输入结束：%s", outcome.message)
            return SecurePinResult(outcome)
        return SecurePinResult(PinPadOutcome.ENTERED, sw)
