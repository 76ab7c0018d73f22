"""The pages: /agent/teams (admins manage, agents read, customers and writers are refused, every
change needs the CSRF token), the ticket page's Team select and history, and the form's product area."""

import re

import pytest
from sqlalchemy import func, select

from portal.auth.models import Role
from portal.extensions import db
from portal.teams import services
from portal.teams.models import Team
from portal.tickets.models import Ticket
from tests.conftest import csrf_token
from tests.factories import gen_org, gen_ticket, gen_user


def test_who_may_see_and_change_the_teams_page(app, client, auth):
    team = services.create_team("accounting", "Accounting")
    assert client.get("/agent/teams/").status_code == 302  # to the sign-in page
    for role in (Role.CUSTOMER, Role.CUSTOMER_ADMIN, Role.WRITER):
        auth.login(gen_user(role).email)
        assert client.get("/agent/teams/").status_code == 403
        token = csrf_token(client)
        assert client.post("/agent/teams/", data={"csrf_token": token, "key": "x", "name": "X"}).status_code == 403
        auth.logout()
    agent = gen_user(Role.AGENT)
    auth.login(agent.email)
    page = client.get("/agent/teams/").get_data(as_text=True)
    assert "Accounting" in page and "Create the team" not in page and "Deactivate" not in page  # read only
    token = csrf_token(client, "/agent/teams/")
    for url in ("/agent/teams/", f"/agent/teams/{team.id}", f"/agent/teams/{team.id}/active",
                f"/agent/teams/{team.id}/members", f"/agent/teams/{team.id}/members/{agent.id}/remove"):
        assert client.post(url, data={"csrf_token": token, "key": "x", "name": "X", "user": agent.id}).status_code \
            == 403, url
    assert [t.key for t in services.all_teams()] == ["accounting"] and team.active and not team.members


