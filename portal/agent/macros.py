"""Canned replies: placeholders filled by Jinja's sandbox from plain values, never from models."""

from __future__ import annotations

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..auth.models import User, utcnow
from ..errors import DomainError, lazy_gettext as _l
from ..extensions import db
from .models import Macro

_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)

PLACEHOLDERS = ("customer.name", "customer.first_name", "customer.email", "organization.name", "ticket.reference",
                "ticket.subject", "ticket.priority", "agent.name", "agent.first_name", "plan.name")
SAMPLE = {"customer": {"name": "Ana Example", "first_name": "Ana", "email": "ana@example.com"},
          "organization": {"name": "Example Ltd"}, "ticket": {"reference": "2026-00042", "subject": "Example",
                                                               "priority": "P3"},
          "agent": {"name": "Sam Agent", "first_name": "Sam"}, "plan": {"name": "Standard"}}


def values(ticket, agent: User) -> dict:
    from ..plans.services import get_plan

    plan = get_plan(ticket.plan)
    return {
        "customer": {"name": ticket.requester.name, "first_name": ticket.requester.name.split()[0],
                     "email": ticket.requester.email},
        "organization": {"name": ticket.organization.name},
        "ticket": {"reference": ticket.reference, "subject": ticket.subject, "priority": ticket.priority.value},
        "agent": {"name": agent.name, "first_name": agent.name.split()[0]},
        "plan": {"name": plan.name if plan else ticket.plan or ""},
    }


def render(body: str, context: dict) -> str:
    try:
        return _env.from_string(body).render(**context)
    except TemplateError as exc:
        raise DomainError(_l("The macro cannot be filled in: %(error)s. Placeholders are %(placeholders)s.",
                             error=str(exc), placeholders=", ".join("{{ " + p + " }}" for p in PLACEHOLDERS)),
                          "body") from None


def all_macros() -> list[Macro]:
    return list(db.session.scalars(select(Macro).order_by(Macro.name)))


def save(agent: User, name: str, body: str, macro: Macro | None = None, origin: audit.Origin | None = None) -> Macro:
    name, body = (name or "").strip(), (body or "").strip()
    if not name or len(name) > 120:
        raise DomainError(_l("Give the macro a name of at most 120 characters."), "name")
    if not body or len(body) > 10_000:
        raise DomainError(_l("Write the reply text (at most 10,000 characters)."), "body")
    render(body, SAMPLE)  # a typo in a placeholder is refused now, not when a customer would read it
    detail = {"name": name} if macro is None else {"name": name, "was": macro.name} if macro.name != name else {}
    if macro is not None and macro.body != body:
        detail["body_changed"] = True
    action = "macro.create" if macro is None else "macro.edit"
    macro = macro or Macro(created_by_id=agent.id)
    macro.name, macro.body, macro.updated_at = name, body, utcnow()
    db.session.add(macro)
    try:
        db.session.flush()  # the id, for the audit entry (and a taken name shows here)
        audit.record(action, origin or audit.Origin.of(agent), macro.updated_at, target=("macro", macro.id, name),
                     detail=detail)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise DomainError(_l("A macro named %(name)s already exists.", name=repr(name)), "name") from None
    return macro


def delete(macro: Macro, origin: audit.Origin | None = None) -> None:
    audit.record("macro.delete", origin, target=("macro", macro.id, macro.name))
    db.session.delete(macro)
    db.session.commit()
