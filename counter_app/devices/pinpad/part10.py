"""PC/SC Part 10 secure PIN entry (读卡器安全密码输入): features, properties and the PIN structures.

Pure functions over bytes, no PC/SC calls (those are in `secure_pad`). Layouts follow pcsc-lite's
``reader.h`` (byte-packed, multi-byte fields little-endian; feature TLV values big-endian):

- ``CM_IOCTL_GET_FEATURE_REQUEST`` answers 6-byte TLVs ``tag ‖ 04 ‖ control code (BE)``. Control
  codes come from this answer only; they differ between pcsc-lite and WinSCard.
- ``PIN_VERIFY_STRUCTURE`` (19 bytes + APDU) and ``PIN_MODIFY_STRUCTURE`` (24 bytes + APDU).
- ``FEATURE_IFD_PIN_PROPERTIES``: wLcdLayout, bEntryValidationCondition, bTimeOut2.
- ``FEATURE_GET_TLV_PROPERTIES``: ``tag ‖ len ‖ value (LE)`` items (bMinPINSize, wIdVendor …).

The APDU templates carry the 社保卡's PIN format (card-protocol §3.8/§3.9): BCD, left-justified,
``F``-padded, at offset 0 of the data field; CHANGE PIN is ``old ‖ FF ‖ new``. The reader writes the
digits into the template; the host fills the PIN blocks with ``FF`` only.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field

from counter_app.devices.pinpad.errors import PinPadFault
from counter_app.workflows.ports import PinPadOutcome

__all__ = [
    "ENTRY_VALIDATION_KEY",
    "FORMAT_BCD_BYTES_LEFT",
    "LANG_ZH_CN",
    "Feature",
    "PinProperties",
    "TlvProperties",
    "modify_structure",
    "parse_features",
    "parse_pin_properties",
    "parse_tlv_properties",
    "spe_outcome",
    "verify_structure",
]

#: bmFormatString: bit 7 system units = bytes, bits 6–3 PIN position 0, bit 2 left-justified, bits 1–0 BCD.
FORMAT_BCD_BYTES_LEFT = 0x81
#: bEntryValidationCondition: the citizen presses 确认 (0x02).
ENTRY_VALIDATION_KEY = 0x02
#: wLangId of 简体中文 (zh-CN).
LANG_ZH_CN = 0x0804
#: bConfirmPIN of CHANGE: current PIN entry requested (bit 1) and new PIN confirmed (bit 0).
CONFIRM_OLD_AND_NEW = 0x03

_VERIFY_HEADER = bytes((0x00, 0x20, 0x00, 0x00))  # VERIFY (card-protocol §3.8)
_CHANGE_HEADER = bytes((0x80, 0x5E, 0x01, 0x00))  # CHANGE PIN (card-protocol §3.9)
_SEPARATOR = 0xFF


class Feature(enum.IntEnum):
    """Part 10 feature tags (reader.h ``FEATURE_*``) this program uses or reports."""

    VERIFY_PIN_DIRECT = 0x06
    MODIFY_PIN_DIRECT = 0x07
    IFD_PIN_PROPERTIES = 0x0A
    ABORT = 0x0B
    GET_TLV_PROPERTIES = 0x12
    CCID_ESC_COMMAND = 0x13


def parse_features(raw: bytes | bytearray) -> dict[int, int]:
    """Feature tag → control code from a GET_FEATURE_REQUEST answer (6-byte TLVs, value big-endian)."""
    features: dict[int, int] = {}
    if len(raw) % 6:
        raise PinPadFault(f"读卡器功能列表长度 {len(raw)} 不是 6 的倍数")
    for offset in range(0, len(raw), 6):
        tag, length = raw[offset], raw[offset + 1]
        if length != 4:
            raise PinPadFault(f"读卡器功能 {tag:02X} 的长度为 {length}，应为 4")
        (features[tag],) = struct.unpack_from(">I", raw, offset + 2)
    return features


@dataclass(frozen=True)
class PinProperties:
    """FEATURE_IFD_PIN_PROPERTIES: display, entry validation and the after-key timeout."""

    lcd_columns: int
    lcd_lines: int
    entry_validation: int
    timeout2: int


def parse_pin_properties(raw: bytes | bytearray) -> PinProperties:
    """Parse PIN_PROPERTIES_STRUCTURE (wLcdLayout LE: columns in the low byte, lines in the high byte)."""
    if len(raw) != 4:
        raise PinPadFault(f"PIN 属性应为 4 字节，读卡器返回 {len(raw)} 字节")
    layout, validation, timeout2 = struct.unpack("<HBB", raw)
    return PinProperties(layout & 0xFF, layout >> 8, validation, timeout2)


@dataclass(frozen=True)
class TlvProperties:
    """FEATURE_GET_TLV_PROPERTIES, the items this program looks at (all others stay in ``other``)."""

    min_pin_size: int | None = None
    max_pin_size: int | None = None
    firmware_id: str | None = None
    vendor_id: int | None = None
    product_id: int | None = None
    max_apdu_data_size: int | None = None
    entry_validation: int | None = None
    timeout2: int | None = None
    other: dict[int, bytes] = field(default_factory=dict)

    @property
    def usb_id(self) -> str:
        """``VVVV:PPPP`` of the reader when it says, for the pilot's reader list."""
        if self.vendor_id is None or self.product_id is None:
            return ""
        return f"{self.vendor_id:04X}:{self.product_id:04X}"


_TLV_INTS = {
    0x02: "entry_validation",
    0x03: "timeout2",
    0x06: "min_pin_size",
    0x07: "max_pin_size",
    0x0A: "max_apdu_data_size",
    0x0B: "vendor_id",
    0x0C: "product_id",
}
_FIRMWARE_ID = 0x08


