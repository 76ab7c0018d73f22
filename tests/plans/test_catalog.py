"""Plans as data: the shipped file, one example per seed policy, and clear errors."""

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from portal.plans.catalog import PlansError, Target, load_plans

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "plans"
H = timedelta(hours=1)


def test_the_shipped_default_holds_the_priority_matrix_policy_and_a_prepaid_plan():
    shipped, example = load_plans(), load_plans(EXAMPLES / "priority-matrix.toml")
    assert shipped.keys() == {"standard", "premium", "prepaid"}
    for key in ("standard", "premium"):
        assert shipped[key].spec.response == example[key].spec.response
        assert shipped[key].spec.calendar == example[key].spec.calendar
    assert shipped["prepaid"].spec.support_hours.minimum_minutes_with_development == 60


def test_priority_matrix_policy_standard_and_premium_targets_and_hours():
    """Seed 004: standard P1 1 h, P2 3 h, P3 8 h, P4 24 h, Mon-Fri 8-17 local time;
    premium 15 min, 60 min, 4 h, 8 h, 24x7x365."""
    plans = load_plans(EXAMPLES / "priority-matrix.toml")
    standard, premium = plans["standard"], plans["premium"]
    assert [standard.response_target(p, "question").due for p in ("P1", "P2", "P3", "P4")] == [H, 3 * H, 8 * H, 24 * H]
    assert [premium.response_target(p, "question").due for p in ("P1", "P2", "P3", "P4")] == [
        timedelta(minutes=15), timedelta(minutes=60), 4 * H, 8 * H]
    # Standard hours follow the customer's own time zone: 8:00-17:00 local.
    tokyo = standard.calendar("Asia/Tokyo")
    friday_1630 = datetime(2026, 11, 27, 7, 30)  # 16:30 in Tokyo
    assert tokyo.add(friday_1630, H) == datetime(2026, 11, 29, 23, 30)  # Monday 08:30 in Tokyo
    always = premium.calendar("Asia/Tokyo")
    assert always.add(friday_1630, 8 * H) == friday_1630 + 8 * H
    assert "account_manager" in premium.spec.channels and premium.spec.onboarding == "premium"


def test_support_levels_policy_ranges_quota_and_validity():
    """Seed 001: monthly 24-48 h Mon-Fri 8-18 with 40 tickets a month for six
    months after go-live; preferential 3-6 h and accompaniment 1-3 h Mon-Sun 8-18."""
    plans = load_plans(EXAMPLES / "support-levels.toml")
    monthly = plans["monthly"]
    assert monthly.response_target("P4", "question") == Target(2 * 24 * H, 24 * H, "business_days")  # 1 to 2 working days
    assert monthly.spec.tickets_per_month == 40 and monthly.spec.valid_months == 6
    assert plans["preferential"].response_target("P1", "technical_issue") == Target(6 * H, 3 * H)
    assert plans["accompaniment"].response_target("P1", "technical_issue") == Target(3 * H, 1 * H)
    assert plans["preferential"].spec.tickets_per_month is None
    assert {"phone", "chat"} <= set(plans["preferential"].spec.channels)
    assert len(monthly.spec.not_included) == 3
    saturday_9 = datetime(2026, 11, 28, 8, 0)  # 09:00 in Madrid
    assert monthly.calendar("Europe/Madrid").add(saturday_9, H) == datetime(2026, 11, 30, 8, 0)  # Monday 9:00
    assert plans["preferential"].calendar("Europe/Madrid").add(saturday_9, H) == saturday_9 + H


def test_per_category_policy_targets():
    """Seed 000: technical issue 2 h, feature request 48 h, training request 48 h; four onboarding sessions."""
    plan = load_plans(EXAMPLES / "per-category.toml")["subscription"]
    assert plan.targets_by == "category"
    assert plan.response_target("P1", "technical_issue").due == 2 * H
    assert plan.response_target("P1", "feature_request").due == 48 * H
    assert plan.response_target("P4", "training_request").due == 48 * H
    assert plan.spec.onboarding_sessions == 4 and plan.spec.session_minutes == 60


