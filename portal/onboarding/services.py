"""The onboarding program's rules: the window, one session a week, booking,
rescheduling and cancelling in time, running sessions, and feedback."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..auth.models import Organization, Role, User, utcnow
from ..errors import DomainError, lazy_gettext as _l, lazy_number
from ..extensions import db
from ..plans import hours
from ..plans import services as plan_services
from ..plans.models import TimeEntry
from . import availability, notify
from . import slots as slot_service
from .models import AvailabilityRule, DayOff, ExpertProfile, OnboardingSession, ProgramFeedback, SessionStatus

AREAS_FILE = Path(__file__).with_name("areas.toml")
SCORES = ("usefulness", "clarity", "pace", "expert_score")
QUESTIONS_MAX = 4000


# --- feature areas ---------------------------------------------------------------

@dataclass(frozen=True)
class Area:
    key: str
    name: str
    name_es: str
    tags: tuple[str, ...]

    def label(self, lang: str) -> str:
        return self.name_es if lang == "es" and self.name_es else self.name


def areas() -> dict[str, Area]:
    cached = current_app.extensions.get("portal.onboarding_areas")
    if cached is None:
        path = Path(current_app.config.get("ONBOARDING_AREAS_FILE") or AREAS_FILE)
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        cached = {key: Area(key, a["name"], a.get("name_es", ""), tuple(a.get("tags", [])))
                  for key, a in data.get("areas", {}).items()}
        current_app.extensions["portal.onboarding_areas"] = cached
    return cached


def area_of(session: OnboardingSession) -> Area | None:
    return areas().get(session.feature_area)


def materials(area_key: str, articles: list[dict], lang: str = "en") -> list[dict]:
    """Published articles carrying any of the area's tags, in the reader's language when
    there are any: guides first, then tutorials (the videos), FAQ and API docs."""
    area = areas().get(area_key)
    if area is None:
        return []
    wanted = set(area.tags)

    def tags(article: dict) -> set[str]:
        value = article.get("tags") or ""
        return set(value.split(",") if isinstance(value, str) else value)

    found = [a for a in articles if wanted & tags(a) and a.get("draft") != "yes"]
    own = [a for a in found if a.get("lang") == lang]
    order = {"guide": 0, "tutorial": 1, "faq": 2, "api": 3}
    return sorted(own or found, key=lambda a: (order.get(a.get("type"), 9), a.get("title", "")))


# --- the program -----------------------------------------------------------------

@dataclass
class Week:
    number: int
    starts_at: datetime  # naive UTC: local midnight of its first day
    ends_at: datetime
    session: OnboardingSession | None = None

    @property
    def last_day(self) -> date:
        return (self.ends_at - timedelta(seconds=1)).date()


@dataclass
class Program:
    organization: Organization
    sessions_included: int
    session_minutes: int
    premium: bool
    weeks: list[Week] = field(default_factory=list)
    extra: list[OnboardingSession] = field(default_factory=list)

    @property
    def starts_at(self) -> datetime:
        return self.weeks[0].starts_at

    @property
    def ends_at(self) -> datetime:
        return self.weeks[-1].ends_at

    @property
    def booked(self) -> int:
        return sum(1 for w in self.weeks if w.session is not None)

    @property
    def length(self) -> timedelta:
        return timedelta(minutes=self.session_minutes)

    def finished(self, now: datetime) -> bool:
        """Every session held or missed, or the window over: time to ask for feedback."""
        done = all(w.session is not None and w.session.status in (SessionStatus.HELD.value, SessionStatus.MISSED.value)
                   for w in self.weeks)
        return done or now >= self.ends_at


class NoOnboarding(DomainError):
    pass


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC).replace(tzinfo=None)


def program(organization: Organization) -> Program:
    """The organization's program: weeks from its start date in its own time zone, and their sessions."""
    plan = plan_services.plan_for(organization)
    if plan is None or plan.spec.onboarding == "none" or plan.spec.onboarding_sessions == 0:
        raise NoOnboarding(_l("Your plan does not include an onboarding program."))
    zone = ZoneInfo(organization.timezone)
    result = Program(organization, plan.spec.onboarding_sessions, plan.spec.session_minutes,
                     plan.spec.onboarding == "premium")
    for n in range(1, plan.spec.onboarding_sessions + 1):
        first = organization.started_on + timedelta(days=7 * (n - 1))
        result.weeks.append(Week(n, _local_midnight(first, zone), _local_midnight(first + timedelta(days=7), zone)))
    sessions = db.session.scalars(select(OnboardingSession).where(
        OnboardingSession.organization_id == organization.id,
        OnboardingSession.status != SessionStatus.CANCELLED.value).order_by(OnboardingSession.starts_at)).all()
    for session in sessions:
        if session.week is None:
            result.extra.append(session)
        elif 1 <= session.week <= len(result.weeks):
            result.weeks[session.week - 1].session = session
    return result


