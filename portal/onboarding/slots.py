"""Free one-hour slots from the experts' weekly availability.

Availability is kept as wall-clock times in each expert's own time zone, so
"Mondays 09:00-12:00 in Madrid" stays 09:00 across DST changes; each slot is
converted to UTC on its own day. Slots that fall into a spring-forward gap do
not exist and are skipped; in an autumn overlap the first occurrence is used.
Days off and the public holidays of the expert's region are skipped whole, by
the expert's local date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..extensions import db
from .availability import holidays_between
from .models import ExpertProfile, OnboardingSession, SessionStatus


@dataclass(frozen=True)
class Slot:
    expert_id: int
    expert_name: str
    starts_at: datetime  # naive UTC
    ends_at: datetime


def _to_utc(day: date, minute: int, zone: ZoneInfo) -> datetime | None:
    """Local wall time to naive UTC, or None when that wall time does not exist (DST gap)."""
    local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
    utc = local.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None
    return utc.replace(tzinfo=None)


def expert_slots(expert: ExpertProfile, start: datetime, end: datetime, length: timedelta) -> list[datetime]:
    """Start times (naive UTC) of the expert's slots of ``length`` that begin in [start, end)."""
    zone = ZoneInfo(expert.timezone)
    first = start.replace(tzinfo=UTC).astimezone(zone).date() - timedelta(days=1)
    last = end.replace(tzinfo=UTC).astimezone(zone).date() + timedelta(days=1)
    off = [(d.starts_on, d.ends_on) for d in expert.days_off]
    holidays = holidays_between(expert, first, last)
    step = int(length.total_seconds() // 60)
    starts = []
    day = first
    while day <= last:
        if day not in holidays and not any(a <= day <= b for a, b in off):
            for rule in expert.rules:
                if rule.weekday != day.weekday():
                    continue
                minute = rule.start_minute
                while minute + step <= rule.end_minute:
                    at = _to_utc(day, minute, zone)
                    if at is not None and start <= at < end:
                        starts.append(at)
                    minute += step
        day += timedelta(days=1)
    return sorted(set(starts))


def free_slots(start: datetime, end: datetime, length: timedelta, not_before: datetime,
               expert_ids: list[int] | None = None) -> list[Slot]:
    """Every expert's free slots starting in [start, end) and not before ``not_before``, earliest first."""
    query = select(ExpertProfile).where(ExpertProfile.active.is_(True))
    if expert_ids is not None:
        query = query.where(ExpertProfile.user_id.in_(expert_ids))
    experts = db.session.scalars(query).all()
    booked = set(db.session.execute(
        select(OnboardingSession.expert_id, OnboardingSession.starts_at, OnboardingSession.ends_at).where(
            OnboardingSession.status != SessionStatus.CANCELLED.value,
            OnboardingSession.starts_at < end + length, OnboardingSession.ends_at > start - length)
    ).all())
    slots = []
    for expert in experts:
        busy = [(s, e) for x, s, e in booked if x == expert.user_id]
        for at in expert_slots(expert, max(start, not_before), end, length):
            if any(s < at + length and at < e for s, e in busy):
                continue
            slots.append(Slot(expert.user_id, expert.user.name, at, at + length))
    return sorted(slots, key=lambda s: (s.starts_at, s.expert_name))
