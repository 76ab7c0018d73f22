"""The demo data shows a scheduled visit: Sam at Nubes (Premium, two visit days a week) on the first
working day after the demo's "now" that is no Madrid holiday of his."""

from datetime import date

import pytest

from portal.auth import services as accounts
from portal.demo import seed_demo
from portal.visits import services as visits


@pytest.fixture
def app_settings() -> dict:
    return {}  # the shipped plans, as `portal seed-demo` has them


@pytest.mark.instants("wednesday-10:00-utc", "saturday-11:00-utc")
def test_the_demo_has_one_scheduled_visit_after_now(app, now):
    seed_demo(now)
    nubes = accounts.organization_by_name("Nubes y Datos S.L.")
    (visit,), past = visits.visits_of(nubes)
    expected = {date(2026, 12, 2): date(2026, 12, 3), date(2026, 12, 5): date(2026, 12, 9)}[now.date()]
    assert past == [] and visit.day == expected and visit.consultant.email == "agent@portal.example.com"
    assert visits.days_per_week(nubes, visit.day) == 2
