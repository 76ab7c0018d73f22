"""The support-hours ledger: time agents log, what the plan bills for it, and
the organization's balance per contract period.

Billing rules come from the plan (seed 003): each ticket is a query billed at
least ``minimum_minutes`` per period, at least ``minimum_minutes_with_development``
once it was escalated to development, and nothing when it was caused by our
own bug (``deduct_bug_time = false``). Seed 002: nothing is owed past the
hours bought, so the balance warns when it runs out. Time spent with the organization without a
ticket (seed 003's video calls) is a query of its own, billed by the same rules when the plan
counts its kind (``billable_kinds``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select

from .. import audit
from ..auth.models import Organization, Role, User
from ..errors import DomainError, lazy_gettext as _l
from ..exports import spreadsheet_safe
from ..extensions import db
from .catalog import TIME_KINDS, SupportHoursSpec
from .models import HoursPurchase, TimeEntry
from .services import _add_months, entry_in_force, get_plan, local_day

MAX_ENTRY_MINUTES = 16 * 60
LOW_SHARE = 0.1  # warn when a tenth of the hours is left


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # exclusive

    def __contains__(self, day: date) -> bool:
        return self.start <= day < self.end

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def day_before(self) -> date:
        """A day of the previous period."""
        return self.start - timedelta(days=1)


def period_for(starts_on: date, spec: SupportHoursSpec, day: date, ends_on: date | None = None) -> Period:
    """The contract period holding ``day``: consecutive blocks of ``period_months`` from the start of
    the plan entry in force (so a renewal starts a new period), the last one cut at the entry's end."""
    period = _period_from(starts_on, spec, day)
    if ends_on is not None and ends_on < period.last_day:
        return Period(period.start, ends_on + timedelta(days=1))
    return period


