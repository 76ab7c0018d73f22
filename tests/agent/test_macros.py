"""Canned replies with placeholders, and article links for the reply box."""

import pytest

from portal.agent import macros
from portal.auth.models import Role
from portal.errors import DomainError
from portal.extensions import db
from tests.conftest import csrf_token
from tests.factories import gen_ticket, gen_user


def test_placeholders_are_filled_from_the_ticket_and_typos_are_refused(app):
    agent = gen_user(Role.AGENT, name="Sam Agent")
    ticket = gen_ticket(gen_user(Role.CUSTOMER, name="Ana Lopez"))
    macro = macros.save(agent, "Thanks", "Hello {{ customer.first_name }}, about {{ ticket.reference }}: "
                                         "we are on it. {{ agent.first_name }}")
    assert macros.render(macro.body, macros.values(ticket, agent)) == (
        f"Hello Ana, about {ticket.reference}: we are on it. Sam")
    with pytest.raises(DomainError, match="cannot be filled in"):
        macros.save(agent, "Broken", "Hello {{ custommer.name }}")
    with pytest.raises(DomainError, match="cannot be filled in"):
        macros.save(agent, "Sneaky", "{{ ''.__class__.__mro__ }}")
    with pytest.raises(DomainError, match="already exists"):
        macros.save(agent, "Thanks", "Again")


