"""What an organization's plan gives it: the plan in force on a day, targets, quota, validity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select, update

from ..auth.models import Organization, utcnow
from ..errors import DomainError, lazy_gettext as _l
from ..extensions import db, insert_for_dialect
from .catalog import Plan
from .models import OrganizationPlan, QuotaUsage


def all_plans() -> dict[str, Plan]:
    return current_app.extensions["portal.plans"]


def get_plan(key: str | None) -> Plan | None:
    return all_plans().get(key) if key else None


# --- the plan in force --------------------------------------------------------

def local_day(organization: Organization, when: date | datetime | None = None) -> date:
    """The organization's own date at ``when`` (naive UTC; default now); a date is taken as it is."""
    return zone_day(organization.timezone, when)


def zone_day(timezone: str, when: date | datetime | None = None) -> date:
    """The date in the IANA zone ``timezone`` at ``when`` (naive UTC; default now)."""
    when = utcnow() if when is None else when
    if not isinstance(when, datetime):
        return when
    return when.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone)).date()


def history(organization: Organization) -> list[OrganizationPlan]:
    """The organization's plan entries, oldest first."""
    return list(db.session.scalars(select(OrganizationPlan).where(
        OrganizationPlan.organization_id == organization.id).order_by(OrganizationPlan.starts_on)))


def entry_in_force(organization: Organization, when: date | datetime | None = None) -> OrganizationPlan | None:
    """The plan entry that applies on the organization's day at ``when`` (an instant in
    naive UTC, or a day; default now), or None when no plan covers that day."""
    day = local_day(organization, when)
    return db.session.scalar(select(OrganizationPlan).where(
        OrganizationPlan.organization_id == organization.id, OrganizationPlan.starts_on <= day,
        (OrganizationPlan.ends_on.is_(None)) | (OrganizationPlan.ends_on >= day)).limit(1))


def plan_key_for(organization: Organization, when: date | datetime | None = None) -> str | None:
    """The key of the plan in force (even one the plans file no longer has), e.g. to copy onto a ticket."""
    entry = entry_in_force(organization, when)
    return entry.plan if entry is not None else None


def plan_for(organization: Organization, now: date | datetime | None = None) -> Plan | None:
    """The plan in force for the organization at ``now`` (default: now), or None."""
    return get_plan(plan_key_for(organization, now))


# --- validity ------------------------------------------------------------------

def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for candidate in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise ValueError(day)


def valid_until(plan: Plan | None, starts_on: date) -> date | None:
    """The last day of a plan taken from ``starts_on`` for its ``valid_months`` (seed 001:
    the monthly level is included for six months after go-live), or None: no end of its own."""
    if plan is None or not plan.spec.valid_months:
        return None
    return _add_months(starts_on, plan.spec.valid_months) - timedelta(days=1)


class PlanExpired(DomainError):
    pass


# --- the monthly ticket quota --------------------------------------------------

@dataclass(frozen=True)
class Quota:
    used: int
    limit: int | None  # None: unlimited
    month: str  # "2026-11" in the plan's time zone
    resets_at: datetime  # naive UTC: the next month's first midnight, local time

    @property
    def left(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)

    @property
    def exhausted(self) -> bool:
        return self.limit is not None and self.used >= self.limit


class QuotaExceeded(DomainError):
    def __init__(self, quota: Quota):
        self.quota = quota
        super().__init__(_l("Your organization has filed %(used)s of its %(limit)s tickets this month.",
                            used=quota.used, limit=quota.limit))


def _month(organization: Organization, plan: Plan, now: datetime) -> tuple[str, datetime]:
    calendar = plan.calendar(organization.timezone)
    local = calendar.local(now)
    first_next = (local.replace(day=1) + timedelta(days=32)).replace(day=1).date()
    resets = calendar.local_to_utc(first_next, 0)
    return f"{local.year:04d}-{local.month:02d}", resets


def quota(organization: Organization, now: datetime | None = None) -> Quota | None:
    """This month's count under the plan in force at ``now``."""
    now = now or utcnow()
    plan = plan_for(organization, now)
    if plan is None:
        return None
    month, resets = _month(organization, plan, now)
    row = db.session.get(QuotaUsage, (organization.id, month))
    return Quota(row.used if row else 0, plan.spec.tickets_per_month, month, resets)


def consume_quota(organization: Organization, now: datetime) -> None:
    """Count one ticket against this month's quota, inside the filing's transaction.

    The conditional UPDATE is the whole trick: it holds the row until the
    filing commits, and refuses once ``used`` reaches the limit, so 16
    concurrent filings at quota - 1 file exactly one ticket. The limit is the plan's in force at ``now``."""
    plan = plan_for(organization, now)
    if plan is None or plan.spec.tickets_per_month is None:
        return
    limit = plan.spec.tickets_per_month
    month, resets = _month(organization, plan, now)
    db.session.execute(insert_for_dialect(QuotaUsage).values(organization_id=organization.id, month=month, used=0)
                       .on_conflict_do_nothing(index_elements=["organization_id", "month"]))
    counted = db.session.execute(
        update(QuotaUsage)
        .where(QuotaUsage.organization_id == organization.id, QuotaUsage.month == month, QuotaUsage.used < limit)
        .values(used=QuotaUsage.used + 1).execution_options(synchronize_session=False)
    ).rowcount
    if not counted:
        db.session.rollback()
        raise QuotaExceeded(Quota(limit, limit, month, resets))


def check_can_file(organization: Organization, now: datetime) -> None:
    """Before filing: a plan is in force on the organization's day. (The quota is counted when filing.)"""
    day = local_day(organization, now)
    if entry_in_force(organization, day) is not None:
        return
    entries = history(organization)
    ended = [e for e in entries if e.ends_on is not None and e.ends_on < day]
    if ended:
        last = max(ended, key=lambda e: e.ends_on)
        plan = get_plan(last.plan)
        raise PlanExpired(_l("Your organization's %(plan)s plan ended on %(date)s.",
                             plan=plan.name if plan else last.plan, date=last.ends_on.isoformat()))
    upcoming = [e for e in entries if e.starts_on > day]
    if upcoming:
        raise PlanExpired(_l("Your organization's support plan starts on %(date)s.",
                             date=upcoming[0].starts_on.isoformat()))
    raise PlanExpired(_l("Your organization has no support plan on %(date)s.", date=day.isoformat()))
