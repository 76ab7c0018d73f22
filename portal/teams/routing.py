"""The routing file: product areas the ticket form offers, rules, and a default, each naming a team.

Like the plans, a TOML file validated once at start-up (a bad file stops the start with every
problem named by its place, e.g. ``rules[2].category: Input should be 'technical_issue', …``).
The shipped ``routing.toml`` is the default; ``PORTAL_TEAMS_ROUTING_FILE`` points at another.
Team keys, plans and organizations it names are data of the database, checked by
``portal team check``: a key with no team behind it routes on to the next candidate, never fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from ..plans.catalog import CATEGORIES, read_spec

DEFAULT_FILE = Path(__file__).with_name("routing.toml")

Key = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
KEY_HELP = "keys are lowercase letters, digits, '-' and '_' (at most 40)"


class RoutingError(ValueError):
    """The routing file cannot be used; ``problems`` lists each as "where: what"."""

    def __init__(self, source: str, problems: list[str]):
        self.source, self.problems = source, problems
        super().__init__(f"{source}: " + "; ".join(problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AreaSpec(_Strict):
    """A product area the customer may choose on the ticket form, and the team it goes to."""

    name: str = Field(min_length=1, max_length=80)
    name_es: str = Field(default="", max_length=80)
    team: Key
    plans: list[Key] = []  # only customers on these plans are offered it; empty: every plan

    def label(self, lang: str | None) -> str:
        return self.name_es if lang == "es" and self.name_es else self.name


class RuleSpec(_Strict):
    """Tickets matching every condition given (category, organization by name, plan) go to ``team``."""

    category: Literal[CATEGORIES] | None = None  # type: ignore[valid-type]
    organization: str | None = Field(default=None, min_length=1, max_length=200)
    plan: Key | None = None
    team: Key

    @model_validator(mode="after")
    def _matches_something(self) -> RuleSpec:
        if self.category is None and self.organization is None and self.plan is None:
            raise ValueError("a rule needs at least one of category, organization or plan "
                             "(for every other ticket, set default)")
        return self

    def matches(self, category: str, organization_name: str | None, plan_key: str | None) -> bool:
        return ((self.category is None or self.category == category)
                and (self.organization is None
                     or (organization_name or "").casefold() == self.organization.casefold())
                and (self.plan is None or self.plan == plan_key))


class RoutingSpec(_Strict):
    default: Key | None = None  # no rule matched: this team (unset: no team, every agent sees it)
    areas: dict[Key, AreaSpec] = {}
    rules: list[RuleSpec] = []


@dataclass(frozen=True)
class Area:
    key: str
    spec: AreaSpec

    @property
    def team(self) -> str:
        return self.spec.team

    def label(self, lang: str | None = None) -> str:
        return self.spec.label(lang)

    def offered_on(self, plan_key: str | None) -> bool:
        return not self.spec.plans or plan_key in self.spec.plans


@dataclass(frozen=True)
class Routing:
    source: str
    spec: RoutingSpec

    @property
    def areas(self) -> dict[str, Area]:
        return {key: Area(key, spec) for key, spec in self.spec.areas.items()}

    def areas_for(self, plan_key: str | None) -> list[Area]:
        """The product areas a customer on this plan is offered, in the file's order."""
        return [area for area in self.areas.values() if area.offered_on(plan_key)]

    def candidates(self, area: str | None, category: str, organization_name: str | None,
                   plan_key: str | None) -> list[str]:
        """Team keys to try, best first: the chosen area's team, every matching rule's in the file's
        order, then the default. Pure: plain values in, keys out."""
        keys = []
        chosen = self.spec.areas.get(area) if area else None
        if chosen is not None and (not chosen.plans or plan_key in chosen.plans):
            keys.append(chosen.team)
        keys += [rule.team for rule in self.spec.rules if rule.matches(category, organization_name, plan_key)]
        if self.spec.default:
            keys.append(self.spec.default)
        return list(dict.fromkeys(keys))

    @property
    def names_organizations(self) -> bool:
        return any(rule.organization for rule in self.spec.rules)

    def team_keys(self) -> list[tuple[str, str]]:
        """(where, team key) for every team the file names, for ``portal team check``."""
        found = [(f"areas.{key}.team", area.team) for key, area in self.spec.areas.items()]
        found += [(f"rules[{n}].team", rule.team) for n, rule in enumerate(self.spec.rules, start=1)]
        if self.spec.default:
            found.append(("default", self.spec.default))
        return found


def load_routing(path: Path | str | None = None) -> Routing:
    """Read and validate a routing file; raises RoutingError naming each problem's place."""
    path = Path(path) if path else DEFAULT_FILE
    return Routing(str(path), read_spec(path, RoutingSpec, RoutingError, _describe))


def _describe(error: dict) -> str:
    where = ""
    for part in error["loc"]:
        if part == "[key]":
            continue
        if isinstance(part, int):
            where += f"[{part + 1}]"  # rules are counted from 1, as a person reads the file
        else:
            where += ("." if where else "") + str(part)
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "string_pattern_mismatch":
        message = f"{error['input']!r}: {KEY_HELP}"
    elif error["type"] == "extra_forbidden":
        message = "unknown setting (a typo?)"
    elif error["type"] == "missing":
        message = "is required"
    return f"{where or 'the file'}: {message}"
