"""Staff log time spent with an organization without a ticket (a call, a video call, a visit, a
session) from its page; the plan's billing rules live in portal.plans.hours."""

from datetime import date

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import audit
from ..auth.models import Role
from ..errors import DomainError
from ..extensions import db
from ..plans import hours, services
from ..web import render_page_or_fragment
from . import bp
from .routes import _organization, _page, preview_time

FIELDS = ("kind", "minutes", "worked_on", "note", "escalated", "bug")


def _staff_organization(org_id: int):
    organization = _organization(org_id)  # a customer gets the 404 of another organization's page
    if current_user.role not in (Role.AGENT, Role.ADMIN):
        abort(403)
    return organization


def _typed() -> dict:
    source = request.form if request.method == "POST" else request.args
    return {name: source.get(name, "") for name in FIELDS}


@bp.post("/org/<int:org_id>/time")
@login_required
def log_time(org_id):
    """Agents: time without a ticket; the page comes back with the typed values on an error."""
    organization = _staff_organization(org_id)
    typed = _typed()
    try:
        worked_on = date.fromisoformat(typed["worked_on"]) if typed["worked_on"] else None
    except ValueError:
        return _page(organization, time_form=typed, time_errors={"worked_on": _("Enter a date like 2026-11-22.")},
                     status=422)
    try:
        hours.log_organization_time(organization, current_user, typed["kind"], typed["minutes"], worked_on,
                                    typed["note"], services.local_day(organization), escalated=typed["escalated"] == "y",
                                    bug=typed["bug"] == "y", origin=audit.from_request())
    except DomainError as exc:
        db.session.rollback()
        return _page(organization, time_form=typed, time_errors={exc.field or "minutes": exc.message}, status=422)
    flash(_("Time logged."), "success")
    return redirect(url_for("org.page", org_id=organization.id, _anchor="support-hours"))


@bp.get("/org/<int:org_id>/time/preview")
@login_required
def time_preview(org_id):
    """What the entry being typed would bill (an htmx fragment; the whole page without htmx)."""
    organization = _staff_organization(org_id)
    typed = _typed()
    return render_page_or_fragment("org/_time_preview.html", "org/_time_preview.html",
                                   time_preview=preview_time(organization, typed, services.local_day(organization)))
