"""Analytics from recorded events: deflection per week and article, votes, searches, SLA, backlog."""

import csv
import io
from datetime import datetime, timedelta

from portal.agent import analytics
from portal.auth.models import Role, utcnow
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


def test_deflection_rate_per_week_and_per_article(app):
    _deflections()
    since = utcnow() - timedelta(days=7)
    [week] = analytics.deflection_by_week(since)
    assert (week.suggested, week.deflected, week.filed, week.rate) == (3, 1, 1, 0.5)
    assert week.week == (utcnow().date() - timedelta(days=utcnow().weekday())).isoformat()  # its Monday
    db.session.add_all([ArticleVote(slug="reset-password", voter=f"v{i}", helpful=i < 3) for i in range(4)])
    db.session.commit()
    rows = {a.slug: a for a in analytics.articles(since)}
    reset = rows["reset-password"]
    assert (reset.shown, reset.opened, reset.rejected, reset.solved) == (3, 1, 1, 1)
    assert reset.deflection_rate == 0.333 and reset.helpfulness == 0.75
    assert rows["sign-in"].shown == 3 and rows["sign-in"].solved == 0


def test_searches_sla_and_backlog(app):
    kb.record_search("zeppelin parking", "en", 0)
    kb.record_search("reset password", "en", 4)
    figures = analytics.searches(utcnow() - timedelta(days=30))
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
    tickets.change_status(late, agent, "closed")
    backlog = analytics.backlog_by_week(MONDAY - timedelta(days=1))
    assert backlog[0][:2] == ("2026-11-16", 3) and sum(closed for _w, _f, closed in backlog) == 1


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
