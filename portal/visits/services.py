"""The rules of on-site visits: a plan in force that day with visit days, at most that many visits
in an ISO week, a consultant on one site a day and not on a public holiday or a day off, never a
day gone by; a visit held is logged once as time of kind "visit" (billed where the plan says)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..auth.models import Organization, Role, User
from ..errors import DomainError, lazy_gettext as _l
from ..extensions import db
from ..onboarding import availability
from ..plans import hours
from ..plans import services as plans
from ..plans.models import TimeEntry
from .models import Visit, VisitStatus

ADDRESS_LENGTH = 300
AGENDA_LENGTH = 4000
REPORT_LENGTH = 4000
STAFF = (Role.AGENT, Role.ADMIN)


def consultants() -> list[User]:
    """The staff a visit may be given to: active agents and admins, by name."""
    return list(db.session.scalars(select(User).where(User.role.in_(STAFF), User.active.is_(True))
                                   .order_by(User.name, User.id)))


def visits_of(organization: Organization) -> tuple[list[Visit], list[Visit]]:
    """The organization's scheduled visits (soonest first; one whose day has gone by waits to be marked
    held) and its held or cancelled ones (latest first)."""
    rows = db.session.scalars(select(Visit).where(Visit.organization_id == organization.id)
                              .order_by(Visit.day, Visit.id)).all()
    return [v for v in rows if v.scheduled], [v for v in reversed(rows) if not v.scheduled]


def visit_of(organization: Organization, visit_id: int | None) -> Visit | None:
    """The organization's visit with this id; another organization's is None (a 404 to the page)."""
    visit = db.session.get(Visit, visit_id) if visit_id is not None else None
    return visit if visit is not None and visit.organization_id == organization.id else None


def _staff(agent: User) -> None:
    if agent.role not in STAFF:
        raise DomainError(_l("Only agents schedule and record visits."))


HORIZON_DAYS = 730  # how far ahead a visit may be scheduled (and the week arithmetic stays inside date's range)


def _week(day: date) -> tuple[date, date]:
    """Monday and Sunday of the ISO week holding ``day``."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def _check(organization: Organization, day: date | None, consultant: User | None, today: date,
           moving: Visit | None = None) -> None:
    """Every rule a scheduled day must meet; ``moving`` is the visit being rescheduled (not counted against itself)."""
    if day is None:
        raise DomainError(_l("Choose the day of the visit."), "day")
    if day < today:
        raise DomainError(_l("%(day)s has gone by: choose today or a later day.", day=day.isoformat()), "day")
    if day > today + timedelta(days=HORIZON_DAYS):
        raise DomainError(_l("Visits are scheduled at most two years ahead: choose a day before %(day)s.",
                             day=(today + timedelta(days=HORIZON_DAYS)).isoformat()), "day")
    entry = plans.entry_in_force(organization, day)
    plan = plans.get_plan(entry.plan) if entry is not None else None
    if plan is None:
        raise DomainError(_l("No support plan of %(org)s is in force on %(day)s: a visit must fall within the plan's "
                             "validity.", org=organization.name, day=day.isoformat()), "day")
    allowed = plan.spec.visit_days_per_week
    if not allowed:
        raise DomainError(_l("The plan %(plan)s in force on %(day)s includes no on-site visit days.",
                             plan=plan.name, day=day.isoformat()), "day")
    monday, sunday = _week(day)
    others = select(func.count()).select_from(Visit).where(
        Visit.organization_id == organization.id, Visit.day >= monday, Visit.day <= sunday,
        Visit.status != VisitStatus.CANCELLED.value)
    if moving is not None:
        others = others.where(Visit.id != moving.id)
    if db.session.scalar(others) >= allowed:
        raise DomainError(_l("Visit days a week on the plan %(plan)s: %(n)s. The week of %(monday)s has them all "
                             "already: choose another week.", plan=plan.name, n=allowed,
                             monday=monday.isoformat()), "day")
    if consultant is None or consultant.role not in STAFF or not consultant.active:
        raise DomainError(_l("Choose the consultant from the list of agents."), "consultant")
    taken = select(Visit).where(Visit.consultant_id == consultant.id, Visit.day == day,
                                Visit.status != VisitStatus.CANCELLED.value)
    if moving is not None:
        taken = taken.where(Visit.id != moving.id)
    booked = db.session.scalar(taken.limit(1))
    if booked is not None:
        raise DomainError(_booked_message(consultant, booked), "consultant")
    reason = availability.unavailable(consultant.id, day)
    if reason:
        raise DomainError(_l("%(name)s is not available on %(day)s (%(reason)s).", name=consultant.name,
                             day=day.isoformat(), reason=reason), "consultant")


def _booked_message(consultant: User, booked: Visit | None):
    if booked is None:
        return _l("%(name)s was just booked for that day by a colleague: choose another consultant or day.",
                  name=consultant.name)
    return _l("%(name)s already has a visit on %(day)s (%(org)s): choose another consultant or day.",
              name=consultant.name, day=booked.day.isoformat(), org=booked.organization.name)


def _text(value: str | None, limit: int) -> str | None:
    return (value or "").strip()[:limit] or None


def _address(address: str | None) -> str:
    address = (address or "").strip()
    if not address:
        raise DomainError(_l("Enter the address of the visit."), "address")
    if len(address) > ADDRESS_LENGTH:
        raise DomainError(_l("The address is at most %(n)s characters.", n=ADDRESS_LENGTH), "address")
    return address


