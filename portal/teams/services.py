"""Teams and routing: which team a new ticket goes to, who is in which team, and the changes
admins make to them (each audited). Sits just above ``portal.auth``: tickets, the queue and the
notifications ask it, it never asks them."""

from __future__ import annotations

import re

from flask import current_app
from sqlalchemy import delete, func, select

from .. import audit
from ..auth.models import Organization, Role, User
from ..errors import DomainError, lazy_gettext as _l, lazy_number
from ..extensions import db, parse_id
from .models import Team, TeamMember
from .routing import Area, Routing

KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
NAME_MAX, DESCRIPTION_MAX = 80, 1000
MEMBER_ROLES = (Role.AGENT, Role.ADMIN)


class TeamNotFound(DomainError):
    pass


# --- routing -------------------------------------------------------------------------

def routing() -> Routing:
    """The routing file in force (read and validated at start-up)."""
    return current_app.extensions["portal.team_routing"]


def areas_for(plan_key: str | None) -> list[Area]:
    """The product areas the ticket form offers a customer on this plan (none: no select)."""
    return routing().areas_for(plan_key)


def check_area(area: str | None, plan_key: str | None) -> str | None:
    """The chosen area's key, None for "Not sure"; an area the plan does not offer is refused."""
    area = (area or "").strip()
    if not area:
        return None
    if area not in {a.key for a in areas_for(plan_key)}:
        raise DomainError(_l("Choose one of the product areas listed, or “Not sure”."), "area")
    return area


def route(area: str | None, category: str, organization_id: int | None, plan_key: str | None) -> Team | None:
    """The team a new ticket belongs to: the chosen area's, else the first matching rule's, else the
    default's. A key with no active team behind it (a typo, a team not created yet or deactivated:
    ``portal team check`` lists them) passes to the next candidate; none left: no team."""
    config = routing()
    organization_name = None
    if config.names_organizations and organization_id is not None:
        organization_name = db.session.scalar(select(Organization.name).where(Organization.id == organization_id))
    keys = config.candidates(area, str(category), organization_name, plan_key)
    if not keys:
        return None
    found = {team.key: team for team in db.session.scalars(
        select(Team).where(Team.key.in_(keys), Team.active.is_(True)))}
    return next((found[key] for key in keys if key in found), None)


def check_routing(config: Routing | None = None) -> list[str]:
    """What in the routing file does not match the database or the plans: "where: what" each."""
    from ..plans.services import all_plans

    config = config or routing()
    teams = {team.key: team for team in db.session.scalars(select(Team))}
    problems = []
    for where, key in config.team_keys():
        if key not in teams:
            problems.append(f"{where}: no team {key!r} (create it: portal team add {key} NAME)")
        elif not teams[key].active:
            problems.append(f"{where}: team {key!r} is inactive, so it takes no new tickets")
    plans = all_plans()
    for key, area in config.spec.areas.items():
        problems += [f"areas.{key}.plans: no plan {plan!r} in the plans file" for plan in area.plans
                     if plan not in plans]
    names = {name.casefold() for name in db.session.scalars(select(Organization.name))}
    for n, rule in enumerate(config.spec.rules, start=1):
        if rule.plan and rule.plan not in plans:
            problems.append(f"rules[{n}].plan: no plan {rule.plan!r} in the plans file")
        if rule.organization and rule.organization.casefold() not in names:
            problems.append(f"rules[{n}].organization: no organization named {rule.organization!r}")
    return problems


# --- teams and their members ---------------------------------------------------------------

def all_teams(active_only: bool = False) -> list[Team]:
    query = select(Team).order_by(Team.name)
    if active_only:
        query = query.where(Team.active.is_(True))
    return list(db.session.scalars(query))


def team_by_key(key: str) -> Team:
    team = db.session.scalar(select(Team).where(Team.key == (key or "").strip().lower()))
    if team is None:
        raise TeamNotFound(_l("No team %(key)s.", key=repr(key)), "team")
    return team


def team_for_choice(value: str | None) -> Team | None:
    """A team chosen in a form (its id; empty: no team). One that does not exist, or is inactive,
    is refused: a ticket is never moved to a team nobody can see in the list."""
    if not (value or "").strip():
        return None
    team = db.session.get(Team, team_id) if (team_id := parse_id(value)) else None
    if team is None or not team.active:
        raise TeamNotFound(_l("That team does not exist (any more): choose one from the list."), "team")
    return team


def team_ids_of(user: User) -> list[int]:
    """The teams the user belongs to (inactive ones too: their tickets stay theirs)."""
    return list(db.session.scalars(select(TeamMember.team_id).where(TeamMember.user_id == user.id)))