def parse_tlv_properties(raw: bytes | bytearray) -> TlvProperties:
    """Parse ``tag ‖ len ‖ value`` items; integers are little-endian of 1, 2 or 4 bytes."""
    numbers: dict[str, int] = {}
    firmware: str | None = None
    other: dict[int, bytes] = {}
    offset = 0
    while offset < len(raw):
        if offset + 2 > len(raw):
            raise PinPadFault("读卡器 TLV 属性在标签中途结束")
        tag, length = raw[offset], raw[offset + 1]
        value = bytes(raw[offset + 2 : offset + 2 + length])
        if len(value) != length:
            raise PinPadFault(f"读卡器 TLV 属性 {tag:02X} 的值不完整")
        offset += 2 + length
        if tag == _FIRMWARE_ID:
            firmware = value.decode("ascii", "replace").rstrip("\x00")
        elif tag in _TLV_INTS and length in (1, 2, 4):
            numbers[_TLV_INTS[tag]] = int.from_bytes(value, "little")
        else:
            other[tag] = value
    return TlvProperties(
        min_pin_size=numbers.get("min_pin_size"),
        max_pin_size=numbers.get("max_pin_size"),
        firmware_id=firmware,
        vendor_id=numbers.get("vendor_id"),
        product_id=numbers.get("product_id"),
        max_apdu_data_size=numbers.get("max_apdu_data_size"),
        entry_validation=numbers.get("entry_validation"),
        timeout2=numbers.get("timeout2"),
        other=other,
    )


def _pin_block(max_length: int) -> int:
    """Bytes of one BCD PIN block for PINs of up to ``max_length`` digits."""
    return (max_length + 1) // 2


def _check(timeout: int, min_length: int, max_length: int) -> None:
    if not 1 <= timeout <= 255:
        raise ValueError("timeout must be 1–255 seconds")
    if not 4 <= min_length <= max_length <= 16:
        raise ValueError("PIN lengths must satisfy 4 <= min <= max <= 16")


def verify_structure(*, timeout: int, min_length: int, max_length: int, lang_id: int = LANG_ZH_CN) -> bytes:
    """PIN_VERIFY_STRUCTURE for the card's VERIFY ``00 20 00 00 Lc PIN`` (BCD, FF template).

    The whole structure holds no PIN: the reader inserts the digits into ``abData``.
    """
    _check(timeout, min_length, max_length)
    block = _pin_block(max_length)
    apdu = _VERIFY_HEADER + bytes((block,)) + bytes((_SEPARATOR,)) * block
    head = struct.pack(
        "<BBBBBHBBHB3sI",
        timeout,  # bTimerOut
        timeout,  # bTimerOut2
        FORMAT_BCD_BYTES_LEFT,  # bmFormatString
        block,  # bmPINBlockString: no length field, block size in bytes
        0x00,  # bmPINLengthFormat: no length inserted
        (min_length << 8) | max_length,  # wPINMaxExtraDigit 0xXXYY = min, max
        ENTRY_VALIDATION_KEY,  # bEntryValidationCondition
        0x01,  # bNumberMessage
        lang_id,  # wLangId
        0x00,  # bMsgIndex
        b"\x00\x00\x00",  # bTeoPrologue
        len(apdu),  # ulDataLength
    )
    return head + apdu


def modify_structure(*, timeout: int, min_length: int, max_length: int, lang_id: int = LANG_ZH_CN) -> bytes:
    """PIN_MODIFY_STRUCTURE for CHANGE PIN ``80 5E 01 00 Lc old ‖ FF ‖ new`` (both BCD blocks)."""
    _check(timeout, min_length, max_length)
    block = _pin_block(max_length)
    data = bytes((_SEPARATOR,)) * (2 * block + 1)
    apdu = _CHANGE_HEADER + bytes((len(data),)) + data
    head = struct.pack(
        "<BBBBBBBHBBBHBBB3sI",
        timeout,  # bTimerOut
        timeout,  # bTimerOut2
        FORMAT_BCD_BYTES_LEFT,  # bmFormatString
        block,  # bmPINBlockString
        0x00,  # bmPINLengthFormat
        0x00,  # bInsertionOffsetOld
        block + 1,  # bInsertionOffsetNew: after the old block and the FF separator
        (min_length << 8) | max_length,  # wPINMaxExtraDigit
        CONFIRM_OLD_AND_NEW,  # bConfirmPIN
        ENTRY_VALIDATION_KEY,  # bEntryValidationCondition
        0x03,  # bNumberMessage: old, new, new again
        lang_id,  # wLangId
        0x00,  # bMsgIndex1: 请输入原密码
        0x01,  # bMsgIndex2: 请输入新密码
        0x02,  # bMsgIndex3: 请再次输入新密码
        b"\x00\x00\x00",  # bTeoPrologue
        len(apdu),  # ulDataLength
    )
    return head + apdu


#: The reader's own answers (SPE status words) that end an entry before the card sees anything.
SPE_TIMEOUT = 0x6400
SPE_CANCELLED = 0x6401
SPE_MISMATCH = 0x6402
SPE_LENGTH = 0x6403
SPE_BAD_PARAMETERS = 0x6B80

_SPE_OUTCOMES = {
    SPE_TIMEOUT: PinPadOutcome.TIMED_OUT,
    SPE_CANCELLED: PinPadOutcome.CITIZEN_CANCELLED,
    SPE_MISMATCH: PinPadOutcome.MISMATCH,
}


def spe_outcome(sw: int) -> PinPadOutcome | None:
    """The pad outcome of a reader status word (6400 超时, 6401 取消, 6402 不一致); None otherwise."""
    return _SPE_OUTCOMES.get(sw)
