from datetime import date, datetime, timedelta

import pytest

from portal.auth.models import Role
from portal.onboarding import services
from tests.factories import gen_org, gen_user


@pytest.fixture
def expert(app):
    """An agent bookable Monday to Friday 09:00-12:00 in Madrid."""
    user = gen_user(Role.AGENT, name="Eva Expert")
    profile = services.make_expert(user, "Europe/Madrid", "https://meet.example.com/eva")
    services.set_availability(profile, ["mon-fri 09:00-12:00"])
    return profile


def new_customer(started_on: date, timezone: str = "Europe/Madrid", plan: str = "standard", role=Role.CUSTOMER):
    org = gen_org(plan=plan, timezone=timezone, started_on=started_on)
    return gen_user(role, org=org)


# Monday 30 November 2026, 06:00 UTC: the "now" of the service tests.
NOW = datetime(2026, 11, 30, 6, 0)
START = date(2026, 11, 30)  # the subscription starts that Monday
H = timedelta(hours=1)
