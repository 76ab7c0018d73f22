"""Test data factories: one call per row, sensible defaults, unique names."""

from __future__ import annotations

import itertools
from datetime import date

from portal.auth import services
from portal.auth.models import Organization, Role, User

PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)


def gen_org(name: str | None = None, plan: str = "standard", started_on: date | None = None,
            timezone: str = "Europe/Madrid") -> Organization:
    return services.create_organization(name or f"Org {next(_seq)}", plan, started_on, timezone)


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