def _lead() -> timedelta:
    return timedelta(hours=current_app.config["ONBOARDING_MIN_LEAD_HOURS"])


def week_slots(prog: Program, week: int, now: datetime | None = None) -> list[slot_service.Slot]:
    if not 1 <= week <= len(prog.weeks):
        raise DomainError(_l("The program has weeks 1 to %(last)s.", last=len(prog.weeks)), "week")
    w = prog.weeks[week - 1]
    return slot_service.free_slots(w.starts_at, w.ends_at, prog.length, (now or utcnow()) + _lead())


def booking_horizon(now: datetime | None = None) -> datetime:
    """How far ahead customers see an expert's slots: a training request's extra session is booked up to then."""
    return (now or utcnow()) + timedelta(weeks=current_app.config["ONBOARDING_EXTRA_WEEKS"])


def extra_slots(length: timedelta, now: datetime | None = None) -> list[slot_service.Slot]:
    """Slots for a training request outside the program: the next few weeks."""
    now = now or utcnow()
    return slot_service.free_slots(now, booking_horizon(now), length, now + _lead())


class SlotTaken(DomainError):
    """Someone else booked it first; ``nearest`` are the free slots closest to it."""

    def __init__(self, nearest: list[slot_service.Slot]):
        self.nearest = nearest
        super().__init__(_l("That slot was just taken by someone else."), "slot")


def _nearest(candidates: list[slot_service.Slot], at: datetime, n: int = 3) -> list[slot_service.Slot]:
    return sorted(candidates, key=lambda s: abs((s.starts_at - at).total_seconds()))[:n]


def _check_slot(candidates: list[slot_service.Slot], expert_id: int, starts_at: datetime, now: datetime,
                window: tuple[datetime, datetime] | None) -> None:
    if starts_at < now:
        raise DomainError(_l("That time is in the past: pick one of the free slots shown."), "slot")
    if window and not (window[0] <= starts_at < window[1]):
        raise DomainError(_l("That time is outside the week you picked."), "slot")
    if starts_at < now + _lead():
        hours = current_app.config["ONBOARDING_MIN_LEAD_HOURS"]
        raise DomainError(_l("Sessions are booked at least %(hours)s hours ahead, so the expert can prepare.",
                             hours=hours), "slot")
    if not any(s.expert_id == expert_id and s.starts_at == starts_at for s in candidates):
        expert = db.session.get(ExpertProfile, expert_id)
        why = availability.reason(expert, _expert_date(expert, starts_at)) if expert is not None else None
        if why:  # a page shown before the expert took the day off, or chose their holidays
            raise DomainError(_l("The expert takes no sessions that day (%(reason)s): pick one of the free slots "
                                 "shown.", reason=why), "slot")
        busy = db.session.scalar(select(OnboardingSession.id).where(
            OnboardingSession.expert_id == expert_id, OnboardingSession.starts_at == starts_at,
            OnboardingSession.status != SessionStatus.CANCELLED.value))
        if busy:
            raise SlotTaken(_nearest(candidates, starts_at))
        raise DomainError(_l("The expert is not available at that time: pick one of the free slots shown."), "slot")


def _expert_date(expert: ExpertProfile, moment: datetime) -> date:
    """The expert's local date at a naive UTC moment: their days off and holidays are theirs."""
    return plan_services.zone_day(expert.timezone, moment)


def _check_details(area: str, questions: str | None) -> str | None:
    if area not in areas():
        raise DomainError(_l("Choose a feature area from the list."), "feature_area")
    questions = (questions or "").strip()
    if len(questions) > QUESTIONS_MAX:
        raise DomainError(_l("Questions can have at most %(max)s characters.", max=lazy_number(QUESTIONS_MAX)),
                          "questions")
    return questions or None


