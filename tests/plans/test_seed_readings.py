"""Each example plans file's reading of its seed policy, computed from the file itself."""

from datetime import datetime

import pytest

from portal.plans.catalog import load_plans
from portal.plans.sla import deadline
from tests.plans.conftest import EXAMPLES

# Monday 30 November 2026, 10:00 in Madrid (09:00 UTC), and Friday 4 December, 11:00 Madrid.
MONDAY_10 = datetime(2026, 11, 30, 9, 0)
FRIDAY_11 = datetime(2026, 12, 4, 10, 0)


def _due(file, plan, key, filed, zone="Europe/Madrid"):
    found = load_plans(EXAMPLES / file)[plan]
    target = found.response_target(*key)
    return deadline(found.calendar(zone), filed, target)


def test_seed_000_answers_in_calendar_hours_and_promises_daily_updates():
    # "Technical issue: 2 hours; feature and training requests: 48 hours", no business hours named.
    assert _due("per-category.toml", "subscription", ("P3", "technical_issue"), MONDAY_10) == datetime(2026, 11, 30, 11)
    assert _due("per-category.toml", "subscription", ("P3", "feature_request"), FRIDAY_11) == datetime(2026, 12, 6, 10)
    plan = load_plans(EXAMPLES / "per-category.toml")["subscription"]
    update = plan.update_target("P2", "technical_issue")
    assert update.unit == "business_days" and update.days == 1
    assert plan.update_target("P2", "feature_request") is None  # the evaluation state is the update
    # An update promised on Friday at 11:00 is due on Monday at 11:00 (7 December is a Madrid holiday: Tuesday).
    assert deadline(plan.calendar("Europe/Madrid"), FRIDAY_11, update) == datetime(2026, 12, 9, 10)


def test_seed_001_monthly_answers_in_one_to_two_working_days_and_solved_tickets_close_in_ten():
    # "24 to 48 hours, 8:00-18:00 Monday to Friday": by the same time on the second working day.
    assert _due("support-levels.toml", "monthly", ("P3", "question"), FRIDAY_11) == datetime(2026, 12, 8, 10)
    assert _due("support-levels.toml", "monthly", ("P3", "question"), MONDAY_10) == datetime(2026, 12, 2, 9)
    # "3 to 6 hours in 8:00-18:00 Monday to Sunday": business hours, weekends open.
    assert _due("support-levels.toml", "preferential", ("P3", "question"), datetime(2026, 12, 5, 16, 0)) == \
        datetime(2026, 12, 6, 12, 0)  # Saturday 17:00 Madrid: 1 h on Saturday, 5 h on Sunday from 08:00
    for plan in load_plans(EXAMPLES / "support-levels.toml").values():
        assert plan.spec.lifecycle.solved_autoclose_days == 10


def test_seed_004_community_users_are_served_on_a_best_effort_basis():
    plans = load_plans(EXAMPLES / "priority-matrix.toml")
    assert plans["community"].best_effort and not plans["premium"].best_effort
    assert "phone" not in plans["community"].spec.channels


@pytest.mark.parametrize("plan, rule", [("dedicated", "best_effort")])
def test_seed_002_serves_without_a_clock_once_the_hours_are_used_up(plan, rule):
    assert load_plans(EXAMPLES / "prepaid-hours.toml")[plan].spec.support_hours.when_used_up == rule
