"""Analytics from recorded events: deflection per week and article, votes, searches, SLA, backlog."""

import csv
import re
import io
from datetime import datetime, timedelta

import pytest

from portal.agent import analytics
from portal.auth.models import Role
from portal.extensions import db
from portal.kb import services as kb
from portal.kb.models import ArticleVote, SearchEvent
from portal.tickets import services as tickets
from tests.factories import gen_org, gen_ticket, gen_user

MONDAY = datetime(2026, 11, 16, 10, 0)


def _deflections():
    customer = gen_user(Role.CUSTOMER)
    for n in range(3):  # three forms showed "reset-password"; one was solved by it
        tickets.record_suggestions(customer, f"draft-{n}", ["reset-password", "sign-in"], "shown")
    tickets.record_suggestions(customer, "draft-0", ["reset-password"], "opened")
    tickets.record_suggestions(customer, "draft-0", ["reset-password"], "solved")
    tickets.record_suggestions(customer, "draft-1", ["reset-password"], "rejected")
    gen_ticket(customer, submission_key="draft-1")  # filed anyway, with its suggestions
    return customer


@pytest.mark.instants
def test_deflection_rate_per_week_and_per_article(app, now):
    _deflections()
    since = now - timedelta(days=7)
    [week] = analytics.deflection_by_week(since)
    assert (week.suggested, week.deflected, week.filed, week.rate) == (3, 1, 1, 0.5)
    assert week.week == (now.date() - timedelta(days=now.weekday())).isoformat()  # its Monday
    db.session.add_all([ArticleVote(slug="reset-password", voter=f"v{i}", helpful=i < 3) for i in range(4)])
    db.session.commit()
    rows = {a.slug: a for a in analytics.articles(since)}
    reset = rows["reset-password"]
    assert (reset.shown, reset.opened, reset.rejected, reset.solved) == (3, 1, 1, 1)
    assert reset.deflection_rate == 0.333 and reset.helpfulness == 0.75
    assert rows["sign-in"].shown == 3 and rows["sign-in"].solved == 0


@pytest.mark.instants
def test_searches_sla_and_backlog(app, now):
    kb.record_search("zeppelin parking", "en", 0)
    kb.record_search("reset password", "en", 4)
    figures = analytics.searches(now - timedelta(days=30))
    assert (figures.searches, figures.without_results) == (2, 1) and figures.gaps[0][0] == "zeppelin parking"

    org = gen_org(plan="premium", timezone="UTC")  # P1: 15 minutes
    customer, agent = gen_user(Role.CUSTOMER, org=org), gen_user(Role.AGENT)
    quick = gen_ticket(customer, impact="high", urgency="high", now=MONDAY)
    late = gen_ticket(customer, impact="high", urgency="high", now=MONDAY)
    gen_ticket(customer, impact="high", urgency="high", now=MONDAY)  # not answered yet
    tickets.reply(quick, agent, "On it.", now=MONDAY + timedelta(minutes=5))
    tickets.reply(late, agent, "Sorry for the wait.", now=MONDAY + timedelta(minutes=45))
    [row] = analytics.sla_compliance(MONDAY - timedelta(days=1))
    assert (row.plan, row.priority, row.tickets, row.answered, row.on_time) == ("premium", "P1", 3, 2, 1)
    assert row.compliance == 0.5 and row.median_first_response == 25.0
    tickets.change_status(late, agent, "closed", now=MONDAY + timedelta(hours=1))  # a week of its own backlog
    backlog = analytics.backlog_by_week(MONDAY - timedelta(days=1))
    assert backlog[0][:2] == ("2026-11-16", 3) and sum(closed for _w, _f, closed in backlog) == 1


@pytest.mark.instants
def test_the_page_and_csv_for_writers_but_not_customers(app, client, auth):
    _deflections()
    db.session.add(SearchEvent(query="=cmd", normalized="=cmd", lang="en", result_count=0))
    db.session.commit()
    auth.login(gen_user(Role.WRITER).email)
    page = client.get("/agent/analytics").get_data(as_text=True)
    assert "Deflection per week" in page and '<svg class="chart"' in page and "50 %" in page
    assert "reset-password" in page and "=cmd" in page
    rows = list(csv.reader(io.StringIO(client.get("/agent/analytics/deflection.csv").get_data(as_text=True))))
    assert rows[0][0] == "week" and rows[1][1:] == ["3", "1", "1", "0.5"]
    gaps = client.get("/agent/analytics/gaps.csv").get_data(as_text=True)
    assert "'=cmd" in gaps
    for section in ("articles", "sla", "backlog"):
        assert client.get(f"/agent/analytics/{section}.csv").status_code == 200
    assert client.get("/agent/analytics/secrets.csv").status_code == 404
    assert client.get("/agent/").status_code == 403  # writers see analytics, not tickets
    auth.logout()
    auth.login(gen_user(Role.CUSTOMER).email)
    assert client.get("/agent/analytics").status_code == 403


