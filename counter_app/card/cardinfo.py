"""What reading a card gives (卡片基本信息): `CardInfo`, every EF05/EF06 item as text.

Values are as the chip holds them, decoded per card-protocol §1.2: codes stay codes (性别 ``1``,
民族 ``01``, 出生地 ``511102``) and dates stay ``YYYYMMDD``; blank (unwritten) items are "".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date

__all__ = ["CardInfo", "HolderStatus", "ReadScope"]


class ReadScope(enum.Enum):
    """How much `read_basic_info` reads (读卡范围)."""

    BASIC = "basic"  # what iReadCardBas needs: EF05 01 03 05 06 07, EF06 08 09 4E (§3.15)
    FULL = "full"  # every EF05 and EF06 item (信息查询): one multi-record READ RECORD per EF (§3.3.1)


class HolderStatus(enum.Enum):
    """Whether the EF06 holder items could be read (持卡人信息读取情况)."""

    READ = "已读取"
    NO_KEY_PROVIDER = "3.0 卡读取持卡人信息需要 PSAM 卡"
    ALGORITHM_NOT_SUPPORTED = "卡片算法不支持，未读取持卡人信息"

    @property
    def label(self) -> str:
        return self.value


def _date(text: str) -> date | None:
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


@dataclass(frozen=True)
class CardInfo:
    """One reading of a 社保卡: EF05 发卡机构数据, EF06 持卡人基本信息, 规范版本, 算法标识, ATR.

    Items not read (scope BASIC, or EF06 without a key on a 3.0 card) are "".
    ``name_encoding_ok`` False means 姓名编码异常: the chip's bytes are not valid GBK and the name
    is shown with U+FFFD.
    """

    atr: bytes
    historical_bytes: bytes
    algorithm: int  # 算法标识 (03 = SM4)
    card_id: str  # 卡识别码, 32 upper-case hex
    card_type: str  # 卡的类别
    spec_version: str  # 规范版本
    init_org: str  # 初始化机构编号, 24 hex
    issue_date: str  # 发卡日期 YYYYMMDD
    expiry_date: str  # 卡有效期 YYYYMMDD
    card_number: str  # 卡号
    ssn: str = field(repr=False)  # 社会保障号码 — kept out of repr, so a logged CardInfo holds no identity
    name: str = field(repr=False)  # 姓名 + 姓名扩展
    sex: str  # 性别 code
    ethnicity: str  # 民族 code (GB 3304)
    birthplace: str  # 出生地 (行政区划)
    birth_date: str = field(repr=False)  # 出生日期 YYYYMMDD
    holder_status: HolderStatus = HolderStatus.READ
    name_encoding_ok: bool = True
    scope: ReadScope = ReadScope.FULL

    @property
    def region(self) -> str:
        """发卡地区行政区划代码: the first 6 characters of 卡识别码."""
        return self.card_id[:6]

    @property
    def generation(self) -> int | None:
        """1, 2 or 3 from 规范版本 (None when unreadable)."""
        head = self.spec_version[:1]
        return int(head) if head.isdigit() else None

    @property
    def is_blank(self) -> bool:
        """A 预制卡 not yet personalised: 发卡日期, 卡有效期 and 卡号 all blank."""
        return not (self.issue_date or self.expiry_date or self.card_number)

    @property
    def issue_date_value(self) -> date | None:
        return _date(self.issue_date)

    @property
    def expiry_date_value(self) -> date | None:
        return _date(self.expiry_date)

    @property
    def birth_date_value(self) -> date | None:
        return _date(self.birth_date)
