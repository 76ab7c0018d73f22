"""Plans over time: the history's rules, the plan in force, and what follows it
(filing, the ticket's plan, hours periods). Every date is fixed; nothing reads the clock."""

from datetime import date, datetime

import pytest

from portal.auth.models import Role
from portal.errors import DomainError
from portal.extensions import db
from portal.plans import history
from portal.tickets import billing
from portal.plans import services as plan_services
from portal.plans.models import TimeEntry
from tests.factories import gen_org, gen_plan, gen_ticket, gen_user

GO_LIVE = date(2026, 1, 15)


def _entries(org):
    return [(e.plan, e.starts_on.isoformat(), e.ends_on and e.ends_on.isoformat(), e.trial)
            for e in plan_services.history(org)]


def test_a_new_organization_has_its_go_live_plan_open_ended(app):
    org = gen_org(plan="standard", started_on=GO_LIVE)
    assert _entries(org) == [("standard", "2026-01-15", None, False)]
    assert plan_services.plan_for(org, datetime(2026, 1, 14, 12)) is None
    assert plan_services.plan_for(org, datetime(2026, 1, 15, 12)).key == "standard"
    assert history.next_change(org, datetime(2026, 6, 1)) is None


def test_a_change_from_a_day_ends_the_open_ended_plan_the_day_before(app):
    org = gen_org(plan="standard", started_on=GO_LIVE)
    admin = gen_user(Role.ADMIN, name="Ada Admin")
    change = history.set_plan(org, "premium", date(2027, 1, 1), note="Order 118", by=admin)
    assert change.ended.plan == "standard" and change.ended.ends_on == date(2026, 12, 31)
    assert _entries(org) == [("standard", "2026-01-15", "2026-12-31", False), ("premium", "2027-01-01", None, False)]
    assert change.entry.set_by.name == "Ada Admin" and change.entry.note == "Order 118"
    assert plan_services.plan_for(org, date(2026, 12, 31)).key == "standard"
    assert plan_services.plan_for(org, date(2027, 1, 1)).key == "premium"
    following = history.next_change(org, datetime(2026, 12, 1))
    assert following.on == date(2027, 1, 1) and following.entry.plan == "premium"


def test_a_trial_needs_its_end_and_leaves_a_gap_until_the_next_change(app):
    org = gen_org(plan="standard", started_on=GO_LIVE)
    with pytest.raises(DomainError, match="A trial needs the day it ends") as refused:
        history.set_plan(org, "premium", date(2027, 1, 1), trial=True)
    assert refused.value.field == "ends_on"
    gen_plan(org, "premium", date(2027, 1, 1), date(2027, 1, 31), trial=True)
    change = history.next_change(org, datetime(2026, 12, 15))
    assert (change.on, change.entry.plan, change.entry.trial) == (date(2027, 1, 1), "premium", True)
    gap = history.next_change(org, datetime(2027, 1, 10))
    assert gap.on == date(2027, 2, 1) and gap.entry is None  # nothing follows the trial yet
    gen_plan(org, "standard", date(2027, 2, 1))
    assert history.next_change(org, datetime(2027, 1, 10)).entry.plan == "standard"


@pytest.mark.parametrize("starts_on, ends_on", [
    (date(2027, 1, 10), date(2027, 1, 20)),  # inside the trial
    (date(2026, 12, 20), date(2027, 1, 5)),  # across its start
    (date(2027, 1, 31), None),  # from its last day, open-ended
    (date(2026, 6, 1), date(2027, 3, 1)),  # around it
])
def test_overlapping_a_bounded_entry_is_refused_and_changes_nothing(app, starts_on, ends_on):
    org = gen_org(plan="standard", started_on=GO_LIVE)
    gen_plan(org, "premium", date(2027, 1, 1), date(2027, 1, 31), trial=True)
    before = _entries(org)
    # (Standard now ends on 2026-12-31: dates reaching into it overlap it first.)
    with pytest.raises(history.PlanOverlap, match=r"These dates overlap (Standard|Premium) from 20\d\d-\d\d-\d\d until"):
        history.set_plan(org, "prepaid", starts_on, ends_on)
    db.session.rollback()
    assert _entries(org) == before


