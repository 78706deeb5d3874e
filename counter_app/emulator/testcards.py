"""测试卡 set — TRAINING / TEST cards with TEST keys, never for production.

Deterministic data: 卡识别码, ID numbers, 卡号 and PINs are written here literally; every card's
keys are the TEST master keys (§4.5) diversified with its 卡识别码. Cards ``card_a`` and ``card_b``
are the document's cards A and B (card-protocol §5.2), so its vectors hold on them. Every card
carries the 金融 PAN of §5.12 ("every test card").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Final

from counter_app.emulator.card import EmulatedCard
from counter_app.emulator.issuance import HolderData, IssueData, card_image
from counter_app.emulator.keys import TEST_MASTER_KEYS
from counter_app.emulator.layout import Profile
from counter_app.emulator.psam import EmulatedPsam

TEST_PAN: Final = "6230999900000001231"
INITIAL_PIN: Final = "123456"


@dataclass(frozen=True)
class IntendedHolder:
    """拟制卡持卡人: whom a prefab is meant for (the server's targets in a personalisation test)."""

    social_security_number: str
    name: str
    sex: str
    ethnicity: str
    birthplace: str
    birth_date: date
    card_number: str
    issue_date: date
    expiry_date: date


@dataclass(frozen=True)
class TestCard:
    """One test card: profile, holder fields as Python values (None on a blank prefab), PIN, tries."""

    __test__ = False  # not a pytest test class

    name: str
    profile: Profile
    card_id: str
    description: str
    social_security_number: str | None = None
    holder_name: str | None = None
    sex: str | None = None
    ethnicity: str | None = None
    birthplace: str | None = None
    birth_date: date | None = None
    card_number: str | None = None
    issue_date: date | None = None
    expiry_date: date | None = None
    pin: str = INITIAL_PIN
    tries_left: int = 6
    pan: str = TEST_PAN
    intended_holder: IntendedHolder | None = None

    def __post_init__(self) -> None:
        holder: tuple[object, ...] = (self.social_security_number, self.holder_name, self.sex, self.ethnicity)
        holder += (self.birthplace, self.birth_date, self.card_number, self.issue_date, self.expiry_date)
        blank = self.profile == "prefab"
        if {v is not None for v in holder} != {not blank}:
            raise ValueError(f"{self.name}: holder fields are all set (personalised) or all None (prefab)")
        if self.intended_holder is not None and not blank:
            raise ValueError(f"{self.name}: only a prefab has an intended holder")

    def holder(self) -> HolderData | None:
        """EF06 data, or None for a blank prefab."""
        ssn, name, sex, ethnicity = self.social_security_number, self.holder_name, self.sex, self.ethnicity
        if ssn is None or name is None or sex is None or ethnicity is None:
            return None
        if self.birthplace is None or self.birth_date is None:
            return None
        return HolderData(ssn, name, sex, ethnicity, self.birthplace, self.birth_date)

    def issue(self) -> IssueData | None:
        """EF05 05–07, or None for a blank prefab."""
        if self.card_number is None or self.issue_date is None or self.expiry_date is None:
            return None
        return IssueData(self.card_number, self.issue_date, self.expiry_date)


_CARDS = (
    TestCard(
        name="card_a",
        profile="3.00",
        card_id="511100D15600000512345678ABCDEF01",
        description="文档卡 A：张三，市中区，3.00 卡，已个人化（card-protocol §5.2、§5.10）",
        social_security_number="511102199001011239",
        holder_name="张三",
        sex="1",
        ethnicity="01",
        birthplace="511102",
        birth_date=date(1990, 1, 1),
        card_number="S11000018",
        issue_date=date(2025, 3, 1),
        expiry_date=date(2035, 2, 28),
    ),
    TestCard(
        name="card_b",
        profile="prefab",
        card_id="511100D156000005A0B1C2D3E4F50617",
        description="文档卡 B：空白预制卡，拟制卡给长姓名持卡人（需姓名扩展，card-protocol §5.11、§7.3）",
        intended_holder=IntendedHolder(
            social_security_number="65010219850505123X",
            name="买买提江·阿不都热合曼·艾合买提·托乎提",
            sex="1",
            ethnicity="05",
            birthplace="650102",
            birth_date=date(1985, 5, 5),
            card_number="S11000026",
            issue_date=date(2025, 6, 15),
            expiry_date=date(2035, 6, 14),
        ),
    ),
    TestCard(
        name="emeishan_v2",
        profile="2.00",
        card_id="511100D1560000051181020000000003",
        description="峨眉山市持卡人李秀英，2.00 卡（EF06 无需外部认证即可读取）",
        social_security_number="511181196807124023",
        holder_name="李秀英",
        sex="2",
        ethnicity="01",
        birthplace="511181",
        birth_date=date(1968, 7, 12),
        card_number="S11000034",
        issue_date=date(2018, 6, 20),
        expiry_date=date(2028, 6, 19),
        pin="802468",
    ),
    TestCard(
        name="qianwei_v1",
        profile="1.00",
        card_id="511100D1560000051123010000000004",
        description="犍为县持卡人王建国，1.00 卡（无姓名扩展，性别为第 3 条记录）",
        social_security_number="511123195503183018",
        holder_name="王建国",
        sex="1",
        ethnicity="01",
        birthplace="511123",
        birth_date=date(1955, 3, 18),
        card_number="S11000042",
        issue_date=date(2019, 4, 8),
        expiry_date=date(2029, 4, 7),
        pin="135790",
    ),
    TestCard(
        name="muchuan_v3",
        profile="3.00",
        card_id="511100D1560000051129030000000005",
        description="沐川县持卡人陈晓燕，3.00 卡，已激活（非初始密码）",
        social_security_number="511129199211232021",
        holder_name="陈晓燕",
        sex="2",
        ethnicity="01",
        birthplace="511129",
        birth_date=date(1992, 11, 23),
        card_number="S11000050",
        issue_date=date(2024, 9, 2),
        expiry_date=date(2034, 9, 1),
        pin="147258",
    ),
    TestCard(
        name="yi_mabian",
        profile="3.00",
        card_id="511100D1560000051133030000000006",
        description="马边彝族自治县彝族持卡人吉克阿呷（民族 07），3.00 卡",
        social_security_number="511133198802140620",
        holder_name="吉克阿呷",
        sex="2",
        ethnicity="07",
        birthplace="511133",
        birth_date=date(1988, 2, 14),
        card_number="S11000069",
        issue_date=date(2023, 5, 16),
        expiry_date=date(2033, 5, 15),
        pin="369258",
    ),
    TestCard(
        name="long_name",
        profile="3.00",
        card_id="511100D1560000051102030000000007",
        description="长姓名持卡人阿依古丽·买买提明·艾合买提江·阿不都热合曼（44 字节，使用姓名扩展），3.00 卡",
        social_security_number="650102199308092141",
        holder_name="阿依古丽·买买提明·艾合买提江·阿不都热合曼",
        sex="2",
        ethnicity="05",
        birthplace="650102",
        birth_date=date(1993, 8, 9),
        card_number="S11000077",
        issue_date=date(2025, 1, 10),
        expiry_date=date(2035, 1, 9),
        pin="258369",
    ),
    TestCard(
        name="locked",
        profile="3.00",
        card_id="511100D1560000051112030000000008",
        description="五通桥区持卡人刘德明，密码已锁定（剩余 0 次，VERIFY 返回 6983），用于解锁与重置",
        social_security_number="511112197605301214",
        holder_name="刘德明",
        sex="1",
        ethnicity="01",
        birthplace="511112",
        birth_date=date(1976, 5, 30),
        card_number="S11000085",
        issue_date=date(2022, 8, 1),
        expiry_date=date(2032, 7, 31),
        pin="112233",
        tries_left=0,
    ),
    TestCard(
        name="prefab_jingyan",
        profile="prefab",
        card_id="511100D1560000051124FF0000000009",
        description="空白预制卡，拟制卡给井研县持卡人赵雨涵（短姓名，姓名扩展写 FF）",
        intended_holder=IntendedHolder(
            social_security_number="511124200106183049",
            name="赵雨涵",
            sex="2",
            ethnicity="01",
            birthplace="511124",
            birth_date=date(2001, 6, 18),
            card_number="S11000093",
            issue_date=date(2026, 11, 2),
            expiry_date=date(2036, 11, 1),
        ),
    ),
    TestCard(
        name="rare_char",
        profile="prefab",
        card_id="511100D1560000051126FF000000000A",
        description="空白预制卡；拟持卡人为夹江县陈𠈌，姓名含 GBK 以外的生僻字：系统中照常保存，但不能写入芯片（个人化必须被拒绝）",
        intended_holder=IntendedHolder(
            social_security_number="511126198010101515",
            name="陈𠈌",
            sex="1",
            ethnicity="01",
            birthplace="511126",
            birth_date=date(1980, 10, 10),
            card_number="S11000106",
            issue_date=date(2026, 11, 2),
            expiry_date=date(2036, 11, 1),
        ),
    ),
)

TEST_CARDS: Final[Mapping[str, TestCard]] = MappingProxyType({card.name: card for card in _CARDS})


def build_card(name: str, *, algorithm_id: int | None = 0x03, multi_record_read: bool = True) -> EmulatedCard:
    """A fresh `EmulatedCard` for test card ``name`` (KeyError when unknown).

    ``algorithm_id`` sets 算法标识 in the FCI; None omits ``9F0C`` (§3.16). ``multi_record_read``
    False gives a card without the multi-record READ RECORD of §3.3.1 (it answers ``6A86``, §3.16).
    """
    card = TEST_CARDS[name]
    image = card_image(
        profile=card.profile,
        card_id=card.card_id,
        master_keys=TEST_MASTER_KEYS,
        pan=card.pan,
        holder=card.holder(),
        issue=card.issue(),
        pin=card.pin,
        pin_tries=card.tries_left,
        algorithm_id=algorithm_id,
        multi_record_read=multi_record_read,
    )
    return EmulatedCard(image)


def build_psam() -> EmulatedPsam:
    """A fresh test PSAM: TEST master keys, 终端机编号 ``511100900001``."""
    return EmulatedPsam()
