"""Staff schedule, move, cancel and record on-site visits from the organization's page; the rules
live in portal.visits.services. A refusal brings the page back (422, the message beside the field,
the typed text kept); success redirects to the Visits section. The section's forms are boosted by
htmx like the page's other forms (a held visit changes the ledger too), and work without it."""

from datetime import date

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import audit
from ..auth.models import User, utcnow
from ..errors import DomainError
from ..extensions import db, parse_id
from ..visits import services as visits
from . import bp
from .routes import _page
from .time_routes import _staff_organization

SCHEDULE_FIELDS = ("day", "consultant", "address", "agenda")
HELD_FIELDS = ("minutes", "report")
MOVE_FIELDS = ("day", "consultant")


def _typed(fields) -> dict:
    return {name: request.form.get(name, "") for name in fields}


def _day(typed: dict) -> date | None:
    try:
        return date.fromisoformat(typed["day"].strip()) if typed["day"].strip() else None
    except ValueError:
        raise DomainError(_("Enter a date like 2026-12-09."), "day") from None


def _consultant(typed: dict) -> User | None:
    user_id = parse_id(typed["consultant"])
    return db.session.get(User, user_id) if user_id is not None else None


def _visit(organization, visit_id: int):
    return visits.visit_of(organization, visit_id) or abort(404)


def _done(organization, message: str):
    flash(message, "success")
    return redirect(url_for("org.page", org_id=organization.id, _anchor="visits"))


def _refused(organization, key: str, typed: dict, exc: DomainError, default: str):
    db.session.rollback()
    if exc.field == "status":  # held or cancelled meanwhile: the visit has left the list its form was in
        flash(exc.message, "error")
    return _page(organization, visit_forms={key: (typed, {exc.field or default: exc.message})}, status=422)


@bp.post("/org/<int:org_id>/visits")
@login_required
def schedule_visit(org_id):
    organization = _staff_organization(org_id)
    typed = _typed(SCHEDULE_FIELDS)
    try:
        visit = visits.schedule_visit(organization, current_user, _day(typed), _consultant(typed), typed["address"],
                                      typed["agenda"], utcnow(), origin=audit.from_request())
    except DomainError as exc:
        return _refused(organization, "schedule", typed, exc, "day")
    return _done(organization, _("Visit scheduled: %(name)s on %(day)s.", name=visit.consultant.name,
                                   day=visit.day.isoformat()))


def _change(org_id: int, visit_id: int, fields: tuple, key: str, default: str, action, done):
    """One visit's form: ``action(visit, typed)`` calls the service; ``done(visit)`` says what happened."""
    organization = _staff_organization(org_id)
    visit = _visit(organization, visit_id)
    typed = _typed(fields)
    try:
        action(visit, typed)
    except DomainError as exc:
        return _refused(organization, f"{key}-{visit_id}", typed, exc, default)
    return _done(organization, done(visit))


@bp.post("/org/<int:org_id>/visits/<int:visit_id>/move")
@login_required
def move_visit(org_id, visit_id):
    return _change(org_id, visit_id, MOVE_FIELDS, "move", "day",
                   lambda visit, typed: visits.reschedule(visit, current_user, _day(typed), _consultant(typed),
                                                          utcnow(), origin=audit.from_request()),
                   lambda visit: _("Visit moved to %(day)s.", day=visit.day.isoformat()))


@bp.post("/org/<int:org_id>/visits/<int:visit_id>/cancel")
@login_required
def cancel_visit(org_id, visit_id):
    return _change(org_id, visit_id, (), "held", "status",
                   lambda visit, typed: visits.cancel(visit, current_user, utcnow(), origin=audit.from_request()),
                   lambda visit: _("Visit of %(day)s cancelled.", day=visit.day.isoformat()))


@bp.post("/org/<int:org_id>/visits/<int:visit_id>/held")
@login_required
def visit_held(org_id, visit_id):
    return _change(org_id, visit_id, HELD_FIELDS, "held", "minutes",
                   lambda visit, typed: visits.mark_held(visit, current_user, typed["minutes"], utcnow(),
                                                         typed["report"], origin=audit.from_request()),
                   lambda visit: _("Visit of %(day)s held: its time is in the ledger.", day=visit.day.isoformat()))