def _search(text, results, at):
    db.session.add(SearchEvent(query=text, normalized=text, lang="en", result_count=results, created_at=at,
                               updated_at=at))
    db.session.commit()


@pytest.mark.instants
def test_the_rollup_counts_ended_days_and_the_figures_stay_the_same(app, now):
    today = now.date()
    midnight = datetime.combine(today, datetime.min.time())
    _search("zeppelin parking", 0, midnight - timedelta(days=3, hours=-1))
    _search("zeppelin parking", 0, midnight - timedelta(days=2, hours=-5))
    _search("export csv", 3, midnight - timedelta(days=2, hours=-6))
    _search("quantum billing", 0, midnight - timedelta(minutes=1))  # just before midnight
    _search("zeppelin parking", 0, midnight + timedelta(minutes=5))  # today: not counted yet
    since = today - timedelta(days=7)
    before = (kb.search_totals(since), kb.content_gaps(since))
    assert before[0] == (5, 4) and before[1][0][:2] == ("zeppelin parking", 3)

    counted = kb.rollup_searches(today)
    assert counted == [today - timedelta(days=n) for n in (3, 2, 1)]
    assert (kb.search_totals(since), kb.content_gaps(since)) == before  # the day rows plus today's searches
    # What a later run does: the last counted day is counted again, earlier ones are kept.
    refined = db.session.query(SearchEvent).filter_by(normalized="quantum billing").one()
    refined.query = refined.normalized = "quantum billing export"
    refined.result_count = 2  # refined after midnight into a search that finds articles
    db.session.commit()
    assert kb.rollup_searches(today) == [today - timedelta(days=1)]
    assert kb.search_totals(since) == (5, 3)
    assert [q for q, _n, _last in kb.content_gaps(since)] == ["zeppelin parking"]
    assert kb.rollup_searches(today) == [today - timedelta(days=1)]  # repeatable: same rows, no duplicates
    assert kb.search_totals(since) == (5, 3)
    # A period that starts inside the counted days reads only the days it covers.
    assert kb.search_totals(today - timedelta(days=2)) == (4, 2)
    # Analytics of a later day read the counted days that day, and its own searches after them.
    assert kb.rollup_searches(today + timedelta(days=1)) == [today - timedelta(days=1), today]
    assert kb.search_totals(since) == (5, 3)


@pytest.mark.instants
def test_the_rollup_command(app, runner, now):
    assert "Nothing to count" in runner.invoke(args=["analytics", "rollup"]).output
    _search("zeppelin parking", 0, now - timedelta(days=2))
    out = runner.invoke(args=["analytics", "rollup"]).output
    assert "Counted 2 day(s) of searches" in out and (now.date() - timedelta(days=2)).isoformat() in out


def test_median_first_response_and_resolutions_on_time(app):
    org = gen_org(plan="premium", timezone="UTC")
    customer, agent = gen_user(Role.CUSTOMER, org=org), gen_user(Role.AGENT)
    filed = [gen_ticket(customer, impact="high", urgency="high", now=MONDAY) for _ in range(3)]
    for ticket, minutes in zip(filed, (40, 5, 10), strict=True):
        tickets.reply(ticket, agent, "On it.", now=MONDAY + timedelta(minutes=minutes))
    # A resolution target (plans may have one): one solved in time, one late, one still open.
    for ticket, solved in zip(filed, (MONDAY + timedelta(hours=3), MONDAY + timedelta(hours=9), None), strict=True):
        ticket.resolution_due, ticket.solved_at = MONDAY + timedelta(hours=8), solved
    db.session.commit()
    [row] = analytics.sla_compliance(MONDAY - timedelta(days=1))
    assert row.median_first_response == 10.0  # of 5, 10 and 40 minutes: the middle one
    assert (row.on_time, row.compliance) == (2, 0.667)
    assert (row.with_resolution_target, row.resolved, row.resolved_on_time, row.resolution_compliance) == \
        (3, 2, 1, 0.5)