def test_prepaid_hours_policy_follows_london_bank_holidays():
    """Seed 002: a business day is one on which the City of London's clearing banks are open."""
    plan = load_plans(EXAMPLES / "prepaid-hours.toml")["dedicated"]
    calendar = plan.calendar("Asia/Tokyo")  # the plan's own zone, whatever the customer's
    assert calendar.timezone == "Europe/London"
    assert calendar.holiday_name(date(2026, 12, 28))  # Boxing Day (substitute day)
    assert calendar.holiday_name(date(2027, 5, 3))  # Early May bank holiday
    assert calendar.holiday_name(date(2026, 11, 30)) is None  # St Andrew's Day is Scottish only
    # Thursday 24 December 2026, 17:00: a P2 (4 h) is due on Tuesday the 29th at 12:30.
    assert calendar.add(datetime(2026, 12, 24, 17, 0), plan.response_target("P2", "question").due) == datetime(
        2026, 12, 29, 12, 30)
    assert plan.spec.support_hours.hours == 40 and plan.spec.support_hours.period_months == 12


def test_contract_hours_policy_billing_rules():
    """Seed 003: at least 30 minutes per query, 60 once development steps in, our bugs not deducted."""
    from portal.plans.hours import billed_minutes

    rules = load_plans(EXAMPLES / "contract-hours.toml")["contract"].spec.support_hours
    assert billed_minutes(rules, 10, development=False, bug=False) == 30
    assert billed_minutes(rules, 45, development=False, bug=False) == 45
    assert billed_minutes(rules, 10, development=True, bug=False) == 60
    assert billed_minutes(rules, 90, development=True, bug=False) == 90
    assert billed_minutes(rules, 120, development=True, bug=True) == 0
    assert billed_minutes(rules, 0, development=False, bug=False) == 0


def test_errors_name_the_plan_and_the_field(tmp_path):
    bad = tmp_path / "plans.toml"
    bad.write_text("""
[plans.standard]
name = "Standard"
response = { P1 = "1 hour", P2 = "3h" }
tickets_per_month = 0
colour = "blue"
[plans.standard.calendar]
timezone = "Mars/Base"
hours = ["mon-fry 08:00-17:00"]
[plans.Gold]
name = "Gold"
response = { P1 = "2h", technical_issue = "2h" }
[plans.Gold.calendar]
hours = ["always"]
holidays = { country = "XX" }
""")
    with pytest.raises(PlansError) as caught:
        load_plans(bad)
    problems = "\n".join(caught.value.problems)
    assert 'plan "standard", response: P1: \'1 hour\' is not a duration' in problems
    assert 'plan "standard", calendar.timezone: \'Mars/Base\' is not a known time zone' in problems
    assert 'plan "standard", calendar.hours: \'mon-fry\' is not a day' in problems
    assert 'plan "standard", tickets_per_month:' in problems
    assert 'plan "standard", colour: unknown setting' in problems
    assert 'plan "Gold": plan keys are lowercase' in problems
    assert 'plan "Gold", response: targets are keyed by priority' in problems
    assert 'plan "Gold", calendar.holidays: Country XX not available' in problems
    assert 'plan "Gold", name' not in problems

    bad.write_text("[plans.x\nname=")
    with pytest.raises(PlansError, match="not valid TOML"):
        load_plans(bad)
    with pytest.raises(PlansError, match="cannot be read"):
        load_plans(tmp_path / "missing.toml")


def test_a_bad_plans_file_stops_the_start_up(make_app, tmp_path):
    bad = tmp_path / "plans.toml"
    bad.write_text('[plans.standard]\nname = "Standard"\n')
    with pytest.raises(PlansError, match='plan "standard", calendar: is required'):
        make_app(PLANS_FILE=str(bad))


def test_plans_check_command(app, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["plans", "check", str(EXAMPLES / "support-levels.toml")])
    assert result.exit_code == 0 and "monthly: Monthly support | response any 1d-2d | quota 40/month" in result.output
    bad = tmp_path / "plans.toml"
    bad.write_text('[plans.standard]\nname = "Standard"\n')
    result = runner.invoke(args=["plans", "check", str(bad)])
    assert result.exit_code == 1 and 'plan "standard", calendar: is required' in result.output


# --- priority schemes and required fields ----------------------------------------------

