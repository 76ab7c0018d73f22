import secrets
from datetime import date
from pathlib import Path

from flask import (abort, current_app, flash, redirect, render_template, request, send_file, url_for)
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..auth.models import Role, User
from ..errors import DomainError
from ..extensions import csrf, db, parse_id
from ..kb import search as kb_search
from ..kb import services as kb_services
from ..plans import hours, sla
from ..plans import services as plan_services
from ..plans.models import TimeEntry
from ..teams import services as teams
from ..web import flash_result, render_page_or_fragment, wants_fragment
from . import billing as time_billing
from . import bp, meanwhile, services
from . import attachments
from .attachments import Upload, limits, path_of, thumbnail_path
from .forms import DeflectForm, NewTicketForm, ReopenForm, ReplyForm
from .priority_view import priority_request_context
from .models import Attachment, Category, FeatureState, Level, Priority, Status, Ticket


def _customer_required():
    if not current_user.role.is_customer:
        abort(403)


def _uploads(field) -> list[Upload]:
    return [Upload(f.filename or "", f.read()) for f in (field.data or []) if getattr(f, "filename", "")]


def ticket_or_404(reference: str) -> Ticket:
    try:
        return services.get_ticket(current_user, reference)
    except services.TicketNotFound:
        abort(404)


@bp.get("/")
@login_required
def index():
    if current_user.role is Role.WRITER:
        abort(403)
    status = request.args.get("status", "active")
    query = services.visible_tickets(current_user)
    if status == "active":
        query = query.where(Ticket.status != Status.CLOSED)
    elif status == "closed":
        query = query.where(Ticket.status == Status.CLOSED)
    tickets = db.session.scalars(query.order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(200)).all()
    quota = plan_services.quota(current_user.organization) if current_user.organization else None
    return render_template("tickets/index.html", tickets=tickets, status=status, quota=quota)


# The form checks its own CSRF token (csrf.exempt only skips the global check),
# so an expired token re-renders the form with the customer's text instead of a 400.
@bp.route("/new", methods=["GET", "POST"])
@csrf.exempt
@login_required
def new():
    _customer_required()
    form = NewTicketForm()
    saved = services.saved_draft(current_user)
    if request.method == "GET":
        form.draft_key.data = secrets.token_urlsafe(24)
        # A subject typed in the help center's search carries over.
        form.subject.data = (request.args.get("subject") or "")[:200]
        if saved is not None and not form.subject.data:
            for name in services.DRAFT_FIELDS:
                getattr(form, name).data = getattr(saved, name)
            form.severity.data = saved.priority_override  # a severity plan's level is kept there (save_draft)
    errors, kept_names, status = {}, [], 422
    if form.validate_on_submit():
        draft = draft_from(form, str(get_locale() or "en"))
        files = files_of(form, draft)
        try:
            ticket = services.file_ticket(current_user, draft, files)
        except DomainError as exc:
            db.session.rollback()
            if isinstance(exc, (plan_services.QuotaExceeded, plan_services.PlanExpired, hours.HoursUsedUp)):
                services.save_draft(current_user, draft)
                saved = services.saved_draft(current_user)
            if isinstance(exc, plan_services.QuotaExceeded):
                errors = {"form": _("Your organization has used all %(limit)d tickets of this month's quota, so this "
                                    "ticket was not filed. Your text is kept below: file it from %(date)s, when the "
                                    "count starts again, or ask your account manager for a plan without a limit.",
                                    limit=exc.quota.limit, date=format_date(exc.quota.resets_at, "long"))}
            elif isinstance(exc, hours.HoursUsedUp):
                errors = {"form": _("Your organization's prepaid support hours for this period are used up, so this "
                                    "ticket was not filed. Your text is kept below: ask your account manager to buy "
                                    "more hours, then file it again.")}
            elif isinstance(exc, plan_services.PlanExpired):
                errors = {"form": _("Your organization's support plan has ended, so this ticket was not filed. Your "
                                    "text is kept below. Ask your account manager to renew the plan.")}
            else:
                errors = draft.errors or {exc.field or "form": exc.message}
                status = getattr(exc, "status", 422)  # a full disk is the portal's problem, not the form's
            kept_names = attachments.stash(current_user.id, draft.submission_key, files)
        else:
            attachments.drop_stash(current_user.id, draft.submission_key)
            return redirect(url_for("tickets.filed", reference=ticket.reference))
    elif request.method == "POST":
        errors = {"form": _("The form expired. Your text is still here: send it again.")}
        form.draft_key.data = form.draft_key.data or secrets.token_urlsafe(24)
    computed = computed_priority(form.impact.data, form.urgency.data)
    plan = plan_services.plan_for(current_user.organization)
    suggestions = _suggest(form.subject.data, form.description.data) if request.method == "POST" else None
    max_files, max_bytes = limits()
    return render_template(
        "tickets/new.html", form=form, errors=errors, computed=computed, suggestions=suggestions, kept_files=kept_names,
        max_files=max_files, max_mb=max_bytes // 2**20, quota=plan_services.quota(current_user.organization),
        saved_draft=saved, used_up=_used_up(current_user.organization),
        scheme=services.priority_scheme(plan), requires=services.technical_issue_requires(plan),
        areas=teams.areas_for(plan.key if plan is not None else None), lang=str(get_locale() or "en"),
    ), status if errors else 200