def _lock(organization: Organization) -> None:
    """Serialize visits of one organization (PostgreSQL): the week's count and the insert then hold together."""
    db.session.execute(select(Organization.id).where(Organization.id == organization.id).with_for_update())


def _save(visit: Visit, consultant: User) -> None:
    try:
        db.session.flush()  # the database refuses the consultant's second visit of the day here
    except IntegrityError:
        db.session.rollback()
        raise DomainError(_booked_message(consultant, None), "consultant") from None


def schedule_visit(organization: Organization, agent: User, day: date | None, consultant: User | None,
                   address: str | None, agenda: str | None, now: datetime,
                   origin: audit.Origin | None = None) -> Visit:
    """Staff schedule a consultant's visit on the organization's local ``day``; raises DomainError naming the field."""
    _staff(agent)
    address = _address(address)
    _lock(organization)
    _check(organization, day, consultant, plans.local_day(organization, now))
    visit = Visit(organization_id=organization.id, day=day, consultant_id=consultant.id, address=address,
                  agenda=_text(agenda, AGENDA_LENGTH), status=VisitStatus.SCHEDULED.value, created_by_id=agent.id,
                  created_at=now, updated_at=now)
    db.session.add(visit)
    _save(visit, consultant)
    audit.record("visit.schedule", origin, now, target=("visit", visit.id, f"{organization.name} {day.isoformat()}"),
                 organization_id=organization.id,
                 detail={"day": day.isoformat(), "consultant": consultant.email})
    db.session.commit()
    return visit


def _scheduled(visit: Visit) -> None:
    if visit.status == VisitStatus.CANCELLED.value:
        raise DomainError(_l("This visit was cancelled."), "status")
    if visit.status == VisitStatus.HELD.value:
        raise DomainError(_l("This visit was already held."), "status")


def reschedule(visit: Visit, agent: User, day: date | None, consultant: User | None, now: datetime,
               address: str | None = None, agenda: str | None = None, origin: audit.Origin | None = None) -> Visit:
    """Move a scheduled visit to another day or consultant (address and agenda unchanged unless given),
    by the same rules as scheduling it."""
    _staff(agent)
    _scheduled(visit)
    organization = visit.organization
    new_address = _address(address) if address is not None else visit.address
    _lock(organization)
    _check(organization, day, consultant, plans.local_day(organization, now), moving=visit)
    before = {"day": visit.day.isoformat(), "consultant": visit.consultant.email}
    visit.day, visit.consultant_id, visit.address = day, consultant.id, new_address
    if agenda is not None:
        visit.agenda = _text(agenda, AGENDA_LENGTH)
    visit.updated_at = now
    _save(visit, consultant)
    audit.record("visit.reschedule", origin, now, target=("visit", visit.id, f"{organization.name} {day.isoformat()}"),
                 organization_id=organization.id,
                 detail={"from": before, "to": {"day": day.isoformat(), "consultant": consultant.email}})
    db.session.commit()
    return visit


def cancel(visit: Visit, agent: User, now: datetime, origin: audit.Origin | None = None) -> None:
    """Cancel a scheduled visit: the consultant's day and the week's visit day are free again."""
    _staff(agent)
    _scheduled(visit)
    visit.status, visit.updated_at = VisitStatus.CANCELLED.value, now
    audit.record("visit.cancel", origin, now,
                 target=("visit", visit.id, f"{visit.organization.name} {visit.day.isoformat()}"),
                 organization_id=visit.organization_id, detail={"day": visit.day.isoformat()})
    db.session.commit()


def mark_held(visit: Visit, agent: User, minutes: int | str | None, now: datetime, report: str | None = None,
              origin: audit.Origin | None = None) -> TimeEntry:
    """The visit took place: its time is logged once as kind "visit" on its day (billed where the plan's
    billable_kinds count visits), with the report the customer reads."""
    _staff(agent)
    _scheduled(visit)
    organization = visit.organization
    today = plans.local_day(organization, now)
    if visit.day > today:
        raise DomainError(_l("A visit can be marked held on its day or later (%(day)s).", day=visit.day.isoformat()),
                          "minutes")
    report = _text(report, REPORT_LENGTH)
    entry = hours.log_organization_time(organization, agent, "visit", minutes, visit.day,
                                        report or visit.agenda or visit.address, today, origin=origin,
                                        visit_id=visit.id, commit=False)
    visit.status, visit.minutes, visit.report, visit.updated_at = VisitStatus.HELD.value, entry.minutes, report, now
    audit.record("visit.held", origin, now, target=("visit", visit.id, f"{organization.name} {visit.day.isoformat()}"),
                 organization_id=organization.id, detail={"day": visit.day.isoformat(), "minutes": entry.minutes})
    try:
        db.session.commit()
    except IntegrityError:  # a colleague marked it held at the same moment: their entry stands
        db.session.rollback()
        raise DomainError(_l("This visit was already held."), "status") from None
    return entry


def days_per_week(organization: Organization, day: date) -> int:
    """The visit days a week the plan in force on ``day`` includes (0 without a plan or visits)."""
    entry = plans.entry_in_force(organization, day)
    plan = plans.get_plan(entry.plan) if entry is not None else None
    return plan.spec.visit_days_per_week if plan is not None else 0


def offers_visits(organization: Organization, today: date) -> bool:
    """Whether a plan in force today or later includes visit days (a plan bought for next month counts)."""
    for entry in plans.history(organization):
        plan = plans.get_plan(entry.plan)
        if (entry.ends_on is None or entry.ends_on >= today) and plan is not None and plan.spec.visit_days_per_week:
            return True
    return False