def test_admins_manage_teams_and_a_refusal_keeps_what_was_typed(app, client, auth):
    admin = gen_user(Role.ADMIN, name="Ada")
    sam = gen_user(Role.AGENT, name="Sam")
    auth.login(admin.email)
    assert client.post("/agent/teams/", data={"key": "accounting", "name": "Accounting"}).status_code == 400  # no CSRF
    token = csrf_token(client, "/agent/teams/")
    response = client.post("/agent/teams/", data={"csrf_token": token, "key": "Bad Key", "name": "Cuentas <b>",
                                                  "description": "Invoices"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "lowercase letters, digits" in page
    assert 'value="Bad Key"' in page and 'value="Cuentas &lt;b&gt;"' in page and ">Invoices</textarea>" in page
    assert db.session.scalar(select(func.count()).select_from(Team)) == 0
    response = client.post("/agent/teams/", data={"csrf_token": token, "key": "accounting", "name": "Accounting"})
    assert response.status_code == 302
    team = services.team_by_key("accounting")
    assert client.post(f"/agent/teams/{team.id}/members", data={"csrf_token": token, "user": sam.id}).status_code == 302
    assert [u.name for u in team.members] == ["Sam"]
    response = client.post(f"/agent/teams/{team.id}/members", data={"csrf_token": token, "user": sam.id})
    assert response.status_code == 422 and "Sam is already in Accounting." in response.get_data(as_text=True)
    response = client.post(f"/agent/teams/{team.id}/members", data={"csrf_token": token, "user": "12x"})
    assert response.status_code == 422 and "No such user." in response.get_data(as_text=True)
    response = client.post(f"/agent/teams/{team.id}", data={"csrf_token": token, "name": " ", "name_es": "Cuentas"})
    assert response.status_code == 422 and "A team needs a name." in response.get_data(as_text=True)
    assert 'value="Cuentas"' in response.get_data(as_text=True)
    client.post(f"/agent/teams/{team.id}", data={"csrf_token": token, "name": "Accounting", "name_es": "Contabilidad"})
    client.post(f"/agent/teams/{team.id}/active", data={"csrf_token": token, "active": ""})
    db.session.refresh(team)
    assert (team.name_es, team.active) == ("Contabilidad", False)
    page = client.get("/agent/teams/").get_data(as_text=True)
    assert "(inactive)" in page and "Reactivate" in page
    client.post(f"/agent/teams/{team.id}/members/{sam.id}/remove", data={"csrf_token": token})
    assert services.teams_of(sam) == []
    assert client.post("/agent/teams/999/active", data={"csrf_token": token}).status_code == 404


def test_the_page_counts_each_teams_open_tickets(app, client, auth):
    team = services.create_team("accounting", "Accounting")
    for n in range(3):
        ticket = gen_ticket()
        ticket.team = team if n else None
    db.session.commit()
    auth.login(gen_user(Role.AGENT).email)
    page = client.get("/agent/teams/").get_data(as_text=True)
    assert f'<a href="/agent/?team={team.id}">2</a>' in page and '<a href="/agent/?team=none">1</a>' in page


@pytest.fixture
def ticket_in_accounting(app):
    accounting = services.create_team("accounting", "Accounting")
    integrations = services.create_team("integrations", "Integrations")
    ticket = gen_ticket()
    ticket.team = accounting
    db.session.commit()
    return ticket, accounting, integrations


def test_an_agent_moves_a_ticket_to_another_team_from_its_page(ticket_in_accounting, client, auth):
    ticket, accounting, integrations = ticket_in_accounting
    auth.login(gen_user(Role.AGENT, name="Sam").email)
    url = f"/tickets/{ticket.reference}"
    page = client.get(url).get_data(as_text=True)
    assert "Team: Accounting" in page and f'<option value="{integrations.id}" >Integrations</option>' in page
    token = csrf_token(client, url)
    seen = dict(re.findall(r'name="(seen_event_id|seen_message_id)" value="(\d+)"', page))
    response = client.post(f"{url}/update", data={"csrf_token": token, "field": "team", "value": integrations.id,
                                                  **seen})
    assert response.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "Ticket updated." in page and "Sam moved it from the Accounting team to the Integrations team" in page
    db.session.refresh(ticket)
    assert ticket.team_id == integrations.id
    # The customer sees neither the team nor its move.
    auth.logout()
    auth.login(ticket.requester.email)
    page = client.get(url).get_data(as_text=True)
    assert "Integrations" not in page and "Accounting" not in page


def test_a_team_that_does_not_exist_gets_a_message_and_nothing_changes(ticket_in_accounting, client, auth):
    ticket, accounting, _integrations = ticket_in_accounting
    auth.login(gen_user(Role.AGENT).email)
    url = f"/tickets/{ticket.reference}"
    token = csrf_token(client, url)
    for value in ("999", "x"):
        assert client.post(f"{url}/update", data={"csrf_token": token, "field": "team", "value": value}).status_code \
            == 302
        assert "That team does not exist (any more): choose one from the list." in client.get(url).get_data(as_text=True)
    assert client.post(f"{url}/update", data={"field": "team", "value": ""}).status_code == 400  # no CSRF token
    db.session.refresh(ticket)
    assert ticket.team_id == accounting.id and not [e for e in ticket.events if e.kind == "team"]


def test_the_form_offers_the_plans_areas_and_refuses_one_it_does_not(routed_app, teams):
    client = routed_app.test_client()
    customer = gen_user(org=gen_org(plan="standard"))
    from tests.conftest import AuthActions

    AuthActions(client).login(customer.email)
    page = client.get("/tickets/new").get_data(as_text=True)
    assert '<option value="">Not sure</option>' in page and "Accounting and invoicing" in page
    assert "API and integrations" not in page  # a premium area
    key = re.search(r'id="draft_key" name="draft_key" type="hidden" value="([^"]+)"', page).group(1)
    data = {"csrf_token": csrf_token(client, "/tickets/new"), "draft_key": key, "category": "question",
            "subject": "Invoices show the old address", "description": "Since Monday every invoice PDF is wrong.",
            "impact": "medium", "urgency": "medium", "area": "integrations"}
    response = client.post("/tickets/new", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Choose one of the product areas listed, or “Not sure”." in page
    assert 'value="Invoices show the old address"' in page and "Since Monday every invoice PDF is wrong." in page
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0
    response = client.post("/tickets/new", data={**data, "area": "accounting"})
    assert response.status_code == 302
    ticket = db.session.scalar(select(Ticket))
    assert (ticket.area, ticket.team.key) == ("accounting", "accounting")


def test_no_select_when_the_plan_has_no_areas(make_app, tmp_path):
    from tests.conftest import AuthActions, IsolatedClient

    path = tmp_path / "routing.toml"
    path.write_text('default = "support"\n[areas.vip]\nname = "VIP"\nteam = "vip"\nplans = ["premium"]\n')
    app = make_app(TEAMS_ROUTING_FILE=str(path))
    app.test_client_class = IsolatedClient
    with app.app_context():
        client = app.test_client()
        AuthActions(client).login(gen_user(org=gen_org(plan="standard")).email)
        assert 'name="area"' not in client.get("/tickets/new").get_data(as_text=True)
        db.session.remove()
