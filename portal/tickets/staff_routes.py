"""Agents working a ticket from its page: the changes in the side panel, and the page's poll that
names who else has it open and tells what they changed meanwhile."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import audit
from ..auth.models import User
from ..errors import DomainError
from ..extensions import db, parse_id
from ..teams import services as teams
from . import bp, meanwhile, services
from .routes import _render_detail, _staff_ticket_or_404, seen_in


@bp.post("/<reference>/update")
@login_required
def update(reference):
    """Agents: status, priority (with a reason), category, assignee, team, evaluation state. A form filled
    in before someone else changed the same thing is shown again, with what changed and the choice kept."""
    ticket = _staff_ticket_or_404(reference)  # the global CSRF check has already run
    field, value = request.form.get("field"), request.form.get("value", "")
    reason = request.form.get("reason", "")
    seen = seen_in(request.form)
    try:
        if field == "status":
            services.change_status(ticket, current_user, value, reason, seen=seen)
        elif field == "priority":
            services.change_priority(ticket, current_user, value, reason, seen=seen)
        elif field == "category":
            services.change_category(ticket, current_user, value, seen=seen)
        elif field == "feature_state":
            services.set_feature_state(ticket, current_user, value, reason, seen=seen)
        elif field == "assignee":
            assignee = db.session.get(User, user_id) if (user_id := parse_id(value)) else None
            services.assign(ticket, current_user, assignee, seen=seen)
        elif field == "team":
            services.change_team(ticket, current_user, teams.team_for_choice(value), seen=seen,
                                 origin=audit.from_request())
        else:
            abort(400)
    except services.ChangedMeanwhile as exc:
        db.session.rollback()
        return _render_detail(ticket, changed=exc.changes, status=409,
                              typed_change={"field": field, "value": value, "reason": reason, "error": exc.message})
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(_("Ticket updated."), "success")
    return redirect(url_for("tickets.detail", reference=ticket.reference))


@bp.post("/<reference>/viewers")
@login_required
def viewers(reference):
    """Staff report in from the ticket page; the answer names the others who have it open, and
    what others changed or wrote since the page was shown (the page says what it showed)."""
    ticket = _staff_ticket_or_404(reference)
    others = services.viewing(ticket, current_user)
    seen = seen_in(request.form)
    changed = meanwhile.changes_since(ticket, seen, current_user) if seen is not None else None
    return render_template("tickets/_viewers.html", others=others, changed=changed, ticket=ticket)