def test_an_unknown_plan_or_an_end_before_the_start_is_refused(app):
    org = gen_org(plan="standard", started_on=GO_LIVE)
    with pytest.raises(DomainError, match="There is no plan 'gold' in the plans file; choose one of: standard") as bad:
        history.set_plan(org, "gold", date(2027, 1, 1))
    assert bad.value.field == "plan"
    with pytest.raises(DomainError, match=r"The last day \(2026-12-31\) comes before the first \(2027-01-01\)"):
        history.set_plan(org, "premium", date(2027, 1, 1), date(2026, 12, 31))
    with pytest.raises(DomainError, match="Give a date between 1900-01-01 and 2999-12-31"):
        history.set_plan(org, "premium", date(9999, 12, 31))
    # The same start as the open-ended entry would leave it no day: an overlap.
    with pytest.raises(history.PlanOverlap):
        history.set_plan(org, "premium", GO_LIVE)
    assert _entries(org) == [("standard", "2026-01-15", None, False)]


def test_a_plan_with_valid_months_ends_by_itself(make_app):
    from tests.plans.conftest import EXAMPLES

    app = make_app(PLANS_FILE=str(EXAMPLES / "support-levels.toml"))
    with app.app_context():
        org = gen_org(plan="monthly", started_on=date(2026, 1, 31))
        assert _entries(org) == [("monthly", "2026-01-31", "2026-07-30", False)]  # seed 001: six months
        gen_plan(org, "preferential", date(2026, 7, 31))  # after it: no overlap
        assert [e[0] for e in _entries(org)] == ["monthly", "preferential"]
        db.session.remove()


def test_filing_needs_a_plan_in_force_on_the_organizations_day(app):
    org = gen_org(plan="standard", started_on=GO_LIVE, timezone="Pacific/Auckland")
    gen_plan(org, "premium", date(2026, 3, 1), date(2026, 3, 31), trial=True)
    org.started_on = date(2026, 3, 1)  # (only the history counts for filing)
    db.session.commit()
    customer = gen_user(Role.CUSTOMER, org=org)
    # 30 March 10:00 UTC is 31 March in Auckland: still in the trial.
    assert gen_ticket(customer, now=datetime(2026, 3, 30, 10, 0)).plan == "premium"
    with pytest.raises(plan_services.PlanExpired, match="Premium plan ended on 2026-03-31"):
        gen_ticket(customer, now=datetime(2026, 3, 31, 12, 0))  # 1 April there
    db.session.rollback()
    lonely = gen_org(plan="standard", started_on=date(2027, 1, 1))
    with pytest.raises(plan_services.PlanExpired, match="support plan starts on 2027-01-01"):
        gen_ticket(gen_user(Role.CUSTOMER, org=lonely), now=datetime(2026, 12, 1, 12, 0))


def test_a_ticket_filed_before_a_change_keeps_its_plans_targets(app):
    org = gen_org(plan="standard", started_on=GO_LIVE, timezone="UTC")
    gen_plan(org, "premium", date(2026, 12, 1))
    customer = gen_user(Role.CUSTOMER, org=org)
    # Monday 30 November, 09:00 UTC: Standard's P1 is 1 business hour.
    before = gen_ticket(customer, impact="high", urgency="high", now=datetime(2026, 11, 30, 9, 0))
    after = gen_ticket(customer, impact="high", urgency="high", now=datetime(2026, 12, 1, 9, 0))
    db.session.expire_all()
    assert before.plan == "standard" and before.first_response_due == datetime(2026, 11, 30, 10, 0)
    assert after.plan == "premium" and after.first_response_due == datetime(2026, 12, 1, 9, 15)
    from portal.plans import sla

    sla.recompute(before)  # a later priority change recomputes with the ticket's own plan
    assert before.first_response_due == datetime(2026, 11, 30, 10, 0)