def draft_from(form: NewTicketForm, lang: str, **fields) -> services.TicketDraft:
    """The draft a new-ticket form (the customer's, or the agent's for them) was filled in with."""
    return services.TicketDraft(
        category=form.category.data, subject=form.subject.data or "", description=form.description.data or "",
        impact=form.impact.data, urgency=form.urgency.data, submission_key=form.draft_key.data or "",
        priority_override=form.priority_override.data or None,
        severity=form.severity.data or None, severity_confirmed=bool(form.severity_confirmed.data),
        steps_to_reproduce=form.steps_to_reproduce.data, affected_account=form.affected_account.data,
        lang=lang, area=form.area.data or None, **fields,
    )


def files_of(form: NewTicketForm, draft: services.TicketDraft) -> list[Upload]:
    """The files kept from an earlier try of the form (still ticked) and those just chosen."""
    kept = attachments.stashed(current_user.id, draft.submission_key, request.form.getlist("keep_file"))
    return kept + _uploads(form.files)


def _used_up(organization) -> str | None:
    """The plan's rule for new tickets when the prepaid hours are used up, or None while hours are left."""
    balance = time_billing.balance(organization)
    return None if balance is None or balance.new_tickets == "clock" else balance.new_tickets


@bp.post("/draft/discard")
@login_required
def discard_draft():
    """Throw away the kept draft of a ticket that could not be filed."""
    _customer_required()  # the global CSRF check has already run
    services.discard_draft(current_user)
    flash(_("The draft was discarded."), "success")
    return redirect(url_for("tickets.new"))


def computed_priority(impact, urgency):
    try:
        return services.compute_priority(impact, urgency)
    except ValueError:
        return None


@bp.get("/priority")
@login_required
def priority():
    """The live priority as the customer picks impact and urgency (an htmx fragment)."""
    computed = computed_priority(request.args.get("impact"), request.args.get("urgency"))
    return render_page_or_fragment("tickets/_priority.html", "tickets/_priority.html", computed=computed)


SUGGESTION_WORDS = 16  # the subject and the start of the description are what matter


def _suggest(subject: str | None, description: str | None):
    words = " ".join(filter(None, [subject, (description or "")[:1000]])).split()
    text = " ".join(words[:SUGGESTION_WORDS])
    if len(text.strip()) < 3:
        return None
    return kb_search.suggest(Path(current_app.config["INDEX_DIR"]), text, lang=str(get_locale() or "en"),
                             limit=current_app.config["TICKET_SUGGESTIONS"])


@bp.get("/suggest")
@login_required
def suggest():
    """Articles that may answer what the customer is typing (an htmx fragment)."""
    _customer_required()
    draft_key = request.args.get("draft_key", "")
    results = _suggest(request.args.get("subject"), request.args.get("description"))
    if results and draft_key:
        services.record_suggestions(current_user, draft_key, [h.slug for h in results], "shown")
    return render_page_or_fragment("tickets/_suggestions.html", "tickets/_suggestions.html",
                                   suggestions=results, draft_key=draft_key)


@bp.get("/suggest/<slug>")
@login_required
def suggestion(slug):
    """One suggested article, read inside the form so nothing typed is lost."""
    _customer_required()
    try:
        article, rendered = kb_services.get_article(Path(current_app.config["KB_DIR"]), slug, False)
    except kb_services.ArticleNotFound:
        abort(404)
    draft_key = request.args.get("draft_key", "")
    if draft_key:
        services.record_suggestions(current_user, draft_key, [slug], "opened")
    if not wants_fragment():
        return redirect(url_for("kb.article", slug=slug))
    return render_template("tickets/_suggestion_preview.html", article=article, rendered=rendered,
                           draft_key=draft_key, deflect_form=DeflectForm(draft_key=draft_key, slug=slug))


@bp.post("/suggest/<slug>/continue")
@login_required
def continue_ticket(slug):
    """"Continue with my ticket": the article did not help."""
    _customer_required()
    form = DeflectForm()
    if form.validate_on_submit() and form.draft_key.data:
        services.record_suggestions(current_user, form.draft_key.data, [slug], "rejected")
    return "" if wants_fragment() else redirect(url_for("tickets.new"))