def _may_book(user: User) -> None:
    if not user.role.is_customer or user.organization_id is None:
        raise DomainError(_l("Only customers book onboarding sessions."))


def book(user: User, week: int, expert_id: int, starts_at: datetime, area: str, questions: str | None = None,
         now: datetime | None = None) -> OnboardingSession:
    """Book the program's session of ``week``. The database has the last word on double bookings."""
    _may_book(user)
    now = now or utcnow()
    prog = program(user.organization)
    if not 1 <= week <= len(prog.weeks):
        raise DomainError(_l("The program has %(count)s sessions, one a week: weeks 1 to %(count)s.",
                             count=len(prog.weeks)), "week")
    w = prog.weeks[week - 1]
    if w.session is not None:
        raise DomainError(_l("Week %(week)s already has its session; reschedule it instead.", week=week), "week")
    if now >= prog.ends_at:
        raise DomainError(_l("The onboarding window has closed. For more training, file a training request."), "week")
    questions = _check_details(area, questions)
    candidates = week_slots(prog, week, now)
    _check_slot(candidates, expert_id, starts_at, now, (w.starts_at, w.ends_at))
    return _insert(OnboardingSession(
        organization_id=user.organization_id, booked_by_id=user.id, expert_id=expert_id, starts_at=starts_at,
        ends_at=starts_at + prog.length, week=week, feature_area=area, questions=questions, created_at=now,
        updated_at=now), candidates)


def book_extra(user: User, ticket, expert_id: int, starts_at: datetime, area: str, questions: str | None = None,
               now: datetime | None = None) -> OnboardingSession:
    """An extra session for a training request, outside the program's window."""
    _may_book(user)
    if ticket.category.value != "training_request" or ticket.organization_id != user.organization_id:
        raise DomainError(_l("Extra sessions are booked from a training request."))
    existing = db.session.scalar(select(OnboardingSession).where(
        OnboardingSession.ticket_id == ticket.id, OnboardingSession.status == SessionStatus.BOOKED.value))
    if existing is not None:
        raise DomainError(_l("This training request already has a session booked; reschedule it instead."))
    now = now or utcnow()
    questions = _check_details(area, questions)
    plan = plan_services.plan_for(user.organization)
    length = timedelta(minutes=plan.spec.session_minutes if plan else 60)
    candidates = extra_slots(length, now)
    _check_slot(candidates, expert_id, starts_at, now, None)
    return _insert(OnboardingSession(
        organization_id=user.organization_id, booked_by_id=user.id, expert_id=expert_id, starts_at=starts_at,
        ends_at=starts_at + length, week=None, ticket_id=ticket.id, feature_area=area,
        questions=questions or ticket.subject, created_at=now, updated_at=now), candidates)


def _insert(session: OnboardingSession, candidates: list[slot_service.Slot]) -> OnboardingSession:
    db.session.add(session)
    try:
        db.session.flush()  # the database refuses a taken slot or a second session in the week here
    except IntegrityError:
        db.session.rollback()
        if db.session.scalar(select(OnboardingSession.id).where(
                OnboardingSession.organization_id == session.organization_id, OnboardingSession.week == session.week,
                OnboardingSession.status != SessionStatus.CANCELLED.value)) and session.week is not None:
            raise DomainError(_l("Week %(week)s was just booked by a colleague.", week=session.week), "week") from None
        raise SlotTaken([s for s in _nearest(candidates, session.starts_at, 4)
                         if not (s.expert_id == session.expert_id and s.starts_at == session.starts_at)][:3]) from None
    notify.booked(session, area_of(session))  # queued: the booking and its mail are saved together
    db.session.commit()
    return session


def _notice() -> timedelta:
    return timedelta(hours=current_app.config["ONBOARDING_CHANGE_NOTICE_HOURS"])


def can_change(session: OnboardingSession, now: datetime | None = None) -> bool:
    return session.status == SessionStatus.BOOKED.value and (now or utcnow()) <= session.starts_at - _notice()


