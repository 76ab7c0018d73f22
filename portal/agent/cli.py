"""``portal analytics rollup``: count ended days into the tables the analytics page reads."""

import click
from flask.cli import AppGroup

analytics_cli = AppGroup("analytics", help="The analytics page's figures.")


@analytics_cli.command("rollup")
def rollup_command():
    """Count every ended day's searches and content gaps (run it from cron, hourly or nightly)."""
    from ..kb.services import rollup_searches

    days = rollup_searches()
    if days:
        click.echo(f"Counted {len(days)} day(s) of searches: {days[0].isoformat()} to {days[-1].isoformat()}.")
    else:
        click.echo("Nothing to count: no ended day since the last run.")
