"""Slot generation from weekly availability: time zones and DST changes."""

from datetime import date, datetime, timedelta

from portal.onboarding.models import AvailabilityRule, DayOff, ExpertProfile
from portal.onboarding.slots import expert_slots

H = timedelta(hours=1)


def _expert(timezone: str, rules, days_off=()):
    profile = ExpertProfile(user_id=1, timezone=timezone, meeting_url="https://x")
    profile.rules = [AvailabilityRule(weekday=d, start_minute=a, end_minute=b) for d, a, b in rules]
    profile.days_off = [DayOff(starts_on=a, ends_on=b) for a, b in days_off]
    return profile


def test_wall_clock_hours_stay_put_across_a_dst_change():
    # Mondays 09:00-11:00 in Madrid: 08:00 UTC in winter, 07:00 UTC in summer (DST began 29 March 2026).
    expert = _expert("Europe/Madrid", [(0, 9 * 60, 11 * 60)])
    slots = expert_slots(expert, datetime(2026, 3, 20), datetime(2026, 4, 1), H)
    assert slots == [datetime(2026, 3, 23, 8), datetime(2026, 3, 23, 9),
                     datetime(2026, 3, 30, 7), datetime(2026, 3, 30, 8)]


def test_slots_inside_a_spring_forward_gap_do_not_exist_and_an_autumn_overlap_counts_once():
    # Sunday 29 March 2026 in Madrid: 02:00-03:00 does not exist. Sunday 25 October: 02:00-03:00 happens twice.
    expert = _expert("Europe/Madrid", [(6, 1 * 60, 4 * 60)])
    spring = expert_slots(expert, datetime(2026, 3, 28), datetime(2026, 3, 30), H)
    assert spring == [datetime(2026, 3, 29, 0), datetime(2026, 3, 29, 1)]  # 01:00 CET and 03:00 CEST
    autumn = expert_slots(expert, datetime(2026, 10, 24), datetime(2026, 10, 26), H)
    assert autumn == [datetime(2026, 10, 24, 23), datetime(2026, 10, 25, 0), datetime(2026, 10, 25, 2)]
    assert len(set(autumn)) == 3


def test_an_expert_far_from_the_customer_and_days_off():
    # New York, Tuesdays 16:00-18:00 = 21:00-23:00 UTC in winter: Wednesday morning in Tokyo.
    expert = _expert("America/New_York", [(1, 16 * 60, 18 * 60)], days_off=[(date(2026, 12, 8), date(2026, 12, 8))])
    slots = expert_slots(expert, datetime(2026, 12, 1), datetime(2026, 12, 16), H)
    assert slots == [datetime(2026, 12, 1, 21), datetime(2026, 12, 1, 22), datetime(2026, 12, 15, 21),
                     datetime(2026, 12, 15, 22)]  # the 8th is a day off


def test_slots_of_a_longer_session_fit_inside_the_window():
    expert = _expert("UTC", [(2, 9 * 60, 12 * 60 + 30)])
    assert expert_slots(expert, datetime(2026, 12, 2), datetime(2026, 12, 3), timedelta(minutes=90)) == [
        datetime(2026, 12, 2, 9), datetime(2026, 12, 2, 10, 30)]
