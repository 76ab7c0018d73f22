"""After filing, the customer asks for another priority with a reason; an agent accepts (the
SLA follows) or declines. Services and the ticket page."""

import pytest
from sqlalchemy import select

from portal.auth.models import Role
from portal.errors import DomainError
from portal.extensions import db
from portal.tickets import priorities, services
from portal.tickets.models import Priority, PriorityRequest, Status
from tests.conftest import csrf_token, run_in_threads
from tests.factories import answer, gen_org, gen_ticket, gen_user
from tests.tickets.conftest import SCHEMES_FILE

PLANS_FILE = SCHEMES_FILE


def _ticket(plan="standard", **fields):
    customer = gen_user(org=gen_org(plan=plan))
    if plan != "standard":
        fields = {"impact": None, "urgency": None, **fields}
    return gen_ticket(customer, **fields), customer


def test_accepting_a_request_changes_the_priority_and_recomputes_the_sla(app):
    ticket, customer = _ticket(impact="medium", urgency="medium")  # P3: 8 h
    due_before = ticket.first_response_due
    request = priorities.request_change(ticket, customer, "P1", "  Our whole sales team is blocked.  ")
    assert request.reason == "Our whole sales team is blocked." and request.current_priority is Priority.P3
    assert priorities.requestable(ticket) == ("P1", "P2", "P4")
    agent = gen_user(Role.AGENT)
    decided = priorities.decide(ticket, agent, request.id, accept=True)
    assert decided.decision == "accepted" and decided.decided_by == agent
    assert ticket.priority is Priority.P1 and ticket.first_response_due < due_before  # 1 h now
    kinds = [(e.kind, e.old_value, e.new_value) for e in services.public_history(ticket, customer)]
    assert ("priority_requested", "P3", "P1") in kinds and ("priority_request_accepted", "P3", "P1") in kinds
    assert ("priority", "P3", "P1") in kinds  # through change_priority, with the customer's reason
    assert priorities.open_request(ticket) is None


def test_declining_keeps_the_priority_and_tells_the_customer_why(app):
    ticket, customer = _ticket()
    request = priorities.request_change(ticket, customer, "P2", "It is urgent for us.")
    priorities.decide(ticket, gen_user(Role.AGENT), request.id, accept=False, reason="A workaround exists.")
    assert ticket.priority is Priority.P3
    declined = [e for e in services.public_history(ticket, customer) if e.kind == "priority_request_declined"]
    assert declined[0].reason == "A workaround exists." and not declined[0].internal
    # Decided: the customer may ask again.
    assert priorities.request_change(ticket, customer, "P2", "It got worse.").decision is None


def test_request_rules(app):
    ticket, customer = _ticket()
    with pytest.raises(DomainError, match="Say why") as empty:
        priorities.request_change(ticket, customer, "P1", "   ")
    assert empty.value.field == "reason"
    with pytest.raises(DomainError, match="already has this priority"):
        priorities.request_change(ticket, customer, "P3", "Because.")
    with pytest.raises(DomainError, match="Choose P1, P2, P3 or P4"):
        priorities.request_change(ticket, customer, "P7", "Because.")
    with pytest.raises(DomainError, match="agents change it"):
        priorities.request_change(ticket, gen_user(Role.AGENT), "P1", "Because.")
    priorities.request_change(ticket, customer, "P1", "Because.")
    with pytest.raises(priorities.PriorityRequestConflict, match="already has a priority request"):
        priorities.request_change(ticket, customer, "P2", "Or this one.")


def test_a_request_is_decided_once(app):
    ticket, customer = _ticket()
    request = priorities.request_change(ticket, customer, "P1", "Because.")
    agent = gen_user(Role.AGENT)
    priorities.decide(ticket, agent, request.id, accept=False)
    with pytest.raises(priorities.PriorityRequestConflict, match="already decided"):
        priorities.decide(ticket, agent, request.id, accept=True)
    assert ticket.priority is Priority.P3
    with pytest.raises(DomainError, match="Only agents"):
        priorities.decide(ticket, customer, request.id, accept=True)
    other, _customer = _ticket()
    with pytest.raises(priorities.PriorityRequestNotFound):
        priorities.decide(other, agent, request.id, accept=True)


def test_severity_plans_take_only_their_levels_and_fixed_plans_take_none(app):
    ticket, customer = _ticket("dedicated", severity="P3")
    assert priorities.requestable(ticket) == ("P1", "P2")
    with pytest.raises(DomainError, match="severity levels your plan defines"):
        priorities.request_change(ticket, customer, "P4", "Only cosmetic after all.")
    assert priorities.request_change(ticket, customer, "P2", "Worse than we thought.").requested_priority is Priority.P2
    flat, flat_customer = _ticket("flat")
    assert priorities.requestable(flat) == ()
    with pytest.raises(priorities.PriorityRequestConflict, match="same priority"):
        priorities.request_change(flat, flat_customer, "P1", "Please.")


