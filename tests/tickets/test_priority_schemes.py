"""Priority schemes per plan: the matrix, severity levels with their exclusions, a fixed priority;
and what a technical issue must carry, per plan. Services and the new-ticket form."""

import re

import pytest

from portal.errors import DomainError
from portal.plans import services as plan_services
from portal.tickets import services
from portal.tickets.models import Priority
from tests.conftest import csrf_token
from tests.factories import gen_org, gen_ticket, gen_user
from tests.tickets.conftest import SCHEMES_FILE

PLANS_FILE = SCHEMES_FILE
TECHNICAL = dict(category="technical_issue", subject="Export fails", description="The PDF export fails with 500.")


def _customer(plan):
    return gen_user(org=gen_org(plan=plan))


def test_matrix_plan_files_as_today_and_requires_steps_and_account(app):
    user = _customer("standard")
    ticket = gen_ticket(user, impact="high", urgency="high")
    assert ticket.priority is Priority.P1 and ticket.impact.value == "high"
    with pytest.raises(DomainError):
        gen_ticket(user, **TECHNICAL)
    assert {"steps_to_reproduce", "affected_account"} <= set(_draft_errors(user, **TECHNICAL))


def _draft_errors(user, **fields):
    draft = services.TicketDraft(**{"category": "question", "subject": "Something broke",
                                    "description": "Something broke in the reports.", "impact": None,
                                    "urgency": None, "submission_key": "k", **fields})
    return services.validate_draft(draft, plan_services.plan_for(user.organization))


def test_severity_plan_takes_the_level_as_the_priority_and_needs_no_impact(app):
    user = _customer("dedicated")
    ticket = gen_ticket(user, impact=None, urgency=None, severity="P3", **TECHNICAL)  # no steps asked by this plan
    assert (ticket.priority, ticket.computed_priority) == (Priority.P3, Priority.P3)
    assert ticket.impact is None and ticket.urgency is None and not ticket.priority_overridden
    assert ticket.first_response_due is not None  # the P3 target of the plan: 8 h


def test_severity_plan_refuses_a_level_it_does_not_define(app):
    user = _customer("dedicated")
    errors = _draft_errors(user, severity="P4")
    assert errors["severity"] == "Choose one of the severity levels your plan defines."
    assert "impact" not in errors and "urgency" not in errors
    assert "severity" in _draft_errors(user)  # none chosen
    assert "priority_override" in _draft_errors(user, severity="P3", priority_override="P1")


def test_a_level_with_exclusions_needs_the_customers_confirmation(app):
    user = _customer("dedicated")
    errors = _draft_errors(user, severity="P1")
    assert "Severity 1 is never for the cases listed under it" in str(errors["severity_confirmed"])
    assert _draft_errors(user, severity="P1", severity_confirmed=True) == {}
    assert _draft_errors(user, severity="P3") == {}  # no exclusions: nothing to confirm
    ticket = gen_ticket(user, impact=None, urgency=None, severity="P1", severity_confirmed=True)
    assert ticket.priority is Priority.P1


def test_fixed_plan_gives_every_ticket_its_priority_and_asks_its_own_fields(app):
    user = _customer("flat")
    ticket = gen_ticket(user, impact=None, urgency=None)
    assert ticket.priority is Priority.P3 and ticket.impact is None
    errors = _draft_errors(user, **TECHNICAL)
    assert "affected_account" in errors and "steps_to_reproduce" not in errors
    assert "priority_override" in _draft_errors(user, priority_override="P1")


# --- the form ------------------------------------------------------------------------

def _form(client):
    page = client.get("/tickets/new").get_data(as_text=True)
    key = re.search(r'id="draft_key" name="draft_key" type="hidden" value="([^"]+)"', page).group(1)
    return page, key, csrf_token(client, "/tickets/new")


def test_the_form_shows_the_plans_severity_levels_and_their_exclusions(client, auth, app):
    user = _customer("dedicated")
    auth.login(user.email)
    page, _key, _token = _form(client)
    assert "Severity 1" in page and "mission-critical systems are down" in page
    assert "A lab or demo system, or any system that has not completed UAT." in page
    assert 'name="severity_confirmed"' in page and "We may downgrade a Severity 1" in page
    assert 'name="impact"' not in page and 'name="priority_override"' not in page
    assert "(optional)" in page  # this plan requires no steps or account


def test_the_form_keeps_the_text_when_the_level_is_not_confirmed(client, auth, app):
    user = _customer("dedicated")
    auth.login(user.email)
    _page, key, token = _form(client)
    data = {"csrf_token": token, "draft_key": key, "category": "question", "subject": "Production is down",
            "description": "Nobody can sign in to the production system.", "severity": "P1"}
    response = client.post("/tickets/new", data=data)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "Severity 1 is never for the cases listed under it" in body
    assert "Nobody can sign in to the production system." in body and 'value="P1" checked' in body
    response = client.post("/tickets/new", data={**data, "severity": "P9"})
    assert response.status_code == 422 and "Choose one of the severity levels your plan defines." in \
        response.get_data(as_text=True)
    response = client.post("/tickets/new", data={**data, "severity_confirmed": "y"})
    assert response.status_code == 302 and "/filed" in response.headers["Location"]


def test_the_form_of_a_fixed_plan_offers_no_choice(client, auth, app):
    user = _customer("flat")
    auth.login(user.email)
    page, key, token = _form(client)
    assert "Your plan gives every ticket priority P3" in page and 'name="urgency"' not in page
    response = client.post("/tickets/new", data={"csrf_token": token, "draft_key": key, "category": "question",
                                                 "subject": "Where is the export?",
                                                 "description": "I cannot find the export button anywhere."})
    assert response.status_code == 302


def test_the_matrix_form_is_unchanged(client, auth, app):
    user = _customer("standard")
    auth.login(user.email)
    page, _key, _token = _form(client)
    assert 'name="impact"' in page and 'name="priority_override"' in page and 'name="severity"' not in page
    assert "(optional)" not in page


def test_a_saved_draft_keeps_the_severity_level(client, auth, app):
    # A ticket that could not be filed (quota, plan ended, hours used up) comes back with its level chosen.
    user = _customer("dedicated")
    services.save_draft(user, services.TicketDraft(
        category="question", subject="Production is down", description="Nobody can sign in.", impact=None,
        urgency=None, submission_key="k", severity="P2"))
    auth.login(user.email)
    page = client.get("/tickets/new").get_data(as_text=True)
    assert "Nobody can sign in." in page and 'value="P2" checked' in page and 'value="P1" checked' not in page
