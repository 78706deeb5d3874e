"""The national interface's ``iReadCardBas`` string (读卡基本信息), card-protocol §6.

``区划|社会保障号码|卡号|卡识别码|姓名|ATR历史字节|规范版本|发卡日期|卡有效期|终端机编号|终端设备号|``:
every field followed by ``|``. `build` makes it from a `CardInfo`; `parse` reads one from our card
layer or a vendor DLL (GBK bytes or text): at least 9 fields, 10–11 may be missing, fields after 11
are kept in order as ``extras``. `parse` raises only `ReadCardBasFormatError` and does not validate
content.
"""

from __future__ import annotations

from dataclasses import dataclass

from counter_app.card.cardinfo import CardInfo
from counter_app.card.errors import ReadCardBasFormatError

__all__ = ["ReadCardBas", "build", "from_card_info", "parse"]

_SEPARATOR = "|"
_MIN_FIELDS = 9


@dataclass(frozen=True)
class ReadCardBas:
    """The eleven fields of an ``iReadCardBas`` string, plus any provincial extras."""

    region: str  # 区划
    ssn: str  # 社会保障号码
    card_number: str  # 卡号
    card_id: str  # 卡识别码
    name: str  # 姓名
    historical_bytes: str  # ATR历史字节 (hex)
    spec_version: str  # 规范版本
    issue_date: str  # 发卡日期
    expiry_date: str  # 卡有效期
    terminal_id: str = ""  # 终端机编号
    terminal_device_number: str = ""  # 终端设备号
    extras: tuple[str, ...] = ()

    def fields(self) -> tuple[str, ...]:
        return (
            self.region,
            self.ssn,
            self.card_number,
            self.card_id,
            self.name,
            self.historical_bytes,
            self.spec_version,
            self.issue_date,
            self.expiry_date,
            self.terminal_id,
            self.terminal_device_number,
            *self.extras,
        )


def build(value: ReadCardBas) -> str:
    """The string, every field followed by ``|``. A field containing ``|`` is refused."""
    fields = value.fields()
    if any(_SEPARATOR in f for f in fields):
        raise ReadCardBasFormatError("字段中含有分隔符“|”")
    return "".join(f + _SEPARATOR for f in fields)


def from_card_info(info: CardInfo, *, terminal_id: str = "", terminal_device_number: str = "") -> ReadCardBas:
    """The fields for a card reading (§6.1): 卡号 the first 9 characters, ATR history as hex."""
    return ReadCardBas(
        region=info.region,
        ssn=info.ssn,
        card_number=info.card_number[:9],
        card_id=info.card_id,
        name=info.name,
        historical_bytes=info.historical_bytes.hex().upper(),
        spec_version=info.spec_version,
        issue_date=info.issue_date,
        expiry_date=info.expiry_date,
        terminal_id=terminal_id,
        terminal_device_number=terminal_device_number,
    )


def parse(raw: str | bytes | bytearray) -> ReadCardBas:
    """Read an ``iReadCardBas`` string (``bytes`` are GBK, as vendor DLLs return them)."""
    if isinstance(raw, bytes | bytearray):
        try:
            text = bytes(raw).decode("gbk")
        except UnicodeDecodeError:
            raise ReadCardBasFormatError("不是有效的 GBK 文本") from None
    elif isinstance(raw, str):
        text = raw
    else:
        raise ReadCardBasFormatError("应为文本")
    text = text.split("\x00", 1)[0].rstrip("\r\n")  # a DLL's C string; a line from a file
    pieces = text.split(_SEPARATOR)
    if pieces and pieces[-1] == "":
        pieces.pop()
    if len(pieces) < _MIN_FIELDS:
        raise ReadCardBasFormatError(f"只有 {len(pieces)} 个字段，至少应有 {_MIN_FIELDS} 个")
    pieces += [""] * (11 - len(pieces))
    region, ssn, number, card_id, name, history, version, issued, expires, terminal, device = pieces[:11]
    return ReadCardBas(
        region,
        ssn,
        number,
        card_id,
        name,
        history,
        version,
        issued,
        expires,
        terminal,
        device,
        extras=tuple(pieces[11:]),
    )
