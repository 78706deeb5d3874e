"""The synthetic 乐山 population (合成人口): households, persons, cards, history and subsidy payments.

Deterministic: everything is drawn from one ``random.Random(seed)`` in a fixed order, and every
date is relative to ``as_of``, so the same seed and date give the same rows. Realism, roughly:

- counties weighted by their 2020 population (approximate, ``names.COUNTIES``); 彝族 households in
  峨边 (about 35 %) and 马边 (about 50 %) with 彝族 names and 民族 07; a few 生僻字 names;
- households of 1–6 with a head (户主), a spouse, children and sometimes an elderly parent; rural
  addresses (村) for about two thirds; some heads deceased; 四类人 flags (低保, 特困, 残疾, 建档立卡);
- valid 18-digit 公民身份号码 (GB 11643), a few older ones with pre-1985 乐山地区 codes;
- cards in every social status, with the history that led there: old cards 补/换 into new ones,
  pending 换, 临时挂失 (a few already overdue), known duplicates awaiting 注销, cancelled cards of
  the deceased; 卡号 and 卡识别码 from the simulated province, masked accounts from the banks;
- subsidy payments over the last 24 months for programmes on the catalog's leaves, to the person or
  (household items) to the head — overridden when the head is deceased or has no card, by
  ``counter_app.domain.subsidies.decide_recipient`` — with failures that follow the card (卡挂失,
  账户未激活, 卡注销, 未办卡) and a few data errors (户名不符, 证件号不符), re-sent once fixed.

Rows are written with bulk ``INSERT``s in batches, so millions are practical.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session
from stdnum.cn import ric

from central.models import CardEventRow, CardRow, HouseholdRow, PersonRow, SubsidyPaymentRow
from central.seed import names
from central.upstream import banks, province
from counter_app.domain.card_lifecycle import SHANGHAI, FinancialStatus, SocialStatus
from counter_app.domain.subsidies import (
    FailureReason,
    OverrideReason,
    PaymentStatus,
    RecipientOverride,
    SubsidyCatalog,
    decide_recipient,
    load_subsidy_catalog,
)

S = SocialStatus
F = FinancialStatus

BANK_WEIGHTS = {
    "农业银行": 25,
    "四川农信": 20,
    "邮储银行": 15,
    "工商银行": 12,
    "建设银行": 12,
    "中国银行": 8,
    "乐山市商业银行": 8,
}
#: Age bands (start age, weight) of household heads.
HEAD_AGES = ((22, 4), (30, 9), (40, 11), (50, 12), (60, 9), (70, 5), (80, 2))
HOUSEHOLD_SIZES = ((1, 15), (2, 25), (3, 25), (4, 18), (5, 10), (6, 7))
#: Status of a person's main card (weights in ‰).
MAIN_STATUS = (
    (S.ACTIVE, 790),
    (S.ISSUED_INACTIVE, 80),
    (S.TEMP_LOSS, 8),
    (S.FORMAL_LOSS, 12),
    (S.APPLIED, 35),
    (S.IN_PRODUCTION, 25),
    (S.READY_FOR_PICKUP, 25),
    (S.CANCELLED, 25),
)
VULNERABLE = ("subsistence_allowance", "extreme_poverty", "disability", "registered_poor")
DEPARTMENTS = {
    1: "农业农村局",
    5: "林业局",
    7: "住房和城乡建设局",
    10: "林业局",
    12: "乡村振兴局",
    13: "水利局",
    15: "民政局",
    16: "民政局",
    17: "应急管理局",
    18: "退役军人事务局",
    19: "医疗保障局",
    20: "卫生健康局",
    22: "卫生健康局",
    29: "教育局",
    30: "教育局",
    31: "教育局",
    36: "残疾人联合会",
}
HISTORY_START = date(2012, 1, 1)


def _weighted(rng: random.Random, pairs: tuple[tuple[Any, int], ...] | list[tuple[Any, float]]) -> Any:
    total = sum(w for _, w in pairs)
    x = rng.random() * total
    for value, weight in pairs:
        x -= weight
        if x < 0:
            return value
    return pairs[-1][0]


def _at(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, time(9, 0), SHANGHAI) + timedelta(minutes=rng.randrange(8 * 60))


def _month(day: date) -> str:
    return f"{day:%Y%m}"


def _months_back(as_of: date, count: int) -> list[date]:
    """The first days of the ``count`` months up to and including as_of's month, oldest first."""
    out = []
    y, m = as_of.year, as_of.month
    for _ in range(count):
        out.append(date(y, m, 1))
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out[::-1]


