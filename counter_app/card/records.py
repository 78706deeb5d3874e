"""EF05/EF06 records (发卡机构数据文件 / 持卡人基本信息文件): layouts and field codecs.

Layouts per card-protocol §2.3–§2.4, codings per §1.2. A record read by tag comes back as
``tag ‖ L ‖ value``; `parse_record` checks the tag and the fixed length and returns the value, and
`decode` turns a value into text. A multi-record read (§3.3.1) returns such records concatenated;
`split_records` identifies each by its tag and checks it with `parse_record`:

- b: upper-case hex; an: ASCII without trailing ``00``/``FF``; cn: BCD digits up to the first ``F``
  nibble; GBK names: without trailing ``00``/``FF`` (GBK never uses those bytes in a character).
- A value of all ``FF`` is a blank (unwritten) record of a 预制卡 and decodes as "".

Encoding pads to the record length and refuses what does not fit (`InvalidWriteData`); 姓名 is
split into 姓名 + 姓名扩展 on a character boundary with `counter_app.domain.identity.chip_name_fit`.
Decoding and `parse_record` raise only `RecordFormatError`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from counter_app.card.errors import InvalidWriteData, NameNotWritable, RecordFormatError
from counter_app.domain.identity import NAME_EXTENSION_BYTES, NAME_FIELD_BYTES, chip_name_fit

__all__ = [
    "EF05",
    "EF06",
    "Coding",
    "Field",
    "decode",
    "decode_name",
    "encode",
    "encode_date",
    "encode_name",
    "file_items",
    "file_length",
    "has_name_extension",
    "is_blank",
    "parse_record",
    "record_data",
    "split_records",
]

EF05 = 0x05
EF06 = 0x06


class Coding(enum.Enum):
    """数据编码 of a record value (§1.2)."""

    BINARY = "b"
    ASCII = "an"
    BCD = "cn"
    GBK_NAME = "gbk00"  # 姓名: 00-padded
    GBK_EXTENSION = "gbkff"  # 姓名扩展: FF-padded


@dataclass(frozen=True)
class _Spec:
    sfi: int
    tag: int
    length: int
    coding: Coding
    label: str
    record_v2: int  # record number on 2.00/3.00
    record_v1: int | None  # record number on 1.00 (None: absent)


class Field(enum.Enum):
    """One data item (数据项) of EF05 or EF06, by its tag."""

    CARD_ID = _Spec(EF05, 0x01, 16, Coding.BINARY, "卡识别码", 1, 1)
    CARD_TYPE = _Spec(EF05, 0x02, 1, Coding.ASCII, "卡的类别", 2, 2)
    SPEC_VERSION = _Spec(EF05, 0x03, 4, Coding.ASCII, "规范版本", 3, 3)
    INIT_ORG = _Spec(EF05, 0x04, 12, Coding.BINARY, "初始化机构编号", 4, 4)
    ISSUE_DATE = _Spec(EF05, 0x05, 4, Coding.BCD, "发卡日期", 5, 5)
    EXPIRY_DATE = _Spec(EF05, 0x06, 4, Coding.BCD, "卡有效期", 6, 6)
    CARD_NUMBER = _Spec(EF05, 0x07, 9, Coding.ASCII, "卡号", 7, 7)
    SSN = _Spec(EF06, 0x08, 18, Coding.ASCII, "社会保障号码", 1, 1)
    NAME = _Spec(EF06, 0x09, 30, Coding.GBK_NAME, "姓名", 2, 2)
    NAME_EXTENSION = _Spec(EF06, 0x4E, 20, Coding.GBK_EXTENSION, "姓名扩展", 3, None)
    SEX = _Spec(EF06, 0x0A, 1, Coding.ASCII, "性别", 4, 3)
    ETHNICITY = _Spec(EF06, 0x0B, 1, Coding.BCD, "民族", 5, 4)
    BIRTHPLACE = _Spec(EF06, 0x0C, 3, Coding.BCD, "出生地", 6, 5)
    BIRTH_DATE = _Spec(EF06, 0x0D, 4, Coding.BCD, "出生日期", 7, 6)

    # Plain attributes, set once per member: reading them is an attribute lookup, not a property
    # plus Enum ``.value`` (which the per-read parsing and decoding did hundreds of times).
    sfi: int
    tag: int
    length: int  # the fixed value length L
    coding: Coding
    label: str  # the Chinese name of the item, for messages

    def __init__(self, spec: _Spec) -> None:
        self.sfi = spec.sfi
        self.tag = spec.tag
        self.length = spec.length
        self.coding = spec.coding
        self.label = spec.label

    # Members are singletons compared by identity, so identity hashing is consistent with equality;
    # it is done in C, unlike Enum's ``hash(self._name_)`` (Field keys every dict of a read).
    __hash__ = object.__hash__

    def record_number(self, spec_version: str) -> int | None:
        """Record number on a card of this 规范版本 (None: the item does not exist there)."""
        spec: _Spec = self.value
        return spec.record_v1 if spec_version.startswith("1") else spec.record_v2

    @classmethod
    def by_tag(cls, sfi: int, tag: int) -> Field:
        """The item of EF ``sfi`` with ``tag``; KeyError when there is none."""
        return _BY_TAG[(sfi, tag)]


_BY_TAG: dict[tuple[int, int], Field] = {(item.sfi, item.tag): item for item in Field}


def _layout(sfi: int, v1: bool) -> tuple[Field, ...]:
    numbered: list[tuple[int, Field]] = []
    for item in Field:
        number = item.value.record_v1 if v1 else item.value.record_v2
        if item.sfi == sfi and number is not None:
            numbered.append((number, item))
    return tuple(item for _, item in sorted(numbered, key=lambda pair: pair[0]))


# (sfi, 1.xx card) → the EF's items in record-number order (§2.3, §2.4)
_LAYOUTS: dict[tuple[int, bool], tuple[Field, ...]] = {
    (sfi, v1): _layout(sfi, v1) for sfi in (EF05, EF06) for v1 in (False, True)
}
# the same keys → Σ (L + 2), the length of a multi-record read from record 1 (§3.3.1)
_FILE_LENGTHS: dict[tuple[int, bool], int] = {
    key: sum(item.length + 2 for item in items) for key, items in _LAYOUTS.items()
}
# the same keys → the items a multi-record read must hold (姓名扩展 may be missing: read as empty)
_REQUIRED: dict[tuple[int, bool], tuple[Field, ...]] = {
    key: tuple(item for item in items if item is not Field.NAME_EXTENSION) for key, items in _LAYOUTS.items()
}


def has_name_extension(spec_version: str) -> bool:
    """Whether a card of this 规范版本 has 姓名扩展 (2.00/3.00 do, 1.00 does not)."""
    return not spec_version.startswith("1")


# --- parsing -------------------------------------------------------------------------------------


def parse_record(item: Field, data: bytes) -> bytes:
    """The value of ``item`` from a READ RECORD answer ``tag ‖ L ‖ value`` (checked)."""
    if len(data) < 2:
        raise RecordFormatError(f"{item.label}记录不足 2 字节")
    if data[0] != item.tag:
        raise RecordFormatError(f"{item.label}记录的标签为 {data[0]:02X}，应为 {item.tag:02X}")
    if data[1] != len(data) - 2:
        raise RecordFormatError(f"{item.label}记录的长度字节 {data[1]} 与实际 {len(data) - 2} 字节不符")
    if data[1] != item.length:
        raise RecordFormatError(f"{item.label}长度为 {data[1]} 字节，应为 {item.length} 字节")
    return bytes(data[2:])


def file_items(sfi: int, spec_version: str) -> tuple[Field, ...]:
    """The items of EF ``sfi`` on a card of this 规范版本, in record-number order (§2.3, §2.4)."""
    return _LAYOUTS.get((sfi, not has_name_extension(spec_version)), ())


def file_length(sfi: int, spec_version: str) -> int:
    """LL of a multi-record read from record 1 (§3.3.1): Σ (L + 2); EF05 64, EF06 91 (1.00: 69)."""
    return _FILE_LENGTHS.get((sfi, not has_name_extension(spec_version)), 0)


def split_records(sfi: int, data: bytes, spec_version: str) -> dict[Field, bytes]:
    """The values of a multi-record read of EF ``sfi`` (§3.3.1): consecutive ``tag ‖ L ‖ value``.

    Items are identified by their tag, never by their position (§2.4), and checked by
    `parse_record`. A truncated item, bytes left over, an unknown or repeated tag, a wrong length
    or a missing item raise `RecordFormatError`; a missing 姓名扩展 (4E) is left out (read as
    empty, like ``6A83`` on 4E), and a 4E on a 1.xx card is dropped.
    """
    data = bytes(data)
    size = len(data)
    values: dict[Field, bytes] = {}
    pos = 0
    while pos < size:
        if pos + 2 > size:
            raise RecordFormatError(f"多记录读取的第 {pos + 1} 字节起不足一条记录")
        tag, length = data[pos], data[pos + 1]
        item = _BY_TAG.get((sfi, tag))
        if item is None:
            raise RecordFormatError(f"多记录读取中有未知标签 {tag:02X}")
        start = pos + 2
        end = start + length
        if end > size:
            raise RecordFormatError(f"多记录读取中{item.label}记录不完整")
        if item in values:
            raise RecordFormatError(f"多记录读取中{item.label}记录重复")
        # `parse_record` on data[pos:end]: its tag and L ↔ size checks hold here by construction.
        if length != item.length:
            raise RecordFormatError(f"{item.label}长度为 {length} 字节，应为 {item.length} 字节")
        values[item] = data[start:end]
        pos = end
    v1 = not has_name_extension(spec_version)
    if v1:
        values.pop(Field.NAME_EXTENSION, None)
    missing = [i.label for i in _REQUIRED.get((sfi, v1), ()) if i not in values]
    if missing:
        raise RecordFormatError(f"多记录读取缺少{'、'.join(missing)}")
    return values


def is_blank(value: bytes) -> bool:
    """A value of every byte ``FF``: an unwritten record of a 预制卡."""
    return bool(value) and not bytes(value).lstrip(b"\xff")


def _bcd_digits(item: Field, value: bytes) -> str:
    # The nibbles as hex digits, up to the first F; any a–e left before it is an illegal nibble.
    digits = value.hex()
    end = digits.find("f")
    if end >= 0:
        digits = digits[:end]
    if digits and not digits.isdigit():
        nibble = next(c for c in digits if not c.isdigit())
        raise RecordFormatError(f"{item.label}含非法的 BCD 半字节 {nibble.upper()}")
    return digits


def decode(item: Field, value: bytes) -> str:
    """Text of a value read from the card; "" when blank. GBK names: see `decode_name`."""
    value = bytes(value)
    coding = item.coding
    if coding is Coding.BINARY:
        return value.hex().upper()
    if value and not value.lstrip(b"\xff"):  # `is_blank`, inline: this runs for every item read
        return ""
    if coding is Coding.BCD:
        return _bcd_digits(item, value)
    stripped = value.rstrip(b"\x00\xff")
    if coding is Coding.ASCII:
        if stripped.isascii():
            text = stripped.decode("ascii")
            if text.isprintable():  # on ASCII text: every byte in 20–7E
                return text
        raise RecordFormatError(f"{item.label}含非 ASCII 可见字符")
    text, _ = decode_name(stripped, b"")
    return text


def decode_name(name: bytes, extension: bytes) -> tuple[str, bool]:
    """Full 姓名 = GBK(姓名 stripped ‖ 姓名扩展 stripped); also whether it decoded cleanly.

    Invalid GBK is shown with U+FFFD and flagged (姓名编码异常), never raised.
    """
    raw = bytes(name).rstrip(b"\x00\xff") + bytes(extension).rstrip(b"\x00\xff")
    try:
        return raw.decode("gbk"), True
    except UnicodeDecodeError:
        return raw.decode("gbk", errors="replace"), False


# --- encoding ------------------------------------------------------------------------------------


def record_data(item: Field, value: bytes) -> bytes:
    """The UPDATE RECORD data field ``tag ‖ L ‖ value`` (value already padded to L)."""
    if len(value) != item.length:
        raise InvalidWriteData(f"{item.label}应为 {item.length} 字节")
    return bytes((item.tag, item.length)) + value


def _bcd(item: Field, digits: str) -> bytes:
    if len(digits) != 2 * item.length or not (digits.isascii() and digits.isdigit()):
        raise InvalidWriteData(f"{item.label}应为 {2 * item.length} 位数字")
    return bytes.fromhex(digits)


def encode(item: Field, text: str) -> bytes:
    """The padded value of ``item`` for ``text`` (not for 姓名: see `encode_name`)."""
    if item.coding is Coding.BCD:
        return _bcd(item, text)
    if item.coding is Coding.ASCII:
        if not text or any(not 0x20 < ord(c) < 0x7F for c in text):
            raise InvalidWriteData(f"{item.label}只能由 ASCII 字母、数字或符号组成且不能为空")
        if len(text) > item.length:
            raise InvalidWriteData(f"{item.label}最长 {item.length} 位")
        return text.encode("ascii").ljust(item.length, b"\x00")
    if item.coding is Coding.BINARY:
        try:
            value = bytes.fromhex(text)
        except ValueError:
            raise InvalidWriteData(f"{item.label}应为十六进制") from None
        if len(value) != item.length:
            raise InvalidWriteData(f"{item.label}应为 {item.length} 字节")
        return value
    raise InvalidWriteData(f"{item.label}须用 encode_name 编码")


def encode_date(item: Field, value: date) -> bytes:
    """A cn ``YYYYMMDD`` date value."""
    return _bcd(item, f"{value:%Y%m%d}")


def encode_name(name: str, *, has_extension: bool = True) -> tuple[bytes, bytes]:
    """姓名 (30 bytes, ``00``-padded) and 姓名扩展 (20 bytes, ``FF``-padded) values of a name.

    The split falls on a character boundary (§2.4). A name with a character outside GBK, or too long
    for the card, raises `NameNotWritable` with the clerk's message; nothing is substituted.
    """
    if not name.strip():
        raise NameNotWritable("姓名为空，不能写入芯片")
    fit = chip_name_fit(name, has_extension=has_extension)
    if not fit.fits or fit.name_field is None or fit.extension_field is None:
        raise NameNotWritable(fit.message, fit.unwritable)
    return (
        fit.name_field.ljust(NAME_FIELD_BYTES, b"\x00"),
        fit.extension_field.ljust(NAME_EXTENSION_BYTES, b"\xff"),
    )
