from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.auth.models import Role, User
from portal.errors import DomainError
from portal.extensions import db
from portal.tickets import services
from portal.tickets.models import Priority, Status, Ticket, TicketEvent
from tests.conftest import run_in_threads
from tests.factories import answer, gen_ticket, gen_user

MATRIX = [
    # urgency, impact, priority (PRODUCT.md)
    ("high", "high", "P1"), ("high", "medium", "P2"), ("high", "low", "P3"),
    ("medium", "high", "P2"), ("medium", "medium", "P3"), ("medium", "low", "P4"),
    ("low", "high", "P3"), ("low", "medium", "P4"), ("low", "low", "P4"),
]


@pytest.mark.parametrize("urgency, impact, expected", MATRIX)
def test_priority_matrix(urgency, impact, expected):
    assert services.compute_priority(impact=impact, urgency=urgency) is Priority(expected)


@pytest.mark.instants
def test_filing_gives_a_reference_and_a_history(app, now):
    ticket = gen_ticket(impact="high", urgency="high")
    year = now.year  # on 31 December at 23:59 UTC still this year's, though Madrid is in the next
    assert ticket.reference == f"{year}-00001"
    assert ticket.priority is Priority.P1 and ticket.status is Status.NEW
    assert [e.kind for e in ticket.events] == ["created"]
    assert gen_ticket().reference == f"{year}-00002"


def test_override_is_recorded(app):
    ticket = gen_ticket(impact="low", urgency="low", priority_override="P2")
    assert (ticket.computed_priority, ticket.priority) == (Priority.P4, Priority.P2)
    override = [e for e in ticket.events if e.kind == "override"][0]
    assert (override.old_value, override.new_value) == ("P4", "P2")


def test_same_form_twice_files_one_ticket(app):
    user = gen_user()
    first = gen_ticket(user, submission_key="same-key")
    second = gen_ticket(user, submission_key="same-key")
    assert first.id == second.id
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1


@pytest.mark.parametrize("fields, field, message", [
    ({"subject": "Hi"}, "subject", "at least 5"),
    ({"subject": "x" * 201}, "subject", "at most 200"),
    ({"description": ""}, "description", "at least 10"),
    ({"category": "complaint"}, "category", "Choose a category"),
    ({"impact": "huge"}, "impact", "Choose an impact"),
    ({"priority_override": "P9"}, "priority_override", "P1, P2, P3 or P4"),
    ({"category": "technical_issue"}, "steps_to_reproduce", "Steps to reproduce"),
    ({"category": "technical_issue", "steps_to_reproduce": "1. open 2. click"}, "affected_account", "affected user"),
])
def test_bad_drafts_are_refused_field_by_field(app, fields, field, message):
    user = gen_user()
    draft = services.TicketDraft(**{"category": "question", "subject": "A good subject",
                                    "description": "A description long enough.", "impact": "low",
                                    "urgency": "low", "submission_key": "k1", **fields})
    with pytest.raises(DomainError):
        services.file_ticket(user, draft)
    assert field in draft.errors and message in draft.errors[field]
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_only_customers_file_tickets(app):
    agent = gen_user(Role.AGENT)
    with pytest.raises(DomainError, match="Only customers"):
        gen_ticket(agent)


def test_lifecycle(app):
    customer = gen_user(Role.CUSTOMER)
    agent = gen_user(Role.AGENT)
    ticket = gen_ticket(customer)
    services.reply(ticket, agent, "Could you send a screenshot?")
    assert ticket.status is Status.OPEN  # the first public answer opens it
    services.change_status(ticket, agent, "waiting_on_customer")
    assert ticket.waiting_since is not None
    services.reply(ticket, customer, "Here it is.")
    assert ticket.status is Status.OPEN and ticket.waiting_since is None
    services.change_status(ticket, agent, "solved", "fixed in 4.2")
    with pytest.raises(DomainError):
        services.change_status(ticket, agent, "new")
    services.reopen(ticket, customer, "Still broken on Safari.")
    assert ticket.status is Status.OPEN and ticket.messages[-1].body == "Still broken on Safari."
    services.change_status(ticket, agent, "solved")
    services.confirm_solution(ticket, customer)
    assert ticket.status is Status.CLOSED and ticket.closed_at is not None
    with pytest.raises(DomainError, match="closed"):
        services.reply(ticket, customer, "One more thing")
    statuses = [(e.old_value, e.new_value) for e in ticket.events if e.kind == "status"]
    assert statuses == [("new", "open"), ("open", "waiting_on_customer"), ("waiting_on_customer", "open"),
                        ("open", "solved"), ("solved", "open"), ("open", "solved"), ("solved", "closed")]


