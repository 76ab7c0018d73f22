"""Rule messages carry what users typed (file names, names, template keys): pages escape them,
whether shown beside a field, in a fragment or flashed after a redirect."""

import io

from portal.agent import macros
from portal.auth.models import Role
from portal.extensions import db
from tests.conftest import csrf_token
from tests.factories import gen_ticket, gen_user

ATTACK = "<img src=x onerror=alert(1)>"


def test_a_file_name_in_a_refusal_is_escaped(client, auth, app):
    customer = gen_user(Role.CUSTOMER)
    ticket = gen_ticket(customer)
    auth.login(customer.email)
    page = client.post(f"/tickets/{ticket.reference}/reply", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, f"/tickets/{ticket.reference}"), "body": "See the file.",
        "files": [(io.BytesIO(b""), f"{ATTACK}.png")]}).get_data(as_text=True)
    assert "is empty" in page and ATTACK not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_a_canned_reply_error_in_the_reply_box_is_escaped(client, auth, app):
    agent = gen_user(Role.AGENT)
    # Passes the check on save (the sample ticket is not P1), fails on a P1 ticket with the key in the error.
    macro = macros.save(agent, "Trap", '{% if ticket.priority == "P1" %}{{ customer["' + ATTACK + '"] }}{% endif %}Hi.')
    ticket = gen_ticket(gen_user(Role.CUSTOMER), impact="high", urgency="high")
    auth.login(agent.email)
    box = client.post(f"/agent/tickets/{ticket.reference}/compose",
                      headers={"HX-Request": "true", "HX-Trigger-Name": "macro"},
                      data={"csrf_token": csrf_token(client, f"/tickets/{ticket.reference}"), "macro": macro.id,
                            "body": "x"})
    text = box.get_data(as_text=True)
    assert "cannot be filled in" in text and ATTACK not in text


def test_a_flashed_refusal_is_escaped(client, auth, app):
    holder = gen_user(Role.AGENT, name=ATTACK)
    ticket = gen_ticket(gen_user(Role.CUSTOMER))
    ticket.assignee_id = holder.id
    db.session.commit()
    auth.login(gen_user(Role.AGENT).email)
    page = client.post(f"/agent/claim/{ticket.reference}", data={"csrf_token": csrf_token(client, "/agent/")},
                       follow_redirects=True).get_data(as_text=True)
    assert "is already assigned to" in page and ATTACK not in page
