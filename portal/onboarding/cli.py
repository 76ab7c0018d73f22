import click
from flask.cli import with_appcontext


@click.group("expert", help="Onboarding experts: agents with bookable availability.")
def expert_cli():
    pass


def _user(email):
    from ..auth.services import user_by_email

    user = user_by_email(email)
    if user is None:
        raise click.ClickException(f"No user {email!r}.")
    return user


@expert_cli.command("add")
@click.argument("email")
@click.option("--timezone", required=True, help="The expert's own time zone, e.g. Europe/Madrid.")
@click.option("--meeting-url", required=True, help="Their video meeting link.")
@click.option("--hours", "windows", multiple=True, help='Weekly availability, e.g. "mon-fri 09:00-12:00" (repeat).')
@with_appcontext
def add_command(email, timezone, meeting_url, windows):
    """Make an agent an expert (or update one), with weekly availability in their time zone."""
    from ..errors import DomainError
    from . import services

    try:
        profile = services.make_expert(_user(email), timezone, meeting_url)
        if windows:
            services.set_availability(profile, list(windows))
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{profile.user.name} is an expert ({profile.timezone}), {len(profile.rules)} weekly window(s).")


@expert_cli.command("day-off")
@click.argument("email")
@click.argument("first", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), help="Last day off (default: the first).")
@click.option("--note")
@with_appcontext
def day_off_command(email, first, until, note):
    """Days an expert takes no sessions."""
    from ..errors import DomainError
    from ..extensions import db
    from . import services
    from .models import ExpertProfile

    profile = db.session.get(ExpertProfile, _user(email).id)
    if profile is None:
        raise click.ClickException(f"{email} is not an expert.")
    try:
        services.add_day_off(profile, first.date(), until.date() if until else None, note)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Day(s) off recorded for {profile.user.name}.")


@expert_cli.command("holidays")
@click.argument("email")
@click.argument("country")
@click.argument("subdivision", required=False)
@with_appcontext
def holidays_command(email, country, subdivision):
    """No sessions on the public holidays of COUNTRY (ISO code, e.g. ES) and SUBDIVISION (e.g. MD);
    COUNTRY "none" turns public holidays off."""
    from .. import audit
    from ..errors import DomainError
    from ..extensions import db
    from . import services
    from .models import ExpertProfile

    profile = db.session.get(ExpertProfile, _user(email).id)
    if profile is None:
        raise click.ClickException(f"{email} is not an expert.")
    try:
        services.set_holiday_region(profile, "" if country.lower() == "none" else country, subdivision, audit.CLI)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    if profile.holiday_region is None:
        click.echo(f"{profile.user.name} follows no public holidays (days off still count).")
        return
    coming = services.upcoming_holidays(profile)
    listed = "; ".join(f"{day.isoformat()} {name}" for day, name in coming[:5]) or "none"
    click.echo(f"{profile.user.name} takes no sessions on the public holidays of {profile.holiday_region}. "
               f"Coming: {listed}.")
    for session, why in services.sessions_on_days_off(profile):
        click.echo(f"  still booked on a day off: {session.starts_at:%Y-%m-%d %H:%M} UTC, "
                   f"{session.organization.name} ({why})")
