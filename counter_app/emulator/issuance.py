"""Building card images from holder data (制卡数据): personalised cards and blank 预制卡.

Values are encoded with this package's own encoders (card-protocol §1.2, §2.3, §2.4); keys are
diversified from the given master keys with the card's 卡识别码 (§4.2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from counter_app.emulator import encoding
from counter_app.emulator.image import PIN_TRIES, CardImage
from counter_app.emulator.keys import CARD_KEY_INDICES, card_keys
from counter_app.emulator.layout import EF05_LAYOUT, NAME_EXTENSION_TAG, Profile, ef06_layout

DEFAULT_CARD_TYPE = "1"  # 卡的类别 of our test cards (values 待确认)
INITIAL_PIN = "123456"


@dataclass(frozen=True)
class HolderData:
    """持卡人基本信息 as Python values (EF06)."""

    social_security_number: str
    name: str
    sex: str  # 性别 code: 1 男, 2 女, 0, 9
    ethnicity: str  # 民族, GB 3304 two digits
    birthplace: str  # 出生地, 6-digit 行政区划
    birth_date: date


@dataclass(frozen=True)
class IssueData:
    """发卡数据 (EF05 05–07): 卡号, 发卡日期, 卡有效期."""

    card_number: str
    issue_date: date
    expiry_date: date


def ef06_values(holder: HolderData, profile: Profile) -> dict[int, bytes]:
    """EF06 record values of a holder; raises `EncodingError` when the name cannot be stored."""
    names = encoding.name_fields(holder.name, has_extension=profile != "1.00")
    values = {
        0x08: encoding.an(holder.social_security_number, 18),
        0x09: names.name,
        0x0A: encoding.an(holder.sex, 1),
        0x0B: encoding.cn(holder.ethnicity, 1),
        0x0C: encoding.cn(holder.birthplace, 3),
        0x0D: encoding.cn_date(holder.birth_date),
    }
    if names.extension is not None:
        values[NAME_EXTENSION_TAG] = names.extension
    return values


def issue_values(issue: IssueData) -> dict[int, bytes]:
    """EF05 records 05, 06, 07."""
    return {
        0x05: encoding.cn_date(issue.issue_date),
        0x06: encoding.cn_date(issue.expiry_date),
        0x07: encoding.an(issue.card_number, 9),
    }


def _chip_values(card_id: bytes, version: str, card_type: str, initialiser: str) -> dict[int, bytes]:
    """EF05 records 01–04, written at chip initialisation."""
    return {
        0x01: card_id,
        0x02: encoding.an(card_type, 1),
        0x03: encoding.an(version, 4),
        0x04: bytes.fromhex(initialiser),
    }


def card_image(
    *,
    profile: Profile,
    card_id: str,
    master_keys: Mapping[int, bytes],
    pan: str,
    holder: HolderData | None = None,
    issue: IssueData | None = None,
    pin: str = INITIAL_PIN,
    pin_tries: int = PIN_TRIES,
    card_type: str = DEFAULT_CARD_TYPE,
    initialiser: str | None = None,
    algorithm_id: int | None = 0x03,
    multi_record_read: bool = True,
) -> CardImage:
    """A card image: personalised when ``holder``/``issue`` are given, else blank (``FF``).

    A prefab has 规范版本 ``3.00``. ``initialiser`` (初始化机构编号, 24 hex) defaults to the
    卡识别码's region ‖ zeros ‖ ``01``.
    """
    identifier = bytes.fromhex(card_id)
    version = "3.00" if profile == "prefab" else profile
    initialiser = initialiser or card_id[:6] + "0" * 16 + "01"
    ef05 = {tag: encoding.blank(length) for tag, length in EF05_LAYOUT}
    ef05.update(_chip_values(identifier, version, card_type, initialiser))
    if issue is not None:
        ef05.update(issue_values(issue))
    ef06 = {tag: encoding.blank(length) for tag, length in ef06_layout(profile)}
    if holder is not None:
        ef06.update(ef06_values(holder, profile))
    return CardImage(
        profile=profile,
        card_id=identifier,
        ef05=ef05,
        ef06=ef06,
        keys={i: k for i, k in card_keys(master_keys, identifier).items() if i in CARD_KEY_INDICES},
        pin=pin,
        pan=pan,
        pin_tries=pin_tries,
        algorithm_id=algorithm_id,
        multi_record_read=multi_record_read,
    )
