"""Record value encoders (数据编码) of card-protocol §1.2, written from the document alone.

an = ASCII left-justified, ``00``-padded; cn = BCD, 2 digits a byte; GBK names with the 姓名 /
姓名扩展 split of §2.4; blank = all ``FF``. Every encoder raises `EncodingError` rather than
truncate or substitute.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from counter_app.emulator.errors import EncodingError

NAME_BYTES = 30
NAME_EXTENSION_BYTES = 20


def blank(length: int) -> bytes:
    """An unwritten (预制卡) value: every byte ``FF``."""
    return b"\xff" * length


def is_blank(value: bytes) -> bool:
    return all(b == 0xFF for b in value)


def an(text: str, length: int) -> bytes:
    """ASCII, left-justified, padded with ``00`` to ``length``."""
    if not text.isascii() or any(c == "\x00" for c in text):
        raise EncodingError(f"not printable ASCII: {text!r}")
    raw = text.encode("ascii")
    if len(raw) > length:
        raise EncodingError(f"{text!r} is longer than {length} bytes")
    return raw.ljust(length, b"\x00")


def cn(digits: str, length: int) -> bytes:
    """BCD with exactly ``2 × length`` digits (every cn record field has an even digit count)."""
    if len(digits) != 2 * length or not digits.isdecimal() or not digits.isascii():
        raise EncodingError(f"{digits!r} is not {2 * length} decimal digits")
    return bytes.fromhex(digits)


def cn_padded(digits: str) -> bytes:
    """BCD for a PIN or a PAN: an odd digit count ends with an ``F`` nibble."""
    if not digits or not digits.isdecimal() or not digits.isascii():
        raise EncodingError("a PIN or PAN is decimal digits")
    return bytes.fromhex(digits + "F" * (len(digits) % 2))


def cn_date(day: date) -> bytes:
    """A date as cn ``YYYYMMDD`` (4 bytes)."""
    return cn(day.strftime("%Y%m%d"), 4)


def tlv(tag: bytes, value: bytes) -> bytes:
    """One BER-TLV with a one-byte length (every template here is shorter than 128 bytes)."""
    if len(value) > 127:
        raise EncodingError("value too long for a one-byte BER length")
    return tag + bytes([len(value)]) + value


@dataclass(frozen=True)
class NameFields:
    """姓名 (30 bytes, ``00``-padded) and 姓名扩展 (20 bytes, ``FF``-padded; None on 1.00)."""

    name: bytes
    extension: bytes | None


def _gbk_char(char: str) -> bytes:
    try:
        encoded = char.encode("gbk")
    except UnicodeEncodeError:
        raise EncodingError(f"{char!r} is outside GBK and cannot be stored on the chip") from None
    if 0x00 in encoded or 0xFF in encoded:
        raise EncodingError(f"{char!r} would read back as padding")
    return encoded


def name_fields(name: str, *, has_extension: bool) -> NameFields:
    """Split a name into 姓名 / 姓名扩展 on a character boundary (§2.4, vectors §5.11)."""
    if not name:
        raise EncodingError("empty name")
    first = b""
    rest = b""
    for char in name:
        encoded = _gbk_char(char)
        if not rest and len(first) + len(encoded) <= NAME_BYTES:
            first += encoded
        else:
            rest += encoded
    if not has_extension:
        if rest:
            raise EncodingError("name longer than 30 GBK bytes on a card without 姓名扩展")
        return NameFields(first.ljust(NAME_BYTES, b"\x00"), None)
    if len(rest) > NAME_EXTENSION_BYTES:
        raise EncodingError("name longer than 姓名 and 姓名扩展 together (姓名过长)")
    return NameFields(first.ljust(NAME_BYTES, b"\x00"), rest.ljust(NAME_EXTENSION_BYTES, b"\xff"))