def test_the_reply_box_gets_a_macro_or_an_article_link_after_the_typed_text(app, client, auth):
    agent = gen_user(Role.AGENT, name="Sam Agent")
    ticket = gen_ticket(gen_user(Role.CUSTOMER, name="Ana Lopez"))
    macro = macros.save(agent, "Reset", "Hi {{ customer.first_name }}, reset it from the sign-in page.")
    auth.login(agent.email)
    page = client.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert f'<option value="{macro.id}">Reset</option>' in page
    token = csrf_token(client, f"/tickets/{ticket.reference}")
    box = client.post(f"/agent/tickets/{ticket.reference}/compose",
                      data={"csrf_token": token, "macro": macro.id, "body": "Typed."},
                      headers={"HX-Request": "true", "HX-Trigger-Name": "macro"}).get_data(as_text=True)
    assert "<html" not in box and "Typed.\n\nHi Ana, reset it from the sign-in page.</textarea>" in box
    links = client.get(f"/agent/tickets/{ticket.reference}/kb-links?kb_q=reset+password",
                       headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'name="link" value="how-do-i-reset-my-password"' in links
    long_reply = "A long reply. " * 700  # longer than a URL may be
    box = client.post(f"/agent/tickets/{ticket.reference}/compose", data={
        "csrf_token": token, "link": "how-do-i-reset-my-password", "body": long_reply}).get_data(as_text=True)
    assert box.count("A long reply.") == 700
    # Site-relative: it works wherever the portal is served (mails make it absolute).
    assert "](/kb/how-do-i-reset-my-password)</textarea>" in box and "127.0.0.1" not in box
    box = client.post(f"/agent/tickets/{ticket.reference}/compose",
                      data={"csrf_token": token, "link": "nope", "body": "Keep"})
    assert "Keep</textarea>" in box.get_data(as_text=True) and "No such article" in box.get_data(as_text=True)


def test_insert_link_adds_the_link_even_with_a_canned_reply_chosen(app, client, auth):
    """htmx posts the whole reply form: the still-selected canned reply travels with the link."""
    agent = gen_user(Role.AGENT)
    ticket = gen_ticket(gen_user(Role.CUSTOMER, name="Ana Lopez"))
    macro = macros.save(agent, "Reset", "Hi {{ customer.first_name }}.")
    auth.login(agent.email)
    url = f"/agent/tickets/{ticket.reference}/compose"
    data = {"csrf_token": csrf_token(client, f"/tickets/{ticket.reference}"), "macro": macro.id, "body": "Hi Ana."}
    box = client.post(url, data=data, headers={"HX-Request": "true", "HX-Trigger-Name": "macro"})
    assert "Hi Ana.\n\nHi Ana.</textarea>" in box.get_data(as_text=True)  # choosing it inserts it
    box = client.post(url, data=data | {"link": "how-do-i-reset-my-password"},
                      headers={"HX-Request": "true", "HX-Trigger-Name": "link"}).get_data(as_text=True)
    assert "Hi Ana.\n\n[" in box and "/kb/how-do-i-reset-my-password)</textarea>" in box
    assert box.count("Hi Ana.") == 1


def test_the_reply_box_tools_work_without_javascript(app, client, auth):
    """Without htmx, each tool posts the reply box and gets the ticket page back with the text."""
    agent = gen_user(Role.AGENT)
    ticket = gen_ticket(gen_user(Role.CUSTOMER, name="Ana Lopez"))
    macro = macros.save(agent, "Reset", "Hi {{ customer.first_name }}.")
    auth.login(agent.email)
    token = csrf_token(client, f"/tickets/{ticket.reference}")
    url = f"/agent/tickets/{ticket.reference}/compose"
    # "Search" (also what Enter in the search field does): the articles, the text kept, no macro added.
    page = client.post(url, data={"csrf_token": token, "tool": "search", "kb_q": "reset password",
                                  "macro": macro.id, "body": "Typed so far."}).get_data(as_text=True)
    assert "<html" in page and "Typed so far.</textarea>" in page and "Hi Ana" not in page
    assert 'name="link" value="how-do-i-reset-my-password"' in page and f'formaction="{url}"' in page
    assert 'value="reset password"' in page  # the search field keeps its words
    page = client.post(url, data={"csrf_token": token, "tool": "macro", "macro": macro.id,
                                  "body": "Typed so far."}).get_data(as_text=True)
    assert "Typed so far.\n\nHi Ana.</textarea>" in page
    page = client.post(url, data={"csrf_token": token, "link": "how-do-i-reset-my-password", "kb_q": "reset",
                                  "body": ""}).get_data(as_text=True)
    assert "](/kb/how-do-i-reset-my-password)</textarea>" in page


def test_an_inserted_link_follows_the_address_the_portal_is_served_at(app, client, auth):
    """Behind a path prefix (SCRIPT_NAME), the link carries it; BASE_URL plays no part."""
    agent = gen_user(Role.AGENT)
    ticket = gen_ticket(gen_user(Role.CUSTOMER))
    auth.login(agent.email)
    token = csrf_token(client, f"/tickets/{ticket.reference}")
    box = client.post(f"/agent/tickets/{ticket.reference}/compose", environ_overrides={"SCRIPT_NAME": "/support"},
                      data={"csrf_token": token, "link": "how-do-i-reset-my-password", "body": ""},
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "](/support/kb/how-do-i-reset-my-password)</textarea>" in box


def test_managing_macros(app, client, auth):
    auth.login(gen_user(Role.AGENT).email)
    token = csrf_token(client, "/agent/macros")
    response = client.post("/agent/macros", data={"csrf_token": token, "name": "Oops", "body": "{{ nope }}"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "cannot be filled in" in page and "{{ nope }}" in page
    assert client.post("/agent/macros", data={"csrf_token": token, "name": "Welcome",
                                              "body": "Welcome {{ customer.name }}"}).status_code == 302
    page = client.get("/agent/macros").get_data(as_text=True)
    assert "Welcome" in page
    macro = macros.all_macros()[0]
    client.post(f"/agent/macros/{macro.id}", data={"csrf_token": token, "name": "Welcome!", "body": "Hi"})
    db.session.expire_all()
    assert macros.all_macros()[0].name == "Welcome!"
    client.post(f"/agent/macros/{macro.id}/delete", data={"csrf_token": token})
    assert macros.all_macros() == []
    auth.logout()
    auth.login(gen_user(Role.CUSTOMER).email)
    assert client.get("/agent/macros").status_code == 403
    ticket = gen_ticket()
    assert client.post(f"/agent/tickets/{ticket.reference}/compose",
                       data={"csrf_token": csrf_token(client), "body": "x"}).status_code == 403


@pytest.mark.parametrize("body", [
    "{{ 'x' * 3000000000 }}",
    "{{ 'x'.ljust(3000000000) }}",
    "{{ '%3000000000s' % customer.name }}",
    "{{ ('x' * 50000)|replace('x', 'yy') }}",
    "{% set ns = namespace(text='ab') %}{% for i in range(40) %}{% set ns.text = ns.text ~ ns.text %}{% endfor %}",
    "{% for i in range(60000) %}{% endfor %}",
    "{% for i in range(20000) %}{{ customer.name }}{% endfor %}",
])
def test_a_macro_that_would_grow_huge_is_refused_before_it_is_built(app, body):
    with pytest.raises(DomainError, match="grows past 50,000 characters"):
        macros.render(body, macros.SAMPLE)


@pytest.mark.parametrize("body", [
    "{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}{% endfor %}{% endfor %}{% endfor %}",
    "{% macro twice(n) %}{% if n < 60 %}{{ twice(n + 1) }}{{ twice(n + 1) }}{% endif %}{% endmacro %}{{ twice(0) }}",
])
def test_a_macro_that_would_take_forever_is_stopped(app, body):
    with pytest.raises(DomainError, match="takes too long"):
        macros.render(body, macros.SAMPLE, max_seconds=0.05)


def test_an_ordinary_macro_still_fills_in(app):
    body = ("Hi {{ customer.first_name|title }},\n{% for step in ['Open Reports', 'Export'] %}{{ loop.index }}. "
            "{{ step }}\n{% endfor %}{{ '%-4s|' % ticket.priority }} {{ ['a', 'b']|join(', ') }}")
    assert macros.render(body, macros.SAMPLE) == "Hi Ana,\n1. Open Reports\n2. Export\nP3  | a, b"


def test_a_runaway_macro_is_refused_when_saved_and_when_applied(app, client, auth):
    agent = gen_user(Role.AGENT)
    auth.login(agent.email)
    token = csrf_token(client, "/agent/macros")
    bomb = "{{ customer.name * 3000000000 }}"
    response = client.post("/agent/macros", data={"csrf_token": token, "name": "Bomb", "body": bomb})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "grows past 50,000 characters" in page and bomb in page
    # One saved before this check existed (or whose values grow it past the limit) is refused when applied.
    db.session.add(macros.Macro(name="Old bomb", body=bomb, created_by_id=agent.id))
    db.session.commit()
    ticket = gen_ticket()
    box = client.post(f"/agent/tickets/{ticket.reference}/compose",
                      data={"csrf_token": token, "body": "Typed text", "macro": macros.all_macros()[0].id},
                      headers={"HX-Request": "true", "HX-Trigger-Name": "macro"})
    text = box.get_data(as_text=True)
    assert box.status_code == 200 and "grows past 50,000 characters" in text and "Typed text" in text