@bp.post("/deflect")
@login_required
def deflect():
    """"This solved my problem": no ticket, and a record that the article helped."""
    _customer_required()
    form = DeflectForm()
    if not form.validate_on_submit() or not form.draft_key.data or not form.slug.data:
        abort(400)
    services.record_suggestions(current_user, form.draft_key.data, [form.slug.data], "solved")
    response = redirect(url_for("tickets.deflected", slug=form.slug.data))
    if wants_fragment():
        response = current_app.make_response("")
        response.headers["HX-Redirect"] = url_for("tickets.deflected", slug=form.slug.data)
    return response


@bp.get("/solved")
@login_required
def deflected():
    slug = request.args.get("slug", "")
    try:
        article, _rendered = kb_services.get_article(Path(current_app.config["KB_DIR"]), slug, False)
    except kb_services.ArticleNotFound:
        article = None
    return render_template("tickets/deflected.html", article=article)


@bp.get("/<reference>/filed")
@login_required
def filed(reference):
    return render_template("tickets/filed.html", ticket=ticket_or_404(reference))


@bp.get("/<reference>")
@login_required
def detail(reference):
    ticket = ticket_or_404(reference)
    return _render_detail(ticket)


def seen_in(form) -> services.Seen | None:
    """What the agent's page showed when its form was filled in; None for a form that does not say."""
    if "seen_event_id" not in form and "seen_message_id" not in form:
        return None
    return services.Seen(parse_id(form.get("seen_event_id")) or 0, parse_id(form.get("seen_message_id")) or 0)


def _render_detail(ticket, reply_form=None, reopen_form=None, errors=None, status=200, time_form=None,
                   time_errors=None, compose=None, priority_forms=None, priority_errors=None, changed=None,
                   typed_change=None):
    staff = services.can_work_tickets(current_user)
    priority_context = priority_request_context(ticket, priority_forms, priority_errors)
    staff_context = {}
    if staff:
        staff_context = dict(
            hours=time_billing.balance(ticket.organization), preview=time_billing.preview(ticket),
            entries=db.session.scalars(select(TimeEntry).where(TimeEntry.ticket_id == ticket.id)
                                       .order_by(TimeEntry.worked_on, TimeEntry.id)).all(),
            time_form=time_form or {}, time_errors=time_errors or {},
            quota=plan_services.quota(ticket.organization), compose=compose or {},
            other_tickets=db.session.scalars(
                select(Ticket).where(Ticket.requester_id == ticket.requester_id, Ticket.id != ticket.id)
                .order_by(Ticket.created_at.desc()).limit(5)).all(),
        )
    agents = db.session.scalars(select(User).where(User.role.in_([Role.AGENT, Role.ADMIN])).order_by(User.name)).all() \
        if staff else []
    lang = str(get_locale() or "en")
    # Active teams, and the ticket's own even if inactive, so the select shows where it is.
    team_options = [(str(t.id), t.label(lang) if t.active else _("%(team)s (inactive)", team=t.label(lang)))
                    for t in teams.all_teams() if t.active or t.id == ticket.team_id] if staff else []
    return render_template(
        "tickets/detail.html", ticket=ticket, staff=staff, agent_options=[(str(a.id), a.name) for a in agents],
        team_options=team_options,
        messages=services.thread(ticket, current_user), history=services.public_history(ticket, current_user),
        reply_form=reply_form or ReplyForm(), reopen_form=reopen_form or ReopenForm(), errors=errors or {},
        autoclose_at=services.autoclose_due(ticket),
        tried=services.tried_before_filing(ticket) if staff else None,
        Status=Status, Priority=Priority, Category=Category, FeatureState=FeatureState, Level=Level,
        max_files=limits()[0], max_mb=limits()[1] // 2**20, file_stored=attachments.is_stored,
        plan=plan_services.get_plan(ticket.plan), clock=sla.clock(ticket), update_clock=sla.update_clock(ticket),
        best_effort=sla.is_best_effort(ticket), changed=changed, typed_change=typed_change or {},
        seen=meanwhile.seen(ticket),
        **staff_context, **priority_context,
    ), status