def test_internal_notes_are_staff_only_and_hidden_from_customers(app):
    customer, agent = gen_user(Role.CUSTOMER), gen_user(Role.AGENT)
    ticket = gen_ticket(customer)
    with pytest.raises(DomainError):
        services.reply(ticket, customer, "sneaky", internal=True)
    services.reply(ticket, agent, "Looks like bug 123", internal=True)
    assert ticket.status is Status.NEW  # a note is not an answer
    assert services.thread(ticket, customer) == []
    assert len(services.thread(ticket, agent)) == 1


def test_priority_change_needs_a_reason(app):
    agent = gen_user(Role.AGENT)
    ticket = gen_ticket(impact="high", urgency="high")
    with pytest.raises(DomainError, match="Say why"):
        services.change_priority(ticket, agent, "P3", "")
    services.change_priority(ticket, agent, "P3", "a workaround exists")
    event = ticket.events[-1]
    assert (event.kind, event.old_value, event.new_value, event.reason) == ("priority", "P1", "P3", "a workaround exists")


def test_feature_requests_carry_an_evaluation_state(app):
    agent = gen_user(Role.AGENT)
    ticket = gen_ticket(category="feature_request")
    assert ticket.feature_state.value == "under_review"
    services.set_feature_state(ticket, agent, "planned", "in the Q1 release")
    assert ticket.feature_state.value == "planned"
    with pytest.raises(DomainError):
        services.set_feature_state(gen_ticket(), agent, "planned")


def test_assignment_opens_a_new_ticket_and_is_for_agents(app):
    agent, other = gen_user(Role.AGENT), gen_user(Role.CUSTOMER)
    ticket = gen_ticket()
    with pytest.raises(DomainError):
        services.assign(ticket, agent, other)
    services.assign(ticket, agent, agent)
    assert ticket.assignee == agent and ticket.status is Status.OPEN


@pytest.mark.instants
def test_autoclose_closes_each_waiting_ticket_once(app, now):
    agent = gen_user(Role.AGENT)
    old, recent = gen_ticket(), gen_ticket()
    for t in (old, recent):
        answer(t, agent)
        services.change_status(t, agent, "waiting_on_customer")
    old.waiting_since = now - timedelta(days=11)
    db.session.commit()
    assert services.autoclose_due(recent) == recent.waiting_since + timedelta(days=10)
    assert services.autoclose() == ([old.reference], [])
    assert services.autoclose() == ([], [])
    db.session.refresh(old)
    db.session.refresh(recent)
    assert old.status is Status.CLOSED and recent.status is Status.WAITING_ON_CUSTOMER
    closing = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == old.id,
                                                           TicketEvent.new_value == "closed")).all()
    assert len(closing) == 1 and closing[0].actor_id is None and closing[0].reason == "no answer for 10 days"


def test_visibility(app):
    org_user = gen_user(Role.CUSTOMER)
    colleague = gen_user(Role.CUSTOMER, org=org_user.organization)
    admin = gen_user(Role.CUSTOMER_ADMIN, org=org_user.organization)
    stranger = gen_user(Role.CUSTOMER)
    ticket = gen_ticket(org_user)
    assert services.get_ticket(org_user, ticket.reference) == ticket
    assert services.get_ticket(admin, ticket.reference) == ticket
    assert services.get_ticket(gen_user(Role.AGENT), ticket.reference.lower()) == ticket
    for outsider in (colleague, stranger, gen_user(Role.WRITER)):
        with pytest.raises(services.TicketNotFound):
            services.get_ticket(outsider, ticket.reference)


def test_suggestions_follow_the_draft_into_the_ticket(app):
    user = gen_user()
    services.record_suggestions(user, "draft-1", ["a", "b"], "shown")
    services.record_suggestions(user, "draft-1", ["a", "b"], "shown")  # repeats are ignored
    services.record_suggestions(user, "draft-1", ["a"], "opened")
    services.record_suggestions(user, "draft-1", ["a"], "rejected")
    ticket = gen_ticket(user, submission_key="draft-1")
    assert services.tried_before_filing(ticket) == {"shown": ["a", "b"], "opened": ["a"], "rejected": ["a"],
                                                    "solved": []}


def test_concurrent_filings_get_distinct_references(app):
    """16 customers filing at once: every ticket is stored once, with its own reference."""
    user_ids = [gen_user(Role.CUSTOMER).id for _ in range(4)]
    references, failures = run_in_threads(
        app, 16, lambda i: gen_ticket(db.session.get(User, user_ids[i % 4]), submission_key=f"concurrent-{i}").reference)
    assert failures == []
    assert len(references) == 16 and len(set(references)) == 16
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 16
