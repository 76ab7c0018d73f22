"""Business-time arithmetic: the SLA clocks' foundation."""

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.plans.calendar import ALWAYS, BusinessCalendar, CalendarError, Window, format_duration

OFFICE = (Window.parse("mon-fri 08:00-17:00"),)
SPLIT = (Window.parse("mon-fri 09:00-13:00"), Window.parse("mon-fri 14:00-18:00"), Window.parse("sat 10:00-12:00"))
NIGHT = (Window.parse("mon-sun 00:00-03:00"), Window.parse("mon-sun 22:00-24:00"))

CALENDARS = {
    "madrid office": BusinessCalendar(OFFICE, "Europe/Madrid", "ES", "MD"),
    "london banks": BusinessCalendar((Window.parse("mon-fri 09:00-17:30"),), "Europe/London", "GB", "ENG"),
    "new york split": BusinessCalendar(SPLIT, "America/New_York", "US", closed=frozenset({date(2026, 12, 24)})),
    # Open across the hours when clocks change: the DST edge cases.
    "night shift": BusinessCalendar(NIGHT, "Europe/Madrid"),
    "24x7": BusinessCalendar(ALWAYS, "UTC"),
    "sydney": BusinessCalendar(OFFICE, "Australia/Sydney", "AU", "NSW"),
}

moments = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31))
durations = st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(hours=120))
calendars = st.sampled_from(sorted(CALENDARS))


@settings(max_examples=300, deadline=None)
@given(calendars, moments, durations)
def test_adding_then_measuring_returns_the_same_duration(name, start, duration):
    calendar = CALENDARS[name]
    due = calendar.add(start, duration)
    assert due > start
    assert calendar.between(start, due) == duration
    assert calendar.between(due, start) == -duration


@settings(max_examples=300, deadline=None)
@given(calendars, moments, durations)
def test_due_times_fall_in_open_hours(name, start, duration):
    calendar = CALENDARS[name]
    due = calendar.add(start, duration)
    assert calendar.is_open(due)
    assert calendar.holiday_name(calendar.local_date(due - timedelta(microseconds=1))) is None


@settings(max_examples=200, deadline=None)
@given(calendars, moments, durations, durations)
def test_adding_in_two_steps_is_adding_the_sum(name, start, first, second):
    calendar = CALENDARS[name]
    assert calendar.add(calendar.add(start, first), second) == calendar.add(start, first + second)


@settings(max_examples=200, deadline=None)
@given(calendars, moments, moments)
def test_open_time_never_exceeds_real_time(name, a, b):
    calendar = CALENDARS[name]
    start, end = min(a, b), max(a, b)
    assert timedelta(0) <= calendar.between(start, end) <= end - start


def test_office_hours_skip_nights_weekends_and_holidays():
    madrid = CALENDARS["madrid office"]
    # Friday 4 December 2026, 16:00 in Madrid (15:00 UTC): one hour left today.
    # Monday the 7th (Constitution Day, moved from Sunday in Madrid) and Tuesday
    # the 8th (Immaculate Conception) are holidays.
    start = datetime(2026, 12, 4, 15, 0)
    assert madrid.add(start, timedelta(hours=1)) == datetime(2026, 12, 4, 16, 0)
    assert madrid.add(start, timedelta(hours=2)) == datetime(2026, 12, 9, 8, 0)  # Wednesday 09:00 local
    assert madrid.add(start, timedelta(hours=10)) == datetime(2026, 12, 9, 16, 0)  # closing time
    assert madrid.add(start, timedelta(hours=11)) == datetime(2026, 12, 10, 8, 0)
    assert madrid.holiday_name(date(2026, 12, 7))
    assert madrid.holiday_name(date(2026, 12, 8))


def test_london_business_days_follow_the_bank_holidays():
    london = CALENDARS["london banks"]
    # Thursday 24 December 2026 17:00 London: the 25th, the weekend and the
    # 28th (Boxing Day observed) are closed, so the clock resumes on the 29th.
    start = datetime(2026, 12, 24, 17, 0)
    assert london.add(start, timedelta(hours=1)) == datetime(2026, 12, 29, 9, 30)
    assert london.holiday_name(date(2026, 12, 28)) and london.holiday_name(date(2026, 8, 31))


def test_dst_changes_count_real_time():
    madrid = BusinessCalendar(ALWAYS, "Europe/Madrid")
    # The night of 29 March 2026 has 23 hours in Madrid, 25 October 2026 has 25.
    assert madrid.between(datetime(2026, 3, 28, 23, 0), datetime(2026, 3, 29, 22, 0)) == timedelta(hours=23)
    office = CALENDARS["madrid office"]
    # Friday 27 March 16:00 local (15:00 UTC) + 2 h: Monday 30 March 09:00 CEST = 07:00 UTC.
    assert office.add(datetime(2026, 3, 27, 15, 0), timedelta(hours=2)) == datetime(2026, 3, 30, 7, 0)
    # Across the year end: Thursday 31 December 2026 16:00 local + 3 h = Monday 4 January 10:00 local.
    assert office.add(datetime(2026, 12, 31, 15, 0), timedelta(hours=3)) == datetime(2027, 1, 4, 9, 0)


def test_windows_and_zones_are_validated():
    with pytest.raises(CalendarError, match="mon-fri"):
        Window.parse("weekdays 8-5")
    with pytest.raises(CalendarError, match="before closing"):
        Window.parse("mon-fri 18:00-08:00")
    with pytest.raises(CalendarError, match="time of day"):
        Window.parse("mon 08:00-25:00")
    with pytest.raises(CalendarError, match="time zone"):
        BusinessCalendar(OFFICE, "Mars/Base")
    with pytest.raises(CalendarError, match="XX"):
        BusinessCalendar(OFFICE, "UTC", "XX")


def test_durations_read_well():
    assert format_duration(timedelta(minutes=90)) == "1 h 30 min"
    assert format_duration(timedelta(minutes=45)) == "45 min"
    assert format_duration(timedelta(days=2, hours=3, minutes=5)) == "51 h 5 min"
    assert format_duration(timedelta(hours=48)) == "48 h"
    assert format_duration(-timedelta(minutes=5)) == "5 min"
