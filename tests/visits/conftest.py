from pathlib import Path

import pytest

from portal.auth.models import Role
from portal.onboarding import services as onboarding
from tests.factories import gen_org, gen_user

PLANS = Path(__file__).with_name("plans.toml")


@pytest.fixture
def app_settings() -> dict:
    return {"PLANS_FILE": str(PLANS)}


@pytest.fixture
def agent(app):
    return gen_user(Role.AGENT, name="Sam Agent")


@pytest.fixture
def consultant(app):
    """A consultant in Madrid who follows Madrid's public holidays."""
    user = gen_user(Role.AGENT, name="Eva Consultant")
    profile = onboarding.make_expert(user, "Europe/Madrid", "https://meet.example.com/eva")
    onboarding.set_holiday_region(profile, "ES", "MD")
    return user


@pytest.fixture
def org(app):
    return gen_org(plan="onsite")
