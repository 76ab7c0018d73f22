"""Test data factories: one call per row, sensible defaults, unique names."""

from __future__ import annotations

import itertools
from datetime import date

from portal.auth import services
from portal.auth.models import Organization, Role, User

PASSWORD = "correct-horse-battery"
# Organizations go live on this day unless a test says otherwise: before the fixed instants the
# tests file tickets at, and open-ended, so a plan is in force for them (and for filing "now").
GO_LIVE = date(2020, 1, 1)
_seq = itertools.count(1)


def gen_org(name: str | None = None, plan: str = "standard", started_on: date | None = None,
            timezone: str = "Europe/Madrid") -> Organization:
    """An organization whose ``plan`` applies from its go-live date (default GO_LIVE). A plan the
    plans file does not have stands for one it no longer has (renamed or removed since)."""
    from portal.extensions import db
    from portal.plans import history
    from portal.plans.services import all_plans

    known = plan in all_plans()
    org = history.create_organization(name or f"Org {next(_seq)}", plan if known else next(iter(all_plans())),
                                      started_on or GO_LIVE, timezone)
    if not known:
        first = history.history(org)[0]
        first.plan, first.ends_on = plan, None
        db.session.commit()
    return org


def gen_plan(org: Organization, plan: str, starts_on: date, ends_on: date | None = None, trial: bool = False,
             note: str | None = None, by: User | None = None):
    """A plan change through the same rules as the page, the API and the CLI; returns the new entry."""
    from portal.plans import history

    return history.set_plan(org, plan, starts_on, ends_on, trial, note, by).entry


def gen_user(role: Role | str = Role.CUSTOMER, email: str | None = None, org: Organization | None = None,
             password: str = PASSWORD, name: str | None = None, locale: str | None = None) -> User:
    role = Role(role)
    if role.is_customer and org is None:
        org = gen_org()
    user = services.create_user(email or f"user{next(_seq)}@example.com", password, role, name=name,
                                organization=org if role.is_customer else None)
    if locale:
        services.set_locale(user, locale, ["en", "es"])
    return user


def gen_ticket(user: User | None = None, **fields):
    """A filed ticket; keyword arguments override the draft."""
    import secrets

    from portal.tickets import services as tickets

    user = user or gen_user(Role.CUSTOMER)
    files = fields.pop("files", [])
    now = fields.pop("now", None)
    draft = tickets.TicketDraft(**{
        "category": "question", "subject": "How do I export a report?",
        "description": "I cannot find the export button on the reports page.",
        "impact": "medium", "urgency": "medium", "submission_key": secrets.token_hex(8), **fields,
    })
    return tickets.file_ticket(user, draft, files, now=now)


def answer(ticket, agent: User | None = None, now=None, body: str = "Thanks, we are looking into it."):
    """The first public agent reply, which a ticket needs before it can wait on the customer or be solved."""
    from portal.tickets import services as tickets

    agent = agent or gen_user(Role.AGENT)
    tickets.reply(ticket, agent, body, now=now)
    return agent


def queued_mail(after: int = 0) -> list[str]:
    """The outbox's messages (whole, as text) with an id above ``after``, oldest first."""
    from sqlalchemy import select

    from portal.extensions import db
    from portal.mail.models import OutboxMessage

    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.id > after).order_by(OutboxMessage.id))
    return [row.raw.decode("utf-8", "replace") for row in rows]
