"""A ticket an agent files for a customer who phoned, chatted, wrote or was visited: the customer's
form (its fields, partials and rules), with the requester and the channel; the customer's plan,
quota and SLA apply as if they had filed (tickets.services.file_ticket does it)."""

from __future__ import annotations

import secrets

from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..auth.models import Role, User, utcnow
from ..errors import DomainError
from ..extensions import csrf, db, parse_id
from ..plans import hours
from ..plans import services as plan_services
from ..plans.catalog import channel_hours
from ..teams import services as teams
from ..tickets import attachments, services as tickets
from ..tickets.attachments import limits
from ..tickets.forms import OnBehalfForm
from ..tickets.routes import computed_priority, draft_from, files_of
from ..web import roles_required, wants_fragment
from . import bp, services


def _requester(value) -> User | None:
    user_id = parse_id(value)
    return db.session.get(User, user_id) if user_id else None


def refusal_text(exc: DomainError, organization) -> str:
    """A refusal as the agent reads it: about the customer's organization, not "your organization"."""
    if isinstance(exc, plan_services.QuotaExceeded):
        return _("%(org)s has used all %(limit)d tickets of this month's quota: no ticket can be filed for its "
                 "customers until %(date)s.", org=organization.name, limit=exc.quota.limit,
                 date=format_date(exc.quota.resets_at, "long"))
    if isinstance(exc, hours.HoursUsedUp):
        return _("%(org)s's prepaid support hours for this period are used up, and its plan then takes no new "
                 "tickets.", org=organization.name)
    if isinstance(exc, plan_services.PlanExpired):
        return _("%(org)s has no support plan in force today, so no ticket can be filed for its customers.",
                 org=organization.name)
    return exc.message


def _notice_context(form: OnBehalfForm, requester: User | None, now) -> dict:
    """What depends on the customer: their plan's notice for the channel, priority scheme, areas."""
    channel = form.channel.data or "phone"
    notice = tickets.on_behalf_notice(requester, channel, now) if requester is not None else None
    plan = notice.plan if notice is not None else None
    refusal = None
    if notice is not None and notice.refusal is not None:
        refusal = refusal_text(notice.refusal, requester.organization) if requester.organization else \
            notice.refusal.message
    return dict(
        form=form, requester=requester, notice=notice, refusal=refusal, plan=plan, channel=channel,
        channel_hours=channel_hours(plan, channel, requester.organization.timezone) if plan is not None else None,
        scheme=tickets.priority_scheme(plan), requires=tickets.technical_issue_requires(plan),
        areas=teams.areas_for(plan.key if plan is not None else None), lang=str(get_locale() or "en"),
        computed=computed_priority(form.impact.data, form.urgency.data),
    )


# The form checks its own CSRF token (csrf.exempt only skips the global check), so an expired
# token re-renders the form with the agent's text instead of a 400.
@bp.route("/tickets/new", methods=["GET", "POST"])
@csrf.exempt
@login_required
@roles_required(Role.AGENT, Role.ADMIN)
def file_for_customer():
    form = OnBehalfForm()
    form.requester.choices = [("", _("Choose the customer"))] + [
        (str(u.id), f"{u.name} <{u.email}>") for u in services.customers()]
    now = utcnow()
    if request.method == "GET":
        form.draft_key.data = secrets.token_urlsafe(24)
        form.requester.data = request.args.get("requester", "")
        form.channel.data = request.args.get("channel") or "phone"
    requester = _requester(form.requester.data)
    errors, kept_names, status = {}, [], 422
    if request.method == "POST" and not form.validate_on_submit():
        errors = {"form": _("The form expired. Your text is still here: send it again.")}
        form.draft_key.data = form.draft_key.data or secrets.token_urlsafe(24)
    elif request.method == "POST":
        draft = draft_from(form, (requester.locale if requester else None) or str(get_locale() or "en"),
                           channel=form.channel.data or "")
        files = files_of(form, draft)
        if request.form.get("check"):  # without JavaScript: show the customer's plan, file nothing yet
            kept_names = attachments.stash(current_user.id, draft.submission_key, files)
        else:
            try:
                ticket = tickets.file_ticket(requester, draft, files, now=now, filed_by=current_user)
            except DomainError as exc:
                db.session.rollback()
                if isinstance(exc, (plan_services.QuotaExceeded, plan_services.PlanExpired, hours.HoursUsedUp)):
                    errors = {"form": _("%(why)s The ticket was not filed; the text is kept below.",
                                        why=refusal_text(exc, requester.organization))}
                else:
                    errors = draft.errors or {exc.field or "form": exc.message}
                kept_names = attachments.stash(current_user.id, draft.submission_key, files)
                status = getattr(exc, "status", 422)
            else:
                attachments.drop_stash(current_user.id, draft.submission_key)
                flash(_("Ticket %(ref)s filed for %(name)s (%(org)s): they get the acknowledgement by email and see "
                        "it in their tickets.", ref=ticket.reference, name=requester.name,
                        org=ticket.organization.name), "success")
                return redirect(url_for("tickets.detail", reference=ticket.reference))
    max_files, max_bytes = limits()
    return render_template(
        "agent/file_for.html", errors=errors, kept_files=kept_names, max_files=max_files,
        max_mb=max_bytes // 2**20, customers=services.customers(), **_notice_context(form, requester, now),
    ), status if errors else 200


@bp.get("/tickets/new/notice")
@login_required
@roles_required(Role.AGENT, Role.ADMIN)
def file_for_notice():
    """The customer's plan for the chosen channel (an htmx fragment, with their plan's priority and
    product-area fields swapped in out of band); without htmx, the page with that customer chosen."""
    if not wants_fragment():
        return redirect(url_for("agent.file_for_customer", requester=request.args.get("requester", ""),
                                channel=request.args.get("channel", "")))
    form = OnBehalfForm(request.args, meta={"csrf": False})
    response = render_template("agent/_file_for_notice.html", errors={}, oob=True,
                               **_notice_context(form, _requester(form.requester.data), utcnow()))
    return response, 200, {"Vary": "HX-Request"}