# --------------------------------------------------------------------------------------------
# In-memory shapes of one household while it is generated
# --------------------------------------------------------------------------------------------


@dataclass
class Member:
    id: int
    age: int
    sex: str
    alive: bool
    rural: bool
    county: str
    vulnerable: str | None
    main_card: dict[str, Any] | None = None  # the card subsidies go to (issued, not a duplicate)
    cancelled_card: dict[str, Any] | None = None


@dataclass
class Counters:
    person: int
    household: int
    card: int
    event: int
    payment: int


@dataclass
class Buffers:
    households: list[dict[str, Any]] = field(default_factory=list)
    persons: list[dict[str, Any]] = field(default_factory=list)
    cards: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    payments: list[dict[str, Any]] = field(default_factory=list)
    heads: list[dict[str, Any]] = field(default_factory=list)

    def size(self) -> int:
        return len(self.persons) + len(self.cards) + len(self.events) + len(self.payments)


@dataclass
class Stats:
    persons: int = 0
    households: int = 0
    cards: int = 0
    events: int = 0
    payments: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Subsidy programmes on the catalog's leaves
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Programme:
    """Who gets a leaf, how often (months of the year) and how much (元, inclusive range)."""

    item: str
    eligible: Callable[[Member, random.Random], bool]
    months: tuple[int, ...]  # () = once, in a random month of the window
    amount: tuple[int, int]


def _rural(m: Member) -> bool:
    return m.rural and m.alive


MOUNTAIN = {"511132", "511133", "511129", "511113", "511181"}
RESERVOIR = {"511123", "511129", "511113", "511132"}
ALL_MONTHS = tuple(range(1, 13))

HOUSEHOLD_PROGRAMMES = (
    Programme("1", lambda m, r: _rural(m) and r.random() < 0.85, (5,), (150, 900)),
    Programme("5", lambda m, r: _rural(m) and m.county in MOUNTAIN and r.random() < 0.5, (11,), (30, 300)),
    Programme("7", lambda m, r: _rural(m) and r.random() < 0.01, (), (10000, 30000)),
    Programme("12.1", lambda m, r: m.vulnerable == "registered_poor", (4,), (2000, 5000)),
    Programme("15.1", lambda m, r: m.vulnerable == "subsistence_allowance", ALL_MONTHS, (300, 800)),
    Programme("17.1", lambda m, r: r.random() < 0.005, (), (1000, 3000)),
)
PERSON_PROGRAMMES = (
    Programme("15.2", lambda m, r: m.vulnerable == "extreme_poverty", ALL_MONTHS, (600, 900)),
    Programme("16.1", lambda m, r: m.vulnerable == "disability", ALL_MONTHS, (70, 100)),
    Programme("16.2", lambda m, r: m.vulnerable == "disability" and r.random() < 0.5, ALL_MONTHS, (80, 120)),
    Programme("36.7", lambda m, r: m.vulnerable == "disability" and r.random() < 0.05, (10,), (300, 300)),
    Programme(
        "10",
        lambda m, r: (
            _rural(m)
            and m.county in {"511132", "511133", "511113"}
            and 20 <= m.age <= 60
            and r.random() < 0.03
        ),
        ALL_MONTHS,
        (700, 900),
    ),
    Programme(
        "13",
        lambda m, r: _rural(m) and m.county in RESERVOIR and r.random() < 0.02,
        (3, 6, 9, 12),
        (150, 150),
    ),
    Programme("20", lambda m, r: _rural(m) and m.age >= 60 and r.random() < 0.08, (7,), (960, 1200)),
    Programme("22", lambda m, r: 35 <= m.age <= 60 and r.random() < 0.10, (12,), (120, 120)),
    Programme("29", lambda m, r: m.rural and 6 <= m.age <= 15 and r.random() < 0.10, (3, 9), (500, 625)),
    Programme("30", lambda m, r: 15 <= m.age <= 18 and r.random() < 0.30, (3, 9), (400, 800)),
    Programme("31", lambda m, r: 15 <= m.age <= 18 and r.random() < 0.10, (3, 9), (1000, 1000)),
    Programme("18", lambda m, r: m.age >= 60 and r.random() < 0.005, (1, 4, 7, 10), (1500, 4000)),
    Programme("19", lambda m, r: r.random() < 0.01, (), (500, 5000)),
)