def test_the_hours_period_counts_from_the_entry_in_force(app):
    org = gen_org(plan="standard", started_on=GO_LIVE)
    gen_plan(org, "prepaid", date(2026, 4, 1), date(2027, 9, 30))
    assert billing.balance(org, date(2026, 3, 31)) is None  # Standard keeps no ledger
    first = billing.balance(org, date(2026, 5, 10))
    assert (first.period.start, first.period.end) == (date(2026, 4, 1), date(2027, 4, 1))
    last = billing.balance(org, date(2027, 5, 10))
    assert (last.period.start, last.period.end) == (date(2027, 4, 1), date(2027, 10, 1))  # cut at the entry's end
    # A renewal is a new entry, and starts a new period.
    gen_plan(org, "prepaid", date(2027, 10, 1), note="Renewal")
    renewed = billing.balance(org, date(2027, 10, 2))
    assert renewed.period.start == date(2027, 10, 1) and renewed.allowance_minutes == 20 * 60
    ticket = gen_ticket(gen_user(Role.CUSTOMER, org=org), now=datetime(2027, 10, 2, 9, 0))
    agent = gen_user(Role.AGENT)
    for day, minutes in ((date(2027, 9, 30), 45), (date(2027, 10, 2), 10)):
        db.session.add(TimeEntry(ticket_id=ticket.id, organization_id=org.id, agent_id=agent.id, minutes=minutes,
                                 worked_on=day))
    db.session.commit()
    assert [line.logged for line in billing.balance(org, date(2027, 10, 2)).lines] == [10]
    assert [line.logged for line in billing.balance(org, date(2027, 9, 30)).lines] == [45]


def test_correcting_the_go_live_moves_the_go_live_plan(make_app):
    from tests.plans.conftest import EXAMPLES

    app = make_app(PLANS_FILE=str(EXAMPLES / "support-levels.toml"))
    with app.app_context():
        org = gen_org(plan="monthly", started_on=date(2026, 1, 15))
        gen_plan(org, "preferential", date(2026, 9, 1))
        history.set_go_live(org, date(2026, 2, 1))
        assert org.started_on == date(2026, 2, 1)
        assert _entries(org)[0] == ("monthly", "2026-02-01", "2026-07-31", False)  # six months from the new date
        history.set_go_live(org, date(2026, 4, 1))  # six months would reach into September: cut before it
        assert _entries(org)[0] == ("monthly", "2026-04-01", "2026-08-31", False)
        with pytest.raises(DomainError, match="The go-live plan ends on 2026-08-31: the go-live date cannot come"):
            history.set_go_live(org, date(2026, 9, 15))  # (that end is no longer the six months' own)
        db.session.rollback()
        assert org.started_on == date(2026, 4, 1)
        other = gen_org(plan="monthly", started_on=date(2026, 1, 15))
        gen_plan(other, "preferential", date(2026, 7, 15))
        with pytest.raises(DomainError, match="must come before the next plan change, Preferential from 2026-07-15"):
            history.set_go_live(other, date(2026, 8, 1))
        db.session.rollback()
        db.session.remove()


def test_the_cli_lists_sets_and_refuses(app, runner):
    org = gen_org(name="Acme", plan="standard", started_on=GO_LIVE)
    result = runner.invoke(args=["org", "set-plan", "acme", "premium", "--from", "2027-01-01", "--until",
                                 "2027-01-31", "--trial", "--note", "Evaluation"])
    assert result.exit_code == 0, result.output
    assert "Acme: Premium from 2027-01-01 until 2027-01-31 (trial)." in result.output
    assert "The previous plan now ends on 2026-12-31: Standard from 2026-01-15 until 2026-12-31." in result.output
    for args, message in (
        (["premium", "--from", "2027-01-15"], "These dates overlap Premium from 2027-01-01 until 2027-01-31"),
        (["gold", "--from", "2027-03-01"], "There is no plan 'gold' in the plans file"),
        (["premium", "--from", "2027-03-01", "--until", "2027-02-01"], "comes before the first (2027-03-01)"),
        (["premium", "--from", "2027-03-01", "--trial"], "A trial needs the day it ends"),
        (["premium", "--from", "March"], "does not match the format"),
    ):
        refused = runner.invoke(args=["org", "set-plan", "Acme", *args])
        assert refused.exit_code != 0 and message in refused.output, (args, refused.output)
        assert "Traceback" not in refused.output
    assert runner.invoke(args=["org", "set-plan", "Nobody", "premium", "--from", "2027-03-01"]).exit_code == 1
    result = runner.invoke(args=["org", "set-go-live", "Acme", "2026-02-01"])
    assert result.exit_code == 0 and "Acme: go-live 2026-02-01; Standard from 2026-02-01 until 2026-12-31." \
        in result.output
    listing = runner.invoke(args=["org", "plans", "Acme"]).output
    assert "2027-01-01 .. 2027-01-31  premium  (trial; Evaluation)" in listing
    db.session.expire_all()
    assert _entries(org) == [("standard", "2026-02-01", "2026-12-31", False),
                             ("premium", "2027-01-01", "2027-01-31", True)]
