"""The organization page: its plan's targets and hours, the quota, the support-hours balance and ledger."""

from datetime import date, timedelta

from flask import Response, abort, render_template, request
from flask_login import current_user, login_required

from ..auth.models import Organization, Role, utcnow
from ..extensions import db
from . import bp, hours, services

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


@bp.get("/org")
@bp.get("/org/<int:org_id>")
@login_required
def plan(org_id=None):
    organization = _organization(org_id)
    plan = services.plan_for(organization)
    calendar = plan.calendar(organization.timezone) if plan else None
    closed_days = []
    if calendar is not None:
        today = calendar.local(utcnow()).date()
        for offset in range(UPCOMING_DAYS):
            day = today + timedelta(days=offset)
            name = calendar.holiday_name(day)
            if name:
                closed_days.append((day, name))
    balance = hours.balance(organization, _period_day()) if _sees_hours() else None
    return render_template(
        "plans/plan.html", organization=organization, plan=plan, calendar=calendar, closed_days=closed_days,
        quota=services.quota(organization), ends_on=services.ends_on(organization, plan) if plan else None,
        balance=balance, own=org_id is None, today=utcnow().date(),
    )


def _period_day():
    """``?period=YYYY-MM-DD`` picks the contract period holding that day (default: today's)."""
    try:
        return date.fromisoformat(request.args.get("period", ""))
    except ValueError:
        return None


@bp.get("/org/hours.csv")
@bp.get("/org/<int:org_id>/hours.csv")
@login_required
def hours_csv(org_id=None):
    organization = _organization(org_id)
    if not _sees_hours():
        abort(403)
    balance = hours.balance(organization, _period_day())
    if balance is None:
        abort(404)
    name = f"support-hours-{organization.id}-{balance.period.start.isoformat()}.csv"
    return Response(hours.ledger_csv(balance), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "private, no-store"})
