"""Input no person types (NUL and other control characters, impossible dates, absurd sizes): a clear
4xx answer or the text without them, never a server error, on SQLite and PostgreSQL alike."""

from sqlalchemy import select

from portal.agent.models import Macro
from portal.auth.models import Role
from portal.extensions import db
from portal.kb.models import SearchEvent
from portal.tickets.models import Ticket
from tests.conftest import csrf_token
from tests.factories import gen_ticket, gen_user
from tests.tickets.test_routes import _file


def test_a_nul_in_a_search_is_dropped_even_signed_out(client, app):
    response = client.get("/kb/search?q=pass%00word%07")
    assert response.status_code == 200
    assert 'value="password"' in response.get_data(as_text=True)
    assert db.session.scalars(select(SearchEvent.query)).all() == ["password"]


def test_a_new_ticket_keeps_the_text_without_control_characters(client, auth, app):
    auth.login(gen_user(Role.CUSTOMER).email)
    response = _file(client, subject="Export\x00 fails", description="Line one\x00\r\nLine\ttwo\x1b[31m")
    assert response.status_code == 302
    ticket = db.session.scalars(select(Ticket)).one()
    assert (ticket.subject, ticket.description) == ("Export fails", "Line one\r\nLine\ttwo[31m")


def test_a_form_shown_again_keeps_what_was_typed(client, auth, app):
    auth.login(gen_user(Role.CUSTOMER).email)
    response = _file(client, subject="\x00", description="Keep\x00 this")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Keep this" in page


def test_a_reply_and_an_agent_search_with_nul(client, auth, app):
    ticket = gen_ticket()
    auth.login(gen_user(Role.AGENT).email)
    token = csrf_token(client, f"/tickets/{ticket.reference}")
    assert client.post(f"/tickets/{ticket.reference}/reply",
                       data={"csrf_token": token, "body": "Try\x00 again"}).status_code == 302
    db.session.refresh(ticket)
    assert ticket.messages[-1].body == "Try again"
    response = client.get("/agent/?q=export%00&status=active%00")
    assert response.status_code == 200 and ticket.reference in response.get_data(as_text=True)


def test_a_macro_name_with_nul(client, auth, app):
    auth.login(gen_user(Role.AGENT).email)
    token = csrf_token(client, "/agent/macros")
    response = client.post("/agent/macros", data={"csrf_token": token, "name": "Wel\x00come", "body": "Hi\x00"})
    assert response.status_code == 302
    assert [(m.name, m.body) for m in db.session.scalars(select(Macro))] == [("Welcome", "Hi")]


def test_a_nul_in_an_address_is_a_bad_request(client, auth, app):
    ticket = gen_ticket()
    assert client.get("/kb/how-do-i-reset-my-password%00").status_code == 400
    auth.login(ticket.requester.email)
    assert client.get(f"/tickets/{ticket.reference}%00").status_code == 400
