"""What an organization's plan gives it: targets, quota, validity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import update

from ..auth.models import Organization, utcnow
from ..errors import DomainError, lazy_gettext as _l
from ..extensions import db, insert_for_dialect
from .catalog import Plan
from .models import QuotaUsage


def all_plans() -> dict[str, Plan]:
    return current_app.extensions["portal.plans"]


def get_plan(key: str | None) -> Plan | None:
    return all_plans().get(key) if key else None


def plan_for(organization: Organization) -> Plan | None:
    return get_plan(organization.plan)


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


def ends_on(organization: Organization, plan: Plan) -> date | None:
    """The last day the plan applies (seed 001: six months after go-live), or None."""
    if not plan.spec.valid_months:
        return None
    return _add_months(organization.started_on, plan.spec.valid_months) - timedelta(days=1)


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
    plan = plan_for(organization)
    if plan is None:
        return None
    month, resets = _month(organization, plan, now or utcnow())
    row = db.session.get(QuotaUsage, (organization.id, month))
    return Quota(row.used if row else 0, plan.spec.tickets_per_month, month, resets)


def consume_quota(organization: Organization, now: datetime) -> None:
    """Count one ticket against this month's quota, inside the filing's transaction.

    The conditional UPDATE is the whole trick: it holds the row until the
    filing commits, and refuses once ``used`` reaches the limit, so 16
    concurrent filings at quota - 1 file exactly one ticket."""
    plan = plan_for(organization)
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
    """Before filing: the plan is still in force. (The quota is counted when filing.)"""
    plan = plan_for(organization)
    if plan is None:
        return
    last_day = ends_on(organization, plan)
    if last_day is not None and plan.calendar(organization.timezone).local(now).date() > last_day:
        raise PlanExpired(_l("Your organization's %(plan)s plan ended on %(date)s.", plan=plan.name,
                              date=last_day.isoformat()))