# --------------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------------


class Population:
    """Generates and writes ``persons`` people (whole households; the last one may overshoot)."""

    def __init__(
        self, session: Session, *, persons: int, seed: int, as_of: date, batch_rows: int = 20_000
    ) -> None:
        self.session = session
        self.target = persons
        self.rng = random.Random(seed)
        self.as_of = as_of
        self.now = datetime.combine(as_of, time(17, 0), SHANGHAI)
        self.batch_rows = batch_rows
        self.catalog: SubsidyCatalog = load_subsidy_catalog()
        self.ids = Counters(
            *(
                self._next_id(model)
                for model in (PersonRow, HouseholdRow, CardRow, CardEventRow, SubsidyPaymentRow)
            )
        )
        self.used_numbers: set[str] = set()
        self.buffers = Buffers()
        self.stats = Stats()
        self.months = _months_back(as_of, 24)
        counties = [(code, share) for code, (_, share, _, _) in names.COUNTIES.items()]
        self.county_weights = counties

    def _next_id(self, model: type[Any]) -> int:
        current = self.session.scalar(select(func.max(model.id)))
        return int(current or 0) + 1

    def _take(self, name: str) -> int:
        value = getattr(self.ids, name)
        setattr(self.ids, name, value + 1)
        return int(value)

    # -- the run ---------------------------------------------------------------------------

    def run(self, progress: Callable[[int], None] | None = None) -> Stats:
        while self.stats.persons < self.target:
            self._household()
            if self.buffers.size() >= self.batch_rows:
                self._flush()
                if progress is not None:
                    progress(self.stats.persons)
        self._flush()
        return self.stats

    def _flush(self) -> None:
        b = self.buffers
        for model, rows in (
            (HouseholdRow, b.households),
            (PersonRow, b.persons),
            (CardRow, b.cards),
            (CardEventRow, b.events),
            (SubsidyPaymentRow, b.payments),
        ):
            if rows:
                self.session.execute(insert(model).execution_options(render_nulls=True), rows)
        if b.heads:
            self.session.execute(update(HouseholdRow), b.heads)
        self.buffers = Buffers()

    # -- households and persons -------------------------------------------------------------

    def _household(self) -> None:
        rng = self.rng
        county = _weighted(rng, self.county_weights)
        county_name, _, yi_share, towns = names.COUNTIES[county]
        yi = rng.random() < yi_share
        rural = rng.random() < (0.8 if county in MOUNTAIN else 0.6)
        town = rng.choice(towns)
        if rural:
            address = f"四川省乐山市{county_name}{town}{rng.choice(names.VILLAGES)}{rng.randint(1, 12)}组{rng.randint(1, 99)}号"
        else:
            address = f"四川省乐山市{county_name}{town}{rng.choice(names.STREETS)}{rng.randint(1, 400)}号"
        vulnerable = None
        x = rng.random()
        poor_share = 0.06 if county in {"511132", "511133"} else 0.015
        if x < 0.02:
            vulnerable = "subsistence_allowance"
        elif x < 0.02 + poor_share:
            vulnerable = "registered_poor"
        household_id = self._take("household")
        self.buffers.households.append(
            {
                "id": household_id,
                "number": f"{county}{household_id:010d}",
                "region_code": county,
                "head_person_id": None,
            }
        )
        self.stats.households += 1

        size = _weighted(rng, HOUSEHOLD_SIZES)
        head_age = _weighted(rng, HEAD_AGES) + rng.randrange(8)
        head_sex = "1" if rng.random() < 0.7 else "2"
        family = self._surname(yi)
        plan: list[tuple[int, str, str]] = [(head_age, head_sex, family)]  # (age, sex, family name)
        if size >= 2:
            plan.append(
                (max(20, head_age + rng.randint(-5, 3)), "2" if head_sex == "1" else "1", self._surname(yi))
            )
        child_family = family if head_sex == "1" or size < 2 else plan[1][2]
        while len(plan) < size:
            if head_age < 60 and rng.random() < 0.15:
                plan.append((min(98, head_age + rng.randint(22, 32)), rng.choice("12"), family))
            else:
                plan.append((max(0, head_age - rng.randint(20, 38)), rng.choice("12"), child_family))
        members: list[Member] = []
        for index, (age, sex, fam) in enumerate(plan):
            members.append(
                self._person(household_id, county, yi, rural, address, age, sex, fam, vulnerable, index == 0)
            )
        # The head: the first member (可能已故 — the household keeps them as head until changed).
        self.buffers.heads.append({"id": household_id, "head_person_id": members[0].id})
        for m in members:
            self._cards(m)
        self._payments(household_id, county, members)

    def _surname(self, yi: bool) -> str:
        rng = self.rng
        if yi:
            return rng.choice(names.YI_SURNAMES)
        index = min(int(rng.expovariate(1 / 18)), len(names.HAN_SURNAMES) - 1)
        return names.HAN_SURNAMES[index]

    def _given(self, yi: bool, sex: str) -> str:
        rng = self.rng
        if yi and rng.random() < 0.7:
            return rng.choice(names.YI_MALE_NAMES if sex == "1" else names.YI_FEMALE_NAMES)
        chars = names.MALE_CHARS if sex == "1" else names.FEMALE_CHARS
        given = "".join(rng.choice(chars) for _ in range(2 if rng.random() < 0.7 else 1))
        if rng.random() < 0.0005:
            given = given[:-1] + rng.choice(names.RARE_CHARS)
        return given

    def _id_number(self, region: str, birth: date, sex: str) -> str:
        rng = self.rng
        while True:
            parity = rng.choice("13579" if sex == "1" else "02468")
            body = f"{region}{birth:%Y%m%d}{rng.randrange(100):02d}{parity}"
            number = body + ric.calc_check_digit(body + "0")  # stdnum expects a check slot
            if number not in self.used_numbers:
                self.used_numbers.add(number)
                return number

    def _person(
        self,
        household_id: int,
        county: str,
        yi: bool,
        rural: bool,
        address: str,
        age: int,
        sex: str,
        family: str,
        vulnerable: str | None,
        is_head: bool,
    ) -> Member:
        rng = self.rng
        birth = self.as_of - timedelta(days=age * 365 + rng.randrange(365))
        region = county
        x = rng.random()
        if x < 0.05:
            region = rng.choice(names.ELSEWHERE)
        elif birth.year < 1980 and x < 0.15 and county in names.HISTORIC_CODES:
            region = names.HISTORIC_CODES[county]
        number = self._id_number(region, birth, sex)
        alive = not (age >= 60 and rng.random() < 0.02 * (1 + (age - 60) / 10))
        person_vulnerable = vulnerable
        if person_vulnerable is None:
            y = rng.random()
            if y < 0.015:
                person_vulnerable = "disability"
            elif age >= 65 and y < 0.03:
                person_vulnerable = "extreme_poverty"
        phone = None
        if age >= 16 and rng.random() < 0.9:
            phone = "1" + rng.choice("35789") + "".join(str(rng.randrange(10)) for _ in range(9))
        person_id = self._take("person")
        deceased_on = None if alive else self.as_of - timedelta(days=rng.randrange(30, 1500))
        self.buffers.persons.append(
            {
                "id": person_id,
                "id_type": "resident_id",
                "id_number": number,
                "social_security_number": number,
                "name": family + self._given(yi, sex),
                "sex": sex,
                "ethnicity": "07"
                if yi
                else ("01" if rng.random() < 0.995 else rng.choice(("03", "04", "06", "15"))),
                "birthplace": region,
                "birth_date": birth,
                "phone": phone,
                "address": address,
                "insured_region": county,
                "household_id": household_id,
                "vulnerable_group": person_vulnerable,
                "deceased_on": deceased_on,
                "row_version": 1,
            }
        )
        self.stats.persons += 1
        return Member(person_id, age, sex, alive, rural, county, person_vulnerable)

    # -- cards ------------------------------------------------------------------------------

    def _card_row(
        self,
        member: Member,
        status: SocialStatus,
        *,
        applied: date,
        issued: date | None,
        bank: str,
        financial: FinancialStatus,
        numbered: bool,
        **extra: Any,
    ) -> dict[str, Any]:
        rng = self.rng
        card_id = self._take("card")
        identifier = province.card_identifier(member.county, rng) if numbered else None
        version = (
            "3.00"
            if (issued or applied).year >= 2021
            else ("2.00" if (issued or applied).year >= 2015 else "1.00")
        )
        row: dict[str, Any] = {
            "id": card_id,
            "person_id": member.id,
            "card_number": province.card_number_for(card_id) if numbered else None,
            "card_identifier": identifier,
            "spec_version": version,
            "issuing_region": member.county,
            "bank": bank,
            "account_masked": banks.open_account(bank, rng) if numbered else None,
            "status": status.value,
            "state_before_loss": None,
            "loss_reported_at": None,
            "financial_status": financial.value,
            "replacement_applied": False,
            "known_duplicate": False,
            "replaces_card_id": None,
            "replace_kind": None,
            "applied_at": _at(applied, rng),
            "applied_outlet_id": None,
            "production_batch": f"P{applied:%Y%m}{member.county}" if status is not S.APPLIED else None,
            "issued_on": issued,
            "expires_on": province.expiry_for(issued) if issued else None,
            "issued_outlet_id": None,
            "pin_resets": 0,
            "pin_unblocks": 0,
            "updated_at": self.now,
            "row_version": 1,
        }
        row.update(extra)
        self.buffers.cards.append(row)
        self.stats.cards += 1
        self.stats.by_status[status.value] = self.stats.by_status.get(status.value, 0) + 1
        return row

    def _event(
        self,
        card: dict[str, Any],
        day: date,
        command: str,
        from_status: str | None,
        to_status: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        self.buffers.events.append(
            {
                "id": self._take("event"),
                "card_id": card["id"],
                "at": _at(day, self.rng),
                "command": command,
                "from_status": from_status,
                "to_status": to_status,
                "transaction_id": None,
                "operator_number": None,
                "detail": {"source": "seed", **(detail or {})},
            }
        )
        self.stats.events += 1

    def _issue_history(self, card: dict[str, Any], applied: date, issued: date, activated: bool) -> None:
        """apply → (送制卡 → 回盘 → 领卡) or 即时制卡 → 激活."""
        if self.rng.random() < 0.3:
            self._event(card, issued, "instant_issue", S.APPLIED.value, S.ISSUED_INACTIVE.value)
        else:
            self._event(card, applied, "start_production", S.APPLIED.value, S.IN_PRODUCTION.value)
            self._event(card, issued, "production_done", S.IN_PRODUCTION.value, S.READY_FOR_PICKUP.value)
            self._event(card, issued, "hand_over", S.READY_FOR_PICKUP.value, S.ISSUED_INACTIVE.value)
        if activated:
            self._event(card, issued, "activate", S.ISSUED_INACTIVE.value, S.ACTIVE.value)

    def _cards(self, m: Member) -> None:
        rng = self.rng
        if (m.age < 3 and rng.random() < 0.4) or rng.random() < 0.04:
            return
        bank = _weighted(rng, tuple(BANK_WEIGHTS.items()))
        status = _weighted(rng, MAIN_STATUS)
        if not m.alive:
            status = S.CANCELLED if rng.random() < 0.85 else S.ACTIVE
        born = self.as_of - timedelta(days=m.age * 365)
        earliest = max(HISTORY_START, born)
        span = max(1, (self.as_of - earliest).days - 60)
        issued = self.as_of - timedelta(days=60 + int(rng.random() ** 1.5 * span))
        applied = issued - timedelta(days=rng.randint(1, 60))

        if status in (S.APPLIED, S.IN_PRODUCTION, S.READY_FOR_PICKUP):
            applied = self.as_of - timedelta(days=rng.randint(1, 55))
            numbered = status is S.READY_FOR_PICKUP
            card = self._card_row(
                m,
                status,
                applied=applied,
                issued=applied + timedelta(days=20) if numbered else None,
                bank=bank,
                financial=F.INACTIVE,
                numbered=numbered,
            )
            self._event(card, applied, "apply", None, S.APPLIED.value)
            if status is not S.APPLIED:
                self._event(card, applied, "start_production", S.APPLIED.value, S.IN_PRODUCTION.value)
            if numbered:
                self._event(
                    card, applied + timedelta(days=20), "production_done", S.IN_PRODUCTION.value, status.value
                )
            return

        old = None
        kind = "reissue"
        if rng.random() < 0.12 and issued - earliest > timedelta(days=400):
            # An older card this one replaced (补 after a loss, or 换).
            kind = "reissue" if rng.random() < 0.6 else "exchange"
            old_issued = earliest + timedelta(days=rng.randrange(max(1, (applied - earliest).days - 200)))
            old = self._card_row(
                m,
                S.REPLACED,
                applied=old_issued - timedelta(days=30),
                issued=old_issued,
                bank=bank,
                financial=F.CLOSED if rng.random() < 0.7 else F.ACTIVE,
                numbered=True,
            )
            self._event(old, old_issued - timedelta(days=30), "apply", None, S.APPLIED.value)
            self._issue_history(old, old_issued - timedelta(days=30), old_issued, True)
            if kind == "reissue":
                self._event(old, applied, "report_loss_formal", S.ACTIVE.value, S.FORMAL_LOSS.value)
                self._event(old, applied, "replace", S.FORMAL_LOSS.value, S.REPLACED.value)
            else:
                self._event(old, issued, "replace", S.ACTIVE.value, S.REPLACED.value)

        activated = status not in (S.ISSUED_INACTIVE,)
        financial = F.ACTIVE if activated and rng.random() < 0.9 else F.INACTIVE
        extra: dict[str, Any] = {}
        if old is not None:
            extra = {"replaces_card_id": old["id"], "replace_kind": kind}
        card = self._card_row(
            m, status, applied=applied, issued=issued, bank=bank, financial=financial, numbered=True, **extra
        )
        self._event(card, applied, "apply" if old is None else "replace", None, S.APPLIED.value)
        self._issue_history(card, applied, issued, activated)
        if status is S.TEMP_LOSS:
            overdue = rng.random() < 0.1
            reported = self.now - timedelta(hours=rng.randint(200, 400) if overdue else rng.randint(1, 160))
            card.update(state_before_loss=S.ACTIVE.value, loss_reported_at=reported)
            self._event(card, reported.date(), "report_loss_temp", S.ACTIVE.value, S.TEMP_LOSS.value)
        elif status is S.FORMAL_LOSS:
            reported = self.now - timedelta(days=rng.randint(1, 200))
            card.update(
                state_before_loss=S.ACTIVE.value,
                loss_reported_at=reported,
                financial_status=F.LOST.value if rng.random() < 0.5 else card["financial_status"],
            )
            self._event(card, reported.date(), "report_loss_formal", S.ACTIVE.value, S.FORMAL_LOSS.value)
        elif status is S.CANCELLED:
            day = self.as_of - timedelta(days=rng.randint(1, 700))
            card.update(financial_status=F.CLOSED.value if rng.random() < 0.8 else card["financial_status"])
            reason = "death" if not m.alive else rng.choice(("abroad", "duplicate", "other"))
            self._event(card, day, "cancel_card", S.ACTIVE.value, S.CANCELLED.value, {"reason": reason})
            m.cancelled_card = card
            return
        m.main_card = card

        if status is S.ACTIVE and m.alive and rng.random() < 0.006:
            # A 换 applied for and not yet handed over: the old card stays usable.
            card["replacement_applied"] = True
            new_status = rng.choice((S.APPLIED, S.IN_PRODUCTION, S.READY_FOR_PICKUP))
            new_applied = self.as_of - timedelta(days=rng.randint(1, 40))
            new = self._card_row(
                m,
                new_status,
                applied=new_applied,
                issued=None,
                bank=bank,
                financial=F.INACTIVE,
                numbered=new_status is S.READY_FOR_PICKUP,
                replaces_card_id=card["id"],
                replace_kind="exchange",
            )
            self._event(new, new_applied, "replace", None, S.APPLIED.value, {"replaces_card_id": card["id"]})
        elif status in (S.ACTIVE, S.ISSUED_INACTIVE) and rng.random() < 0.004:
            # A known duplicate from historic data: another issued card, awaiting 注销.
            other_bank = rng.choice([b for b in BANK_WEIGHTS if b != bank])
            dup_issued = issued - timedelta(days=rng.randint(30, 900))
            dup = self._card_row(
                m,
                S.ACTIVE,
                applied=dup_issued - timedelta(days=20),
                issued=dup_issued,
                bank=other_bank,
                financial=F.ACTIVE,
                numbered=True,
                known_duplicate=True,
            )
            self._event(dup, dup_issued, "seed", None, S.ACTIVE.value, {"note": "历史数据中的重复卡，待注销"})

    # -- subsidy payments -------------------------------------------------------------------

    def _payments(self, household_id: int, county: str, members: list[Member]) -> None:
        rng = self.rng
        head = members[0]
        for programme in HOUSEHOLD_PROGRAMMES:
            if programme.eligible(head, rng) and any(m.alive for m in members):
                self._pay(programme, head, members, household_id, county)
        for m in members:
            if not m.alive:
                continue
            for programme in PERSON_PROGRAMMES:
                if programme.eligible(m, rng):
                    self._pay(programme, m, members, household_id, county)

    def _recipient(
        self, item_code: str, beneficiary: Member, members: list[Member]
    ) -> tuple[Member, str | None]:
        """Who receives it (domain rule); household items move off a deceased or card-less head."""
        item = self.catalog.by_leaf_code(item_code)
        head = members[0]
        override = None
        if item.household.value:
            others = [m for m in members[1:] if m.alive and m.age >= 18]
            reason = None
            if not head.alive:
                reason = OverrideReason.HEAD_DECEASED
            elif head.main_card is None:
                reason = OverrideReason.HEAD_WITHOUT_CARD
                others = [m for m in others if m.main_card is not None]
            if reason is not None and others:
                override = RecipientOverride(str(others[0].id), reason)
        decision = decide_recipient(
            item, person_id=str(beneficiary.id), head_of_household_id=str(head.id), override=override
        )
        by_id = {str(m.id): m for m in members}
        return by_id[
            decision.recipient_id
        ], decision.override_reason.value if decision.override_reason else None

    def _pay(
        self, programme: Programme, beneficiary: Member, members: list[Member], household_id: int, county: str
    ) -> None:
        rng = self.rng
        item = self.catalog.by_leaf_code(programme.item)
        recipient, override = self._recipient(programme.item, beneficiary, members)
        if programme.months:
            months = [d for d in self.months if d.month in programme.months]
        else:
            months = [rng.choice(self.months)]
        county_name = names.COUNTIES[county][0]
        department = DEPARTMENTS.get(item.category_number)
        amount = rng.randint(*programme.amount) * 100
        card = recipient.main_card
        for month in months:
            period = _month(month)
            status, reason = self._outcome(recipient, month)
            paid_on = None
            if status in (PaymentStatus.PAID, PaymentStatus.RETURNED):
                paid_on = month + timedelta(days=rng.randint(9, 25))
                paid_on = min(paid_on, self.as_of)
            row = {
                "id": self._take("payment"),
                "item_code": programme.item,
                "beneficiary_person_id": beneficiary.id,
                "household_id": household_id,
                "recipient_person_id": recipient.id,
                "override_reason": override,
                "override_note": None,
                "card_id": card["id"] if card else (recipient.cancelled_card or {}).get("id"),
                "department": f"{county_name}{department}" if department else None,
                "period": period,
                "amount_fen": amount,
                "status": status.value,
                "paid_on": paid_on,
                "bank": card["bank"] if card else None,
                "account_masked": card["account_masked"] if card else None,
                "failure_reason": reason.value if reason else None,
                "batch_number": f"{period}-{programme.item}-{county}",
                "resent_from_id": None,
            }
            self.buffers.payments.append(row)
            self.stats.payments += 1
            fixed = card is not None and card["status"] == S.ACTIVE and card["financial_status"] == F.ACTIVE
            old_enough = (self.as_of - month).days > 75
            if status.may_resend and fixed and old_enough and rng.random() < 0.6:
                resent_on = min(self.as_of, month + timedelta(days=rng.randint(40, 70)))
                self.buffers.payments.append(
                    {
                        **row,
                        "id": self._take("payment"),
                        "status": PaymentStatus.RESENT.value,
                        "paid_on": resent_on,
                        "failure_reason": None,
                        "batch_number": f"{period}-{programme.item}-{county}-R",
                        "resent_from_id": row["id"],
                    }
                )
                self.stats.payments += 1

    def _outcome(self, recipient: Member, month: date) -> tuple[PaymentStatus, FailureReason | None]:
        rng = self.rng
        card = recipient.main_card
        latest = month.year == self.as_of.year and month.month == self.as_of.month
        if latest and rng.random() < 0.3:
            return PaymentStatus.PENDING, None
        if card is None:
            if recipient.cancelled_card is not None:
                return PaymentStatus.FAILED, FailureReason.CARD_CANCELLED
            return PaymentStatus.FAILED, FailureReason.NO_CARD
        if card["issued_on"] and month < card["issued_on"].replace(day=1):
            return PaymentStatus.FAILED, FailureReason.NO_CARD
        lost_at = card["loss_reported_at"]
        if lost_at is not None and month >= lost_at.date().replace(day=1):
            return PaymentStatus.FAILED, FailureReason.CARD_LOST
        if card["financial_status"] == F.INACTIVE:
            return PaymentStatus.FAILED, FailureReason.ACCOUNT_INACTIVE
        x = rng.random()
        if x < 0.006:
            return PaymentStatus.FAILED, FailureReason.NAME_MISMATCH
        if x < 0.009:
            return PaymentStatus.FAILED, FailureReason.ID_MISMATCH
        if x < 0.012:
            return PaymentStatus.RETURNED, FailureReason.ACCOUNT_FROZEN
        if x < 0.014:
            return PaymentStatus.RETURNED, FailureReason.OTHER
        return PaymentStatus.PAID, None