def _check_change(session: OnboardingSession, user: User, now: datetime) -> None:
    if user.organization_id != session.organization_id:
        raise DomainError(_l("Only the customer's organization changes its sessions."))
    if session.status != SessionStatus.BOOKED.value:
        raise DomainError(_l("Only a booked session can be changed."))
    if not can_change(session, now):
        hours = current_app.config["ONBOARDING_CHANGE_NOTICE_HOURS"]
        raise DomainError(_l("Sessions can be moved or cancelled up to %(hours)s hours before they start. "
                             "For anything urgent, file a ticket.", hours=hours))


def move_options(session: OnboardingSession, now: datetime | None = None):
    """(free slots, allowed window or None) a session may move to: its own week, or for an
    extra session the next weeks."""
    if session.week is not None:
        prog = program(session.organization)
        w = prog.weeks[session.week - 1]
        return week_slots(prog, session.week, now), (w.starts_at, w.ends_at)
    return extra_slots(session.ends_at - session.starts_at, now), None


def reschedule(session: OnboardingSession, user: User, expert_id: int, starts_at: datetime,
               now: datetime | None = None) -> OnboardingSession:
    now = now or utcnow()
    _check_change(session, user, now)
    candidates, window = move_options(session, now)
    _check_slot(candidates, expert_id, starts_at, now, window)
    length = session.ends_at - session.starts_at
    old = (session.expert_id, session.starts_at)
    session.expert_id, session.starts_at, session.ends_at = expert_id, starts_at, starts_at + length
    session.sequence += 1
    session.updated_at = now
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise SlotTaken(_nearest(candidates, starts_at)) from None
    notify.rescheduled(session, area_of(session), *old)
    db.session.commit()
    return session


def cancel(session: OnboardingSession, user: User, now: datetime | None = None) -> None:
    now = now or utcnow()
    _check_change(session, user, now)
    session.status = SessionStatus.CANCELLED.value
    session.sequence += 1
    session.updated_at = now
    notify.cancelled(session, area_of(session))
    db.session.commit()


def update_questions(session: OnboardingSession, user: User, questions: str | None) -> None:
    if user.organization_id != session.organization_id or session.status != SessionStatus.BOOKED.value:
        raise DomainError(_l("Questions can be changed until the session is held."))
    session.questions = _check_details(session.feature_area, questions)
    session.updated_at = utcnow()
    db.session.commit()


# --- running sessions (experts) --------------------------------------------------

def is_expert(user: User) -> bool:
    return user.role in (Role.AGENT, Role.ADMIN) and db.session.get(ExpertProfile, user.id) is not None


def record_outcome(session: OnboardingSession, expert: User, status: str, notes: str | None = None,
                   follow_up: list[str] | None = None, known_slugs: set[str] | None = None,
                   now: datetime | None = None) -> None:
    """The expert marks a session held or missed, with notes and follow-up articles for the customer."""
    if expert.role not in (Role.AGENT, Role.ADMIN):
        raise DomainError(_l("Only experts run sessions."))
    if status not in (SessionStatus.HELD.value, SessionStatus.MISSED.value):
        raise DomainError(_l("A session is marked held or missed."), "status")
    if session.status == SessionStatus.CANCELLED.value:
        raise DomainError(_l("This session was cancelled."), "status")
    if (now or utcnow()) < session.starts_at:
        raise DomainError(_l("A session can be marked once it has started."), "status")
    slugs = [s.strip() for s in follow_up or [] if s.strip()]
    unknown = [s for s in slugs if known_slugs is not None and s not in known_slugs]
    if unknown:
        raise DomainError(_l("No article with the address %(slug)s.", slug=repr(unknown[0])), "follow_up")
    first_outcome = session.status == SessionStatus.BOOKED.value
    session.status = status
    session.notes = (notes or "").strip()[:8000] or None
    session.follow_up = "\n".join(dict.fromkeys(slugs)) or None
    session.updated_at = now or utcnow()
    _log_session_time(session, expert, session.updated_at)
    if first_outcome and session.week is not None and feedback_for(session.organization) is None:
        done = (SessionStatus.HELD.value, SessionStatus.MISSED.value)
        if all(w.session is not None and w.session.status in done for w in program(session.organization).weeks):
            notify.ask_feedback(session)  # that was the program's last session
    try:
        db.session.commit()
    except IntegrityError:  # a second tab marked it held at the same moment: its time entry stands
        db.session.rollback()
        raise DomainError(_l("This session's outcome was just recorded."), "status") from None


