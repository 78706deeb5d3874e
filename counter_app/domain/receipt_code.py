"""受理编号 and the receipt's verification code (回执校验码), shared by the counter and the server.

The 业务受理表's QR code (DOMAIN §7) carries ASCII text that anyone may scan and the central server
can check with the issuing counter's key. This module is pure (standard library only) so the counter
(receipts) and the server (``GET /receipts/verify``) import the same definition.

受理编号 (acceptance number), unique city-wide even when counters are offline::

    <outlet code>-<counter number>-<YYYYMMDD>-<sequence>
    511102001-03-20261127-0042

- outlet code (网点编号): 1–16 characters ``A-Z 0-9``;
- counter number (柜台号): 1–4 characters ``A-Z 0-9``;
- date: the counter's local (Asia/Shanghai) business date;
- sequence: the counter's sequence for that day, at least 4 digits (zero-padded), starting at 1.

Verification code (校验码), format version 1::

    code = BASE32( HMAC-SHA256( key, "LSSBK-RECEIPT-1" || 0x00 || ASCII(受理编号) )[:10] )

i.e. the first 80 bits of the MAC as exactly 16 upper-case RFC 4648 base32 characters (no padding).
``key`` is the counter's receipt key (回执密钥, at least 16 bytes; the counter keeps it in keyring,
the server has a copy per counter).

QR text: ``<受理编号>.<code>`` — with the key bytes ``00 01 … 1F``:
``511102001-03-20261127-0042.ZMAKE655XBOPH3LC`` (the known-answer vector of the tests). Every character
is in the QR alphanumeric set (``0-9 A-Z - .``), so the symbol stays small. Readers accept lower-case
and surrounding spaces. The MAC covers the 受理编号 only; what the transaction was is looked up on the
server by that number.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date
from typing import Final

__all__ = [
    "CODE_LENGTH",
    "MIN_KEY_BYTES",
    "AcceptanceNumber",
    "ReceiptCodeError",
    "format_acceptance_number",
    "parse_acceptance_number",
    "parse_qr_text",
    "qr_text",
    "verification_code",
    "verify_qr_text",
]

#: Domain-separation label of format version 1.
_LABEL: Final = b"LSSBK-RECEIPT-1\x00"
_MAC_BYTES: Final = 10
#: Length of the verification code in characters (80 bits in base32).
CODE_LENGTH: Final = 16
MIN_KEY_BYTES: Final = 16

_OUTLET: Final = r"[A-Z0-9]{1,16}"
_COUNTER: Final = r"[A-Z0-9]{1,4}"
_NUMBER: Final = re.compile(rf"^({_OUTLET})-({_COUNTER})-(\d{{8}})-(\d{{4,9}})$")
_CODE: Final = re.compile(rf"^[A-Z2-7]{{{CODE_LENGTH}}}$")


class ReceiptCodeError(ValueError):
    """A 受理编号 or QR text that does not follow the format (格式错误); the message is Chinese."""


@dataclass(frozen=True)
class AcceptanceNumber:
    """A parsed 受理编号."""

    outlet_code: str
    counter_number: str
    on: date
    sequence: int

    def __str__(self) -> str:
        return format_acceptance_number(self.outlet_code, self.counter_number, self.on, self.sequence)


def format_acceptance_number(outlet_code: str, counter_number: str, on: date, sequence: int) -> str:
    """Build a 受理编号; raises :class:`ReceiptCodeError` for parts outside the format."""
    if not re.fullmatch(_OUTLET, outlet_code):
        raise ReceiptCodeError(f"网点编号“{outlet_code}”应为 1 至 16 位大写字母或数字")
    if not re.fullmatch(_COUNTER, counter_number):
        raise ReceiptCodeError(f"柜台号“{counter_number}”应为 1 至 4 位大写字母或数字")
    if not 1 <= sequence <= 999_999_999:
        raise ReceiptCodeError(f"流水序号应在 1 至 999999999 之间：{sequence}")
    return f"{outlet_code}-{counter_number}-{on:%Y%m%d}-{sequence:04d}"


def parse_acceptance_number(text: str) -> AcceptanceNumber:
    """Parse a 受理编号 (spaces around it and lower-case letters are tolerated)."""
    value = text.strip().upper()
    match = _NUMBER.fullmatch(value)
    if match is None:
        raise ReceiptCodeError(f"受理编号“{text.strip()}”格式不正确，应为 网点编号-柜台号-日期-序号")
    outlet, counter, day, sequence = match.groups()
    try:
        on = date(int(day[:4]), int(day[4:6]), int(day[6:]))
    except ValueError:
        raise ReceiptCodeError(f"受理编号中的日期“{day}”不是真实存在的日期") from None
    if int(sequence) == 0:
        raise ReceiptCodeError("受理编号中的序号不能为 0")
    return AcceptanceNumber(outlet, counter, on, int(sequence))


def verification_code(key: bytes, acceptance_number: str) -> str:
    """The 16-character verification code of a 受理编号 under a counter's receipt key."""
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"a receipt key needs at least {MIN_KEY_BYTES} bytes, got {len(key)}")
    number = str(parse_acceptance_number(acceptance_number))
    mac = hmac.new(key, _LABEL + number.encode("ascii"), hashlib.sha256).digest()
    return base64.b32encode(mac[:_MAC_BYTES]).decode("ascii")


def qr_text(key: bytes, acceptance_number: str) -> str:
    """The QR code's ASCII content: ``<受理编号>.<校验码>``."""
    number = str(parse_acceptance_number(acceptance_number))
    return f"{number}.{verification_code(key, number)}"


def parse_qr_text(text: str) -> tuple[AcceptanceNumber, str]:
    """Split QR text into the parsed 受理编号 and the (upper-cased) verification code."""
    value = text.strip().upper()
    number, dot, code = value.rpartition(".")
    if not dot:
        raise ReceiptCodeError("回执校验内容格式不正确，应为 受理编号.校验码")
    if not _CODE.fullmatch(code):
        raise ReceiptCodeError(f"校验码应为 {CODE_LENGTH} 位字母（A-Z）或数字（2-7）")
    return parse_acceptance_number(number), code


def verify_qr_text(key: bytes, text: str) -> bool:
    """True when the QR text's verification code was made with ``key`` (constant-time compare)."""
    number, code = parse_qr_text(text)
    return hmac.compare_digest(verification_code(key, str(number)), code)
