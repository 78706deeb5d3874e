"""Working days per the holiday calendar (resources/calendar), provisional where data is missing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from counter_app.receipts.workdays import CalendarError, calendar_from_files, load_calendar


def test_weekends_and_holidays_are_skipped_and_adjusted_weekends_count() -> None:
    cal = load_calendar()
    assert not cal.is_working_day(date(2026, 10, 1))  # 国庆节
    assert cal.is_working_day(date(2026, 10, 10))  # Saturday 调休上班
    assert cal.is_working_day(date(2026, 2, 14))  # Saturday before 春节
    assert not cal.is_working_day(date(2026, 2, 23))  # Monday inside 春节
    assert not cal.is_working_day(date(2026, 11, 28))  # an ordinary Saturday


def test_counting_starts_the_day_after_acceptance() -> None:
    cal = load_calendar()
    friday = date(2026, 11, 27)
    assert cal.add_working_days(friday, 0).date == friday  # 当场办结
    assert cal.add_working_days(friday, 1).date == date(2026, 11, 30)  # Monday


def test_a_holiday_week_with_its_adjusted_saturday() -> None:
    cal = load_calendar()
    # accepted Wed 30 Sep 2026: Oct 1–7 off, Sat Oct 10 works
    promised = cal.add_working_days(date(2026, 9, 30), 3)
    assert promised.date == date(2026, 10, 10)
    assert not promised.provisional


def test_sixty_working_days_into_an_unconfirmed_year_are_provisional() -> None:
    promised = load_calendar().add_working_days(date(2026, 11, 27), 60)
    assert promised.date.year == 2027
    assert promised.provisional  # 2027's arrangement is 待确认


def test_a_year_without_a_file_counts_weekends_and_is_provisional() -> None:
    promised = load_calendar().add_working_days(date(2031, 3, 6), 1)  # a Thursday
    assert promised.date == date(2031, 3, 7)
    assert promised.provisional


def test_negative_days_are_refused() -> None:
    with pytest.raises(ValueError, match="working days"):
        load_calendar().add_working_days(date(2026, 1, 5), -1)


def test_malformed_files_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "holidays-2030.toml"
    bad.write_text(
        'year = 2030\nstatus = "confirmed"\n[[holidays]]\nname = "x"\nfrom = 2031-01-01\nto = 2031-01-02\n'
    )
    with pytest.raises(CalendarError, match=r"holidays-2030\.toml"):
        calendar_from_files([bad])


def test_shipped_files_cover_2026_confirmed_and_2027_unconfirmed() -> None:
    years = load_calendar().years
    assert years[2026].confirmed and not years[2027].confirmed
    assert len(years[2026].working_days) == 6