def _log_session_time(session: OnboardingSession, expert: User, now: datetime) -> None:
    """A held session is time of kind "onboarding" in the hours ledger, logged once (billed only where the
    plan's billable_kinds count onboarding); re-marked missed, that entry goes: no time was spent."""
    logged = db.session.scalar(select(TimeEntry).where(TimeEntry.onboarding_session_id == session.id))
    if session.status == SessionStatus.HELD.value and logged is None:
        organization = session.organization
        minutes = int((session.ends_at - session.starts_at).total_seconds() // 60)
        hours.log_organization_time(organization, expert, "onboarding", minutes,
                                    plan_services.local_day(organization, session.starts_at),
                                    area_of(session).name if area_of(session) else session.feature_area,
                                    plan_services.local_day(organization, now), onboarding_session_id=session.id,
                                    commit=False)
    elif session.status != SessionStatus.HELD.value and logged is not None:
        db.session.delete(logged)


def rate_session(session: OnboardingSession, user: User, rating) -> None:
    """The customer's quick rating of a held session, 1 to 5."""
    if user.organization_id != session.organization_id:
        raise DomainError(_l("Only the customer rates a session."))
    if session.status != SessionStatus.HELD.value:
        raise DomainError(_l("A session can be rated once it has been held."), "rating")
    session.rating = _score(rating, "rating")
    db.session.commit()


def _score(value, name: str) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        number = 0
    if not 1 <= number <= 5:
        raise DomainError(_l("Give a score from 1 to 5."), name)
    return number


# --- feedback ----------------------------------------------------------------------

def feedback_for(organization: Organization) -> ProgramFeedback | None:
    return db.session.scalar(select(ProgramFeedback).where(ProgramFeedback.organization_id == organization.id))


def feedback_editable(feedback: ProgramFeedback | None, now: datetime | None = None) -> bool:
    days = current_app.config["ONBOARDING_FEEDBACK_EDIT_DAYS"]
    return feedback is None or (now or utcnow()) <= feedback.submitted_at + timedelta(days=days)


def submit_feedback(user: User, values: dict, now: datetime | None = None) -> ProgramFeedback:
    """One submission per program; the same customer organization may edit it for a few days."""
    _may_book(user)
    now = now or utcnow()
    prog = program(user.organization)
    if not prog.finished(now):
        raise DomainError(_l("Feedback opens after your last session, or when the onboarding window ends."))
    errors = {}
    scores = {}
    for name in SCORES:
        try:
            scores[name] = _score(values.get(name), name)
        except DomainError as exc:
            errors[name] = exc.message
    comments = (values.get("comments") or "").strip()
    if len(comments) > 5000:
        errors["comments"] = _l("Comments can have at most 5,000 characters.")
    if errors:
        exc = DomainError(next(iter(errors.values())), next(iter(errors)))
        exc.errors = errors
        raise exc
    feedback = feedback_for(user.organization)
    if feedback is not None and not feedback_editable(feedback, now):
        raise DomainError(_l("Feedback can be changed for a few days after it was sent; that time has passed."))
    if feedback is None:
        feedback = ProgramFeedback(organization_id=user.organization_id, submitted_at=now)
        db.session.add(feedback)
    feedback.user_id = user.id
    for name, score in scores.items():
        setattr(feedback, name, score)
    feedback.comments = comments or None
    feedback.updated_at = now
    try:
        db.session.commit()
    except IntegrityError:  # a colleague sent it at the same moment: theirs stands, ours updates it
        db.session.rollback()
        return submit_feedback(user, values, now)
    return feedback


# --- experts' availability -------------------------------------------------------

def make_expert(user: User, timezone: str, meeting_url: str) -> ExpertProfile:
    if user.role not in (Role.AGENT, Role.ADMIN):
        raise DomainError(_l("Experts are agents or admins."))
    try:
        ZoneInfo(timezone)
    except Exception:
        raise DomainError(_l("Unknown time zone %(name)s; use a name such as Europe/Madrid.", name=repr(timezone)),
                          "timezone") from None
    meeting_url = (meeting_url or "").strip()
    if not meeting_url.startswith(("https://", "http://")):
        raise DomainError(_l("The meeting link starts with https://."), "meeting_url")
    profile = db.session.get(ExpertProfile, user.id) or ExpertProfile(user_id=user.id)
    profile.timezone, profile.meeting_url, profile.active = timezone, meeting_url[:300], True
    db.session.add(profile)
    db.session.commit()
    return profile


def set_holiday_region(profile: ExpertProfile, country: str | None, subdivision: str | None = None,
                       origin: audit.Origin | None = None, now: datetime | None = None) -> ExpertProfile:
    """The country and region whose public holidays the expert takes no sessions on (no country:
    none). Sessions already booked on a new holiday stay booked: the expert page lists them."""
    country, subdivision = availability.check_region(country, subdivision)
    before = profile.holiday_region
    profile.holiday_country, profile.holiday_subdivision = country, subdivision
    if profile.holiday_region != before:
        audit.record("expert.holidays", origin, now, target=("user", profile.user_id, profile.user.email),
                     detail={"from": before, "to": profile.holiday_region})
    db.session.commit()
    return profile


def upcoming_holidays(profile: ExpertProfile, now: datetime | None = None,
                      language: str | None = None) -> list[tuple[date, str]]:
    """(local date, name) of the expert's public holidays from today to the booking horizon."""
    now = now or utcnow()
    return list(availability.holidays_between(profile, _expert_date(profile, now),
                                              _expert_date(profile, booking_horizon(now)), language).items())


def sessions_on_days_off(profile: ExpertProfile, now: datetime | None = None) -> list[tuple[OnboardingSession, str]]:
    """The expert's booked sessions, from now on, that fall on a day they have since taken off or
    chosen as a public holiday, with the reason: not cancelled, so that they can be moved."""
    query = select(OnboardingSession).where(
        OnboardingSession.expert_id == profile.user_id, OnboardingSession.starts_at >= (now or utcnow()),
        OnboardingSession.status == SessionStatus.BOOKED.value).order_by(OnboardingSession.starts_at)
    clashes = []
    for session in db.session.scalars(query):
        why = availability.reason(profile, _expert_date(profile, session.starts_at))
        if why:
            clashes.append((session, why))
    return clashes


def set_availability(profile: ExpertProfile, windows: list[str]) -> None:
    """Replace the weekly availability with windows such as "mon-fri 09:00-12:00"."""
    from ..plans.calendar import CalendarError, Window

    parsed = []
    for text in windows:
        text = text.strip()
        if not text:
            continue
        try:
            window = Window.parse(text)
        except CalendarError as exc:
            raise DomainError(str(exc), "availability") from None
        parsed.extend((day, window.open_minute, window.close_minute) for day in sorted(window.weekdays))
    for i, (day, a, b) in enumerate(parsed):
        if any(d == day and a < b2 and a2 < b for d, a2, b2 in parsed[i + 1:]):
            raise DomainError(_l("Two availability windows overlap on the same day."), "availability")
    profile.rules.clear()
    db.session.flush()
    for day, a, b in parsed:
        profile.rules.append(AvailabilityRule(weekday=day, start_minute=a, end_minute=b))
    db.session.commit()


def add_day_off(profile: ExpertProfile, starts_on: date, ends_on: date | None = None,
                note: str | None = None) -> DayOff:
    ends_on = ends_on or starts_on
    if ends_on < starts_on:
        raise DomainError(_l("The last day off comes after the first."), "ends_on")
    day_off = DayOff(starts_on=starts_on, ends_on=ends_on, note=(note or "").strip()[:200] or None)
    profile.days_off.append(day_off)
    db.session.commit()
    return day_off


def remove_day_off(profile: ExpertProfile, day_off_id: int) -> None:
    for day_off in list(profile.days_off):
        if day_off.id == day_off_id:
            profile.days_off.remove(day_off)
    db.session.commit()


def sessions_between(start: datetime, end: datetime, expert_id: int | None = None) -> list[OnboardingSession]:
    query = select(OnboardingSession).where(OnboardingSession.starts_at >= start, OnboardingSession.starts_at < end,
                                            OnboardingSession.status != SessionStatus.CANCELLED.value)
    if expert_id is not None:
        query = query.where(OnboardingSession.expert_id == expert_id)
    return list(db.session.scalars(query.order_by(OnboardingSession.starts_at)))
