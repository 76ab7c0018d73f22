"""The onboarding pages: the customer's program and bookings, the expert's day, the admins' report."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import audit
from ..auth.models import Role, utcnow
from ..errors import DomainError
from ..extensions import db, parse_id
from ..kb import search as kb_search
from ..web import flash_result, roles_required, wants_fragment
from . import bp, services
from .expert_routes import expert_page
from .ics import session_calendar
from .models import ExpertProfile, OnboardingSession, SessionStatus
from .notify import title as session_title


def _zone() -> ZoneInfo:
    org = current_user.organization
    return ZoneInfo(org.timezone if org else "UTC")


def _by_day(slots):
    """Slots grouped by the reader's local date, for the slot picker."""
    zone = _zone()
    return [(day, list(items)) for day, items in
            groupby(slots, key=lambda s: s.starts_at.replace(tzinfo=UTC).astimezone(zone).date())]


def _slot_value(slot) -> str:
    return f"{slot.expert_id}|{slot.starts_at.isoformat()}"


def _parse_slot(value: str | None) -> tuple[int, datetime]:
    try:
        expert, at = (value or "").split("|", 1)
        if parse_id(expert) is None:
            raise ValueError(expert)
        starts_at = datetime.fromisoformat(at)
        if starts_at.tzinfo is not None:  # slots are naive UTC; one typed with an offset is the same instant
            starts_at = starts_at.astimezone(UTC).replace(tzinfo=None)
        return parse_id(expert), starts_at
    except (ValueError, OverflowError):
        raise DomainError(_("Pick one of the free slots."), "slot") from None


def _articles() -> list[dict]:
    try:
        return kb_search.catalog(Path(current_app.config["INDEX_DIR"]))
    except Exception:  # no index: the session page still works, without materials
        return []


def _program_or_none():
    try:
        return services.program(current_user.organization)
    except services.NoOnboarding:
        return None


def _customer_program():
    if not current_user.role.is_customer:
        abort(403)
    prog = _program_or_none()
    if prog is None:
        abort(404)
    return prog


def _session_or_404(session_id: int) -> OnboardingSession:
    """The customer's organization, the session's expert and staff may see a session; others get a 404."""
    session = db.session.get(OnboardingSession, session_id)
    if session is None:
        abort(404)
    staff = current_user.role in (Role.AGENT, Role.ADMIN)
    if not staff and session.organization_id != current_user.organization_id:
        abort(404)
    return session


@bp.get("/")
@login_required
def index():
    if current_user.role in (Role.AGENT, Role.ADMIN):
        return redirect(url_for("onboarding.admin" if current_user.role is Role.ADMIN and not services.is_expert(
            current_user) else "onboarding.expert"))
    if not current_user.role.is_customer:
        abort(403)
    prog = _program_or_none()
    feedback = services.feedback_for(current_user.organization) if prog else None
    return render_template("onboarding/index.html", program=prog, now=utcnow(), feedback=feedback,
                           areas=services.areas())


def _booking_context(prog, week: int, errors=None, typed=None, taken=None):
    slots = services.week_slots(prog, week)
    return dict(program=prog, week=prog.weeks[week - 1], days=_by_day(slots), slot_value=_slot_value,
                areas=services.areas(), lang=str(get_locale() or "en"), errors=errors or {}, typed=typed or {},
                taken=taken or [], action=url_for("onboarding.book", week=week))


@bp.get("/week/<int:week>")
@login_required
def week_slots(week):
    """Free slots of one week of the program, in the customer's time zone (an htmx fragment or a page)."""
    prog = _customer_program()
    if not 1 <= week <= len(prog.weeks):
        abort(404)
    context = _booking_context(prog, week)
    if wants_fragment():
        return render_template("onboarding/_book.html", **context)
    return render_template("onboarding/book.html", **context)


def _attempt(action):
    """Run a booking or a move on the typed slot: (the session, errors for the form, nearest free slots)."""
    try:
        expert_id, starts_at = _parse_slot(request.form.get("slot"))
        return action(expert_id, starts_at), {}, []
    except services.SlotTaken as exc:
        db.session.rollback()
        return None, {"slot": _("That slot was just taken by someone else. Here are the nearest free ones; "
                                "what you typed is kept.")}, exc.nearest
    except DomainError as exc:
        db.session.rollback()
        return None, {exc.field or "form": exc.message}, []


@bp.post("/week/<int:week>")
@login_required
def book(week):
    prog = _customer_program()
    if not 1 <= week <= len(prog.weeks):
        abort(404)
    typed = {k: request.form.get(k, "") for k in ("slot", "feature_area", "questions")}
    session, errors, taken = _attempt(lambda expert_id, starts_at: services.book(
        current_user, week, expert_id, starts_at, typed["feature_area"], typed["questions"]))
    if errors:
        context = _booking_context(prog, week, errors, typed, taken)
        template = "onboarding/_book.html" if wants_fragment() else "onboarding/book.html"
        return render_template(template, **context), 422  # htmx swaps 422 answers (see base.html's htmx-config)
    flash(_("Booked. The meeting link and a calendar file are on their way by email."), "success")
    return _redirect(url_for("onboarding.session", session_id=session.id))


