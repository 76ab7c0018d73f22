"""Several changes to a ticket at once (portal.tickets.changes): all made in one transaction, or none."""

import pytest

from portal.auth.models import Role
from portal.errors import DomainError
from portal.extensions import db
from portal.tickets import changes
from portal.tickets import services as tickets
from portal.tickets.meanwhile import ChangedMeanwhile, seen
from portal.tickets.models import Priority, Status
from tests.factories import answer, gen_ticket, gen_user


def test_all_are_made_at_once_and_reported(app):
    ticket = gen_ticket()
    agent = gen_user(Role.AGENT)
    applied = changes.apply(ticket, agent, {"feature_state": "planned", "category": "feature_request",
                                            "priority": "P2", "assignee": agent.id}, "Wider impact")
    # The category goes first, so the new feature request takes its evaluation; assigning opens it.
    assert applied.changed == {"category": ("question", "feature_request"), "priority": ("P3", "P2"),
                               "assignee": (None, str(agent.id)), "feature_state": (None, "planned"),
                               "status": ("new", "open")}
    db.session.expire_all()
    assert ticket.priority is Priority.P2 and ticket.status is Status.OPEN and ticket.feature_state.value == "planned"


def test_one_refusal_refuses_them_all_and_names_every_field(app):
    ticket = gen_ticket()
    agent, customer = gen_user(Role.AGENT), gen_user(Role.CUSTOMER)
    events = len(ticket.events)
    with pytest.raises(changes.ChangesRefused) as refused:
        changes.apply(ticket, agent, {"category": "technical_issue", "priority": "P1", "status": "solved",
                                      "assignee": customer.id})
    assert set(refused.value.errors) == {"reason", "status", "assignee"}
    db.session.expire_all()
    assert len(ticket.events) == events and ticket.category.value == "question" and ticket.priority is Priority.P3
    with pytest.raises(DomainError):
        changes.apply(ticket, agent, {"colour": "red"})
    with pytest.raises(DomainError):
        changes.apply(ticket, customer, {"status": "open"})


def test_a_stale_view_refuses_only_what_someone_else_changed(app):
    ticket = gen_ticket()
    agent, colleague = gen_user(Role.AGENT), gen_user(Role.AGENT)
    answer(ticket, colleague)
    shown = seen(ticket)
    tickets.change_status(ticket, colleague, "waiting_on_customer")
    with pytest.raises(ChangedMeanwhile) as stale:
        changes.apply(ticket, agent, {"status": "solved", "priority": "P1"}, "Outage", seen=shown)
    assert [e.kind for e in stale.value.changes.events] == ["status"]
    db.session.expire_all()
    assert ticket.priority is Priority.P3  # not made either
    changes.apply(ticket, agent, {"priority": "P1"}, "Outage", seen=shown)
    assert ticket.priority is Priority.P1 and ticket.status is Status.WAITING_ON_CUSTOMER
