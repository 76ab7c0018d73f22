"""``portal team …``: teams (functional areas) and their members, and the routing file's check."""

import click

from .. import audit
from ..auth.services import user_by_email
from ..errors import DomainError
from ..extensions import db
from . import services


def _call(action, *args, **kwargs):
    try:
        return action(*args, **kwargs)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None


def _team_and_user(key: str, email: str):
    team = _call(services.team_by_key, key)
    user = user_by_email(email)
    if user is None:
        raise click.ClickException(f"No user with the email {email!r}.")
    return team, user


@click.group("team", help="Teams (functional areas) that tickets are routed to, and their members.")
def team_cli():
    pass


@team_cli.command("add")
@click.argument("key")
@click.argument("name")
@click.option("--name-es", help="The name in Spanish, if it differs.")
@click.option("--description", help="What the team takes care of, for the agents.")
def add(key, name, name_es, description):
    """Create a team; KEY is what the routing file names (e.g. accounting)."""
    team = _call(services.create_team, key, name, name_es, description, origin=audit.CLI)
    click.echo(f"Created team {team.key} ({team.name}).")


@team_cli.command("list")
def list_teams():
    """Every team with its members count; inactive ones say so."""
    teams = services.all_teams()
    if not teams:
        click.echo("No teams yet: portal team add KEY NAME.")
    for team in teams:
        count = len(team.members)
        click.echo(f"{team.key}: {team.name}{' (inactive)' if not team.active else ''}, "
                   f"{count} member{'' if count == 1 else 's'}")


@team_cli.command("members")
@click.argument("key")
def members(key):
    """A team's members, one a line."""
    team = _call(services.team_by_key, key)
    if not team.members:
        click.echo(f"{team.key} has no members: portal team add-member {team.key} EMAIL.")
    for user in team.members:
        click.echo(f"{user.email}  {user.name} ({user.role.value}{', inactive' if not user.active else ''})")


@team_cli.command("add-member")
@click.argument("key")
@click.argument("email")
def add_member(key, email):
    """Put an agent or admin in a team."""
    team, user = _team_and_user(key, email)
    _call(services.add_member, team, user, origin=audit.CLI)
    click.echo(f"{user.email} is in {team.key} now.")


@team_cli.command("remove-member")
@click.argument("key")
@click.argument("email")
def remove_member(key, email):
    """Take someone out of a team (their tickets stay assigned to them)."""
    team, user = _team_and_user(key, email)
    _call(services.remove_member, team, user, origin=audit.CLI)
    click.echo(f"{user.email} is no longer in {team.key}.")


@team_cli.command("check")
def check():
    """Check the routing file in force against the teams, plans and organizations; exit 1 on problems."""
    config = services.routing()
    problems = services.check_routing(config)
    if problems:
        click.echo(f"{config.source}:", err=True)
        for problem in problems:
            click.echo(f"  {problem}", err=True)
        raise SystemExit(1)
    spec = config.spec
    click.echo(f"{config.source}: {len(spec.areas)} product area(s), {len(spec.rules)} rule(s), "
               f"default {spec.default or '(no team)'}: every team it names exists.")
