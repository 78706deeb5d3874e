"""The card's file layout (文件结构) of card-protocol §2: AIDs, FIDs, SFIs, record tags and lengths."""

from __future__ import annotations

from typing import Final, Literal

from counter_app.emulator.encoding import tlv

Profile = Literal["1.00", "2.00", "3.00", "prefab"]
PROFILES: Final[tuple[Profile, ...]] = ("1.00", "2.00", "3.00", "prefab")

SSSE_AID: Final = bytes.fromhex("7378312E73682EC9E7BBE1B1A3D5CF")  # "sx1.sh." ‖ GBK 社会保障
FINANCE_AID: Final = bytes.fromhex("A000000333010101")  # 金融 application (UnionPay debit)
MF_FID: Final = bytes.fromhex("3F00")

EF05_SFI: Final = 0x05  # 发卡机构数据文件
EF06_SFI: Final = 0x06  # 持卡人基本信息文件
FINANCE_SFI: Final = 0x01  # 金融 record file holding 5A (PAN)
SSSE_EF_FIDS: Final = {bytes.fromhex("EF05"): EF05_SFI, bytes.fromhex("EF06"): EF06_SFI}

CARD_ID_TAG: Final = 0x01
VERSION_TAG: Final = 0x03
INITIALISATION_TAGS: Final = frozenset({0x01, 0x02, 0x03, 0x04})  # EF05 01–04: never updated
NAME_EXTENSION_TAG: Final = 0x4E
FINANCE_RECORD_TAG: Final = 0x70
PAN_TAG: Final = 0x5A

# (tag, value length) in record-number order
Layout = tuple[tuple[int, int], ...]

EF05_LAYOUT: Final[Layout] = ((0x01, 16), (0x02, 1), (0x03, 4), (0x04, 12), (0x05, 4), (0x06, 4), (0x07, 9))
_EF06_WITH_EXTENSION: Final[Layout] = (
    (0x08, 18),
    (0x09, 30),
    (NAME_EXTENSION_TAG, 20),
    (0x0A, 1),
    (0x0B, 1),
    (0x0C, 3),
    (0x0D, 4),
)


def ef06_layout(profile: Profile) -> Layout:
    """EF06 records of a profile: 1.00 has no 姓名扩展, so 性别 … move up by one (§2.4)."""
    if profile == "1.00":
        return tuple(item for item in _EF06_WITH_EXTENSION if item[0] != NAME_EXTENSION_TAG)
    return _EF06_WITH_EXTENSION


def ef06_needs_key(profile: Profile) -> bool:
    """3.00 cards (and prefabs, which are 3.00) need RKSSSE or the write key to read EF06 (§2.5)."""
    return profile in ("3.00", "prefab")


def ssse_fci(algorithm_id: int | None) -> bytes:
    """FCI of SSSE (§2.2) with 算法标识 in ``9F0C``; None omits the ``A5`` template altogether."""
    body = tlv(b"\x84", SSSE_AID)
    if algorithm_id is not None:
        body += tlv(b"\xa5", tlv(b"\x9f\x0c", tlv(b"\x86", bytes([algorithm_id]))))
    return tlv(b"\x6f", body)


FINANCE_FCI: Final = tlv(b"\x6f", tlv(b"\x84", FINANCE_AID) + tlv(b"\xa5", tlv(b"\x50", b"UnionPay")))
