"""The organization page: its plan in force and what changes next, the targets and hours, the quota,
the support-hours balance and ledger, its mail domains; for admins the plan history and the forms
that change it and the domains."""

from datetime import date, timedelta

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import audit
from ..auth import services as accounts
from ..auth.models import Organization, Role, utcnow
from ..errors import DomainError
from ..extensions import db, parse_id
from ..plans import history, hours, services
from ..plans.catalog import channel_hours
from ..tickets import billing
from ..visits import services as visits
from . import bp
from .forms import TIME_KIND_LABELS, DomainForm, GoLiveForm, PlanChangeForm

UPCOMING_DAYS = 60


def _organization(org_id: int | None) -> Organization:
    """Customers see their own organization's plan; agents and admins any (another one's is a 404 to customers)."""
    if org_id is None:
        if current_user.organization is None:
            abort(404)
        return current_user.organization
    if current_user.role not in (Role.AGENT, Role.ADMIN):
        abort(404)
    return db.session.get(Organization, org_id) or abort(404)


def _sees_hours() -> bool:
    return current_user.role in (Role.CUSTOMER_ADMIN, Role.AGENT, Role.ADMIN)


def _sees_domains() -> bool:
    """Who manages the organization's users sees its mail domains; plain customers do not."""
    return current_user.role in (Role.CUSTOMER_ADMIN, Role.AGENT, Role.ADMIN)


def _admin_organization(org_id: int) -> Organization:
    """The organization an admin changes: others get what they get on its page (404), then 403."""
    organization = _organization(org_id)
    if current_user.role is not Role.ADMIN:
        abort(403)
    return organization


@bp.get("/org")
@bp.get("/org/<int:org_id>")
@login_required
def page(org_id=None):
    return _page(_organization(org_id), own=org_id is None)


def _page(organization: Organization, own: bool = False, change_form=None, go_live_form=None, domain_form=None,
          status: int = 200, time_form=None, time_errors=None, visit_forms=None):
    now = utcnow()
    entry = services.entry_in_force(organization, now)
    plan = services.get_plan(entry.plan) if entry else None
    calendar = plan.calendar(organization.timezone) if plan else None
    closed_days = []
    if calendar is not None:
        today = calendar.local(now).date()
        for offset in range(UPCOMING_DAYS):
            day = today + timedelta(days=offset)
            name = calendar.holiday_name(day)
            if name:
                closed_days.append((day, name))
    balance = billing.balance(organization, _period_day()) if _sees_hours() else None
    ledger_entry = services.entry_in_force(organization, balance.period.start) if balance else None
    admin = current_user.role is Role.ADMIN and not own
    if admin:
        change_form = change_form or PlanChangeForm(formdata=None)
        change_form.plan.choices = [(key, p.name) for key, p in services.all_plans().items()]
        go_live_form = go_live_form or GoLiveForm(formdata=None, go_live=organization.started_on)
        domain_form = domain_form or DomainForm(formdata=None)
    staff = current_user.role in (Role.AGENT, Role.ADMIN) and not own
    today = services.local_day(organization, now)
    time_preview = None
    if staff:
        time_form = time_form or {"kind": "video_call", "minutes": "", "worked_on": "", "note": ""}
        time_preview = preview_time(organization, time_form, today)
    channels = [(c, *channel_hours(plan, c, organization.timezone)) for c in plan.spec.channels] if plan else []
    return render_template(
        "org/page.html", organization=organization, plan=plan, entry=entry, calendar=calendar, channel_hours=channels,
        closed_days=closed_days, quota=services.quota(organization, now), balance=balance,
        ledger_since=ledger_entry.starts_on if ledger_entry else organization.started_on,
        next_change=history.next_change(organization, now), plan_name=history.plan_name,
        entries=services.history(organization) if admin else None, change_form=change_form,
        go_live_form=go_live_form, own=own, today=today,
        domains=organization.domains if _sees_domains() else None, domain_form=domain_form,
        time_kinds=TIME_KIND_LABELS, time_form=time_form if staff else None, time_errors=time_errors or {},
        time_preview=time_preview, **visits_section(organization, staff, today, visit_forms),
    ), status


def visits_section(organization: Organization, staff: bool, today: date, forms: dict | None = None) -> dict:
    """What templates/visits/_visits.html shows: the visits, and for staff the forms. ``forms`` maps a
    form's key ("schedule", or "held-<id>", "move-<id>") to (typed values, errors by field)."""
    upcoming, past = visits.visits_of(organization)
    shown = bool(upcoming or past) or visits.offers_visits(organization, today)
    return {"visits_shown": shown, "upcoming_visits": upcoming, "past_visits": past, "visit_staff": staff,
            "consultants": visits.consultants() if staff and shown else [], "visit_forms": forms or {},
            "visit_days": visits.days_per_week(organization, today)}


