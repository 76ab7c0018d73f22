"""A customer asks for another priority on the ticket page; an agent accepts it in one click."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.extensions import db
from portal.tickets.models import PriorityRequest, Ticket
from tests.browser.test_agent import _sign_in

pytestmark = pytest.mark.browser


def test_customer_asks_for_another_priority_and_the_agent_accepts(page, browser, live_server, live_app, page_errors,
                                                                  now):
    from portal.auth import services as auth_services
    from portal.demo import seed_demo
    from portal.tickets import services

    with live_app.app_context():
        seed_demo(now)
        customer = auth_services.user_by_email("customer@acme.example.com")
        ticket = db.session.scalars(services.visible_tickets(customer).where(Ticket.status != "closed")
                                    .order_by(Ticket.id)).first()
        reference, before = ticket.reference, ticket.priority.value
        due_before = ticket.first_response_due
    wanted = "P1" if before != "P1" else "P2"

    _sign_in(page, live_server, "customer@acme.example.com")
    page.goto(f"{live_server}/tickets/{reference}")
    panel = page.locator("#priority-request")
    panel.get_by_role("button", name="Ask for this priority").click()  # no reason yet
    expect(page.locator("#priority-request .field-error")).to_contain_text("Say why")
    assert [e for e in page_errors if "422" not in e] == []  # the refused form is a 422 page, as intended
    page_errors.clear()
    panel.locator("select[name=priority]").select_option(wanted)
    panel.get_by_label("Why does the ticket need it?").fill("Every warehouse is blocked since this morning.")
    panel.get_by_role("button", name="Ask for this priority").click()
    expect(page.locator(".flash")).to_contain_text("Your request was sent")
    expect(page.locator("#priority-request")).to_contain_text("An agent will accept or decline it")

    agent = browser.new_context().new_page()
    agent.on("pageerror", lambda exc: page_errors.append(str(exc)))
    _sign_in(agent, live_server, "agent@portal.example.com")
    agent.goto(f"{live_server}/tickets/{reference}")
    expect(agent.locator("#priority-request")).to_contain_text("Every warehouse is blocked since this morning.")
    agent.get_by_role("button", name=f"Accept: change to {wanted}").click()
    expect(agent.locator(".flash")).to_contain_text("Request accepted")
    expect(agent.locator(".ticket-badges .priority-badge")).to_have_text(wanted)
    expect(agent.locator(".history")).to_contain_text(f"accepted the request for priority {wanted}")

    page.reload()
    expect(page.locator(".history")).to_contain_text(f"accepted the request for priority {wanted}")
    expect(page.locator(".ticket-badges .priority-badge")).to_have_text(wanted)
    assert page_errors == []
    with live_app.app_context():
        ticket = db.session.scalar(select(Ticket).where(Ticket.reference == reference))
        assert ticket.priority.value == wanted
        assert db.session.scalar(select(PriorityRequest.decision)) == "accepted"
        if ticket.first_response_at is None and due_before is not None:
            assert ticket.first_response_due <= due_before  # the SLA follows the higher priority
