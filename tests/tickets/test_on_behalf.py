"""Tickets an agent files on a customer's behalf (phone, chat, a visit…): the customer's rules apply."""

import secrets
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.auth.models import Role
from portal.errors import DomainError
from portal.extensions import db
from portal.plans import services as plan_services
from portal.plans.models import QuotaUsage
from portal.tickets import services
from portal.tickets.models import Channel, Ticket
from tests.factories import gen_org, gen_user, queued_mail

PLANS_FILE = Path(__file__).parents[2] / "examples" / "plans" / "support-levels.toml"


def draft(**fields):
    return services.TicketDraft(**{
        "category": "question", "subject": "Cannot print the invoices",
        "description": "Called in: the print button does nothing since this morning.",
        "impact": "medium", "urgency": "medium", "submission_key": secrets.token_hex(8),
        "channel": "phone", **fields})


@pytest.fixture
def agent(app):
    return gen_user(Role.AGENT, name="Sam Agent")


@pytest.fixture
def customer(app):
    return gen_user(org=gen_org("Acme", plan="preferential", started_on=date(2026, 11, 1)), name="Ana Customer")


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_an_agent_files_by_phone_for_the_customer(app, agent, customer, now):
    before = len(queued_mail())
    ticket = services.file_ticket(customer, draft(), now=now, filed_by=agent)
    assert (ticket.requester_id, ticket.filed_by_id, ticket.channel) == (customer.id, agent.id, Channel.PHONE)
    assert ticket.organization_id == customer.organization_id and ticket.plan == "preferential"
    created = ticket.events[0]
    assert (created.kind, created.actor_id) == ("created", agent.id)
    # The SLA starts as if the customer had filed: 3h-6h of the plan's 08:00-18:00 (Madrid, 11:00 now).
    assert ticket.first_response_due is not None and ticket.first_response_due > now
    mail = queued_mail()[before:]
    assert len(mail) == 1 and "ana" in mail[0].lower() and ticket.reference in mail[0]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "ticket.file_for"))
    assert (entry.actor_id, entry.target_label, entry.detail["channel"]) == (agent.id, ticket.reference, "phone")


def test_the_customers_form_rules_apply_whatever_the_channel(app, agent, customer, now):
    # By email without an agent the minimum lengths do not apply; an agent typing it gets them.
    with pytest.raises(DomainError) as refused:
        services.file_ticket(customer, draft(channel="email", subject="Hi"), now=now, filed_by=agent)
    assert refused.value.field == "subject"


@pytest.mark.parametrize("who", ["staff", "no_organization", "inactive"])
def test_the_requester_must_be_an_active_customer_of_an_organization(app, agent, customer, now, who):
    requester = {"staff": lambda: gen_user(Role.AGENT), "no_organization": lambda: gen_user(Role.WRITER),
                 "inactive": lambda: customer}[who]()
    if who == "inactive":
        customer.active = False
        db.session.commit()
    with pytest.raises(DomainError, match="active customer of an organization") as refused:
        services.file_ticket(requester, draft(), now=now, filed_by=agent)
    assert refused.value.field == "requester" and count(Ticket) == 0


def test_only_agents_file_on_behalf(app, customer, now):
    with pytest.raises(DomainError, match="Only agents"):
        services.file_ticket(customer, draft(), now=now, filed_by=gen_user(org=customer.organization))
    with pytest.raises(DomainError) as refused:
        services.file_ticket(customer, draft(channel="api"), now=now, filed_by=gen_user(Role.AGENT))
    assert refused.value.field == "channel"


def test_a_channel_the_plan_does_not_include_is_refused_and_nothing_changes(app, agent, now):
    # The monthly level: web and email only, 40 tickets a month.
    customer = gen_user(org=gen_org("Beta", plan="monthly", started_on=date(2026, 11, 1)))
    before = len(queued_mail())
    with pytest.raises(services.ChannelNotInPlan) as refused:
        services.file_ticket(customer, draft(channel="visit"), now=now, filed_by=agent)
    assert refused.value.field == "channel"
    assert str(refused.value) == "Beta's plan (Monthly support) takes new tickets through web, email, not visit."
    db.session.rollback()
    assert count(Ticket) == 0 and count(QuotaUsage) == 0 and len(queued_mail()) == before
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "ticket.file_for")) is None
    # The same customer by email: the plan includes it, and it counts against the quota.
    services.file_ticket(customer, draft(channel="email"), now=now, filed_by=agent)
    assert plan_services.quota(customer.organization, now).used == 1


def test_quota_and_plan_end_apply_as_for_the_customer(app, agent, now):
    customer = gen_user(org=gen_org("Gamma", plan="monthly", started_on=date(2026, 11, 1)))
    quota = plan_services.quota(customer.organization, now)
    db.session.add(QuotaUsage(organization_id=customer.organization_id, month=quota.month, used=quota.limit))
    db.session.commit()
    with pytest.raises(plan_services.QuotaExceeded):
        services.file_ticket(customer, draft(channel="email"), now=now, filed_by=agent)
    # Gone live in 2020: the monthly level (six months) ended long ago.
    ended = gen_user(org=gen_org("Delta", plan="monthly"))
    with pytest.raises(plan_services.PlanExpired):
        services.file_ticket(ended, draft(channel="email"), now=now, filed_by=agent)
    db.session.rollback()
    assert count(Ticket) == 0


def test_outside_the_channels_hours_the_ticket_is_still_filed(app, agent, customer):
    late = __import__("datetime").datetime(2026, 12, 2, 20, 0)  # 21:00 in Madrid: the phone closed at 18:00
    ticket = services.file_ticket(customer, draft(), now=late, filed_by=agent)
    assert ticket.channel is Channel.PHONE and ticket.first_response_due > late


def test_the_channel_and_who_filed_are_shown(app, agent, customer, now):
    from tests.conftest import AuthActions

    ticket = services.file_ticket(customer, draft(), now=now, filed_by=agent)
    for user, path in ((customer, f"/tickets/{ticket.reference}"), (agent, f"/tickets/{ticket.reference}"),
                       (agent, "/agent/")):
        client = app.test_client()
        AuthActions(client).login(user.email)
        page = client.get(path).get_data(as_text=True)
        assert "by phone" in page, path
        if path.startswith("/tickets/"):
            assert "Sam Agent filed the ticket (P3) by phone on behalf of Ana Customer." in page