@bp.post("/<reference>/reply")
@csrf.exempt  # checked by ReplyForm, which keeps the text on failure
@login_required
def reply(reference):
    ticket = ticket_or_404(reference)
    form = ReplyForm()
    if not form.validate_on_submit():
        return _render_detail(ticket, reply_form=form,
                              errors={"body": _("The form expired. Your text is still here: send it again.")},
                              status=422)
    internal = services.can_work_tickets(current_user) and request.form.get("internal") == "y"
    try:
        services.reply(ticket, current_user, form.body.data, internal=internal, files=_uploads(form.files),
                       seen=seen_in(request.form))
    except services.ChangedMeanwhile as exc:
        # Someone wrote, or changed the status, while the agent was typing: show it first, keep the text.
        db.session.rollback()
        return _render_detail(ticket, reply_form=form, errors={"body": exc.message}, changed=exc.changes, status=409)
    except DomainError as exc:
        db.session.rollback()
        return _render_detail(ticket, reply_form=form, errors={exc.field or "body": exc.message},
                              status=getattr(exc, "status", 422))
    flash(_("Internal note added.") if internal else _("Your reply was sent."), "success")
    return redirect(url_for("tickets.detail", reference=ticket.reference, _anchor="thread-end"))


@bp.post("/<reference>/confirm")
@login_required
def confirm(reference):
    ticket = ticket_or_404(reference)
    if not current_user.role.is_customer:  # the global CSRF check has already run
        abort(403)
    flash_result(lambda: services.confirm_solution(ticket, current_user),
                 _("Thank you. The ticket is closed."))
    return redirect(url_for("tickets.detail", reference=ticket.reference))


@bp.post("/<reference>/reopen")
@login_required
def reopen(reference):
    ticket = ticket_or_404(reference)
    form = ReopenForm()
    if not current_user.role.is_customer or not form.validate_on_submit():
        abort(400)
    flash_result(lambda: services.reopen(ticket, current_user, form.reason.data or ""),
                 _("The ticket is open again; an agent will get back to you."))
    return redirect(url_for("tickets.detail", reference=ticket.reference))


def _staff_ticket_or_404(reference):
    ticket = ticket_or_404(reference)  # the global CSRF check has already run for POSTs
    if not services.can_work_tickets(current_user):
        abort(403)
    return ticket


@bp.post("/<reference>/time")
@login_required
def log_time(reference):
    """Agents: log time spent; the plan's rules decide what is billed."""
    ticket = _staff_ticket_or_404(reference)
    typed = {k: request.form.get(k, "") for k in ("minutes", "worked_on", "note")}
    try:
        worked_on = date.fromisoformat(typed["worked_on"]) if typed["worked_on"] else None
    except ValueError:
        return _render_detail(ticket, time_form=typed, time_errors={"worked_on": _("Enter a date like 2026-11-22.")},
                              status=422)
    try:
        time_billing.log_time(ticket, current_user, typed["minutes"], worked_on, typed["note"])
    except DomainError as exc:
        db.session.rollback()
        return _render_detail(ticket, time_form=typed, time_errors={exc.field or "minutes": exc.message}, status=422)
    flash(_("Time logged."), "success")
    return redirect(url_for("tickets.detail", reference=ticket.reference, _anchor="time-panel"))


@bp.get("/<reference>/time/preview")
@login_required
def time_preview(reference):
    """What the ticket would bill with the minutes being typed (an htmx fragment)."""
    ticket = _staff_ticket_or_404(reference)
    minutes = request.args.get("minutes", "")
    extra = parse_id(minutes) or 0
    extra = extra if extra <= hours.MAX_ENTRY_MINUTES else 0
    return render_page_or_fragment("tickets/_time_preview.html", "tickets/_time_preview.html",
                                   preview=time_billing.preview(ticket, extra))


@bp.post("/<reference>/billing")
@login_required
def billing(reference):
    """Agents: escalated to development, caused by our bug."""
    ticket = _staff_ticket_or_404(reference)
    flash_result(lambda: time_billing.set_billing_flags(ticket, current_user, escalated=request.form.get("escalated") == "y",
                                                 bug=request.form.get("bug") == "y"), _("Billing updated."))
    return redirect(url_for("tickets.detail", reference=ticket.reference, _anchor="time-panel"))


@bp.get("/<reference>/files/<int:attachment_id>")
@login_required
def attachment(reference, attachment_id):
    ticket = ticket_or_404(reference)
    item = db.session.get(Attachment, attachment_id)
    if item is None or item.ticket_id != ticket.id:
        abort(404)
    if item.message is not None and item.message.internal and not services.can_work_tickets(current_user):
        abort(404)
    if not attachments.is_stored(item):
        abort(410)  # the row outlived its file (see `portal attachments check`)
    thumbnail = thumbnail_path(item)
    if item.is_image and request.args.get("thumb") == "1" and thumbnail.is_file():
        response = send_file(thumbnail, mimetype="image/webp", max_age=0)
    else:
        inline = item.is_image and request.args.get("inline") == "1" or request.args.get("thumb") == "1"
        response = send_file(path_of(item), mimetype=item.content_type, as_attachment=not (inline and item.is_image),
                             download_name=item.filename, max_age=0)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response