def test_seed_002_uses_its_severity_levels_and_seed_004_the_matrix():
    dedicated = load_plans(EXAMPLES / "prepaid-hours.toml")["dedicated"].spec
    assert dedicated.priority.scheme == "severity" and dedicated.priority.choices() == ("P1", "P2", "P3", "P4")
    one, two = dedicated.priority.level("P1"), dedicated.priority.level("P2")
    assert one.name == "Severity 1" and "mission-critical" in one.definition
    assert any("UAT" in case for case in one.not_for) and any("third-party" in case for case in two.not_for)
    assert not any("UAT" in case for case in two.not_for)  # the policy excludes pre-UAT systems from Severity 1 only
    assert dedicated.priority.level("P4").not_for == []
    for key, plan in load_plans(EXAMPLES / "priority-matrix.toml").items():
        assert plan.spec.priority.scheme == "matrix"


def test_technical_issue_fields_are_seed_001s_rule_and_the_shipped_default():
    for plan in load_plans().values():
        assert plan.spec.tickets.technical_issue_requires == ["steps_to_reproduce", "affected_account"]
        assert plan.spec.priority.scheme == "matrix"
    for plan in load_plans(EXAMPLES / "support-levels.toml").values():
        assert plan.spec.tickets.technical_issue_requires == ["steps_to_reproduce", "affected_account"]
    for name in ("priority-matrix.toml", "prepaid-hours.toml", "per-category.toml", "contract-hours.toml"):
        assert all(p.spec.tickets.technical_issue_requires == [] for p in load_plans(EXAMPLES / name).values())


PLAN = '[plans.x]\nname = "X"\ncalendar = { hours = ["always"] }\n'


@pytest.mark.parametrize("scheme, message", [
    ('priority = { scheme = "stars" }', "priority.scheme: Input should be 'matrix', 'severity' or 'fixed'"),
    ('priority = { scheme = "severity" }', 'priority: scheme "severity" needs its levels'),
    ('priority = { scheme = "fixed" }', 'priority: scheme "fixed" needs the priority every ticket gets'),
    ('priority = { scheme = "matrix", fixed = "P2" }', 'priority: fixed is for scheme "fixed", not "matrix"'),
    ('priority = { scheme = "severity", levels = [{ priority = "P1", name = "S1", definition = "Down." }, '
     '{ priority = "P1", name = "S2", definition = "Slow." }] }', "priority: each severity level stands for its own priority"),
    ('priority = { scheme = "severity", levels = [{ priority = "P5", name = "S1", definition = "Down." }] }',
     "priority.levels.0.priority: Input should be 'P1', 'P2', 'P3' or 'P4'"),
    ('tickets = { technical_issue_requires = ["screenshots"] }', "tickets.technical_issue_requires.0: Input should be"),
])
def test_plans_check_refuses_a_bad_priority_scheme(app, tmp_path, scheme, message):
    bad = tmp_path / "plans.toml"
    bad.write_text(PLAN + scheme + "\n")
    result = app.test_cli_runner().invoke(args=["plans", "check", str(bad)])
    assert result.exit_code == 1 and f'plan "x", {message}' in result.output, result.output


def test_a_table_keyed_by_priority_names_all_four(app, tmp_path):
    # An agent may re-classify a ticket to any priority: it must keep a first-response clock.
    bad = tmp_path / "plans.toml"
    bad.write_text(PLAN + 'response = { P3 = "8h" }\npriority = { scheme = "fixed", fixed = "P3" }\n')
    result = app.test_cli_runner().invoke(args=["plans", "check", str(bad)])
    assert result.exit_code == 1, result.output
    assert 'plan "x": response: a table keyed by priority needs every priority (P1-P4); missing P1, P2, P4' in \
        result.output and 'response = { any = "8h" }' in result.output


def test_plans_check_accepts_every_scheme(app, tmp_path):
    good = tmp_path / "plans.toml"
    good.write_text(PLAN + 'priority = { scheme = "fixed", fixed = "P3" }\n'
                    '[plans.y]\nname = "Y"\ncalendar = { hours = ["always"] }\n'
                    'priority = { scheme = "severity", levels = [{ priority = "P2", name = "Major", '
                    'definition = "Slow.", not_for = ["Demo systems."] }] }\n')
    result = app.test_cli_runner().invoke(args=["plans", "check", str(good)])
    assert result.exit_code == 0, result.output
