"""The queue's team filter: "my teams" by default for an agent in a team (their teams' tickets,
those of no team and their own), everything for an agent in none; all, no team, one team; the
team shown in each row and in the filter bar; keyset pages within a team."""

import re
from datetime import timedelta

import pytest

from portal.agent import services as queue
from portal.auth.models import Role
from portal.extensions import db
from portal.teams import services
from portal.tickets import services as tickets
from tests.conftest import csrf_token
from tests.factories import gen_org, gen_ticket, gen_user


@pytest.fixture
def board(app, now):
    accounting = services.create_team("accounting", "Accounting", "Contabilidad")
    integrations = services.create_team("integrations", "Integrations")
    sam, lee, newcomer = gen_user(Role.AGENT, name="Sam"), gen_user(Role.AGENT, name="Lee"), gen_user(Role.AGENT)
    services.add_member(accounting, sam)
    services.add_member(integrations, lee)
    customer = gen_user(org=gen_org(plan="premium", timezone="UTC"))
    filed = {}
    for n, (name, team) in enumerate((("invoice", accounting), ("api", integrations), ("free", None),
                                      ("lee-in-accounting", accounting))):
        ticket = gen_ticket(customer, subject=f"Ticket {name}", now=now - timedelta(minutes=n))
        ticket.team = team
        filed[name] = ticket
    db.session.commit()
    return dict(accounting=accounting, integrations=integrations, sam=sam, lee=lee, newcomer=newcomer, **filed)


def _refs(agent, **filters):
    rows, _cursor = queue.queue(agent, queue.Filters(**filters))
    return sorted(t.subject.removeprefix("Ticket ") for t in rows)


def test_the_default_is_my_teams_for_an_agent_in_one_and_everything_otherwise(board):
    sam, lee = board["sam"], board["lee"]
    assert _refs(sam) == ["free", "invoice", "lee-in-accounting"]
    services.add_member(board["accounting"], lee)
    tickets.assign(board["lee-in-accounting"], lee, lee)
    services.remove_member(board["accounting"], lee)
    # Lee left Accounting: the ticket Lee still has stays in view.
    assert _refs(lee) == ["api", "free", "lee-in-accounting"]
    assert _refs(board["newcomer"]) == ["api", "free", "invoice", "lee-in-accounting"]
    assert _refs(sam, team="mine") == _refs(sam)


def test_all_no_team_or_one_team(board):
    sam = board["sam"]
    assert _refs(sam, team="all") == ["api", "free", "invoice", "lee-in-accounting"]
    assert _refs(sam, team="none") == ["free"]
    assert _refs(sam, team=str(board["integrations"].id)) == ["api"]
    for bad in ("nonsense", "999999"):
        with pytest.raises(queue.DomainError) as caught:
            _refs(sam, team=bad)
        assert caught.value.field == "team"


def test_keyset_pages_within_a_team(board, now):
    accounting, sam = board["accounting"], board["sam"]
    customer = board["invoice"].requester
    for n in range(7):
        ticket = gen_ticket(customer, subject=f"Ticket more-{n}", now=now - timedelta(minutes=10 + n))
        ticket.team = accounting
    db.session.commit()
    seen, cursor = [], None
    while True:
        rows, cursor = queue.queue(sam, queue.Filters(team=str(accounting.id)), queue.parse_cursor(cursor), limit=4)
        seen += [t.reference for t in rows]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 9


def test_the_page_shows_the_team_in_rows_and_filter_bar(board, client, auth):
    auth.login(board["sam"].email)
    page = client.get("/agent/").get_data(as_text=True)
    assert '<option value="">My teams</option>' in page and '<option value="all" >All teams</option>' in page
    row = re.search(rf'data-ref="{board["invoice"].reference}".*?</tr>', page, re.S).group(0)
    assert '<span class="team-flag">Accounting</span>' in row
    assert board["api"].reference not in page
    fragment = client.get("/agent/?team=all", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and board["api"].reference in fragment
    spanish = client.get("/agent/?team=all", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert '<span class="team-flag">Contabilidad</span>' in spanish
    response = client.get("/agent/?team=%3Cb%3E")
    assert response.status_code == 422 and "Unknown team filter: choose a team from the list." in \
        response.get_data(as_text=True)


def test_an_agent_in_no_team_sees_all_teams_by_default(board, client, auth):
    auth.login(board["newcomer"].email)
    page = client.get("/agent/").get_data(as_text=True)
    assert '<option value="">All teams</option>' in page and "My teams" not in page
    assert all(board[name].reference in page for name in ("invoice", "api", "free"))


def test_claiming_from_another_team_is_refused_with_the_reason(board, client, auth):
    auth.login(board["sam"].email)
    token = csrf_token(client, "/agent/")
    client.post(f"/agent/claim/{board['api'].reference}", data={"csrf_token": token})
    assert "Sam is not in the Integrations team" in client.get("/agent/").get_data(as_text=True)
    db.session.refresh(board["api"])
    assert board["api"].assignee_id is None
