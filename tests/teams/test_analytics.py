"""Analytics per team: tickets filed in the period, first responses on time (an unanswered ticket
past its target counts as missed), and the backlog now; on the page and as CSV."""

import csv
import io
from datetime import timedelta

from portal.agent import analytics
from portal.auth.models import Role
from portal.extensions import db
from portal.teams import services
from portal.tickets import services as tickets
from tests.factories import gen_org, gen_ticket, gen_user


def _figures(now):
    accounting = services.create_team("accounting", "Accounting", "Contabilidad")
    services.create_team("integrations", "Integrations")
    services.set_active(services.create_team("old", "Old"), False)
    customer = gen_user(org=gen_org(plan="premium", timezone="UTC"))  # 24x7: P3 answered within 4 hours
    agent = gen_user(Role.AGENT)

    def filed(hours_ago, team=accounting, answered_after=None):
        ticket = gen_ticket(customer, now=now - timedelta(hours=hours_ago))
        ticket.team = team
        db.session.commit()
        if answered_after is not None:
            tickets.reply(ticket, agent, "Looking into it.", now=ticket.created_at + timedelta(hours=answered_after))
        return ticket

    on_time = filed(10, answered_after=1)
    filed(10, answered_after=5)  # late
    filed(1)  # not due yet: not counted either way
    filed(10)  # unanswered past its target: missed
    filed(24 * 40, answered_after=1)  # before the period: only in the backlog
    filed(24 * 40, team=None)
    tickets.change_status(on_time, agent, "closed")


def test_volume_first_response_on_time_and_backlog_per_team(app, now):
    _figures(now)
    rows = analytics.by_team(now - timedelta(days=30), now)
    assert [(r.team.key if r.team else None, r.filed, r.responses_due, r.on_time, r.on_time_rate, r.backlog)
            for r in rows] == [
        ("accounting", 4, 3, 1, 0.333, 4),  # the closed one left the backlog, the old one is still in it
        ("integrations", 0, 0, 0, None, 0),  # an active team shows with nothing
        (None, 0, 0, 0, None, 1),  # "No team"; the inactive team with no figures is left out
    ]


def test_the_page_and_the_csv(app, client, auth, now):
    _figures(now)
    auth.login(gen_user(Role.AGENT).email)
    page = client.get("/agent/analytics?days=30").get_data(as_text=True)
    assert "Per team" in page and "<td>Accounting</td><td>4</td><td>1 / 3" in page and "No team" in page
    response = client.get("/agent/analytics/teams.csv?days=30")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["team", "name", "filed", "first_responses_due", "first_responses_on_time", "on_time_rate",
                       "backlog"]
    assert rows[1] == ["accounting", "Accounting", "4", "3", "1", "0.333", "4"]
    assert rows[-1] == ["", "No team", "0", "0", "0", "", "1"]
    spanish = client.get("/agent/analytics?days=30", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "<td>Contabilidad</td>" in spanish
    auth.logout()
    auth.login(gen_user(Role.CUSTOMER).email)
    assert client.get("/agent/analytics/teams.csv").status_code == 403