def test_no_request_on_a_closed_ticket(app):
    ticket, customer = _ticket()
    agent = answer(ticket)
    services.change_status(ticket, agent, "closed")
    with pytest.raises(priorities.PriorityRequestConflict, match="closed"):
        priorities.request_change(ticket, customer, "P1", "Please.")


def test_two_requests_at_once_leave_one_open(app):
    ticket, customer = _ticket()
    reference, customer_id = ticket.reference, customer.id

    def ask(i):
        from portal.auth.models import User
        user = db.session.get(User, customer_id)
        return priorities.request_change(services.get_ticket(user, reference), user, f"P{1 + i % 2}", "Now.").id

    results, failures = run_in_threads(app, 4, ask)
    assert len(results) == 1 and all("already has a priority request" in f for f in failures), failures
    assert len(db.session.scalars(select(PriorityRequest).where(PriorityRequest.decision.is_(None))).all()) == 1


# --- the ticket page ----------------------------------------------------------------

def _page(client, ticket):
    return client.get(f"/tickets/{ticket.reference}").get_data(as_text=True)


def test_the_customer_asks_on_the_page_and_the_agent_accepts_in_one_click(client, auth, app):
    ticket, customer = _ticket()
    auth.login(customer.email)
    token = csrf_token(client, f"/tickets/{ticket.reference}")
    assert "Ask for this priority" in _page(client, ticket)
    response = client.post(f"/tickets/{ticket.reference}/priority-request",
                           data={"csrf_token": token, "priority": "P1", "reason": "The whole team is blocked."})
    assert response.status_code == 302
    page = _page(client, ticket)
    assert "An agent will accept or decline it" in page and "The whole team is blocked." in page
    assert "asked for priority P1 instead of P3" in page
    auth.logout()
    agent = gen_user(Role.AGENT)
    auth.login(agent.email)
    page = _page(client, ticket)
    assert "Accept: change to P1" in page
    request_id = db.session.scalar(select(PriorityRequest.id))
    token = csrf_token(client, f"/tickets/{ticket.reference}")
    response = client.post(f"/tickets/{ticket.reference}/priority-request/{request_id}/accept",
                           data={"csrf_token": token})
    assert response.status_code == 302
    db.session.expire_all()
    assert services.get_ticket(agent, ticket.reference).priority is Priority.P1
    assert "accepted the request for priority P1" in _page(client, ticket)
    # The second click: a clear message, not a 500.
    response = client.post(f"/tickets/{ticket.reference}/priority-request/{request_id}/accept",
                           data={"csrf_token": token})
    assert response.status_code == 409 and "already decided" in response.get_data(as_text=True)


def test_bad_requests_on_the_page_keep_the_text(client, auth, app):
    ticket, customer = _ticket("dedicated", severity="P3")
    auth.login(customer.email)
    token = csrf_token(client, f"/tickets/{ticket.reference}")
    page = _page(client, ticket)
    assert "Severity 1 (P1)" in page and "Severity 3 (P3)" in page
    url = f"/tickets/{ticket.reference}/priority-request"
    response = client.post(url, data={"csrf_token": token, "priority": "P4", "reason": "Only cosmetic now."})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "severity levels your plan defines" in body and "Only cosmetic now." in body
    response = client.post(url, data={"csrf_token": token, "priority": "P1", "reason": " "})
    assert response.status_code == 422 and "Say why" in response.get_data(as_text=True)
    response = client.post(url, data={"csrf_token": "stale", "priority": "P1", "reason": "Kept text."})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "The form expired" in body and "Kept text." in body
    assert db.session.scalar(select(PriorityRequest.id)) is None
    client.post(url, data={"csrf_token": token, "priority": "P1", "reason": "Down."})
    response = client.post(url, data={"csrf_token": token, "priority": "P2", "reason": "Second."})
    assert response.status_code == 409 and "already has a priority request" in response.get_data(as_text=True)
    assert "Second." in response.get_data(as_text=True)


def test_a_request_refused_because_the_ticket_closed_says_so_and_keeps_the_text(client, auth, app):
    # The agent closed the ticket while the customer was writing: the box is gone, the message is not.
    ticket, customer = _ticket()
    auth.login(customer.email)
    token = csrf_token(client, f"/tickets/{ticket.reference}")
    services.change_status(ticket, answer(ticket), "closed")
    response = client.post(f"/tickets/{ticket.reference}/priority-request",
                           data={"csrf_token": token, "priority": "P1", "reason": "Payroll runs tonight."})
    body = response.get_data(as_text=True)
    assert response.status_code == 409 and "This ticket is closed, so its priority no longer changes." in body
    assert "Payroll runs tonight." in body and 'name="reason"' not in body
    assert db.session.scalar(select(PriorityRequest.id)) is None