@pytest.mark.instants
def test_onboarding_scores_on_the_page_and_in_csv(app, client, auth, now):
    from portal.onboarding import services as onboarding
    from portal.onboarding.models import OnboardingSession
    from portal.onboarding.report import scores_by_month

    expert = onboarding.make_expert(gen_user(Role.AGENT), "UTC", "https://meet.example.com/x")
    onboarding.set_availability(expert, ["mon-fri 09:00-12:00"])
    customer = gen_user(Role.CUSTOMER, org=gen_org(started_on=(now - timedelta(days=40)).date()))
    held_at = (now - timedelta(days=3)).replace(hour=12, minute=0)  # both sessions on one day, one month
    for rating in (5, 4):
        db.session.add(OnboardingSession(organization_id=customer.organization_id, expert_id=expert.user_id,
                                         week=1 if rating == 5 else 2, starts_at=held_at, ends_at=held_at,
                                         feature_area="tickets", status="held", rating=rating,
                                         booked_by_id=customer.id))
        held_at -= timedelta(hours=1)
    db.session.commit()
    [month] = scores_by_month(now - timedelta(days=30))
    assert (month.sessions.count, month.sessions.mean("rating"), month.program.count) == (2, 4.5, 0)
    auth.login(gen_user(Role.WRITER).email)
    page = client.get("/agent/analytics?days=30").get_data(as_text=True)
    assert "Onboarding feedback" in page and "4.5" in page
    assert page.count('id="onboarding-title"') == 1 and "<title>Analytics" in page
    rows = list(csv.reader(io.StringIO(client.get("/agent/analytics/onboarding.csv?days=30").get_data(as_text=True))))
    assert rows[0][:3] == ["month", "sessions_rated", "session_rating"] and rows[1][1:3] == ["2", "4.5"]


@pytest.mark.instants
def test_tickets_by_channel_per_week_on_the_page_and_in_csv(app, client, auth, now):
    customer = gen_user(Role.CUSTOMER)
    last_week = now - timedelta(days=7)
    gen_ticket(customer, now=now)
    gen_ticket(customer, now=now, channel="email")
    gen_ticket(customer, now=now, channel="email")
    gen_ticket(customer, now=now, channel="api")
    gen_ticket(customer, now=last_week)
    gen_ticket(customer, now=now - timedelta(days=400))  # before the window
    this_monday = (now.date() - timedelta(days=now.weekday())).isoformat()
    last_monday = (last_week.date() - timedelta(days=last_week.weekday())).isoformat()
    weeks = analytics.channels_by_week(now - timedelta(days=30))
    assert [(w.week, w.web, w.email, w.api) for w in weeks] == [(last_monday, 1, 0, 0), (this_monday, 1, 2, 1)]

    auth.login(gen_user(Role.AGENT).email)
    page = client.get("/agent/analytics?days=30").get_data(as_text=True)
    section = re.search(r'aria-labelledby="channels-title".*?</section>', page, re.S).group(0)
    assert "Tickets by channel" in section and '<svg class="chart"' in section
    assert f"<tr><td>{this_monday}</td><td>1</td><td>2</td><td>1</td><td>0</td><td>0</td><td>0</td></tr>" in section
    assert f"<title>Email, {this_monday}: 2</title>" in section and f"<title>API, {this_monday}: 1</title>" in section
    assert 'href="/agent/analytics/channels.csv?days=30"' in section
    rows = list(csv.reader(io.StringIO(client.get("/agent/analytics/channels.csv?days=30").get_data(as_text=True))))
    assert rows == [["week", "web", "email", "api", "phone", "chat", "visit"],
                    [last_monday, "1", "0", "0", "0", "0", "0"], [this_monday, "1", "2", "1", "0", "0", "0"]]


def test_no_tickets_no_channel_table(app, client, auth):
    auth.login(gen_user(Role.WRITER).email)
    section = re.search(r'aria-labelledby="channels-title".*?</section>',
                        client.get("/agent/analytics").get_data(as_text=True), re.S).group(0)
    assert "No tickets in this period." in section and "<table" not in section
    assert client.get("/agent/analytics/channels.csv").get_data(as_text=True).strip() == "week,web,email,api,phone,chat,visit"
