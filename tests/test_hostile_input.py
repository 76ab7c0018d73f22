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


def test_over_long_keys_and_slugs_are_not_recorded_and_not_errors(client, auth, app):
    from portal.tickets.models import Suggestion

    auth.login(gen_user(Role.CUSTOMER).email)
    token = csrf_token(client, "/tickets/new")
    long_key, long_slug = "k" * 65, "x" * 300
    response = client.get(f"/tickets/suggest?draft_key={long_key}&subject=reset+my+password",
                          headers={"HX-Request": "true"})
    assert response.status_code == 200 and "/tickets/suggest/" in response.get_data(as_text=True)
    assert client.get(f"/tickets/suggest/how-do-i-reset-my-password?draft_key={long_key}",
                      headers={"HX-Request": "true"}).status_code == 200
    assert client.post("/tickets/suggest/how-do-i-reset-my-password/continue",
                       data={"csrf_token": token, "draft_key": long_key}).status_code == 302
    assert client.post("/tickets/deflect", data={"csrf_token": token, "draft_key": "k1",
                                                 "slug": long_slug}).status_code == 302
    assert client.get(f"/tickets/solved?slug={long_slug}").status_code == 200
    assert client.get(f"/kb/{long_slug}").status_code == 404
    assert db.session.scalars(select(Suggestion)).all() == []


def test_numbers_past_what_the_database_stores_in_an_article_link(client, app):
    search = client.get("/kb/search?q=password")
    assert search.status_code == 200
    event = db.session.scalars(select(SearchEvent)).one()
    for query in (f"search={'9' * 30}&rank=1", f"search={event.id}&rank={'9' * 30}", "search=-1&rank=-1"):
        assert client.get(f"/kb/how-do-i-reset-my-password?{query}").status_code == 200, query


def test_a_rule_no_route_caught_is_a_bad_request_with_its_message(make_app):
    from portal.errors import DomainError, lazy_gettext

    app = make_app()

    @app.get("/test-broken-rule")
    def broken_rule():
        raise DomainError(lazy_gettext("That is not allowed here."))

    response = app.test_client().get("/test-broken-rule")
    assert response.status_code == 400 and "That is not allowed here." in response.get_data(as_text=True)
