"""What the knowledge base deflects and misses, and how the SLA is kept: figures from recorded events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, distinct, extract, func, literal_column, select

from ..auth.models import utcnow
from ..extensions import db
from ..kb.models import ArticleVote
from ..teams import services as team_services
from ..teams.models import Team
from ..tickets import services as ticket_services
from ..tickets.models import Channel, Suggestion, Ticket, TicketEvent


def _monday(column):
    """The Monday of a timestamp's week, as 'YYYY-MM-DD' on both databases."""
    # Literal constants, not bound parameters: the same expression is in SELECT and GROUP BY,
    # and PostgreSQL only sees them as the same when they are written the same.
    if db.session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.date_trunc(literal_column("'week'"), column), literal_column("'YYYY-MM-DD'"))
    return func.date(column, literal_column("'weekday 0'"), literal_column("'-6 days'"))


@dataclass
class Week:
    week: str  # its Monday
    suggested: int = 0  # forms that showed suggestions
    deflected: int = 0  # "This solved my problem"
    filed: int = 0  # tickets filed after seeing suggestions

    @property
    def rate(self) -> float | None:
        """Deflection rate: problems solved by an article among those that saw suggestions and ended."""
        ended = self.deflected + self.filed
        return round(self.deflected / ended, 3) if ended else None


def deflection_by_week(since: datetime) -> list[Week]:
    week = _monday(Suggestion.created_at)
    rows = db.session.execute(
        select(week, Suggestion.action, func.count(distinct(Suggestion.draft_key)),
               func.count(distinct(Suggestion.ticket_id)))
        .where(Suggestion.created_at >= since).group_by(week, Suggestion.action)
    ).all()
    weeks: dict[str, Week] = {}
    for label, action, drafts, tickets in rows:
        w = weeks.setdefault(str(label), Week(str(label)))
        if action == "shown":
            w.suggested += drafts
            w.filed += tickets
        elif action == "solved":
            w.deflected += drafts
    return [weeks[k] for k in sorted(weeks)]


@dataclass
class ArticleRow:
    slug: str
    shown: int = 0
    opened: int = 0
    rejected: int = 0
    solved: int = 0
    helpful: int = 0
    not_helpful: int = 0

    @property
    def deflection_rate(self) -> float | None:
        return round(self.solved / self.shown, 3) if self.shown else None

    @property
    def helpfulness(self) -> float | None:
        votes = self.helpful + self.not_helpful
        return round(self.helpful / votes, 3) if votes else None


def articles(since: datetime, limit: int = 50) -> list[ArticleRow]:
    """Per article: how often suggested, opened, rejected and how often it solved the problem, and its votes."""
    table: dict[str, ArticleRow] = {}
    for slug, action, count in db.session.execute(
            select(Suggestion.slug, Suggestion.action, func.count()).where(Suggestion.created_at >= since)
            .group_by(Suggestion.slug, Suggestion.action)):
        setattr(table.setdefault(slug, ArticleRow(slug)), action, count)
    for slug, yes, no in db.session.execute(
            select(ArticleVote.slug, func.sum(case((ArticleVote.helpful.is_(True), 1), else_=0)),
                   func.sum(case((ArticleVote.helpful.is_(True), 0), else_=1)))
            .where(ArticleVote.updated_at >= since).group_by(ArticleVote.slug)):
        row = table.setdefault(slug, ArticleRow(slug))
        row.helpful, row.not_helpful = int(yes or 0), int(no or 0)
    return sorted(table.values(), key=lambda r: (-r.shown, -r.helpful, r.slug))[:limit]


@dataclass
class SearchFigures:
    searches: int
    without_results: int
    gaps: list  # (query, times, last seen)


def searches(since: datetime, gaps: int = 20) -> SearchFigures:
    """Counted days from the rollup (``portal analytics rollup``), the rest from the recorded searches."""
    from ..kb.services import content_gaps, search_totals

    total, empty = search_totals(since.date())
    return SearchFigures(total, empty, content_gaps(since.date(), limit=gaps))


