"""Support plans as data: a TOML file, validated once at start-up.

The shipped ``default.toml`` holds two plans; ``PORTAL_PLANS_FILE`` points at
another file (``examples/plans/`` has one per real policy). Every problem is
reported with the plan and the field it is in, e.g.
``plan "standard", response.P1: "1 hour" is not a duration such as 2h, 30m``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from .calendar import ALWAYS, BusinessCalendar, Window, cached_calendar

DEFAULT_FILE = Path(__file__).with_name("default.toml")

PRIORITIES = ("P1", "P2", "P3", "P4")
CATEGORIES = ("technical_issue", "feature_request", "training_request", "question")
CHANNELS = ("web", "email", "phone", "chat", "video", "account_manager", "on_site")
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


@dataclass(frozen=True)
class Target:
    """A response or resolution target in business time. A range (seed 001's
    "24 to 48 hours") promises its upper end; the lower end is what to expect."""

    due: timedelta
    expected: timedelta | None = None

    @classmethod
    @lru_cache(maxsize=1024)  # read for every ticket's clock: parse each plan's text once
    def parse(cls, text: str) -> Target:
        low, sep, high = str(text).partition("-")
        if not sep:
            return cls(parse_duration(low))
        expected, due = parse_duration(low), parse_duration(high)
        if expected >= due:
            raise ValueError(f"{text!r}: a range goes from the shorter to the longer time")
        return cls(due, expected)


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


class SupportHoursSpec(_Strict):
    hours: float = Field(gt=0)  # included per contract period
    period_months: int = Field(default=12, ge=1, le=60)
    minimum_minutes: int = Field(default=0, ge=0, le=480)  # each ticket is billed at least this
    minimum_minutes_with_development: int = Field(default=0, ge=0, le=960)
    deduct_bug_time: bool = True  # False: time on a ticket caused by our bug is not billed


class PlanSpec(_Strict):
    name: str = Field(min_length=1, max_length=80)
    summary: str = ""
    response: dict[str, str] = Field(min_length=1)
    resolution: dict[str, str] = {}
    calendar: CalendarSpec
    tickets_per_month: int | None = Field(default=None, ge=1)
    support_hours: SupportHoursSpec | None = None
    channels: list[Literal[CHANNELS]] = ["web"]  # type: ignore[valid-type]
    valid_months: int | None = Field(default=None, ge=1)
    onboarding: Literal["none", "standard", "premium"] = "standard"
    onboarding_sessions: int = Field(default=4, ge=0, le=12)
    session_minutes: int = Field(default=60, ge=15, le=240)
    not_included: list[str] = []
    sla: SlaSpec = SlaSpec()

    @field_validator("response", "resolution")
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

    def response_target(self, priority: str, category: str) -> Target | None:
        return self._target(self.spec.response, priority, category)

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

    def calendar(self, organization_timezone: str = "UTC") -> BusinessCalendar:
        spec = self.spec.calendar
        timezone = organization_timezone if spec.timezone == "organization" else spec.timezone
        holidays = spec.holidays
        return cached_calendar(spec.windows(), timezone, holidays.country if holidays else None,
                               holidays.subdivision if holidays else None, frozenset(spec.closed))


def load_plans(path: Path | str | None = None) -> dict[str, Plan]:
    """Read and validate a plans file; raises PlansError naming each problem's plan and field."""
    path = Path(path) if path else DEFAULT_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PlansError(str(path), [f"cannot be read: {exc.strerror or exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise PlansError(str(path), [f"is not valid TOML: {exc}"]) from None
    try:
        catalog = CatalogSpec.model_validate(data)
    except ValidationError as exc:
        raise PlansError(str(path), [_describe(error) for error in exc.errors()]) from None
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
