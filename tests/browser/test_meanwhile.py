"""Two agents on one ticket in a real browser: the page's poll shows the other agent's change
without a reload, and a change from the stale page is shown back instead of made."""

import pytest
from playwright.sync_api import expect

from portal.auth.models import Role
from portal.extensions import db
from portal.tickets import services as tickets
from portal.tickets.models import Status, Ticket
from tests.factories import PASSWORD, answer, gen_ticket, gen_user

pytestmark = pytest.mark.browser


def test_another_agents_change_appears_on_the_open_page(page, live_server, live_app, page_errors, now):
    with live_app.app_context():
        ticket = gen_ticket(subject="Exports stop at 10,000 rows")
        answer(ticket)
        gen_user(Role.AGENT, email="alex@vendor.example.com", name="Alex Agent")
        sam = gen_user(Role.AGENT, email="sam@vendor.example.com", name="Sam Second")
        reference, ticket_id, sam_id = ticket.reference, ticket.id, sam.id
    page.clock.install()  # the poll runs every 20 s: the test moves the page's clock on instead of waiting
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill("alex@vendor.example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".flash")).to_contain_text("Welcome back")
    page.goto(f"{live_server}/tickets/{reference}")
    expect(page.locator("h1")).to_contain_text("Exports stop at 10,000 rows")
    page.get_by_role("textbox", name="Your reply").fill("Could you send us the export's log?")

    with live_app.app_context():  # Sam, in another browser, solves it and answers
        ticket, sam = db.session.get(Ticket, ticket_id), db.session.get(type(sam), sam_id)
        tickets.reply(ticket, sam, "Fixed in today's release: exports have no limit now.", now=now)
        tickets.change_status(ticket, sam, "solved", now=now)
    page.clock.fast_forward("00:21")
    notice = page.locator("#viewers .meanwhile-notice")
    expect(notice).to_contain_text("Changed since you opened this page:")
    expect(notice).to_contain_text("Sam Second changed the status Open → Solved")
    expect(notice).to_contain_text("Sam Second wrote:")
    expect(notice.get_by_role("link", name="Reload")).to_be_visible()

    # Sending the reply anyway from this page: it is held back, the text kept, Sam's answer shown.
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#changed-meanwhile")).to_contain_text("Fixed in today's release")
    expect(page.get_by_role("textbox", name="Your reply")).to_have_value("Could you send us the export's log?")
    with live_app.app_context():
        ticket = db.session.get(Ticket, ticket_id)
        assert ticket.status is Status.SOLVED and len(ticket.messages) == 2
    assert [e for e in page_errors if "409" not in e] == []  # the held-back reply is a 409 page, as intended