def _redirect(url: str):
    if wants_fragment():
        response = current_app.make_response("")
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url)


@bp.get("/sessions/<int:session_id>")
@login_required
def session(session_id):
    item = _session_or_404(session_id)
    staff = current_user.role in (Role.AGENT, Role.ADMIN)
    articles = _articles()
    by_slug = {a["slug"]: a for a in articles}
    return render_template(
        "onboarding/session.html", session=item, staff=staff, title=session_title(item, services.area_of(item)),
        materials=services.materials(item.feature_area, articles, str(get_locale() or "en")),
        follow_ups=[by_slug[s] for s in item.follow_up_slugs if s in by_slug],
        area=services.area_of(item), lang=str(get_locale() or "en"),
        can_change=services.can_change(item), errors={}, typed={},
        notice_hours=current_app.config["ONBOARDING_CHANGE_NOTICE_HOURS"], now=utcnow(),
    )


@bp.get("/sessions/<int:session_id>/session.ics")
@login_required
def calendar_file(session_id):
    item = _session_or_404(session_id)
    data = session_calendar(item, session_title(item, services.area_of(item)), item.expert.meeting_url,
                            cancelled=item.status == SessionStatus.CANCELLED.value)
    return Response(data, mimetype="text/calendar",
                    headers={"Content-Disposition": f'attachment; filename="onboarding-session-{item.id}.ics"'})


def _own_session(session_id) -> OnboardingSession:
    item = _session_or_404(session_id)
    if item.organization_id != current_user.organization_id:
        abort(403)
    return item


@bp.post("/sessions/<int:session_id>/questions")
@login_required
def questions(session_id):
    item = _own_session(session_id)
    flash_result(lambda: services.update_questions(item, current_user, request.form.get("questions")),
                 _("Your questions were saved; the expert sees them."))
    return redirect(url_for("onboarding.session", session_id=item.id))


@bp.post("/sessions/<int:session_id>/cancel")
@login_required
def cancel(session_id):
    item = _own_session(session_id)
    if flash_result(lambda: services.cancel(item, current_user),
                    _("The session is cancelled. You can book that week again.")):
        return redirect(url_for("onboarding.index"))
    return redirect(url_for("onboarding.session", session_id=item.id))


@bp.route("/sessions/<int:session_id>/reschedule", methods=["GET", "POST"])
@login_required
def reschedule(session_id):
    item = _own_session(session_id)
    errors, typed, taken = {}, {}, []
    if not services.can_change(item):
        flash(_("Sessions can be moved up to %(n)d hours before they start. For anything urgent, file a ticket.",
                n=current_app.config["ONBOARDING_CHANGE_NOTICE_HOURS"]), "error")
        return redirect(url_for("onboarding.session", session_id=item.id))
    if request.method == "POST":
        typed = {"slot": request.form.get("slot", "")}
        moved, errors, taken = _attempt(lambda expert_id, starts_at: services.reschedule(
            item, current_user, expert_id, starts_at))
        if moved is not None:
            flash(_("The session was moved. A new calendar file is on its way by email."), "success")
            return redirect(url_for("onboarding.session", session_id=item.id))
    slots, _window = services.move_options(item)
    return render_template("onboarding/reschedule.html", session=item, title=session_title(item, services.area_of(item)),
                           days=_by_day(slots),
                           slot_value=_slot_value, errors=errors, typed=typed, taken=taken), 422 if errors else 200


@bp.post("/sessions/<int:session_id>/rating")
@login_required
def rate(session_id):
    item = _own_session(session_id)
    flash_result(lambda: services.rate_session(item, current_user, request.form.get("rating")),
                 _("Thank you for rating the session."))
    return redirect(url_for("onboarding.session", session_id=item.id))


@bp.post("/sessions/<int:session_id>/outcome")
@login_required
@roles_required(Role.AGENT, Role.ADMIN)
def outcome(session_id):
    """The expert marks the session held or missed, with notes and follow-up articles."""
    item = _session_or_404(session_id)
    slugs = [s.strip() for s in request.form.get("follow_up", "").replace(",", "\n").splitlines()]
    flash_result(lambda: services.record_outcome(
        item, current_user, request.form.get("status", ""), request.form.get("notes"), slugs,
        known_slugs={a["slug"] for a in _articles()}), _("Session updated; the customer sees your notes."))
    return redirect(url_for("onboarding.session", session_id=item.id))


@bp.route("/feedback", methods=["GET", "POST"])
@login_required
def feedback():
    prog = _customer_program()
    existing = services.feedback_for(current_user.organization)
    errors, typed = {}, {}
    if request.method == "POST":
        typed = {k: request.form.get(k, "") for k in (*services.SCORES, "comments")}
        try:
            services.submit_feedback(current_user, typed)
        except DomainError as exc:
            db.session.rollback()
            errors = getattr(exc, "errors", None) or {exc.field or "form": exc.message}
        else:
            flash(_("Thank you for your feedback."), "success")
            return redirect(url_for("onboarding.index"))
    elif existing is not None:
        typed = {k: str(getattr(existing, k) or "") for k in services.SCORES}
        typed["comments"] = existing.comments or ""
    return render_template("onboarding/feedback.html", program=prog, existing=existing, errors=errors, typed=typed,
                           open=prog.finished(utcnow()), editable=services.feedback_editable(existing),
                           edit_days=current_app.config["ONBOARDING_FEEDBACK_EDIT_DAYS"]), 422 if errors else 200


