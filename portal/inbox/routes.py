"""The agents' "Email" pages: mail that matched nobody (assign it to a customer, or discard it),
the originals of messages that came by email, and for admins the mail the outbox gave up on."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import audit
from ..auth.models import Role
from ..errors import DomainError
from ..extensions import db
from ..mail import outbox
from ..web import roles_required
from . import bp, services
from .models import InboundMessage


@bp.app_template_global()
def email_originals(ticket):
    """The staff ticket page links each message that came by email to its original (tickets does not import inbox)."""
    return services.originals(ticket)


@bp.app_template_global()
def unmatched_email_count():
    return services.unmatched_count()


@bp.get("/")
@login_required
@roles_required(Role.AGENT, Role.ADMIN)
def unmatched(errors=None, typed=None, status=200):
    return render_template("inbox/unmatched.html", waiting=services.unmatched(), others=services.recent_other(),
                           errors=errors or {}, typed=typed or {}, outbox_counts=outbox.counts()), status


@bp.post("/<int:inbound_id>/assign")
@login_required
@roles_required(Role.AGENT, Role.ADMIN)
def assign(inbound_id):
    email = request.form.get("customer", "")
    try:
        row = services.assign(inbound_id, current_user, email, origin=audit.from_request())
    except services.NotWaiting as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("inbox.unmatched"))
    except DomainError as exc:
        db.session.rollback()
        return unmatched(errors={inbound_id: exc.message}, typed={inbound_id: email}, status=422)
    flash(_("Assigned: it is now on %(ref)s.", ref=row.ticket.reference) if row.ticket else _("Assigned."), "success")
    return redirect(url_for("inbox.unmatched"))


@bp.post("/<int:inbound_id>/discard")
@login_required
@roles_required(Role.AGENT, Role.ADMIN)
def discard(inbound_id):
    try:
        services.discard(inbound_id, current_user, origin=audit.from_request())
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(_("Discarded. The original stays in the log."), "success")
    return redirect(url_for("inbox.unmatched"))


@bp.get("/<int:inbound_id>.eml")
@login_required
@roles_required(Role.AGENT, Role.ADMIN)
def original(inbound_id):
    """The whole message as it arrived, for the agent's mail program."""
    row = db.session.get(InboundMessage, inbound_id)
    if row is None or row.raw is None:
        abort(404)
    return row.raw, 200, {"Content-Type": "message/rfc822",
                          "Content-Disposition": f'attachment; filename="email-{row.id}.eml"',
                          "X-Content-Type-Options": "nosniff"}


@bp.get("/outbox")
@login_required
@roles_required(Role.ADMIN)
def failed_mail():
    return render_template("inbox/outbox.html", failed=outbox.failed(), counts=outbox.counts())


@bp.post("/outbox/<int:message_id>/<any(retry, discard):action>")
@login_required
@roles_required(Role.ADMIN)
def outbox_action(message_id, action):
    done = outbox.retry(message_id) if action == "retry" else outbox.discard(message_id)
    if not done:
        flash(_("That message is no longer waiting: another admin has dealt with it."), "error")
    elif action == "retry":
        flash(_("It is queued again: the worker sends it within a minute."), "success")
    else:
        flash(_("Discarded: it will not be sent."), "success")
    return redirect(url_for("inbox.failed_mail"))
