"""The ticket page's priority requests: the customer asks for another priority with a reason;
an agent accepts or declines it in one click. The rules are in priorities.py."""

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..errors import DomainError
from ..extensions import csrf, db
from . import bp, priorities
from .forms import DeclineForm, PriorityRequestForm


def _detail_with_errors(ticket, exc: DomainError, forms: dict, default_field: str):
    from .routes import _render_detail

    db.session.rollback()
    status = 409 if isinstance(exc, priorities.PriorityRequestConflict) else 422
    return _render_detail(ticket, priority_forms=forms, priority_errors={exc.field or default_field: exc.message},
                          status=status)


@bp.post("/<reference>/priority-request")
@csrf.exempt  # checked by the form, which keeps the reason on failure
@login_required
def request_priority(reference):
    """The customer asks for another priority, with a reason."""
    from .routes import _render_detail, ticket_or_404

    ticket = ticket_or_404(reference)
    if not current_user.role.is_customer:
        abort(403)
    form = PriorityRequestForm()
    if not form.validate_on_submit():
        return _render_detail(ticket, priority_forms={"request": form}, status=422, priority_errors={
            "reason": _("The form expired. Your text is still here: send it again.")})
    try:
        priorities.request_change(ticket, current_user, form.priority.data or "", form.reason.data or "")
    except DomainError as exc:
        return _detail_with_errors(ticket, exc, {"request": form}, "priority")
    flash(_("Your request was sent: an agent will accept or decline it."), "success")
    return redirect(url_for("tickets.detail", reference=ticket.reference, _anchor="priority-request"))


@bp.post("/<reference>/priority-request/<int:request_id>/accept")
@login_required
def accept_priority(reference, request_id):
    """Agents: accept the customer's request; the priority and the SLA targets change."""
    from .routes import _staff_ticket_or_404

    ticket = _staff_ticket_or_404(reference)  # the global CSRF check has already run
    try:
        priorities.decide(ticket, current_user, request_id, accept=True)
    except priorities.PriorityRequestNotFound:
        abort(404)
    except DomainError as exc:
        return _detail_with_errors(ticket, exc, {}, "decision")
    flash(_("Request accepted: the priority and the SLA targets changed."), "success")
    return redirect(url_for("tickets.detail", reference=ticket.reference))


@bp.post("/<reference>/priority-request/<int:request_id>/decline")
@csrf.exempt  # checked by the form, which keeps the reason on failure
@login_required
def decline_priority(reference, request_id):
    """Agents: decline the customer's request, optionally saying why."""
    from .routes import _render_detail, _staff_ticket_or_404

    ticket = _staff_ticket_or_404(reference)
    form = DeclineForm()
    if not form.validate_on_submit():
        return _render_detail(ticket, priority_forms={"decline": form}, status=422, priority_errors={
            "decline_reason": _("The form expired. Your text is still here: send it again.")})
    try:
        priorities.decide(ticket, current_user, request_id, accept=False, reason=form.reason.data)
    except priorities.PriorityRequestNotFound:
        abort(404)
    except DomainError as exc:
        return _detail_with_errors(ticket, exc, {"decline": form}, "decline_reason")
    flash(_("Request declined; the customer sees your reason in the history."), "success")
    return redirect(url_for("tickets.detail", reference=ticket.reference))