def test_decline_with_a_reason_and_who_may_do_what(client, auth, app):
    ticket, customer = _ticket()
    request = priorities.request_change(ticket, customer, "P1", "Because.")
    auth.login(customer.email)
    token = csrf_token(client, f"/tickets/{ticket.reference}")
    assert client.post(f"/tickets/{ticket.reference}/priority-request/{request.id}/accept",
                       data={"csrf_token": token}).status_code == 403
    auth.logout()
    agent = gen_user(Role.AGENT)
    auth.login(agent.email)
    token = csrf_token(client, f"/tickets/{ticket.reference}")
    assert client.post(f"/tickets/{ticket.reference}/priority-request",
                       data={"csrf_token": token, "priority": "P2", "reason": "x"}).status_code == 403
    assert client.post(f"/tickets/{ticket.reference}/priority-request/{request.id}/accept").status_code == 400  # CSRF
    response = client.post(f"/tickets/{ticket.reference}/priority-request/{request.id}/decline",
                           data={"csrf_token": token, "reason": "A workaround exists."})
    assert response.status_code == 302
    assert "declined the request for priority P1" in _page(client, ticket)
    assert "A workaround exists." in _page(client, ticket)
    assert client.post(f"/tickets/{ticket.reference}/priority-request/999/decline",
                       data={"csrf_token": token}).status_code == 404


def test_another_organizations_ticket_is_not_found(client, auth, app):
    ticket, _customer = _ticket()
    stranger = gen_user(org=gen_org(plan="standard"))
    auth.login(stranger.email)
    token = csrf_token(client, "/tickets/")
    response = client.post(f"/tickets/{ticket.reference}/priority-request",
                           data={"csrf_token": token, "priority": "P1", "reason": "Mine now."})
    assert response.status_code == 404
    assert db.session.scalar(select(PriorityRequest.id)) is None
    # Nor may the stranger decide on the ticket's real request.
    request = priorities.request_change(ticket, _customer, "P1", "Down.")
    for action in ("accept", "decline"):
        response = client.post(f"/tickets/{ticket.reference}/priority-request/{request.id}/{action}",
                               data={"csrf_token": token})
        assert response.status_code == 404
    db.session.refresh(request)
    assert request.decision is None


def test_an_open_request_ends_with_the_ticket_or_with_the_priority_it_asked_for(app):
    ticket, customer = _ticket(impact="medium", urgency="medium")  # P3
    agent = answer(ticket)
    asked = priorities.request_change(ticket, customer, "P2", "Half the team is blocked.")
    services.change_priority(ticket, agent, "P1", "Production is down.")  # not what was asked: still open
    assert priorities.open_request(ticket).id == asked.id
    services.change_priority(ticket, agent, "P2", "Only half the team after all.")  # what was asked: accepted
    db.session.refresh(asked)
    assert (asked.decision, asked.decided_by) == ("accepted", agent) and priorities.open_request(ticket) is None
    closing = priorities.request_change(ticket, customer, "P1", "Everyone is blocked now.")
    services.change_status(ticket, agent, "closed")
    db.session.refresh(closing)
    assert closing.decision == "declined" and priorities.open_request(ticket) is None
    history = [(e.kind, e.new_value, e.reason) for e in services.public_history(ticket, customer)]
    assert ("priority_request_accepted", "P2", None) in history
    assert ("priority_request_declined", "P1", "the ticket closed") in history
    with pytest.raises(priorities.PriorityRequestConflict, match="already decided"):
        priorities.decide(ticket, agent, closing.id, accept=False)


def test_the_agent_page_says_who_chose_the_priority(client, auth, app):
    customer = gen_user(org=gen_org(plan="standard"))
    ticket = gen_ticket(customer, impact="medium", urgency="medium", priority_override="P2")  # computed P3
    agent = answer(ticket)
    request = priorities.request_change(ticket, customer, "P1", "Everyone is blocked now.")
    priorities.decide(ticket, agent, request.id, accept=True)
    auth.login(agent.email)
    page = client.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert "computed P3." in page and "The customer chose P2." in page and "Now P1 (see the history)." in page
    plain = gen_ticket(customer, impact="medium", urgency="medium")
    page = client.get(f"/tickets/{plain.reference}").get_data(as_text=True)
    assert "The customer chose" not in page and "Now P" not in page
