"""工作日 arithmetic for the promised date (承诺办结日期), per the State Council holiday calendar.

The calendar is data (``resources/calendar/holidays-YYYY.toml``, one file per year), so a new or
amended arrangement is a data update. A year without a file counts weekends only; a year (or entry)
marked 待确认 counts as written. Either way the result is marked *provisional* and printed as 预计.

"N个工作日" counts from the day after acceptance (自受理次日起): accepted on a Friday with 1 working
day, the promised date is the next working day, normally Monday. 0 means 当场办结 (the same day).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Final

from counter_app.resources import resources_root

CONFIRMED: Final = "confirmed"
UNCONFIRMED: Final = "待确认"
#: Longest time limit we count (a safety net against a runaway loop on bad data).
MAX_WORKING_DAYS: Final = 400


class CalendarError(ValueError):
    """A holiday file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class YearCalendar:
    """One year's holidays (放假) and weekend working days (调休上班)."""

    year: int
    holidays: frozenset[date]
    working_days: frozenset[date]
    unconfirmed: frozenset[date]  # days of entries marked 待确认
    confirmed: bool
    source: str = ""


@dataclass(frozen=True)
class PromisedDate:
    """The computed date, and whether it rests on unconfirmed or missing calendar data."""

    date: date
    provisional: bool


@dataclass(frozen=True)
class HolidayCalendar:
    """Working days per the loaded years; weekends elsewhere."""

    years: Mapping[int, YearCalendar]

    def is_working_day(self, day: date) -> bool:
        year = self.years.get(day.year)
        if year is not None:
            if day in year.holidays:
                return False
            if day in year.working_days:
                return True
        return day.weekday() < 5

    def is_certain(self, day: date) -> bool:
        """Whether ``day``'s status comes from confirmed data."""
        year = self.years.get(day.year)
        return year is not None and year.confirmed and day not in year.unconfirmed

    def add_working_days(self, start: date, days: int) -> PromisedDate:
        """The ``days``-th working day after ``start`` (``start`` itself when ``days`` is 0)."""
        if days < 0 or days > MAX_WORKING_DAYS:
            raise ValueError(f"working days must be 0…{MAX_WORKING_DAYS}, got {days}")
        day = start
        provisional = not self.is_certain(start)
        left = days
        while left > 0:
            day += timedelta(days=1)
            provisional = provisional or not self.is_certain(day)
            if self.is_working_day(day):
                left -= 1
        return PromisedDate(day, provisional)


def _dates(entry: Mapping[str, Any], where: str) -> list[date]:
    if "date" in entry:
        value = entry["date"]
        if not isinstance(value, date):
            raise CalendarError(f"{where}: 'date' must be a TOML date")
        return [value]
    start, end = entry.get("from"), entry.get("to")
    if not isinstance(start, date) or not isinstance(end, date) or end < start:
        raise CalendarError(f"{where}: needs 'from' and 'to' dates with from ≤ to")
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def parse_year(data: Mapping[str, Any], *, file: str) -> YearCalendar:
    """Validate and build one year from parsed TOML."""
    year = data.get("year")
    status = data.get("status")
    if not isinstance(year, int) or status not in (CONFIRMED, UNCONFIRMED):
        raise CalendarError(f"{file}: needs 'year' (integer) and 'status' ({CONFIRMED!r} or {UNCONFIRMED!r})")
    holidays: set[date] = set()
    working: set[date] = set()
    unconfirmed: set[date] = set()
    for key, target in (("holidays", holidays), ("working_days", working)):
        for index, entry in enumerate(data.get(key, [])):
            where = f"{file}: {key}[{index}]"
            days = _dates(entry, where)
            for day in days:
                if day.year != year:
                    raise CalendarError(f"{where}: {day} is not in {year}")
            target.update(days)
            entry_status = entry.get("status", status)
            if entry_status not in (CONFIRMED, UNCONFIRMED):
                raise CalendarError(f"{where}: unknown status {entry_status!r}")
            if entry_status == UNCONFIRMED:
                unconfirmed.update(days)
    clash = holidays & working
    if clash:
        raise CalendarError(f"{file}: days both holiday and working day: {sorted(clash)}")
    return YearCalendar(
        year=year,
        holidays=frozenset(holidays),
        working_days=frozenset(working),
        unconfirmed=frozenset(unconfirmed),
        confirmed=status == CONFIRMED,
        source=str(data.get("source", "")),
    )


def calendar_from_files(paths: Iterable[Path]) -> HolidayCalendar:
    years: dict[int, YearCalendar] = {}
    for path in sorted(paths):
        with path.open("rb") as fh:
            parsed = parse_year(tomllib.load(fh), file=path.name)
        if parsed.year in years:
            raise CalendarError(f"{path.name}: year {parsed.year} is defined twice")
        years[parsed.year] = parsed
    return HolidayCalendar(years)


@cache
def load_calendar() -> HolidayCalendar:
    """Every ``resources/calendar/holidays-*.toml`` (read once per process)."""
    return calendar_from_files((resources_root() / "calendar").glob("holidays-*.toml"))