@dataclass
class SlaRow:
    plan: str
    priority: str
    tickets: int = 0
    answered: int = 0
    on_time: int = 0
    median_minutes: float | None = None
    with_resolution_target: int = 0
    resolved: int = 0
    resolved_on_time: int = 0
    with_update_promise: int = 0  # answered tickets whose plan promises updates (seed 000)
    updates_missed: int = 0  # of those, tickets whose update promise was breached at least once

    @property
    def update_compliance(self) -> float | None:
        """Share of tickets kept informed on time: no update promise ever breached."""
        if not self.with_update_promise:
            return None
        return round((self.with_update_promise - self.updates_missed) / self.with_update_promise, 3)

    @property
    def compliance(self) -> float | None:
        return round(self.on_time / self.answered, 3) if self.answered else None

    @property
    def resolution_compliance(self) -> float | None:
        return round(self.resolved_on_time / self.resolved, 3) if self.resolved else None

    @property
    def median_first_response(self) -> float | None:
        return None if self.median_minutes is None else round(self.median_minutes, 1)


def _minutes(start, end):
    """Minutes from one timestamp column to another, in SQL on both databases."""
    if db.session.get_bind().dialect.name == "postgresql":
        return extract("epoch", end - start) / 60
    return (func.julianday(end) - func.julianday(start)) * 1440


def sla_compliance(since: datetime) -> list[SlaRow]:
    """Per plan and priority, for tickets filed since then: first responses on time and their median
    minutes, and, where the plan has a resolution target, resolutions on time. One pass in SQL."""
    minutes = _minutes(Ticket.created_at, Ticket.first_response_at)
    group = (Ticket.plan, Ticket.priority)
    # Each ticket ranked by minutes to its first response in its group (unanswered ones last):
    # the median is the middle one, or the mean of the middle two, of the answered ones.
    ranked = select(
        Ticket.plan, Ticket.priority, minutes.label("minutes"),
        func.row_number().over(partition_by=group, order_by=minutes.asc().nulls_last()).label("rank"),
        func.count(Ticket.first_response_at).over(partition_by=group).label("answered"),
        case((Ticket.first_response_at <= Ticket.first_response_due, 1), else_=0).label("on_time"),
        case((Ticket.resolution_due.is_not(None), 1), else_=0).label("with_target"),
        case((Ticket.resolution_due.is_not(None) & Ticket.solved_at.is_not(None), 1), else_=0).label("resolved"),
        case((Ticket.solved_at <= Ticket.resolution_due, 1), else_=0).label("resolved_on_time"),
    ).where(Ticket.created_at >= since, Ticket.first_response_due.is_not(None)).subquery()
    middle = (ranked.c.rank <= ranked.c.answered) & (ranked.c.rank * 2 >= ranked.c.answered) \
        & (ranked.c.rank * 2 <= ranked.c.answered + 2)
    rows = db.session.execute(
        select(ranked.c.plan, ranked.c.priority, func.count(), func.max(ranked.c.answered),
               func.sum(ranked.c.on_time), func.avg(case((middle, ranked.c.minutes))), func.sum(ranked.c.with_target),
               func.sum(ranked.c.resolved), func.sum(ranked.c.resolved_on_time))
        .group_by(ranked.c.plan, ranked.c.priority))
    table = [SlaRow(plan or "—", priority.value, tickets, int(answered or 0), int(on_time or 0),
                    None if median is None else float(median), int(target or 0), int(resolved or 0),
                    int(resolved_on_time or 0))
             for plan, priority, tickets, answered, on_time, median, target, resolved, resolved_on_time in rows]
    _add_update_promises(table, since)
    return sorted(table, key=lambda r: (r.plan, r.priority))


def _add_update_promises(table: list[SlaRow], since: datetime) -> None:
    """Per plan and priority: answered tickets with an update promise, and those that missed one."""
    missed = (select(TicketEvent.ticket_id).where(TicketEvent.kind == "sla", TicketEvent.new_value == "update:breached")
              .distinct().subquery())
    rows = db.session.execute(
        select(Ticket.plan, Ticket.priority, func.count(), func.count(missed.c.ticket_id))
        .outerjoin(missed, missed.c.ticket_id == Ticket.id)
        .where(Ticket.created_at >= since, Ticket.first_response_due.is_not(None),
               Ticket.first_response_at.is_not(None), Ticket.next_update_due.is_not(None))
        .group_by(Ticket.plan, Ticket.priority))
    by_key = {(r.plan, r.priority): r for r in table}
    for plan, priority, promised, late in rows:
        row = by_key.get((plan or "—", priority.value))
        if row is not None:
            row.with_update_promise, row.updates_missed = int(promised), int(late)


