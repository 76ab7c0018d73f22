"""Business time: SLA clocks count only a plan's open hours.

A calendar is weekly opening windows in a time zone, minus public holidays
(from the ``holidays`` library) and extra closed dates. Moments in and out
are naive UTC datetimes, as the database stores them; each local day's open
intervals are converted to UTC through ``zoneinfo``, so a DST change only
makes that day's intervals longer or shorter in real time, never wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holidays_lib

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY = 24 * 60
# A calendar with no open hour in this many days is a configuration mistake
# (validation refuses it); the limit keeps a bad one from looping forever.
SEARCH_DAYS = 3 * 366


class CalendarError(ValueError):
    pass


@dataclass(frozen=True)
class Window:
    """Open from ``open_minute`` to ``close_minute`` (minutes after local midnight,
    close up to 1440) on the given weekdays (0 = Monday)."""

    weekdays: frozenset[int]
    open_minute: int
    close_minute: int

    @classmethod
    @lru_cache(maxsize=1024)  # read for every ticket's clock: parse each plan's text once
    def parse(cls, text: str) -> Window:
        """``"mon-fri 08:00-18:00"``, ``"sat,sun 10:00-14:00"``, ``"mon-sun 00:00-24:00"``."""
        try:
            days, hours = text.split()
            opens, closes = hours.split("-")
        except ValueError:
            raise CalendarError(f"{text!r} is not like \"mon-fri 08:00-18:00\"") from None
        window = cls(_parse_days(days), _parse_clock(opens), _parse_clock(closes))
        if window.open_minute >= window.close_minute:
            raise CalendarError(f"{text!r}: opening must come before closing")
        return window


def _parse_days(text: str) -> frozenset[int]:
    days: set[int] = set()
    for part in text.lower().split(","):
        first, _, last = part.partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise CalendarError(f"{part!r} is not a day or a range of days such as mon-fri")
        a, b = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        if b < a:
            raise CalendarError(f"{part!r}: a range of days runs from Monday towards Sunday")
        days.update(range(a, b + 1))
    return frozenset(days)


def _parse_clock(text: str) -> int:
    hours, _, minutes = text.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise CalendarError(f"{text!r} is not a time such as 08:00")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or value > DAY:
        raise CalendarError(f"{text!r} is not a time of day (00:00 to 24:00)")
    return value


ALWAYS = (Window(frozenset(range(7)), 0, DAY),)


class BusinessCalendar:
    def __init__(self, windows: tuple[Window, ...], timezone: str, country: str | None = None,
                 subdivision: str | None = None, closed: frozenset[date] = frozenset()):
        if not windows:
            raise CalendarError("a calendar needs at least one opening window")
        self.windows = windows
        try:
            self.zone = ZoneInfo(timezone)
        except Exception:
            raise CalendarError(f"{timezone!r} is not a known time zone") from None
        self.timezone = timezone
        self.holidays = None
        if country:
            try:
                self.holidays = holidays_lib.country_holidays(country, subdiv=subdivision)
            except NotImplementedError as exc:
                raise CalendarError(str(exc)) from None
        self.closed = closed
        self._days: dict[date, tuple[tuple[datetime, datetime], ...]] = {}

    def holiday_name(self, day: date) -> str | None:
        if day in self.closed:
            return "closed"
        if self.holidays is not None and day in self.holidays:
            return self.holidays.get(day)
        return None

    def intervals(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The open intervals of a local day, as naive UTC, in order."""
        cached = self._days.get(day)
        if cached is not None:
            return cached
        spans: list[tuple[datetime, datetime]] = []
        if self.holiday_name(day) is None:
            for window in self.windows:
                if day.weekday() in window.weekdays:
                    start = self.local_to_utc(day, window.open_minute)
                    end = self.local_to_utc(day, window.close_minute)
                    if end > start:  # a window opening inside a spring-forward gap can vanish
                        spans.append((start, end))
        spans.sort()
        merged: list[tuple[datetime, datetime]] = []
        for start, end in spans:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        if len(self._days) > 20_000:
            self._days.clear()
        self._days[day] = result = tuple(merged)
        return result

    def local_to_utc(self, day: date, minute: int) -> datetime:
        """``minute`` minutes after local midnight of ``day`` (up to 1440), as naive UTC."""
        if minute == DAY:
            day, minute = day + timedelta(days=1), 0
        local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=self.zone)
        return local.astimezone(UTC).replace(tzinfo=None)

    def local_date(self, moment: datetime) -> date:
        return moment.replace(tzinfo=UTC).astimezone(self.zone).date()

    def local(self, moment: datetime) -> datetime:
        """A naive UTC moment as an aware local datetime, for display."""
        return moment.replace(tzinfo=UTC).astimezone(self.zone)

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment ``duration`` of open time after ``start``: an SLA due time."""
        if duration <= timedelta(0):
            return start
        remaining = duration
        day = self.local_date(start) - timedelta(days=1)  # a previous local day may still be open
        for _ in range(SEARCH_DAYS):
            for open_at, close_at in self.intervals(day):
                if close_at <= start:
                    continue
                open_at = max(open_at, start)
                span = close_at - open_at
                if remaining <= span:
                    return open_at + remaining
                remaining -= span
            day += timedelta(days=1)
        raise CalendarError("the calendar has no open hours in the next three years")

    def add_days(self, start: datetime, days: int) -> datetime:
        """The same local time of day on the ``days``-th open day after ``start``: a target in
        business days. Filed while closed, the count starts at the next opening. A day whose
        hours end earlier (or start later) than that time of day is due at its closing (opening)."""
        begin = self.next_open(start)
        local = self.local(begin)
        day = local.date()
        for _ in range(days):
            for _ in range(SEARCH_DAYS):
                day += timedelta(days=1)
                if self.intervals(day):
                    break
            else:
                raise CalendarError("the calendar has no open hours in the next three years")
        wanted = datetime.combine(day, local.time().replace(tzinfo=None), tzinfo=self.zone)
        wanted = wanted.astimezone(UTC).replace(tzinfo=None)
        spans = self.intervals(day)
        for open_at, close_at in spans:
            if open_at <= wanted <= close_at:
                return wanted
        earlier = [close_at for _, close_at in spans if close_at < wanted]
        return earlier[-1] if earlier else spans[0][0]

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Open time from ``start`` to ``end`` (negative when ``end`` comes first)."""
        if end < start:
            return -self.between(end, start)
        total = timedelta(0)
        day, last = self.local_date(start) - timedelta(days=1), self.local_date(end)
        while day <= last:
            for open_at, close_at in self.intervals(day):
                overlap = min(close_at, end) - max(open_at, start)
                if overlap > timedelta(0):
                    total += overlap
            day += timedelta(days=1)
        return total

    def is_open(self, moment: datetime) -> bool:
        """Whether ``moment`` lies in an open interval (its closing instant included)."""
        day = self.local_date(moment)
        return any(a <= moment <= b for d in (day - timedelta(days=1), day) for a, b in self.intervals(d))

    def next_open(self, moment: datetime) -> datetime:
        """``moment`` itself when open, else when the calendar next opens."""
        day = self.local_date(moment) - timedelta(days=1)
        for _ in range(SEARCH_DAYS):
            for open_at, close_at in self.intervals(day):
                if close_at > moment:
                    return max(open_at, moment)
            day += timedelta(days=1)
        raise CalendarError("the calendar has no open hours in the next three years")


@lru_cache(maxsize=256)
def cached_calendar(windows: tuple[Window, ...], timezone: str, country: str | None, subdivision: str | None,
                    closed: frozenset[date]) -> BusinessCalendar:
    """Calendars are built once per (plan, time zone): their holiday tables and day cache are reused."""
    return BusinessCalendar(windows, timezone, country, subdivision, closed)


def format_duration(value: timedelta) -> str:
    """``1 h 30 min``, ``45 min``, ``48 h``: business time in hours, never days, since
    a "day" of business time would read as 24 hours. Units are the same in English and Spanish."""
    minutes = int(abs(value).total_seconds() // 60)
    hours, mins = divmod(minutes, 60)
    parts = [f"{hours} h" if hours else "", f"{mins} min" if mins else ""]
    return " ".join(p for p in parts if p) or "0 min"
