"""``portal seed-demo``: demo organizations and one account per role, loaded once."""

from datetime import date, timedelta

import click
from flask.cli import with_appcontext

from .auth import services
from .auth.models import Role

DEMO_PASSWORD = "portal-demo"

ORGANIZATIONS = [
    # name, plan, started days ago, time zone
    ("Acme Logistics", "standard", 10, "Europe/London"),
    ("Nubes y Datos S.L.", "premium", 40, "Europe/Madrid"),
]

ACCOUNTS = [
    # email, role, organization, name, language
    ("customer@acme.example.com", Role.CUSTOMER, "Acme Logistics", "Ana Customer", None),
    ("admin@acme.example.com", Role.CUSTOMER_ADMIN, "Acme Logistics", "Carlos Customer-Admin", None),
    ("cliente@nubes.example.com", Role.CUSTOMER, "Nubes y Datos S.L.", "María Cliente", "es"),
    ("agent@portal.example.com", Role.AGENT, None, "Sam Agent", None),
    ("writer@portal.example.com", Role.WRITER, None, "Wren Writer", None),
    ("admin@portal.example.com", Role.ADMIN, None, "Ada Admin", None),
]


def seed_demo() -> bool:
    """Create the demo data unless it is there already; True if it was created now."""
    if services.organization_by_name(ORGANIZATIONS[0][0]):
        return False
    today = date.today()
    for name, plan, days_ago, tz in ORGANIZATIONS:
        services.create_organization(name, plan, today - timedelta(days=days_ago), tz)
    for email, role, org, name, lang in ACCOUNTS:
        user = services.create_user(email, DEMO_PASSWORD, role, name=name, organization=org)
        if lang:
            services.set_locale(user, lang, ["en", "es"])
    return True


@click.command("seed-demo", help="Load the demo organizations and accounts (once).")
@with_appcontext
def seed_demo_command():
    created = seed_demo()
    click.echo("Loaded the demo data." if created else "The demo data is already loaded.")
    click.echo(f"\nDemo accounts (password for all: {DEMO_PASSWORD}):")
    for email, role, org, _name, _lang in ACCOUNTS:
        click.echo(f"  {role.value:<15} {email:<28} {org or ''}")
