import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.extensions import db
from portal.plans.models import TimeEntry
from portal.tickets.models import Ticket

pytestmark = pytest.mark.browser


def _sign_in(page, live_server, email, password="portal-demo"):
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".flash")).to_contain_text("Welcome back")


def _overdue(live_app, refs, now) -> list[bool]:
    """Which queue rows are overdue at ``now``: the demo's ages and the plans' calendars decide
    (a P2 filed 30 hours ago is overdue on a Wednesday, not yet on a Sunday night)."""
    from portal.plans import sla

    with live_app.app_context():
        filed = {t.reference: t for t in db.session.scalars(select(Ticket).where(Ticket.reference.in_(refs)))}
        clocks = [sla.clock(filed[ref], now) for ref in refs]
        return [bool(c and c.overdue and not c.paused) for c in clocks]


@pytest.mark.instants("thursday-00:03-utc", "friday-17:59-madrid", "dst-end-sunday-madrid")
def test_agent_claims_the_most_urgent_ticket_with_the_keyboard_replies_and_logs_time(page, live_server, live_app,
                                                                                        page_errors, now):
    from portal.demo import seed_demo

    with live_app.app_context():
        seed_demo(now)
    _sign_in(page, live_server, "agent@portal.example.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Queue").click()
    rows = page.locator("#queue-rows tr.queue-row")
    expect(rows.first).to_contain_text("Overdue")  # at least the premium P1 filed an hour ago (24x7, 15 min)
    refs = rows.evaluate_all("rows => rows.map(row => row.dataset.ref)")
    overdue = _overdue(live_app, refs, now)
    urgent = refs[0]
    with live_app.app_context():
        ticket = db.session.scalar(select(Ticket).where(Ticket.reference == urgent))
        subject, requester = ticket.subject, ticket.requester.email
    page.wait_for_load_state("load")
    page.evaluate("window.sameDocument = true")  # gone if any step below loads a whole page
    loads = []
    page.on("request", lambda r: loads.append(r.url) if r.resource_type == "document" else None)

    page.keyboard.press("?")
    help_box = page.locator("#keys-help")
    expect(help_box).to_be_visible()
    help_box.get_by_role("button", name="Close").click()
    expect(help_box).to_be_hidden()
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_class("queue-row row-overdue is-current" if overdue[1] else "queue-row is-current")
    page.keyboard.press("k")
    expect(rows.first).to_have_class("queue-row row-overdue is-current")
    page.keyboard.press("x")
    expect(rows.first.locator("input[name=ticket]")).to_be_checked()
    rows.first.get_by_role("button", name="Claim").click()
    expect(page.locator(".flash")).to_contain_text(f"{urgent} is yours")

    # The queue came back through htmx: the agent's place (the current row) is kept, now claimed.
    expect(rows.first).to_contain_text("Sam Agent")
    expect(rows.first).to_have_class(re.compile("is-current"))
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text(subject)
    expect(page.locator("#main")).to_be_focused()  # a screen reader starts on the new page
    page.keyboard.press("r")
    reply = page.locator("form[action$='/reply'] textarea")
    expect(reply).to_be_focused()
    reply.fill("Hemos reiniciado el servicio de sesiones; pruebe de nuevo, por favor.")
    page.get_by_label("Link an article").fill("password")
    page.locator("#kb-link-results").get_by_role("button", name="Insert link").first.click()
    expect(page.locator("#body")).to_have_value(re.compile(r"por favor\.\n\n\[.+\]\(/kb/.+\)$"))
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".flash")).to_contain_text("Your reply was sent")
    page.locator("#time-minutes").fill("25")
    expect(page.locator("#time-preview")).to_contain_text("not billed")  # standard or premium: no hours ledger
    page.get_by_role("button", name="Log time").click()
    expect(page.locator(".flash")).to_contain_text("Time logged")
    expect(page).to_have_url(re.compile(f"/tickets/{urgent}$"))  # the address of the page shown
    page.get_by_role("navigation", name="Breadcrumbs").get_by_role("link", name="Tickets").click()
    expect(page.locator("h1")).to_contain_text("Tickets")
    page.go_back()
    expect(page.locator("h1")).to_contain_text(subject)
    assert page.evaluate("window.sameDocument") is True and loads == [], f"whole pages loaded: {loads}"
    with live_app.app_context():
        ticket = db.session.scalar(select(Ticket).where(Ticket.reference == urgent))
        assert ticket.assignee.email == "agent@portal.example.com" and ticket.first_response_at is not None
        assert db.session.scalar(select(TimeEntry.minutes).where(TimeEntry.ticket_id == ticket.id)) == 25

    page.context.clear_cookies()
    _sign_in(page, live_server, requester)
    page.goto(f"{live_server}/tickets/{urgent}")
    expect(page.get_by_text("Hemos reiniciado el servicio de sesiones")).to_be_visible()
    expect(page.locator(".message-staff a[href*='/kb/']")).to_have_count(1)  # the article link, as Markdown
    assert page_errors == []
