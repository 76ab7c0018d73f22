"""The API's organization endpoints for admins: an organization's plan history, and plan changes."""

from flask import request, url_for
from spectree import Response

from .. import audit
from ..auth.models import Organization, Role, utcnow
from ..errors import DomainError
from ..extensions import MAX_ID, db
from ..plans import history
from . import bp, serialize, spec
from .problems import Problem
from .routes import TOKEN, _errors, _invalid, api_user
from .schemas import PlanChangeIn, PlanEntryOut, PlanHistoryOut


def _organization(org_id: int) -> Organization:
    """Admins only (everyone else: 403, whether or not the organization exists); then 404 if there is none."""
    if api_user().role is not Role.ADMIN:
        raise Problem(403, "Only admins manage organizations' plans.")
    organization = db.session.get(Organization, org_id)
    if organization is None:
        raise Problem(404, f"No organization {org_id}.")
    return organization


@bp.get(f"/organizations/<int(max={MAX_ID}):org_id>/plans")  # the maximum, written out for the OpenAPI document
@spec.validate(resp=Response(HTTP_200=PlanHistoryOut, **_errors(401, 403, 404, 429)), tags=["Organizations (admins)"],
               security=TOKEN)
def plan_history(org_id: int):
    """An organization's plan history (admins).

    Every entry, oldest first, the one in force today (in the organization's time zone),
    what changes next and the go-live date."""
    return serialize.plan_history(_organization(org_id), utcnow())


@bp.post(f"/organizations/<int(max={MAX_ID}):org_id>/plans")
@spec.validate(resp=Response(HTTP_201=PlanEntryOut, **_errors(400, 401, 403, 404, 409, 422, 429)),
               tags=["Organizations (admins)"], security=TOKEN)
def add_plan_change(org_id: int, json: PlanChangeIn):
    """Add a plan change (admins).

    The plan applies from starts_on to ends_on (both included; no ends_on: open-ended, or
    the plan's own validity). An open-ended plan running on starts_on ends the day before.
    Dates that overlap any other entry are a 409 of type plan-overlap and change nothing;
    an unknown plan, ends_on before starts_on or a trial without ends_on are a 422."""
    organization = _organization(org_id)
    try:
        change = history.set_plan(organization, json.plan, json.starts_on, json.ends_on, json.trial, json.note,
                                  by=api_user(), origin=audit.Origin.of(api_user(), request.remote_addr, "api"))
    except history.PlanOverlap as exc:
        db.session.rollback()
        raise Problem(409, str(exc), "plan-overlap") from None
    except DomainError as exc:
        db.session.rollback()
        raise _invalid(exc) from None
    return serialize.plan_entry(change.entry), 201, {"Location": url_for("api.plan_history", org_id=organization.id)}
