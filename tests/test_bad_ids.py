"""Ids typed into forms and query strings: a character that only looks like a digit, or a
number larger than the databases store, is "no such thing", never a server error."""

import pytest

from portal.auth.models import Role
from tests.conftest import csrf_token
from tests.factories import gen_ticket, gen_user

NOT_IDS = ["²", "99999999999", "-1", "0"]


@pytest.mark.parametrize("value", NOT_IDS)
def test_queue_filters_and_cursor(client, auth, app, value):
    auth.login(gen_user(Role.AGENT).email)
    for query in (f"organization={value}", f"assignee={value}", f"after=2026-01-01T00:00:00~{value}"):
        assert client.get(f"/agent/?{query}").status_code == 200, query


@pytest.mark.parametrize("value", NOT_IDS)
def test_ticket_forms(client, auth, app, value):
    agent = gen_user(Role.AGENT)
    ticket = gen_ticket(gen_user(Role.CUSTOMER))
    auth.login(agent.email)
    token = csrf_token(client, f"/tickets/{ticket.reference}")
    box = client.post(f"/agent/tickets/{ticket.reference}/compose", headers={"HX-Request": "true",
                      "HX-Trigger-Name": "macro"}, data={"csrf_token": token, "macro": value, "body": "Kept."})
    assert box.status_code == 200 and "Kept.</textarea>" in box.get_data(as_text=True)
    reply = client.post(f"/tickets/{ticket.reference}/reply",
                        data={"csrf_token": token, "body": "Hello.", "seen_message_id": value})
    assert reply.status_code in (302, 409)
    assert client.get(f"/tickets/{ticket.reference}/time/preview?minutes={value}").status_code == 200
    assignee = client.post(f"/tickets/{ticket.reference}/update",
                           data={"csrf_token": token, "field": "assignee", "value": value})
    assert assignee.status_code < 500