def _period_from(start: date, spec: SupportHoursSpec, day: date) -> Period:
    n = 0
    if day < start:
        return Period(start, _add_months(start, spec.period_months))
    months_between = (day.year - start.year) * 12 + day.month - start.month
    n = max(0, months_between // spec.period_months - 1)
    while True:
        begin = _add_months(start, n * spec.period_months)
        end = _add_months(start, (n + 1) * spec.period_months)
        if begin <= day < end:
            return Period(begin, end)
        n += 1


def billed_minutes(spec: SupportHoursSpec, logged: int, development: bool, bug: bool) -> int:
    """What one ticket's logged minutes in a period cost the customer."""
    if logged <= 0 or (bug and not spec.deduct_bug_time):
        return 0
    minimum = spec.minimum_minutes
    if development:
        minimum = max(minimum, spec.minimum_minutes_with_development)
    return max(logged, minimum)


@dataclass
class LedgerLine:
    """One ticket's time in a period, or one entry logged without a ticket (its own query)."""

    ticket: object | None
    entries: list[TimeEntry] = field(default_factory=list)
    billed: int = 0
    billable: bool = True  # False: the plan does not count this kind of time against the hours

    @property
    def logged(self) -> int:
        return sum(e.minutes for e in self.entries)

    @property
    def kind(self) -> str:
        return "ticket" if self.ticket is not None else self.entries[0].kind

    @property
    def note(self) -> str | None:
        return None if self.ticket is not None else self.entries[0].note

    @property
    def escalated_to_development(self) -> bool:
        return bool((self.ticket or self.entries[0]).escalated_to_development)

    @property
    def caused_by_bug(self) -> bool:
        return bool((self.ticket or self.entries[0]).caused_by_bug)

    @property
    def rule(self) -> str:
        """Why billed differs from logged: "not billable", "bug", "development minimum", "minimum" or ""."""
        if not self.billable:
            return "not billable"
        if self.caused_by_bug and self.billed == 0:
            return "bug"
        if self.billed > self.logged:
            return "development minimum" if self.escalated_to_development else "minimum"
        return ""


@dataclass
class Balance:
    period: Period
    allowance_minutes: int
    purchases: list[HoursPurchase]
    lines: list[LedgerLine]
    when_used_up: str = "warn"  # the plan's rule for new tickets once the hours are used up

    @property
    def bought_minutes(self) -> int:
        return self.allowance_minutes + round(sum(p.hours for p in self.purchases) * 60)

    @property
    def used_minutes(self) -> int:
        return sum(line.billed for line in self.lines)

    @property
    def left_minutes(self) -> int:
        return self.bought_minutes - self.used_minutes

    @property
    def state(self) -> str:
        """ok, low or exhausted."""
        if self.left_minutes <= 0:
            return "exhausted"
        return "low" if self.left_minutes <= self.bought_minutes * LOW_SHARE else "ok"

    @property
    def new_tickets(self) -> str:
        """What a ticket filed now gets: "clock" (hours left), or the plan's "warn",
        "best_effort" or "refuse" once they are used up."""
        return "clock" if self.left_minutes > 0 else self.when_used_up


class HoursUsedUp(DomainError):
    """The plan refuses new tickets once the prepaid hours are used up."""

    def __init__(self, balance: Balance):
        self.balance = balance
        super().__init__(_l("Your organization's prepaid support hours for this period are used up, so new tickets "
                            "cannot be filed. Ask your account manager to buy more hours, then file again."))


def ledger(organization: Organization, day: date) -> tuple[SupportHoursSpec, Period, list[TimeEntry],
                                                              list[HoursPurchase]] | None:
    """The billing rules of the plan in force on ``day``, its contract period holding ``day``, and its time entries and
    purchases; None when the plan keeps no hours ledger."""
    entry = entry_in_force(organization, day)
    plan = get_plan(entry.plan) if entry is not None else None
    if plan is None or plan.spec.support_hours is None:
        return None
    spec = plan.spec.support_hours
    period = period_for(entry.starts_on, spec, day, entry.ends_on)
    entries = db.session.scalars(
        select(TimeEntry).where(TimeEntry.organization_id == organization.id, TimeEntry.worked_on >= period.start,
                                TimeEntry.worked_on < period.end).order_by(TimeEntry.worked_on, TimeEntry.id)
    ).all()
    purchases = db.session.scalars(
        select(HoursPurchase).where(HoursPurchase.organization_id == organization.id,
                                    HoursPurchase.purchased_on >= period.start, HoursPurchase.purchased_on < period.end)
        .order_by(HoursPurchase.purchased_on, HoursPurchase.id)
    ).all()
    return spec, period, list(entries), list(purchases)


def make_balance(spec: SupportHoursSpec, period: Period, entries: list[TimeEntry], purchases: list[HoursPurchase],
                 tickets: dict) -> Balance:
    """The balance from plain values. ``tickets`` maps each entry's ticket id to an object with
    ``escalated_to_development`` and ``caused_by_bug`` (and whatever the ledger page shows). An entry
    without a ticket is a query of its own, with its own flags; a kind the plan does not bill is
    listed with nothing billed."""
    by_ticket: dict[int, LedgerLine] = {}
    alone: list[LedgerLine] = []
    for entry in entries:
        if entry.ticket_id is None:
            alone.append(LedgerLine(None, [entry]))
        else:
            by_ticket.setdefault(entry.ticket_id, LedgerLine(tickets[entry.ticket_id])).entries.append(entry)
    lines = sorted(by_ticket.values(), key=lambda l: l.ticket.id) + alone  # entries came by day
    for line in lines:
        line.billable = line.kind in spec.billable_kinds
        line.billed = line_billed(spec, line.kind, line.logged, line.escalated_to_development, line.caused_by_bug)
    return Balance(period, round(spec.hours * 60), purchases, lines, spec.when_used_up)


def line_billed(spec: SupportHoursSpec, kind: str, logged: int, development: bool, bug: bool) -> int:
    """What one query of ``kind`` costs: nothing for a kind the plan does not bill, else billed_minutes."""
    return billed_minutes(spec, logged, development, bug) if kind in spec.billable_kinds else 0


def check_time(minutes: int | str | None, worked_on: date, filed_on: date | None, today: date,
               slack_days: int = 1) -> int:
    """The minutes of a time entry, checked; raises DomainError naming the field. ``slack_days``: a
    ticket's ``today`` is UTC's, so a day of slack covers zones ahead of it; an organization's is its own."""
    try:
        minutes = int(str(minutes).strip())
    except (TypeError, ValueError):
        raise DomainError(_l("Enter the time spent in whole minutes, e.g. 45."), "minutes") from None
    if not 1 <= minutes <= MAX_ENTRY_MINUTES:
        raise DomainError(_l("Time spent is between 1 and %(max)s minutes per entry.", max=MAX_ENTRY_MINUTES),
                          "minutes")
    if worked_on > today + timedelta(days=slack_days):
        raise DomainError(_l("Time cannot be logged for a future day."), "worked_on")
    if filed_on is not None and worked_on < filed_on - timedelta(days=1):
        raise DomainError(_l("Time cannot be logged before the ticket was filed."), "worked_on")
    return minutes


def logged_minutes(ticket_id: int, period: Period) -> int:
    return sum(db.session.scalars(select(TimeEntry.minutes).where(
        TimeEntry.ticket_id == ticket_id, TimeEntry.worked_on >= period.start, TimeEntry.worked_on < period.end)))


def buy_hours(organization: Organization, hours: float | str, purchased_on: date | None = None,
              note: str | None = None, origin: audit.Origin | None = None) -> HoursPurchase:
    try:
        hours = round(float(hours), 2)
    except (TypeError, ValueError):
        raise DomainError(_l("Hours are a number, e.g. 10 or 2.5."), "hours") from None
    if not 0 < hours <= 10_000:
        raise DomainError(_l("Hours bought are more than 0 and at most 10,000."), "hours")
    purchase = HoursPurchase(organization_id=organization.id, hours=hours,
                             purchased_on=purchased_on or local_day(organization), note=(note or "").strip()[:200] or None)
    db.session.add(purchase)
    audit.record("hours.buy", origin, target=("organization", organization.id, organization.name),
                 organization_id=organization.id,
                 detail={"hours": hours, "on": purchase.purchased_on.isoformat(), "note": purchase.note})
    db.session.commit()
    return purchase


def ledger_csv(balance: Balance) -> str:
    """The period's ledger: one row per time entry (with its ticket's billing, or its own without a ticket)
    and per purchase. ``kind`` is "time" for time on a ticket, the entry's kind (``video_call``…) without one."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["date", "kind", "ticket", "subject", "agent", "minutes", "note", "ticket_minutes_logged",
                     "ticket_minutes_billed", "escalated_to_development", "caused_by_bug", "rule"])
    safe = spreadsheet_safe
    for line in balance.lines:
        ticket = line.ticket
        for entry in line.entries:
            writer.writerow([entry.worked_on.isoformat(), "time" if ticket is not None else entry.kind,
                             ticket.reference if ticket is not None else "",
                             safe(ticket.subject) if ticket is not None else "",
                             safe(entry.agent.name), entry.minutes, safe(entry.note or ""), line.logged, line.billed,
                             str(line.escalated_to_development).lower(), str(line.caused_by_bug).lower(), line.rule])
    for purchase in balance.purchases:
        writer.writerow([purchase.purchased_on.isoformat(), "purchase", "", "", "", round(purchase.hours * 60),
                         safe(purchase.note or ""), "", "", "", "", ""])
    return out.getvalue()


# --- time without a ticket ---------------------------------------------------------

# The kinds an agent logs against an organization directly ("ticket" is time on a ticket).
ORGANIZATION_KINDS = tuple(kind for kind in TIME_KINDS if kind != "ticket")
NOTE_LENGTH = 1000


ORGANIZATION_TIME_DAYS_BACK = 366  # how far back time without a ticket may be dated


def log_organization_time(organization: Organization, agent: User, kind: str, minutes: int | str | None,
                          worked_on: date | None, note: str | None, today: date, escalated: bool = False,
                          bug: bool = False, origin: audit.Origin | None = None, *, visit_id: int | None = None,
                          onboarding_session_id: int | None = None, commit: bool = True) -> TimeEntry:
    """Staff log time spent with an organization without a ticket: a call, a video call, a visit, an
    onboarding or guided setup session. It is a query of its own, billed by the same rules as a ticket
    (minimums, development, our bugs) when the plan counts its kind. ``today`` is the organization's day.

    ``visit_id`` / ``onboarding_session_id`` tie the entry to the visit or session it was spent on (the
    database keeps one entry each); with ``commit=False`` the caller commits it with its own change (the
    API records its Idempotency-Key with it)."""
    if agent.role not in (Role.AGENT, Role.ADMIN):
        raise DomainError(_l("Only agents log time."))
    if kind not in ORGANIZATION_KINDS:
        raise DomainError(_l("Choose what the time was spent on."), "kind")
    worked_on = worked_on or today
    minutes = check_time(minutes, worked_on, None, today, slack_days=0)
    if worked_on < today - timedelta(days=ORGANIZATION_TIME_DAYS_BACK):
        raise DomainError(_l("Time without a ticket is logged for the last 12 months at most."), "worked_on")
    entry = TimeEntry(organization_id=organization.id, agent_id=agent.id, kind=kind, minutes=minutes,
                      worked_on=worked_on, note=(note or "").strip()[:NOTE_LENGTH] or None,
                      escalated_to_development=bool(escalated), caused_by_bug=bool(bug), visit_id=visit_id,
                      onboarding_session_id=onboarding_session_id)
    db.session.add(entry)
    audit.record("time.log", origin, target=("organization", organization.id, organization.name),
                 organization_id=organization.id,
                 detail={"kind": kind, "minutes": minutes, "on": worked_on.isoformat(),
                         "escalated": bool(escalated), "bug": bool(bug)})
    if commit:
        db.session.commit()
    return entry


def preview_organization_time(organization: Organization, kind: str, minutes: int, escalated: bool, bug: bool,
                              day: date) -> int | None:
    """What an entry of ``kind`` logged on ``day`` would bill; None when the plan keeps no hours ledger."""
    found = ledger(organization, day)
    if found is None:
        return None
    return line_billed(found[0], kind, max(0, minutes), escalated, bug)