def backlog_by_week(since: datetime) -> list[tuple[str, int, int]]:
    """(week, tickets filed, tickets closed) per week."""
    filed = dict(db.session.execute(select(_monday(Ticket.created_at), func.count())
                                    .where(Ticket.created_at >= since).group_by(_monday(Ticket.created_at))).all())
    closed = dict(db.session.execute(select(_monday(Ticket.closed_at), func.count())
                                     .where(Ticket.closed_at >= since).group_by(_monday(Ticket.closed_at))).all())
    weeks = sorted({str(k) for k in filed} | {str(k) for k in closed})
    filed, closed = {str(k): v for k, v in filed.items()}, {str(k): v for k, v in closed.items()}
    return [(w, filed.get(w, 0), closed.get(w, 0)) for w in weeks]


@dataclass
class ChannelWeek:
    week: str  # its Monday
    web: int = 0  # filed on the portal's form
    email: int = 0  # mail to support
    api: int = 0  # through the JSON API
    phone: int = 0  # filed by an agent on the customer's behalf, like chat and visit
    chat: int = 0
    visit: int = 0


def channels_by_week(since: datetime) -> list[ChannelWeek]:
    """Tickets filed per week, by how they reached us."""
    week = _monday(Ticket.created_at)
    weeks: dict[str, ChannelWeek] = {}
    for label, channel, count in db.session.execute(select(week, Ticket.channel, func.count())
                                                    .where(Ticket.created_at >= since)
                                                    .group_by(week, Ticket.channel)):
        row = weeks.setdefault(str(label), ChannelWeek(str(label)))
        setattr(row, Channel(channel).value, count)
    return [weeks[k] for k in sorted(weeks)]


@dataclass
class TeamRow:
    team: Team | None  # None: the tickets of no team
    filed: int = 0  # tickets filed in the period
    responses_due: int = 0  # of those, with a first-response target that was met or has passed
    on_time: int = 0  # first responses by their first_response_due
    backlog: int = 0  # active tickets now (new, open, waiting on the customer), whenever filed

    @property
    def on_time_rate(self) -> float | None:
        """First response on time: an unanswered ticket past its target counts as missed."""
        return round(self.on_time / self.responses_due, 3) if self.responses_due else None


def by_team(since: datetime, now: datetime | None = None) -> list[TeamRow]:
    """Per team, then "No team": volume filed since then, first responses on time, today's backlog.
    Every active team has its row, even an empty one; an inactive one only with figures."""
    now = now or utcnow()
    due = Ticket.first_response_due.is_not(None) & (Ticket.first_response_at.is_not(None)
                                                   | (Ticket.first_response_due < now))
    rows = {team_id: TeamRow(None, filed, int(responses_due or 0), int(on_time or 0))
            for team_id, filed, responses_due, on_time in db.session.execute(
                select(Ticket.team_id, func.count(), func.sum(case((due, 1), else_=0)),
                       func.sum(case((Ticket.first_response_at <= Ticket.first_response_due, 1), else_=0)))
                .where(Ticket.created_at >= since).group_by(Ticket.team_id))}
    for team_id, count in ticket_services.open_tickets_by_team().items():
        rows.setdefault(team_id, TeamRow(None)).backlog = count
    table = []
    for team in team_services.all_teams():
        row = rows.pop(team.id, None)
        if row is not None or team.active:
            row = row or TeamRow(None)
            row.team = team
            table.append(row)
    if None in rows:
        table.append(rows.pop(None))
    return table


def window(days: int | str | None) -> tuple[int, datetime]:
    """The period shown: (days, its first UTC midnight), whole days so counted days add up."""
    try:
        days = max(7, min(int(days), 365))
    except (TypeError, ValueError):
        days = 90
    # "The last 7 days" are today and the 6 days before it.
    return days, datetime.combine(utcnow().date() - timedelta(days=days - 1), datetime.min.time())
