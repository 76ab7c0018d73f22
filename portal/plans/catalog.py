"""Support plans as data: a TOML file, validated once at start-up.

The shipped ``default.toml`` holds two plans; ``PORTAL_PLANS_FILE`` points at
another file (``examples/plans/`` has one per real policy). Every problem is
reported with the plan and the field it is in, e.g.
``plan "standard", response.P1: "1 hour" is not a duration such as 2h, 30m``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import (BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator,
                      model_validator)

from .calendar import ALWAYS, BusinessCalendar, Window, cached_calendar

DEFAULT_FILE = Path(__file__).with_name("default.toml")

PRIORITIES = ("P1", "P2", "P3", "P4")
CATEGORIES = ("technical_issue", "feature_request", "training_request", "question")
CHANNELS = ("web", "email", "phone", "chat", "video", "account_manager", "on_site")
# A ticket's channel (tickets.models.Channel) -> the plan channel that must include it; None:
# always open (the portal's form and the API take tickets on every plan, as they always did).
TICKET_CHANNELS = {"web": None, "api": None, "email": "email", "phone": "phone", "chat": "chat", "visit": "on_site"}
# What agents log time for: a ticket, or time with the organization without one (seed 003's video
# calls, seed 001's visits, onboarding and guided setup sessions).
TIME_KINDS = ("ticket", "call", "video_call", "visit", "onboarding", "guided_setup")
DURATION = re.compile(r"^(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?$")


class PlansError(ValueError):
    """The plans file cannot be used; ``problems`` lists each as "where: what"."""

    def __init__(self, source: str, problems: list[str]):
        self.source, self.problems = source, problems
        super().__init__(f"{source}: " + "; ".join(problems))


def parse_duration(text: str) -> timedelta:
    match = DURATION.match(text.strip().lower()) if isinstance(text, str) else None
    if not match or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration such as 2h, 30m or 1h30m")
    value = timedelta(hours=int(match.group(1) or 0), minutes=int(match.group(2) or 0))
    if value <= timedelta(0):
        raise ValueError(f"{text!r}: a target must be longer than zero")
    return value


BUSINESS, CALENDAR, BUSINESS_DAYS = "business", "calendar", "business_days"
DAYS = re.compile(r"^(\d+)\s*d$")


@dataclass(frozen=True)
class Target:
    """A response, resolution or update target. Three units, written in the plans file as:

    - ``"2h"``, ``"1h30m"``: business hours, counted only inside the plan's calendar;
    - ``"48h calendar"``: calendar hours, 24 x 7 whatever the calendar says;
    - ``"2d"``: business days, due at the same local time of day on the second open
      day after the ticket (filed while closed: counted from the next opening).

    A range (seed 001's "24 to 48 hours") promises its upper end; the lower end is what
    to expect. Both ends have the same unit: ``"24h-48h"``, ``"1d-2d"``, ``"2h-4h calendar"``.
    For business days ``due`` holds the number of days as whole days."""

    due: timedelta
    expected: timedelta | None = None
    unit: str = BUSINESS

    @classmethod
    @lru_cache(maxsize=1024)  # read for every ticket's clock: parse each plan's text once
    def parse(cls, text: str) -> Target:
        words = str(text).strip().lower()
        unit = BUSINESS
        for suffix in (" calendar", " calendar hours"):
            if words.endswith(suffix):
                words, unit = words.removesuffix(suffix).strip(), CALENDAR
        low, sep, high = words.partition("-")
        parts = [low.strip(), high.strip()] if sep else [low.strip()]
        if not all(parts):
            raise ValueError(f"{text!r}: a range needs two ends, e.g. 24h-48h")
        days = [DAYS.match(part) for part in parts]
        if any(days):
            if not all(days):
                raise ValueError(f"{text!r}: both ends of a range are days (1d-2d) or both hours (24h-48h)")
            if unit == CALENDAR:
                raise ValueError(f"{text!r}: days are business days; write calendar time in hours, e.g. 48h calendar")
            values = [timedelta(days=int(match.group(1))) for match in days]
            if any(value <= timedelta(0) for value in values):
                raise ValueError(f"{text!r}: a target must be longer than zero")
            unit = BUSINESS_DAYS
        else:
            values = [parse_duration(part) for part in parts]
        if len(values) == 1:
            return cls(values[0], None, unit)
        expected, due = values
        if expected >= due:
            raise ValueError(f"{text!r}: a range goes from the shorter to the longer time")
        return cls(due, expected, unit)

    @property
    def days(self) -> int:
        return self.due.days


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HolidaySpec(_Strict):
    country: str = Field(min_length=2, max_length=3)
    subdivision: str | None = None


class CalendarSpec(_Strict):
    timezone: str = "organization"  # the customer's own time zone, or an IANA name
    hours: list[str] = Field(min_length=1)
    holidays: HolidaySpec | None = None
    closed: list[date] = []

    @field_validator("hours")
    @classmethod
    def _windows(cls, value: list[str]) -> list[str]:
        if value != ["always"]:
            for text in value:
                Window.parse(text)  # CalendarError is a ValueError: pydantic reports it here
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if value != "organization":
            BusinessCalendar(ALWAYS, value)
        return value

    @field_validator("holidays")
    @classmethod
    def _holidays(cls, value: HolidaySpec | None) -> HolidaySpec | None:
        if value:
            BusinessCalendar(ALWAYS, "UTC", value.country, value.subdivision)
        return value

    def windows(self) -> tuple[Window, ...]:
        return ALWAYS if self.hours == ["always"] else tuple(Window.parse(text) for text in self.hours)


class SlaSpec(_Strict):
    pause_while_waiting: bool = True  # the clocks stop while the ticket waits on the customer
    at_risk_when_left: float = Field(default=0.25, gt=0, lt=1)  # share of the target left


class LifecycleSpec(_Strict):
    """How long a ticket waits for the customer before it closes by itself; unset: the
    portal's settings (TICKET_AUTOCLOSE_DAYS, TICKET_SOLVED_AUTOCLOSE_DAYS)."""

    waiting_autoclose_days: int | None = Field(default=None, ge=1, le=365)  # waiting on the customer's answer
    solved_autoclose_days: int | None = Field(default=None, ge=1, le=365)  # solved, awaiting confirmation


class SupportHoursSpec(_Strict):
    hours: float = Field(gt=0)  # included per contract period
    period_months: int = Field(default=12, ge=1, le=60)
    minimum_minutes: int = Field(default=0, ge=0, le=480)  # each ticket is billed at least this
    minimum_minutes_with_development: int = Field(default=0, ge=0, le=960)
    deduct_bug_time: bool = True  # False: time on a ticket caused by our bug is not billed
    # What a new ticket gets once the period's hours are used up: "warn" (served as usual, the
    # customer and the agents are told), "best_effort" (served with no clock until more hours
    # are bought: seed 002's "no obligation"), or "refuse" (not filed; how to buy more is said).
    when_used_up: Literal["warn", "best_effort", "refuse"] = "warn"
    # Which kinds of time count against the hours; the others are listed, not billed (seed 003:
    # the first onboarding training is included, guided setup sessions by video call count).
    billable_kinds: list[Literal[TIME_KINDS]] = [k for k in TIME_KINDS if k != "onboarding"]  # type: ignore[valid-type]


class SeverityLevel(_Strict):
    """One of a plan's severity levels, in the policy's own words, and the portal priority
    (P1-P4: what the SLA targets key on) it stands for."""

    priority: Literal[PRIORITIES]  # type: ignore[valid-type]
    name: str = Field(min_length=1, max_length=80)
    definition: str = Field(min_length=1, max_length=2000)
    # What this level is never for (seed 002: customer or third-party software, lab and demo
    # systems): shown on the form; choosing the level means confirming the problem is none of these.
    not_for: list[Annotated[str, StringConstraints(min_length=1, max_length=500)]] = []


SCHEMES = ("matrix", "severity", "fixed")


class PrioritySpec(_Strict):
    """How a ticket gets its priority: ``matrix`` (impact x urgency, seed 004, the customer may
    override), ``severity`` (the customer picks one of ``levels``, seed 002) or ``fixed`` (every
    ticket gets ``fixed``; the form asks nothing)."""

    scheme: Literal[SCHEMES] = "matrix"  # type: ignore[valid-type]
    levels: list[SeverityLevel] = []
    fixed: Literal[PRIORITIES] | None = None  # type: ignore[valid-type]
    # A ticket whose customer chose nothing (one filed by email): this priority. Unset: P3 (medium
    # impact and urgency) on the matrix, the lowest level with severity levels.
    default: Literal[PRIORITIES] | None = None  # type: ignore[valid-type]
    notes: list[Annotated[str, StringConstraints(min_length=1, max_length=500)]] = []  # shown under the levels

    @model_validator(mode="after")
    def _fits_scheme(self) -> PrioritySpec:
        if self.scheme == "severity":
            if not self.levels:
                raise ValueError('scheme "severity" needs its levels ([[plans.<key>.priority.levels]])')
            priorities = [level.priority for level in self.levels]
            if len(set(priorities)) != len(priorities):
                raise ValueError("each severity level stands for its own priority; "
                                 f"got {', '.join(priorities)}")
        elif self.levels:
            raise ValueError(f'levels are for scheme "severity", not "{self.scheme}"')
        if self.scheme == "fixed" and self.fixed is None:
            raise ValueError('scheme "fixed" needs the priority every ticket gets, e.g. fixed = "P3"')
        if self.scheme != "fixed" and self.fixed is not None:
            raise ValueError(f'fixed is for scheme "fixed", not "{self.scheme}"')
        if self.default is not None and self.default not in self.choices():
            raise ValueError(f"default {self.default} is not one of this plan's priorities "
                             f"({', '.join(self.choices())})")
        return self

    def default_priority(self) -> str:
        """The priority of a ticket whose customer chose none."""
        if self.scheme == "fixed":
            return self.fixed
        if self.default is not None:
            return self.default
        if self.scheme == "severity":
            return max(level.priority for level in self.levels)  # "P4" > "P1": the least urgent level
        return "P3"

    def choices(self) -> tuple[str, ...]:
        """The priorities a customer may choose or ask for, in the plan's order."""
        if self.scheme == "severity":
            return tuple(level.priority for level in self.levels)
        return () if self.scheme == "fixed" else PRIORITIES

    def level(self, priority: str) -> SeverityLevel | None:
        return next((level for level in self.levels if level.priority == priority), None)


TECHNICAL_FIELDS = ("steps_to_reproduce", "affected_account")


class TicketsSpec(_Strict):
    # What a technical issue must carry (seed 001: the steps and the user it happens with).
    technical_issue_requires: list[Literal[TECHNICAL_FIELDS]] = list(TECHNICAL_FIELDS)  # type: ignore[valid-type]


class PlanSpec(_Strict):
    name: str = Field(min_length=1, max_length=80)
    summary: str = ""
    # No response targets at all: a best-effort plan (seed 004's community users).
    response: dict[str, str] = {}
    resolution: dict[str, str] = {}
    # How often the customer hears from the team while the ticket is with the agents,
    # after the first response (seed 000's "periodic updates").
    updates: dict[str, str] = {}
    calendar: CalendarSpec
    tickets_per_month: int | None = Field(default=None, ge=1)
    support_hours: SupportHoursSpec | None = None
    channels: list[Literal[CHANNELS]] = ["web"]  # type: ignore[valid-type]
    # When a channel is open, in the calendar's syntax and time zone (seed 001: phone and chat
    # 8:00-18:00 Monday to Sunday); a channel without an entry follows the plan's calendar.
    channel_hours: dict[Literal[CHANNELS], list[str]] = {}  # type: ignore[valid-type]
    valid_months: int | None = Field(default=None, ge=1)
    visit_days_per_week: int = Field(default=0, ge=0, le=7)  # on-site visit days (seed 001: two a week)
    onboarding: Literal["none", "standard", "premium"] = "standard"
    onboarding_sessions: int = Field(default=4, ge=0, le=12)
    session_minutes: int = Field(default=60, ge=15, le=240)
    not_included: list[str] = []
    sla: SlaSpec = SlaSpec()
    lifecycle: LifecycleSpec = LifecycleSpec()
    priority: PrioritySpec = PrioritySpec()
    tickets: TicketsSpec = TicketsSpec()

    @field_validator("response", "resolution", "updates")
    @classmethod
    def _targets(cls, value: dict[str, str]) -> dict[str, str]:
        keys = set(value)
        if keys and not (keys <= set(PRIORITIES) or keys <= set(CATEGORIES) or keys == {"any"}):
            raise ValueError(
                "targets are keyed by priority (P1-P4), by category (technical_issue, feature_request, "
                f"training_request, question) or by \"any\", not a mix; got {', '.join(sorted(keys))}")
        for key, text in value.items():
            try:
                Target.parse(text)
            except ValueError as exc:
                raise ValueError(f"{key}: {exc}") from None
        return value

    @field_validator("channel_hours")
    @classmethod
    def _channel_windows(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for channel, texts in value.items():
            if not texts:
                raise ValueError(f"{channel}: list the hours, e.g. [\"mon-fri 08:00-18:00\"], or leave it out")
            if texts != ["always"]:
                for text in texts:
                    try:
                        Window.parse(text)
                    except ValueError as exc:
                        raise ValueError(f"{channel}: {exc}") from None
        return value

    @model_validator(mode="after")
    def _channel_hours_of_its_channels(self) -> PlanSpec:
        for channel in self.channel_hours:
            if channel not in self.channels:
                raise ValueError(f"channel_hours.{channel}: {channel} is not one of this plan's channels "
                                 f"({', '.join(self.channels)})")
        return self

    @model_validator(mode="after")
    def _visits_need_the_on_site_channel(self) -> PlanSpec:
        if self.visit_days_per_week and "on_site" not in self.channels:
            raise ValueError('visit_days_per_week: on-site visit days need "on_site" in channels')
        return self

    @model_validator(mode="after")
    def _every_priority_has_its_target(self) -> PlanSpec:
        # An agent may set any priority on any scheme: a table keyed by priority names all four,
        # or a ticket re-classified to a missing one would lose its first-response clock.
        keys = set(self.response)
        if keys and keys <= set(PRIORITIES) and keys != set(PRIORITIES):
            missing = ", ".join(p for p in PRIORITIES if p not in keys)
            raise ValueError(f"response: a table keyed by priority needs every priority (P1-P4); missing {missing}. "
                             'For one target whatever the priority, write response = { any = "8h" }')
        return self


PlanKey = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,79}$")]


class CatalogSpec(_Strict):
    plans: dict[PlanKey, PlanSpec] = Field(min_length=1)


@dataclass(frozen=True)
class Plan:
    key: str
    spec: PlanSpec

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def targets_by(self) -> str:
        """"priority", "category" or "any": what the response targets depend on."""
        keys = set(self.spec.response)
        return "any" if keys == {"any"} else "priority" if keys <= set(PRIORITIES) else "category"

    @property
    def best_effort(self) -> bool:
        """No response target: tickets are answered as soon as possible, with no clock."""
        return not self.spec.response

    def response_target(self, priority: str, category: str) -> Target | None:
        return self._target(self.spec.response, priority, category)

    def update_target(self, priority: str, category: str) -> Target | None:
        return self._target(self.spec.updates, priority, category)

    def resolution_target(self, priority: str, category: str) -> Target | None:
        return self._target(self.spec.resolution, priority, category)

    @staticmethod
    def _target(table: dict[str, str], priority: str, category: str) -> Target | None:
        text = table.get("any") or table.get(str(priority)) or table.get(str(category))
        return Target.parse(text) if text else None

    def response_targets(self) -> list[tuple[str, Target]]:
        """(priority, category or "any"; target) in the plan's own order, for the plan page."""
        return [(key, Target.parse(text)) for key, text in self.spec.response.items()]

    def resolution_targets(self) -> list[tuple[str, Target]]:
        return [(key, Target.parse(text)) for key, text in self.spec.resolution.items()]

    def update_targets(self) -> list[tuple[str, Target]]:
        return [(key, Target.parse(text)) for key, text in self.spec.updates.items()]

    def calendar(self, organization_timezone: str = "UTC") -> BusinessCalendar:
        spec = self.spec.calendar
        timezone = organization_timezone if spec.timezone == "organization" else spec.timezone
        holidays = spec.holidays
        return cached_calendar(spec.windows(), timezone, holidays.country if holidays else None,
                               holidays.subdivision if holidays else None, frozenset(spec.closed))


def includes_channel(plan: Plan, channel: str) -> bool:
    """Whether the plan takes tickets through the ticket channel ``channel`` (web and api: always)."""
    needed = TICKET_CHANNELS.get(channel, channel)
    return needed is None or needed in plan.spec.channels


def channel_calendar(plan: Plan, channel: str, organization_timezone: str = "UTC") -> BusinessCalendar:
    """The hours the plan's ticket channel ``channel`` is open: its ``channel_hours`` entry, or
    the plan's calendar; the calendar's time zone, holidays and closed days either way."""
    texts = plan.spec.channel_hours.get(TICKET_CHANNELS.get(channel, channel))
    if not texts:
        return plan.calendar(organization_timezone)
    spec = plan.spec.calendar
    windows = ALWAYS if texts == ["always"] else tuple(Window.parse(text) for text in texts)
    timezone = organization_timezone if spec.timezone == "organization" else spec.timezone
    holidays = spec.holidays
    return cached_calendar(windows, timezone, holidays.country if holidays else None,
                           holidays.subdivision if holidays else None, frozenset(spec.closed))


def channel_open(plan: Plan, channel: str, organization_timezone: str, now: datetime) -> bool:
    """Whether the channel is open at ``now`` (naive UTC). Web and API never close."""
    if TICKET_CHANNELS.get(channel, channel) is None:
        return True
    return channel_calendar(plan, channel, organization_timezone).is_open(now)


def channel_opens_at(plan: Plan, channel: str, organization_timezone: str, now: datetime) -> datetime:
    """When the channel next opens (``now`` itself when open), naive UTC."""
    if TICKET_CHANNELS.get(channel, channel) is None:
        return now
    return channel_calendar(plan, channel, organization_timezone).next_open(now)


def channel_hours(plan: Plan, channel: str, organization_timezone: str = "UTC") -> tuple[str, BusinessCalendar | None]:
    """When the plan's channel (a plan channel, or a ticket channel) is open, for the pages:
    ("always", None): the portal's form and the API, or hours of "always" (its own or the calendar's);
    ("always", the calendar) for hours of "always" that still close on public holidays or closed days;
    ("own", its ``channel_hours``); ("support_hours", the plan's calendar)."""
    needed = TICKET_CHANNELS.get(channel, channel)
    if needed is None or needed == "web":
        return "always", None
    texts = plan.spec.channel_hours.get(needed)
    if texts == ["always"] or (not texts and plan.spec.calendar.hours == ["always"]):
        closes = plan.spec.calendar.holidays is not None or bool(plan.spec.calendar.closed)
        return "always", channel_calendar(plan, channel, organization_timezone) if closes else None
    return ("own" if texts else "support_hours"), channel_calendar(plan, channel, organization_timezone)


SpecT = TypeVar("SpecT", bound=BaseModel)


def read_spec(path: Path, model: type[SpecT], error: Callable[[str, list[str]], Exception],
              describe: Callable[[dict], str]) -> SpecT:
    """A TOML settings file (plans, teams' routing) read and validated by ``model``; what cannot be
    read, parsed or validated raises ``error(source, problems)``, each problem put by ``describe``."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(str(path), [f"cannot be read: {exc.strerror or exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise error(str(path), [f"is not valid TOML: {exc}"]) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(str(path), [describe(problem) for problem in exc.errors()]) from None


def load_plans(path: Path | str | None = None) -> dict[str, Plan]:
    """Read and validate a plans file; raises PlansError naming each problem's plan and field."""
    catalog = read_spec(Path(path) if path else DEFAULT_FILE, CatalogSpec, PlansError, _describe)
    return {key: Plan(key, spec) for key, spec in catalog.plans.items()}


def _describe(error: dict) -> str:
    loc = [str(part) for part in error["loc"]]
    where = ""
    if len(loc) >= 2 and loc[0] == "plans":
        where = f'plan "{loc[1]}"'
        loc = loc[2:]
    field = ".".join(part for part in loc if part != "[key]")
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "string_pattern_mismatch" and "[key]" in loc:
        message = "plan keys are lowercase letters, digits, '-' and '_'"
    elif error["type"] == "extra_forbidden":
        message = "unknown setting (a typo?)"
    elif error["type"] == "missing":
        message = "is required"
    return ", ".join(p for p in (where, field) if p) + f": {message}"