def preview_time(organization: Organization, typed: dict, today: date) -> dict | None:
    """What the entry being typed would bill (for the "Log time" form); None without an hours ledger."""
    minutes = parse_id(str(typed.get("minutes") or "")) or 0
    minutes = minutes if minutes <= hours.MAX_ENTRY_MINUTES else 0
    kind = typed.get("kind") if typed.get("kind") in hours.ORGANIZATION_KINDS else "call"
    try:
        day = date.fromisoformat(typed.get("worked_on") or "") if typed.get("worked_on") else today
    except ValueError:
        day = today
    if not PERIOD_YEARS[0] <= day.year <= PERIOD_YEARS[1]:  # 9999-12-31: no period around it fits in a date
        day = today
    billed = hours.preview_organization_time(organization, kind, minutes, bool(typed.get("escalated")),
                                             bool(typed.get("bug")), day)
    if billed is None:
        return None
    spec = hours.ledger(organization, day)[0]
    return {"billable": kind in spec.billable_kinds, "billed": billed}


def _rule_broken(form, exc: DomainError, default: str) -> None:
    db.session.rollback()
    getattr(form, exc.field or default, getattr(form, default)).errors.append(exc.message)


@bp.post("/org/<int:org_id>/plans")
@login_required
def add_plan_change(org_id):
    """Admins: a plan from a day (to a day); the page comes back with the typed values on an error."""
    organization = _admin_organization(org_id)
    form = PlanChangeForm()
    if form.validate_on_submit():
        try:
            change = history.set_plan(organization, form.plan.data, form.starts_on.data, form.ends_on.data,
                                      form.trial.data, form.note.data, by=current_user,
                                      origin=audit.from_request())
        except DomainError as exc:
            _rule_broken(form, exc, "plan")
        else:
            flash(_("Plan change saved: %(plan)s from %(date)s.", plan=history.plan_name(change.entry.plan),
                    date=change.entry.starts_on.isoformat()), "success")
            return redirect(url_for("org.page", org_id=organization.id, _anchor="plan-history"))
    return _page(organization, change_form=form, status=422)


@bp.post("/org/<int:org_id>/go-live")
@login_required
def set_go_live(org_id):
    """Admins: correct the go-live date; the go-live plan moves with it."""
    organization = _admin_organization(org_id)
    form = GoLiveForm()
    if form.validate_on_submit():
        try:
            history.set_go_live(organization, form.go_live.data)
        except DomainError as exc:
            _rule_broken(form, exc, "go_live")
        else:
            flash(_("Go-live date set to %(date)s.", date=organization.started_on.isoformat()), "success")
            return redirect(url_for("org.page", org_id=organization.id, _anchor="plan-history"))
    return _page(organization, go_live_form=form, status=422)


@bp.post("/org/<int:org_id>/domains")
@login_required
def add_domain(org_id):
    """Admins: register a mail domain; the page comes back with the typed text on an error."""
    organization = _admin_organization(org_id)
    form = DomainForm()
    if form.validate_on_submit():
        try:
            row = accounts.add_domain(organization, form.domain.data)
        except DomainError as exc:
            _rule_broken(form, exc, "domain")
        else:
            flash(_("Mail domain %(domain)s registered.", domain=row.domain), "success")
            return redirect(url_for("org.page", org_id=organization.id, _anchor="mail-domains"))
    return _page(organization, domain_form=form, status=422)


@bp.post("/org/<int:org_id>/domains/<domain>/remove")
@login_required
def remove_domain(org_id, domain):
    """Admins: remove a mail domain (its accounts stay; new mail from there waits as unmatched)."""
    organization = _admin_organization(org_id)
    try:
        accounts.remove_domain(organization, domain)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(_("Mail domain %(domain)s removed.", domain=domain), "success")
    return redirect(url_for("org.page", org_id=organization.id, _anchor="mail-domains"))


PERIOD_YEARS = (1900, 9000)  # a period of a plan (up to years long) and its neighbours stay inside date's range


def _period_day():
    """``?period=YYYY-MM-DD`` picks the contract period holding that day (default: today's, also for a day
    so far off that the periods around it would fall outside the calendar)."""
    try:
        day = date.fromisoformat(request.args.get("period", ""))
    except ValueError:
        return None
    return day if PERIOD_YEARS[0] <= day.year <= PERIOD_YEARS[1] else None


@bp.get("/org/hours.csv")
@bp.get("/org/<int:org_id>/hours.csv")
@login_required
def hours_csv(org_id=None):
    organization = _organization(org_id)
    if not _sees_hours():
        abort(403)
    balance = billing.balance(organization, _period_day())
    if balance is None:
        abort(404)
    name = f"support-hours-{organization.id}-{balance.period.start.isoformat()}.csv"
    audit.record_request("export.csv", target=("export", None, name), organization_id=organization.id)
    return Response(hours.ledger_csv(balance), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "private, no-store"})