def teams_of(user: User) -> list[Team]:
    return list(db.session.scalars(select(Team).join(TeamMember, TeamMember.team_id == Team.id)
                                   .where(TeamMember.user_id == user.id).order_by(Team.name)))


def is_member(team: Team, user: User) -> bool:
    return db.session.scalar(select(func.count()).select_from(TeamMember).where(
        TeamMember.team_id == team.id, TeamMember.user_id == user.id)) > 0


def active_members(team: Team) -> list[User]:
    """Who of the team hears about its tickets: its active agents and admins."""
    return list(db.session.scalars(
        select(User).join(TeamMember, TeamMember.user_id == User.id)
        .where(TeamMember.team_id == team.id, User.active.is_(True), User.role.in_(MEMBER_ROLES))
        .order_by(User.id)))


def _name(value: str, field: str = "name") -> str:
    value = " ".join((value or "").split())
    if not value:
        raise DomainError(_l("A team needs a name."), field)
    if len(value) > NAME_MAX:
        raise DomainError(_l("A team's name can have at most %(max)s characters.", max=lazy_number(NAME_MAX)), field)
    return value


def _details(name: str, name_es: str | None, description: str | None) -> tuple[str, str | None, str | None]:
    name = _name(name)
    name_es = _name(name_es, "name_es") if (name_es or "").strip() else None
    description = (description or "").strip() or None
    if description and len(description) > DESCRIPTION_MAX:
        raise DomainError(_l("The description can have at most %(max)s characters.",
                             max=lazy_number(DESCRIPTION_MAX)), "description")
    return name, name_es, description


def create_team(key: str, name: str, name_es: str | None = None, description: str | None = None,
                origin: audit.Origin | None = None) -> Team:
    key = (key or "").strip().lower()
    if not KEY.match(key):
        raise DomainError(_l("A team's key is what the routing file names: lowercase letters, digits, “-” and “_”, "
                             "at most 40, e.g. accounting."), "key")
    if db.session.scalar(select(Team.id).where(Team.key == key)) is not None:
        raise DomainError(_l("A team with the key %(key)s already exists.", key=key), "key")
    name, name_es, description = _details(name, name_es, description)
    team = Team(key=key, name=name, name_es=name_es, description=description)
    db.session.add(team)
    db.session.flush()
    audit.record("team.create", origin, target=("team", team.id, team.key), detail={"name": name})
    db.session.commit()
    return team


def edit_team(team: Team, name: str, name_es: str | None = None, description: str | None = None,
              origin: audit.Origin | None = None) -> None:
    name, name_es, description = _details(name, name_es, description)
    before = {"name": team.name, "name_es": team.name_es, "description": team.description}
    after = {"name": name, "name_es": name_es, "description": description}
    if before == after:
        return
    team.name, team.name_es, team.description = name, name_es, description
    audit.record("team.edit", origin, target=("team", team.id, team.key),
                 detail={k: {"from": before[k], "to": v} for k, v in after.items() if before[k] != v})
    db.session.commit()


def set_active(team: Team, active: bool, origin: audit.Origin | None = None) -> None:
    """An inactive team keeps its tickets and members, but routing and the team select skip it."""
    if team.active is active:
        return
    team.active = active
    audit.record("team.reactivate" if active else "team.deactivate", origin, target=("team", team.id, team.key))
    db.session.commit()


def add_member(team: Team, user: User | None, origin: audit.Origin | None = None) -> None:
    if user is None:
        raise DomainError(_l("No such user."), "user")
    if user.role not in MEMBER_ROLES:
        raise DomainError(_l("Only agents and admins can be in a team (%(email)s is not one).", email=user.email),
                          "user")
    if is_member(team, user):
        raise DomainError(_l("%(name)s is already in %(team)s.", name=user.name, team=team.name), "user")
    db.session.add(TeamMember(team_id=team.id, user_id=user.id))
    audit.record("team.member_add", origin, target=("team", team.id, team.key), detail={"user": user.email})
    db.session.commit()


def remove_member(team: Team, user: User | None, origin: audit.Origin | None = None) -> None:
    if user is None or not is_member(team, user):
        raise DomainError(_l("%(name)s is not in %(team)s.", name=user.name if user else "?", team=team.name), "user")
    db.session.execute(delete(TeamMember).where(TeamMember.team_id == team.id, TeamMember.user_id == user.id))
    audit.record("team.member_remove", origin, target=("team", team.id, team.key), detail={"user": user.email})
    db.session.commit()
