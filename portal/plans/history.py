"""An organization's plans over time: who had which plan from when to when.

Seed 001 sells levels "at any time, for the desired duration" and includes its
monthly level for six months after go-live; seed 004 gives trial customers the
premium SLA. Each is an entry of the plan history (``OrganizationPlan``): a plan
from one day to another, both included, or open-ended. The rules:

- entries never overlap, so on any day at most one plan is in force;
- a change from a day ends the open-ended entry running then the day before
  (what upgrading or downgrading "from 1 January" means); any other overlap is
  refused, nothing changes, and the message names the entry in the way;
- a plan with ``valid_months`` and no end given ends after that many months;
- a trial always has an end date; what follows it is another entry.

The go-live date (``organizations.started_on``) is when support starts: the
onboarding weeks count from it, and the first entry starts on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from .. import audit
from ..auth import services as accounts
from ..auth.models import Organization, User
from ..errors import DomainError, lazy_gettext as _l
from ..extensions import db
from .models import OrganizationPlan
from .services import all_plans, entry_in_force, get_plan, history, local_day, valid_until

NOTE_LENGTH = 200
# Plan dates stay in a span where "the day before" and "six months later" always exist.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)


class PlanOverlap(DomainError):
    """The dates overlap an entry that a change may not end by itself."""


@dataclass(frozen=True)
class PlanChange:
    """What ``set_plan`` did: the new entry, and the open-ended one it ended (if any)."""

    entry: OrganizationPlan
    ended: OrganizationPlan | None = None


@dataclass(frozen=True)
class NextChange:
    """The next day on which another plan (or none: ``entry`` is None) applies."""

    on: date
    entry: OrganizationPlan | None


def plan_name(key: str) -> str:
    plan = get_plan(key)
    return plan.name if plan else key


def _known_plan(key: str):
    plan = get_plan((key or "").strip())
    if plan is None:
        raise DomainError(_l("There is no plan %(plan)s in the plans file; choose one of: %(known)s.",
                             plan=repr(key), known=", ".join(all_plans())), "plan")
    return plan


def describe(entry: OrganizationPlan):
    """An entry for messages, e.g. "Standard from 2026-01-15 until 2026-12-31" (lazy: in the reader's language)."""
    if entry.ends_on is None:
        return _l("%(plan)s from %(from)s, open-ended", plan=plan_name(entry.plan),
                  **{"from": entry.starts_on.isoformat()})
    return _l("%(plan)s from %(from)s until %(until)s", plan=plan_name(entry.plan),
              until=entry.ends_on.isoformat(), **{"from": entry.starts_on.isoformat()})


def _in_span(day: date | None, field: str) -> None:
    if day is not None and not FIRST_DAY <= day <= LAST_DAY:
        raise DomainError(_l("Give a date between %(first)s and %(last)s.", first=FIRST_DAY.isoformat(),
                             last=LAST_DAY.isoformat()), field)


def _locked(organization: Organization) -> None:
    """Two admins changing one organization's plans at once take turns (PostgreSQL; SQLite has one writer)."""
    db.session.execute(select(Organization.id).where(Organization.id == organization.id).with_for_update())


def create_organization(name: str, plan: str, go_live: date, timezone: str = "UTC",
                        by: User | None = None) -> Organization:
    """A new customer organization with its go-live plan as the first entry of its history."""
    chosen = _known_plan(plan)
    organization = accounts.create_organization(name, go_live, timezone, commit=False)
    db.session.flush()
    db.session.add(OrganizationPlan(organization_id=organization.id, plan=chosen.key, starts_on=go_live,
                                    ends_on=valid_until(chosen, go_live), set_by_id=by.id if by else None))
    db.session.commit()
    return organization


def set_plan(organization: Organization, plan: str, starts_on: date, ends_on: date | None = None,
             trial: bool = False, note: str | None = None, by: User | None = None,
             origin: audit.Origin | None = None) -> PlanChange:
    """Give the organization ``plan`` from ``starts_on`` (to ``ends_on``, included). See the module's rules.
    ``origin`` (default: ``by``) is who did it and from where, for the audit log."""
    chosen = _known_plan(plan)
    _in_span(starts_on, "starts_on")
    _in_span(ends_on, "ends_on")
    if trial and ends_on is None:
        raise DomainError(_l("A trial needs the day it ends."), "ends_on")
    ends_on = ends_on or valid_until(chosen, starts_on)
    if ends_on is not None and ends_on < starts_on:
        raise DomainError(_l("The last day (%(until)s) comes before the first (%(from)s).",
                             until=ends_on.isoformat(), **{"from": starts_on.isoformat()}), "ends_on")
    _locked(organization)
    ended = None
    for entry in history(organization):
        overlaps = entry.starts_on <= (ends_on or date.max) and starts_on <= (entry.ends_on or date.max)
        if not overlaps:
            continue
        if entry.ends_on is None and entry.starts_on < starts_on:
            ended = entry  # the running (or planned) open-ended entry: it ends the day before
            continue
        raise PlanOverlap(_l("These dates overlap %(entry)s. Pick other dates, or change that entry first.",
                             entry=describe(entry)), "starts_on")
    if ended is not None:
        ended.ends_on = starts_on - timedelta(days=1)
    entry = OrganizationPlan(organization_id=organization.id, plan=chosen.key, starts_on=starts_on, ends_on=ends_on,
                             trial=bool(trial), note=(note or "").strip()[:NOTE_LENGTH] or None,
                             set_by_id=by.id if by else None)
    db.session.add(entry)
    detail = {"plan": chosen.key, "from": starts_on.isoformat(), "until": ends_on and ends_on.isoformat(),
              "trial": bool(trial)}
    if ended is not None:
        detail["previous"] = {"plan": ended.plan, "now_ends": ended.ends_on.isoformat()}
    audit.record("plan.change", origin or audit.Origin.of(by), target=("organization", organization.id,
                 organization.name), organization_id=organization.id, detail=detail)
    db.session.commit()
    return PlanChange(entry, ended)


def set_go_live(organization: Organization, go_live: date) -> Organization:
    """Correct the go-live date. The first entry started on the old date moves with it, and an
    end that came from the plan's ``valid_months`` is worked out again from the new date."""
    _in_span(go_live, "go_live")
    old = organization.started_on
    if go_live == old:
        return organization
    _locked(organization)
    entries = history(organization)
    first = entries[0] if entries else None
    if first is not None and first.starts_on == old:
        plan = get_plan(first.plan)
        ends_on = first.ends_on
        if ends_on is not None and ends_on == valid_until(plan, old):
            ends_on = valid_until(plan, go_live)
        if ends_on is not None and ends_on < go_live:
            raise DomainError(_l("The go-live plan ends on %(date)s: the go-live date cannot come after it.",
                                 date=ends_on.isoformat()), "go_live")
        following = entries[1] if len(entries) > 1 else None
        if following is not None and (ends_on is None or ends_on >= following.starts_on):
            if go_live >= following.starts_on:
                raise DomainError(_l("The go-live date must come before the next plan change, %(entry)s.",
                                     entry=describe(following)), "go_live")
            ends_on = min(ends_on or date.max, following.starts_on - timedelta(days=1))
        first.starts_on, first.ends_on = go_live, ends_on
    organization.started_on = go_live
    db.session.commit()
    return organization


def next_change(organization: Organization, now: datetime | date | None = None) -> NextChange | None:
    """What changes next after the organization's day at ``now``: the day, and the entry then (None: no plan)."""
    day = local_day(organization, now)
    current = entry_in_force(organization, day)
    if current is not None:
        if current.ends_on is None:
            return None
        boundary = current.ends_on + timedelta(days=1)
        return NextChange(boundary, entry_in_force(organization, boundary))
    upcoming = [entry for entry in history(organization) if entry.starts_on > day]
    return NextChange(upcoming[0].starts_on, upcoming[0]) if upcoming else None
