"""What admins read: feedback averages per expert, per feature area and per month, and the comments."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select

from ..exports import spreadsheet_safe
from ..extensions import db
from .models import ExpertProfile, OnboardingSession, ProgramFeedback, SessionStatus
from .services import SCORES


@dataclass
class Averages:
    count: int = 0
    totals: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, name: str, value: int | None) -> None:
        if value is not None:
            self.totals[name] += value
            self.counts[name] += 1

    def mean(self, name: str) -> float | None:
        return round(self.totals[name] / self.counts[name], 2) if self.counts[name] else None


def summary() -> dict:
    """experts [(name, Averages)], areas [(key, Averages)], months [(yyyy-mm, Averages)] of program
    feedback, timeline [(yyyy-mm, "expert"|"area", name, Averages)] of session ratings, and comments.

    Session ratings count for the session's expert and area. A program's "expert"
    score counts for every expert who held a session of that program."""
    sessions = db.session.scalars(select(OnboardingSession).where(
        OnboardingSession.status == SessionStatus.HELD.value)).all()
    experts: dict[int, Averages] = defaultdict(Averages)
    areas: dict[str, Averages] = defaultdict(Averages)
    timeline: dict[tuple[str, str, str], Averages] = defaultdict(Averages)  # (month, "expert"|"area", key)
    held_by_org: dict[int, set[int]] = defaultdict(set)
    for s in sessions:
        month = s.starts_at.strftime("%Y-%m")
        for bucket in (experts[s.expert_id], areas[s.feature_area], timeline[(month, "expert", s.expert_id)],
                       timeline[(month, "area", s.feature_area)]):
            bucket.count += 1
            bucket.add("rating", s.rating)
        held_by_org[s.organization_id].add(s.expert_id)
    months: dict[str, Averages] = defaultdict(Averages)
    comments = []
    feedback = db.session.scalars(select(ProgramFeedback).order_by(ProgramFeedback.submitted_at.desc())).all()
    for f in feedback:
        month = months[f.submitted_at.strftime("%Y-%m")]
        month.count += 1
        for name in SCORES:
            month.add(name, getattr(f, name))
        for expert_id in held_by_org.get(f.organization_id, ()):
            experts[expert_id].add("expert_score", f.expert_score)
        if f.comments:
            comments.append(f)
    names = {p.user_id: p.user.name for p in db.session.scalars(select(ExpertProfile))}
    return {
        "experts": sorted(((names.get(k, "?"), v) for k, v in experts.items()), key=lambda item: item[0]),
        "areas": sorted(areas.items()),
        "months": sorted(months.items(), reverse=True),
        # Session ratings per month, per expert and per area: how each changes over time.
        "timeline": sorted(((month, kind, names.get(key, "?") if kind == "expert" else key, a)
                            for (month, kind, key), a in timeline.items()), key=lambda t: (t[0], t[1], t[2]),
                           reverse=True),
        "comments": comments[:50],
    }


def rows():
    """CSV rows: every program feedback, then every rated session."""
    for f in db.session.scalars(select(ProgramFeedback).order_by(ProgramFeedback.submitted_at)):
        yield ["program", f.submitted_at.date().isoformat(), f.organization.name, "", "", f.usefulness, f.clarity,
               f.pace, f.expert_score, "", spreadsheet_safe(f.comments or "")]
    for s in db.session.scalars(select(OnboardingSession).where(OnboardingSession.rating.is_not(None))
                                .order_by(OnboardingSession.starts_at)):
        yield ["session", s.starts_at.date().isoformat(), s.organization.name, s.expert.user.name, s.feature_area,
               "", "", "", "", s.rating, ""]


@dataclass
class MonthScores:
    month: str  # yyyy-mm
    sessions: Averages = field(default_factory=Averages)  # the 1-5 rating after each held session
    program: Averages = field(default_factory=Averages)  # the end-of-program questionnaire


def scores_by_month(since) -> list[MonthScores]:
    """Onboarding feedback per month since then, for the analytics page: session ratings
    (by the session's month) and program questionnaires (by the month they were sent)."""
    months: dict[str, MonthScores] = {}

    def bucket(at) -> MonthScores:
        key = at.strftime("%Y-%m")
        return months.setdefault(key, MonthScores(key))

    for starts_at, rating in db.session.execute(
            select(OnboardingSession.starts_at, OnboardingSession.rating)
            .where(OnboardingSession.rating.is_not(None), OnboardingSession.starts_at >= since)):
        scores = bucket(starts_at).sessions
        scores.count += 1
        scores.add("rating", rating)
    for f in db.session.scalars(select(ProgramFeedback).where(ProgramFeedback.submitted_at >= since)):
        scores = bucket(f.submitted_at).program
        scores.count += 1
        for name in SCORES:
            scores.add(name, getattr(f, name))
    return [months[k] for k in sorted(months)]
