"""Teams in Chromium: the product area the customer picks routes the ticket, and the queue's default
"My teams" view shows it to that team's agents only (the others see it under "All teams")."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.auth.models import Role
from portal.extensions import db
from portal.teams import services as teams
from portal.tickets.models import Ticket
from tests.factories import PASSWORD, gen_org, gen_user

pytestmark = pytest.mark.browser

SUBJECT = "The November invoices do not add up"


def _sign_in(page, live_server, email):
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".flash")).to_contain_text("Welcome back")


def test_the_chosen_area_routes_the_ticket_to_its_team_s_queue(browser, live_server, live_app):
    with live_app.app_context():
        customer = gen_user(Role.CUSTOMER, org=gen_org("Acme", plan="standard"), name="Ana Customer")
        accounting, inventory = teams.create_team("accounting", "Accounting"), teams.create_team("inventory",
                                                                                               "Inventory")
        alba = gen_user(Role.AGENT, name="Alba Accounts")
        ivan = gen_user(Role.AGENT, name="Ivan Inventory")
        teams.add_member(accounting, alba)
        teams.add_member(inventory, ivan)
        emails = customer.email, alba.email, ivan.email

    # The customer picks the product area on the form (the shipped routing file: accounting's team).
    page = browser.new_context().new_page()
    _sign_in(page, live_server, emails[0])
    page.goto(f"{live_server}/tickets/new")
    page.select_option("select[name=category]", "question")
    page.locator("#subject").fill(SUBJECT)
    page.locator("#description").fill("The totals on the November invoices are higher than the lines.")
    page.get_by_label("Product area").select_option(label="Accounting and invoicing")
    page.locator("input[name=impact][value=medium]").check()
    page.locator("input[name=urgency][value=medium]").check()
    page.get_by_role("button", name="File the ticket").click()
    expect(page.locator("h1")).to_have_text("Thank you, we have your ticket")
    with live_app.app_context():
        ticket = db.session.scalar(select(Ticket).where(Ticket.subject == SUBJECT))
        assert (ticket.area, ticket.team.key) == ("accounting", "accounting")
    page.context.close()

    # Accounting's agent sees it in the queue's default view, "My teams", with the team shown.
    page = browser.new_context().new_page()
    _sign_in(page, live_server, emails[1])
    page.goto(f"{live_server}/agent/")
    expect(page.locator("select[name=team]")).to_have_value("")  # "My teams"
    row = page.locator("#queue-rows tr.queue-row", has_text=SUBJECT)
    expect(row).to_be_visible()
    expect(row.locator(".team-flag")).to_have_text("Accounting")
    page.context.close()

    # Inventory's agent does not, until they look at all teams.
    page = browser.new_context().new_page()
    _sign_in(page, live_server, emails[2])
    page.goto(f"{live_server}/agent/")
    expect(page.locator("select[name=team]")).to_have_value("")
    expect(page.locator("#queue-rows")).to_be_attached()
    expect(page.locator("#queue-rows tr.queue-row", has_text=SUBJECT)).to_have_count(0)
    page.goto(f"{live_server}/agent/?team=all")
    expect(page.locator("#queue-rows tr.queue-row", has_text=SUBJECT)).to_be_visible()
    page.context.close()
