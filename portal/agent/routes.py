"""The queue: one screen of what is due next, filtered, searched, paged, refreshed live."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..auth.models import Organization, Role, utcnow
from ..errors import DomainError
from ..extensions import db
from ..plans import sla
from ..tickets import services as tickets
from ..web import flash_result, roles_required, wants_fragment
from . import bp, services

REFRESH_LIMIT = 500


def _rows_context(rows, filters, next_cursor, selected=()):
    now = utcnow()
    return dict(rows=[(t, sla.clock(t, now)) for t in rows], filters=filters, next_cursor=next_cursor,
                selected=set(selected), agents=services.agents())


@bp.get("/")
@login_required
@roles_required(Role.AGENT, Role.ADMIN)
def queue():
    filters = services.Filters.from_args(request.args)
    selected = request.args.getlist("ticket")
    errors = {}
    try:
        if request.args.get("upto"):
            # Live refresh: the rows the agent has loaded so far, nothing more, so their place stays put.
            upto = services.parse_cursor(request.args["upto"])
            rows, _next = services.queue(current_user, filters, limit=REFRESH_LIMIT)
            rows = [t for t in rows if upto is None or (t.sla_next_due, t.id) <= upto]
            next_cursor = request.args.get("more") or None
        else:
            rows, next_cursor = services.queue(current_user, filters, services.parse_cursor(request.args.get("after")))
    except DomainError as exc:
        rows, next_cursor, errors = [], None, {exc.field or "form": exc.message}
    context = _rows_context(rows, filters, next_cursor, selected)
    if wants_fragment():
        template = "agent/_rows.html" if request.args.get("after") else "agent/_queue.html"
        return render_template(template, **context, errors=errors)
    organizations = db.session.scalars(db.select(Organization).order_by(Organization.name)).all()
    return render_template("agent/queue.html", **context, errors=errors, organizations=organizations), \
        422 if errors else 200


def _back():
    target = request.form.get("next") or ""
    return redirect(target if target.startswith("/agent/") else url_for("agent.queue"))


@bp.post("/claim/<reference>")
@login_required
@roles_required(Role.AGENT, Role.ADMIN)
def claim(reference):
    try:
        ticket = tickets.get_ticket(current_user, reference)
    except tickets.TicketNotFound:
        abort(404)
    flash_result(lambda: services.claim(ticket, current_user), _("%(ref)s is yours.", ref=reference))
    if request.form.get("open"):
        return redirect(url_for("tickets.detail", reference=reference))
    return _back()


@bp.post("/bulk")
@login_required
@roles_required(Role.AGENT, Role.ADMIN)
def bulk():
    try:
        changed, refused = services.bulk(current_user, request.form.getlist("ticket"), request.form.get("action", ""),
                                         request.form.get("value", ""))
    except DomainError as exc:
        flash(exc.message, "error")
        return _back()
    if changed:
        flash(_("Updated %(n)d ticket(s): %(refs)s.", n=len(changed), refs=", ".join(changed)), "success")
    for reference, why in refused.items():
        flash(f"{reference}: {why}", "error")
    return _back()


@bp.app_template_filter("queue_cursor")
def queue_cursor(ticket) -> str:
    return services.cursor(ticket)
