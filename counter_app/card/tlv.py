"""BER-TLV (标签-长度-值) parsing for the FCI and the financial records (card-protocol §2.2, §2.7).

Tags of one or more bytes (low five bits ``11111`` continue), lengths in short form or ``81``/``82``.
Padding bytes ``00`` and ``FF`` between objects are skipped (ISO 7816-4). Any malformed input raises
`TlvFormatError`, never anything else.
"""

from __future__ import annotations

from dataclasses import dataclass

from counter_app.card.errors import TlvFormatError

__all__ = ["Tlv", "find", "parse"]

_MAX_DEPTH = 8


@dataclass(frozen=True)
class Tlv:
    """One data object: ``tag`` as an int of its bytes (``0x9F0C``), the value and, if constructed,
    its children."""

    tag: int
    value: bytes
    children: tuple[Tlv, ...] = ()

    @property
    def constructed(self) -> bool:
        first = self.tag.to_bytes((self.tag.bit_length() + 7) // 8 or 1, "big")[0]
        return bool(first & 0x20)


def _read_tag(data: bytes, pos: int) -> tuple[int, int]:
    first = data[pos]
    tag = first
    pos += 1
    if first & 0x1F == 0x1F:
        while True:
            if pos >= len(data):
                raise TlvFormatError("标签不完整")
            byte = data[pos]
            tag = (tag << 8) | byte
            pos += 1
            if not byte & 0x80:
                break
            if tag > 0xFFFFFF:
                raise TlvFormatError("标签过长")
    return tag, pos


def _read_length(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise TlvFormatError("缺少长度")
    first = data[pos]
    pos += 1
    if first < 0x80:
        return first, pos
    count = first & 0x7F
    if count not in (1, 2):
        raise TlvFormatError(f"不支持的长度格式 {first:02X}")
    if pos + count > len(data):
        raise TlvFormatError("长度不完整")
    return int.from_bytes(data[pos : pos + count], "big"), pos + count


def _parse(data: bytes, depth: int) -> tuple[Tlv, ...]:
    if depth > _MAX_DEPTH:
        raise TlvFormatError("嵌套过深")
    items: list[Tlv] = []
    pos = 0
    size = len(data)
    while pos < size:
        first = data[pos]
        if first == 0x00 or first == 0xFF:
            pos += 1
            continue
        # one-byte tags and short-form lengths, the usual case, are read inline
        if first & 0x1F == 0x1F:
            tag, pos = _read_tag(data, pos)
        else:
            tag = first
            pos += 1
        if pos < size and data[pos] < 0x80:
            length = data[pos]
            pos += 1
        else:
            length, pos = _read_length(data, pos)
        if pos + length > size:
            raise TlvFormatError(f"标签 {tag:X} 的长度 {length} 超出数据")
        value = data[pos : pos + length]
        pos += length
        if first & 0x20:  # constructed (`Tlv.constructed`: bit 6 of the first tag byte)
            items.append(Tlv(tag, value, _parse(value, depth + 1)))
        else:
            items.append(Tlv(tag, value))
    return tuple(items)


def parse(data: bytes) -> tuple[Tlv, ...]:
    """All top-level data objects of ``data``, constructed ones with their children."""
    return _parse(bytes(data), 0)


def find(items: tuple[Tlv, ...], tag: int) -> Tlv | None:
    """The first object with ``tag`` at any depth (depth first, in order), or None."""
    for item in items:
        if item.tag == tag:
            return item
        if item.children:
            found = find(item.children, tag)
            if found is not None:
                return found
    return None
