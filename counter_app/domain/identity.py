"""Identity rules: 证件号码, 卡号, 卡识别码, bank card, 行政区划, 民族, 性别, 姓名 on the chip.

Every check takes any string and returns a :class:`CheckResult`; nothing here raises on bad input.
A failed check names the rule that failed and never suggests a "correct" check character: that
would teach clerks to fabricate numbers (DOMAIN.md §5). Input is normalised (NFKC, spaces removed,
lower-case letters raised) and each normalisation is reported as a notice.

行政区划: ``resources/identity/regions.toml`` is not the national table. It lists the 34 province
prefixes, the 乐山 and Sichuan prefecture codes and historic 乐山 codes. A 地址码 under an unknown
province prefix fails; a historic code only adds a notice; any other code under a known province
is accepted, because a 公民身份号码 keeps the (possibly retired) code of first registration.

外国人永久居留身份证: the 2023 form (18 digits, first digit 9, MOD 11-2 like the 公民身份号码) gets
the birth date, sex and check-character rules; its 受理地 and 国籍 digits are not checked. The
older 15-character form (3 letters + 12 digits) still circulates and has no published check
character: it is accepted on its format alone, with a notice saying so.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import Enum, StrEnum
from functools import cache
from types import MappingProxyType
from typing import Literal

from stdnum import luhn
from stdnum.cn import ric

from counter_app.resources import load_toml

__all__ = [
    "CARD_IDENTIFIER_MARKER",
    "HMT_REGION_CODES",
    "NAME_EXTENSION_BYTES",
    "NAME_FIELD_BYTES",
    "CheckResult",
    "DocumentType",
    "Failure",
    "FailureCode",
    "NameFit",
    "NameFitStatus",
    "Sex",
    "card_number_check_character",
    "check_bank_card",
    "check_card_identifier",
    "check_card_number",
    "check_document",
    "chip_name_fit",
    "ethnicities",
    "ethnicity_code",
    "ethnicity_name",
    "region_name",
]

NAME_FIELD_BYTES = 30
NAME_EXTENSION_BYTES = 20
CARD_IDENTIFIER_MARKER = "D156000005"
HMT_REGION_CODES = frozenset({"810000", "820000", "830000"})

_DIGITS = frozenset("0123456789")
_UPPER_ALNUM = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_HEX = frozenset("0123456789ABCDEF")
_FULLWIDTH_DIGITS = frozenset(chr(c) for c in range(0xFF10, 0xFF1A))


class DocumentType(Enum):
    """证件类型; the value is the Chinese name shown to the clerk."""

    RESIDENT_ID = "居民身份证"
    HMT_RESIDENCE_PERMIT = "港澳台居民居住证"
    FOREIGN_PERMANENT_RESIDENT_ID = "外国人永久居留身份证"
    PASSPORT = "护照"


class Sex(Enum):
    """性别 (GB/T 2261.1); the value is the one-character code stored on the card."""

    UNKNOWN = "0"
    MALE = "1"
    FEMALE = "2"
    UNSPECIFIED = "9"

    @property
    def label(self) -> str:
        return {"0": "未知", "1": "男", "2": "女", "9": "未说明"}[self.value]


class FailureCode(StrEnum):
    """校验失败代码: stable identifiers of the rule that failed."""

    LENGTH = "length"
    CHARACTERS = "characters"
    FORMAT = "format"
    BIRTH_DATE = "birth_date"
    CHECK_CHARACTER = "check_character"
    REGION = "region"
    SEX_MISMATCH = "sex_mismatch"


@dataclass(frozen=True)
class Failure:
    """校验不通过: one failed rule. ``blocking=False`` means warn the clerk but let them go on."""

    code: FailureCode
    message: str
    blocking: bool = True


@dataclass(frozen=True)
class CheckResult:
    """校验结果 of one number: the normalised value, failures, notices and what could be read from it."""

    value: str
    failures: tuple[Failure, ...] = ()
    notices: tuple[str, ...] = ()
    region: str | None = None
    birth_date: date | None = None
    sex: Sex | None = None

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def blocking(self) -> bool:
        """True when at least one failure must stop the business (not just warn)."""
        return any(f.blocking for f in self.failures)

    @property
    def codes(self) -> tuple[FailureCode, ...]:
        return tuple(f.code for f in self.failures)


# --- data files --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Regions:
    provinces: Mapping[str, str]
    codes: Mapping[str, str]
    historic: Mapping[str, tuple[str, str]]  # code -> (name, where it belongs now)


@cache
def _regions() -> _Regions:
    data = load_toml("identity", "regions.toml")
    historic = {code: (str(v["name"]), str(v["now"])) for code, v in data["historic"].items()}
    return _Regions(
        provinces=MappingProxyType(dict(data["provinces"])),
        codes=MappingProxyType(dict(data["codes"])),
        historic=MappingProxyType(historic),
    )


@cache
def _ethnicities() -> Mapping[str, str]:
    return MappingProxyType(dict(load_toml("identity", "ethnicities.toml")["ethnicities"]))


def region_name(code: str) -> str | None:
    """行政区划 name of a 6-digit code (current or historic), or None when the table does not know it."""
    regions = _regions()
    if code in regions.codes:
        return regions.codes[code]
    if code in regions.historic:
        return regions.historic[code][0]
    if len(code) == 6 and code.endswith("0000"):
        return regions.provinces.get(code[:2])
    return None


def ethnicities() -> Mapping[str, str]:
    """民族 table (GB 3304): two-digit code -> name, in code order."""
    return _ethnicities()


def ethnicity_name(code: str) -> str | None:
    """民族 name for a two-digit GB 3304 code (``"07"`` -> ``"彝族"``), or None."""
    return _ethnicities().get(code)


def ethnicity_code(name: str) -> str | None:
    """GB 3304 code of a 民族 name; accepts the name with or without 族 (``"彝"`` or ``"彝族"``)."""
    name = name.strip()
    for code, known in _ethnicities().items():
        if name in (known, known.removesuffix("族")):
            return code
    return None


# --- normalisation -----------------------------------------------------------------------------


def _normalise(raw: str, letters: Literal["x", "all", "none"]) -> tuple[str, list[str]]:
    """NFKC, drop whitespace, raise lower-case ASCII letters (only x, all, or none); say what changed."""
    notices: list[str] = []
    text = unicodedata.normalize("NFKC", raw)
    if any(c in _FULLWIDTH_DIGITS for c in raw):
        notices.append("已将全角数字转换为半角")
    if any(
        c not in _FULLWIDTH_DIGITS and not c.isspace() and unicodedata.normalize("NFKC", c) != c for c in raw
    ):
        notices.append("已将全角字母或符号转换为半角")
    if any(c.isspace() for c in text):
        text = "".join(c for c in text if not c.isspace())
        notices.append("已去除空格")
    if letters == "x" and "x" in text:
        text = text.replace("x", "X")
        notices.append("已将小写 x 转换为大写 X")
    elif letters == "all" and any("a" <= c <= "z" for c in text):
        text = "".join(c.upper() if "a" <= c <= "z" else c for c in text)
        notices.append("已将小写字母转换为大写")
    return text, notices


def _length_failure(value: str, expected: str) -> Failure:
    return Failure(FailureCode.LENGTH, f"长度应为{expected}，实际为 {len(value)} 位")


# --- 公民身份号码 and documents of the same 18-character form ------------------------------------


def _gb11643_failures(
    value: str, sex: Sex | None, today: date
) -> tuple[list[Failure], date | None, Sex | None]:
    """Rules shared by every 18-character GB 11643 number: characters, birth date, sex digit, check."""
    failures: list[Failure] = []
    characters_ok = set(value[:-1]) <= _DIGITS and value[-1:] in _DIGITS | {"X"}
    if len(value) != 18:
        if len(value) == 15 and set(value) <= _DIGITS:
            failures.append(Failure(FailureCode.LENGTH, "这是已停用的 15 位一代号码，请录入 18 位号码"))
        else:
            failures.append(_length_failure(value, " 18 位"))
    if value and not characters_ok:
        failures.append(Failure(FailureCode.CHARACTERS, "前 17 位只能是数字，最后一位只能是数字或 X"))
    if failures:
        return failures, None, None

    birth: date | None = None
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        failures.append(Failure(FailureCode.BIRTH_DATE, f"出生日期 {value[6:14]} 不是真实存在的日期"))
    else:
        if birth.year < 1900:
            failures.append(Failure(FailureCode.BIRTH_DATE, "出生日期早于 1900 年"))
        elif birth > today:
            failures.append(Failure(FailureCode.BIRTH_DATE, "出生日期晚于今天"))

    derived = Sex.MALE if int(value[16]) % 2 else Sex.FEMALE
    if sex in (Sex.MALE, Sex.FEMALE) and sex is not derived:
        failures.append(
            Failure(
                FailureCode.SEX_MISMATCH,
                f"号码第 17 位表示性别为{derived.label}，与登记的性别“{sex.label}”不符",
            )
        )

    if ric.calc_check_digit(value) != value[17]:
        # No digits or letters in this message: it must never hint at a "correct" check character.
        failures.append(
            Failure(
                FailureCode.CHECK_CHARACTER,
                "校验码不符：最后一位与前面各位按国家标准计算的结果不一致，请对照证件原件逐位核对",
            )
        )
    return failures, birth, derived


def _resident_id_region(code: str) -> tuple[list[Failure], list[str]]:
    regions = _regions()
    if code in HMT_REGION_CODES:
        message = f"地址码 {code} 属港澳台居民居住证，证件类型应选“港澳台居民居住证”"
        return [Failure(FailureCode.REGION, message)], []
    if code[:2] not in regions.provinces:
        message = f"地址码前两位“{code[:2]}”不是省级行政区划代码"
        if code.startswith("9"):
            message += "；以 9 开头的是外国人永久居留身份证号码，请改选证件类型"
        return [Failure(FailureCode.REGION, message)], []
    if code in regions.historic:
        name, now = regions.historic[code]
        return [], [f"地址码 {code}（{name}）是已撤销的旧代码，{now}；按规定照常受理，请核对"]
    return [], []


def _check_resident_id(raw: str, sex: Sex | None, today: date) -> CheckResult:
    value, notices = _normalise(raw, "x")
    failures, birth, derived = _gb11643_failures(value, sex, today)
    if derived is None:
        return CheckResult(value, tuple(failures), tuple(notices))
    region_failures, region_notices = _resident_id_region(value[:6])
    return CheckResult(
        value,
        tuple(region_failures + failures),
        tuple(notices + region_notices),
        region=value[:6],
        birth_date=birth,
        sex=derived,
    )


def _check_hmt_permit(raw: str, sex: Sex | None, today: date) -> CheckResult:
    value, notices = _normalise(raw, "x")
    failures, birth, derived = _gb11643_failures(value, sex, today)
    if derived is None:
        return CheckResult(value, tuple(failures), tuple(notices))
    if value[:6] not in HMT_REGION_CODES:
        message = f"港澳台居民居住证的地址码应为 810000、820000 或 830000，实际为 {value[:6]}"
        failures.insert(0, Failure(FailureCode.REGION, message))
    return CheckResult(
        value, tuple(failures), tuple(notices), region=value[:6], birth_date=birth, sex=derived
    )


def _check_foreign_permanent_resident(raw: str, sex: Sex | None, today: date) -> CheckResult:
    value, notices = _normalise(raw, "all")
    if len(value) == 15:  # the pre-2023 form: 3 letters (国籍) + 12 digits, no known check character
        if not (set(value[:3]) <= _UPPER_ALNUM - _DIGITS and set(value[3:]) <= _DIGITS):
            failure = Failure(FailureCode.CHARACTERS, "旧版永居证号码应为 3 位字母加 12 位数字")
            return CheckResult(value, (failure,), tuple(notices))
        notices.append("旧版（15 位）永居证号码：只核对了格式，没有校验码可核")
        return CheckResult(value, (), tuple(notices))
    failures, birth, derived = _gb11643_failures(value, sex, today)
    if derived is None:
        if len(value) != 18:
            failures[0] = _length_failure(value, " 18 位（2023 年版）或 15 位（旧版）")
        return CheckResult(value, tuple(failures), tuple(notices))
    if not value.startswith("9"):
        failures.insert(0, Failure(FailureCode.FORMAT, "2023 年版永居证号码应以 9 开头"))
    return CheckResult(value, tuple(failures), tuple(notices), birth_date=birth, sex=derived)


def _check_passport(raw: str, sex: Sex | None, today: date) -> CheckResult:
    value, notices = _normalise(raw, "all")
    failures: list[Failure] = []
    if not 5 <= len(value) <= 20:
        failures.append(_length_failure(value, " 5 至 20 位"))
    if not set(value) <= _UPPER_ALNUM:
        failures.append(Failure(FailureCode.CHARACTERS, "护照号码只能由字母和数字组成"))
    return CheckResult(value, tuple(failures), tuple(notices))


_CHECKERS: Mapping[DocumentType, Callable[[str, Sex | None, date], CheckResult]] = {
    DocumentType.RESIDENT_ID: _check_resident_id,
    DocumentType.HMT_RESIDENCE_PERMIT: _check_hmt_permit,
    DocumentType.FOREIGN_PERMANENT_RESIDENT_ID: _check_foreign_permanent_resident,
    DocumentType.PASSPORT: _check_passport,
}


def check_document(
    document_type: DocumentType, number: str, *, sex: Sex | None = None, today: date | None = None
) -> CheckResult:
    """Check a 证件号码 of the given 证件类型.

    ``sex`` (登记的性别), when 男 or 女, must match the 17th digit of an 18-character number.
    ``today`` bounds the birth date (default: the system date).
    """
    return _CHECKERS[document_type](number, sex, today or date.today())


# --- card numbers ------------------------------------------------------------------------------


def card_number_check_character(body: str) -> str:
    """The 9th character of a 卡号 whose first 8 are ``body`` (GB 11714-style check: A-Z count
    10-35, weights 3 7 9 10 5 8 4 2, c = 11 - sum mod 11)."""
    total = sum(int(c, 36) * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    c = 11 - total % 11
    return {10: "X", 11: "0"}.get(c, str(c))


def check_card_number(number: str) -> CheckResult:
    """Check a 卡号 (社会保障卡号, 9 characters).

    Length and characters block; a wrong check character only warns (``blocking=False``), as the
    national issuance tool does, and numbers starting with ``CON`` are not check-digit tested.
    """
    value, notices = _normalise(number, "all")
    failures: list[Failure] = []
    if len(value) != 9:
        failures.append(_length_failure(value, " 9 位"))
    if not set(value) <= _UPPER_ALNUM:
        failures.append(Failure(FailureCode.CHARACTERS, "卡号只能由大写字母和数字组成"))
    if not failures:
        if value.startswith("CON"):
            notices.append("以 CON 开头的卡号不核对校验位")
        elif card_number_check_character(value[:8]) != value[8]:
            message = "卡号校验位不符，请对照卡面逐位核对（仅提示，不阻止办理）"
            failures.append(Failure(FailureCode.CHECK_CHARACTER, message, blocking=False))
    return CheckResult(value, tuple(failures), tuple(notices))


def check_card_identifier(identifier: str) -> CheckResult:
    """Check a 卡识别码: 32 hex characters, 发卡地区行政区划 (6 digits) + ``D156000005`` + 16 free hex.

    ``result.region`` is the issuing region code whenever the first 6 characters are digits.
    """
    value, notices = _normalise(identifier, "all")
    failures: list[Failure] = []
    if len(value) != 32:
        failures.append(_length_failure(value, " 32 位"))
    if not set(value) <= _HEX:
        failures.append(Failure(FailureCode.CHARACTERS, "卡识别码只能由十六进制字符（0-9、A-F）组成"))
    if failures:
        return CheckResult(value, tuple(failures), tuple(notices))
    region = value[:6]
    if not set(region) <= _DIGITS or region[:2] not in _regions().provinces:
        failures.append(Failure(FailureCode.REGION, f"前 6 位“{region}”不是发卡地区行政区划代码"))
    if value[6:16] != CARD_IDENTIFIER_MARKER:
        failures.append(Failure(FailureCode.FORMAT, f"第 7–16 位应为 {CARD_IDENTIFIER_MARKER}"))
    return CheckResult(
        value, tuple(failures), tuple(notices), region=region if set(region) <= _DIGITS else None
    )


def check_bank_card(number: str) -> CheckResult:
    """Check a bank card number (金融账户 卡号): 16–19 digits with a Luhn check digit."""
    value, notices = _normalise(number, "none")
    failures: list[Failure] = []
    if not 16 <= len(value) <= 19:
        failures.append(_length_failure(value, " 16 至 19 位"))
    if not set(value) <= _DIGITS:
        failures.append(Failure(FailureCode.CHARACTERS, "银行卡号只能由数字组成"))
    if not failures and luhn.checksum(value) != 0:
        message = "银行卡号校验位不符（Luhn），请对照卡面逐位核对"
        failures.append(Failure(FailureCode.CHECK_CHARACTER, message))
    return CheckResult(value, tuple(failures), tuple(notices))


# --- 姓名 on the chip -----------------------------------------------------------------------------


class NameFitStatus(Enum):
    """姓名写卡 outcome."""

    FITS = "fits"
    UNWRITABLE_CHARACTERS = "unwritable_characters"
    TOO_LONG = "too_long"


@dataclass(frozen=True)
class NameFit:
    """Whether a 姓名 can be written to the chip (姓名 30 bytes + 姓名扩展 20 bytes, GBK).

    When it fits, ``name_field`` and ``extension_field`` are the unpadded GBK bytes of the two
    fields; otherwise they are None and ``message`` tells the clerk why (the name is still stored
    and printed in full; only chip personalisation is blocked).
    """

    status: NameFitStatus
    message: str
    name_field: bytes | None = None
    extension_field: bytes | None = None
    unwritable: tuple[str, ...] = ()
    excess_bytes: int = 0

    @property
    def fits(self) -> bool:
        return self.status is NameFitStatus.FITS


def _gbk(char: str) -> bytes | None:
    if unicodedata.category(char) == "Cc":  # a 00 byte would read back as padding
        return None
    try:
        return char.encode("gbk")
    except UnicodeEncodeError:
        return None


def chip_name_fit(name: str, *, has_extension: bool = True) -> NameFit:
    """Fit a 姓名 into the chip's 姓名 (30 bytes) and, on 2.0/3.0 cards, 姓名扩展 (20 bytes) fields.

    The split falls on a character boundary: 姓名 takes as many whole characters as fit, the rest
    goes to 姓名扩展. Characters outside GBK (生僻字) are listed, never replaced by '?'.
    """
    encoded = [(c, _gbk(c)) for c in name]
    unwritable = tuple(dict.fromkeys(c for c, b in encoded if b is None))
    chunks = [b for _, b in encoded if b is not None]
    if unwritable:
        listed = "、".join(unwritable)
        return NameFit(
            NameFitStatus.UNWRITABLE_CHARACTERS,
            f"姓名含芯片字符集（GBK）以外的字符：{listed}。系统中照常保存，但不能写入芯片",
            unwritable=unwritable,
        )
    first = b""
    rest = b""
    for b in chunks:
        if not rest and len(first) + len(b) <= NAME_FIELD_BYTES:
            first += b
        else:
            rest += b
    capacity = NAME_EXTENSION_BYTES if has_extension else 0
    if len(rest) > capacity:
        excess = len(rest) - capacity
        where = "姓名加姓名扩展" if has_extension else "姓名（此卡没有姓名扩展）"
        return NameFit(
            NameFitStatus.TOO_LONG,
            f"姓名过长：{where}放不下，超出 {excess} 字节。系统中照常保存，但不能写入芯片",
            excess_bytes=excess,
        )
    return NameFit(NameFitStatus.FITS, "姓名可以写入芯片", name_field=first, extension_field=rest)