# --- training requests: an extra session ------------------------------------------

def _training_ticket(reference: str):
    from ..tickets import services as tickets

    try:
        ticket = tickets.get_ticket(current_user, reference)
    except tickets.TicketNotFound:
        abort(404)
    if ticket.category.value != "training_request" or not current_user.role.is_customer:
        abort(404)
    return ticket


@bp.route("/extra/<reference>", methods=["GET", "POST"])
@login_required
def extra(reference):
    """A training request's session, booked from the experts' availability like the program's."""
    ticket = _training_ticket(reference)
    plan_minutes = services.plan_services.plan_for(current_user.organization)
    length = timedelta(minutes=plan_minutes.spec.session_minutes if plan_minutes else 60)
    errors, typed, taken = {}, {"questions": ticket.subject}, []
    if request.method == "POST":
        typed = {k: request.form.get(k, "") for k in ("slot", "feature_area", "questions")}
        item, errors, taken = _attempt(lambda expert_id, starts_at: services.book_extra(
            current_user, ticket, expert_id, starts_at, typed["feature_area"], typed["questions"]))
        if item is not None:
            flash(_("Booked. The meeting link and a calendar file are on their way by email."), "success")
            return redirect(url_for("onboarding.session", session_id=item.id))
    slots = services.extra_slots(length)
    return render_template("onboarding/book.html", program=None, week=None, ticket=ticket, days=_by_day(slots),
                           slot_value=_slot_value, areas=services.areas(), lang=str(get_locale() or "en"),
                           errors=errors, typed=typed, taken=taken,
                           action=url_for("onboarding.extra", reference=ticket.reference)), 422 if errors else 200


# --- experts -------------------------------------------------------------------------

@bp.get("/expert/")
@login_required
@roles_required(Role.AGENT, Role.ADMIN)
def expert():
    return expert_page()


@bp.post("/expert/availability")
@login_required
@roles_required(Role.AGENT, Role.ADMIN)
def availability():
    typed = {k: request.form.get(k, "") for k in ("timezone", "meeting_url", "windows")}
    try:
        profile = services.make_expert(current_user, typed["timezone"].strip(), typed["meeting_url"])
        services.set_availability(profile, typed["windows"].splitlines())
    except DomainError as exc:
        db.session.rollback()
        return expert_page(typed, {exc.field or "form": exc.message}, 422)
    flash(_("Your availability is saved."), "success")
    return redirect(url_for("onboarding.expert"))


@bp.post("/expert/days-off")
@login_required
@roles_required(Role.AGENT, Role.ADMIN)
def add_day_off():
    profile = db.session.get(ExpertProfile, current_user.id) or abort(404)
    try:
        first = date.fromisoformat(request.form.get("starts_on", ""))
        last = date.fromisoformat(request.form["ends_on"]) if request.form.get("ends_on") else None
    except ValueError:
        flash(_("Enter dates like 2026-12-24."), "error")
        return redirect(url_for("onboarding.expert"))
    flash_result(lambda: services.add_day_off(profile, first, last, request.form.get("note")),
                 _("Day off saved: no sessions can be booked then."))
    return redirect(url_for("onboarding.expert"))


@bp.post("/expert/days-off/<int:day_off_id>/delete")
@login_required
@roles_required(Role.AGENT, Role.ADMIN)
def remove_day_off(day_off_id):
    profile = db.session.get(ExpertProfile, current_user.id) or abort(404)
    services.remove_day_off(profile, day_off_id)
    flash(_("Day off removed."), "success")
    return redirect(url_for("onboarding.expert"))


# --- admins ----------------------------------------------------------------------------

@bp.get("/admin/")
@login_required
@roles_required(Role.ADMIN)
def admin():
    from . import report

    experts = db.session.scalars(select_experts()).all()
    now = utcnow()
    upcoming = services.sessions_between(now - timedelta(days=1), now + timedelta(days=21))
    return render_template("onboarding/admin.html", experts=experts, upcoming=upcoming, report=report.summary(),
                           areas=services.areas(), lang=str(get_locale() or "en"))


def select_experts():
    from sqlalchemy import select

    return select(ExpertProfile).where(ExpertProfile.active.is_(True)).order_by(ExpertProfile.user_id)


@bp.get("/admin/feedback.csv")
@login_required
@roles_required(Role.ADMIN)
def feedback_csv():
    from . import report

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["kind", "date", "organization", "expert", "feature_area", "usefulness", "clarity", "pace",
                     "expert_score", "rating", "comments"])
    for row in report.rows():
        writer.writerow(row)
    audit.record_request("export.csv", target=("export", None, "onboarding-feedback.csv"))
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="onboarding-feedback.csv"',
                             "Cache-Control": "private, no-store"})
