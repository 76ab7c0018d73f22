"""``portal seed-demo``: demo organizations and one account per role, loaded once."""

from datetime import date, datetime, timedelta

import click
from flask.cli import with_appcontext

from .auth import services
from .auth.models import Role
from .plans import history as plan_history

DEMO_PASSWORD = "portal-demo"

ORGANIZATIONS = [
    # name, plan, started days ago, time zone
    ("Acme Logistics", "standard", 10, "Europe/London"),
    ("Nubes y Datos S.L.", "premium", 40, "Europe/Madrid"),
    ("Flujo Retail", "prepaid", 120, "Europe/Madrid"),
]

ACCOUNTS = [
    # email, role, organization, name, language
    ("customer@acme.example.com", Role.CUSTOMER, "Acme Logistics", "Ana Customer", None),
    ("admin@acme.example.com", Role.CUSTOMER_ADMIN, "Acme Logistics", "Carlos Customer-Admin", None),
    ("cliente@nubes.example.com", Role.CUSTOMER, "Nubes y Datos S.L.", "María Cliente", "es"),
    ("admin@flujo.example.com", Role.CUSTOMER_ADMIN, "Flujo Retail", "Fran Flujo", None),
    ("agent@portal.example.com", Role.AGENT, None, "Sam Agent", None),
    ("writer@portal.example.com", Role.WRITER, None, "Wren Writer", None),
    ("admin@portal.example.com", Role.ADMIN, None, "Ada Admin", None),
]


def seed_demo(now: datetime | None = None) -> bool:
    """Create the demo data unless it is there already; True if it was created now.

    Everything is dated from ``now`` (naive UTC), so tests can build the same demo
    at any instant they choose; the CLI passes the real time."""
    from .auth.models import utcnow

    if services.organization_by_name(ORGANIZATIONS[0][0]):
        return False
    now = now or utcnow()
    for name, plan, days_ago, tz in ORGANIZATIONS:
        plan_history.create_organization(name, plan, now.date() - timedelta(days=days_ago), tz)
    _demo_plans(now.date())
    for email, role, org, name, lang in ACCOUNTS:
        user = services.create_user(email, DEMO_PASSWORD, role, name=name, organization=org)
        if lang:
            services.set_locale(user, lang, ["en", "es"])
    _demo_tickets(now)
    _demo_onboarding(now)
    _demo_expert_holidays(now)
    _demo_analytics(now)
    _demo_email(now)
    _demo_teams(now)
    _demo_phone_ticket(now)
    _demo_visits(now)
    return True


def _demo_phone_ticket(now: datetime) -> None:
    """Ana phoned: Sam filed her ticket on her behalf, by phone (Acme's Standard plan includes it)."""
    import secrets

    from .tickets import services as tickets

    tickets.file_ticket(services.user_by_email("customer@acme.example.com"), tickets.TicketDraft(
        category="question", subject="How do we add a second warehouse?",
        description="Ana phoned: Acme opens a warehouse in Leeds next month and asks how to set up its stock "
                    "and its users without mixing them with London's.",
        impact="low", urgency="medium", submission_key=secrets.token_hex(8), channel="phone"),
        now=now - timedelta(hours=2), filed_by=services.user_by_email("agent@portal.example.com"))


def _demo_visits(now: datetime) -> None:
    """Nubes' plan (Premium) includes two visit days a week: Sam visits on the first working day after
    today that is no Madrid holiday of his."""
    from . import audit
    from .onboarding import availability
    from .plans.services import local_day
    from .visits import services as visits

    nubes = services.organization_by_name("Nubes y Datos S.L.")
    sam = services.user_by_email("agent@portal.example.com")
    day = local_day(nubes, now) + timedelta(days=1)
    while day.weekday() >= 5 or availability.unavailable(sam.id, day):
        day += timedelta(days=1)
    visits.schedule_visit(nubes, services.user_by_email("admin@portal.example.com"), day, sam,
                          "Calle de Alcalá 42, 28014 Madrid", "Go through the warehouse module with the stock team; "
                          "set up the first inventory count.", now, origin=audit.CLI)


# key, name, name in Spanish, members; the shipped routing file's product areas name these keys.
DEMO_TEAMS = [
    ("accounting", "Accounting", "Contabilidad", ["admin@portal.example.com"]),
    ("integrations", "Integrations", "Integraciones", ["agent@portal.example.com", "admin@portal.example.com"]),
    ("inventory", "Inventory", "Inventario", []),  # nobody yet: its tickets notify every agent
]
# The product area each demo ticket's customer chose on the form (None: "Not sure", or by email).
DEMO_AREAS = {
    "Export to PDF fails with error 500": "reports",
    "No podemos iniciar sesión": "integrations",
    "Dashboard totals differ from the CSV export": "reports",
    "Report scheduler skips Mondays": "reports",
    "Invoice PDF shows last month's address": "accounting",
    "No llegan los correos de restablecimiento": "integrations",
    "CSV import stops at row 5,000": "integrations",
}


def _demo_teams(now: datetime) -> None:
    """Three teams (functional areas, seed 001), and the demo tickets routed to them as the form's
    product areas would have; the mailed label-printer ticket was moved to Integrations by Ada."""
    from sqlalchemy import select

    from . import audit
    from .extensions import db
    from .teams import services as teams
    from .tickets import services as tickets
    from .tickets.models import Ticket, TicketEvent

    for key, name, name_es, members in DEMO_TEAMS:
        team = teams.create_team(key, name, name_es, origin=audit.CLI)
        for email in members:
            teams.add_member(team, services.user_by_email(email), origin=audit.CLI)
    for ticket in db.session.scalars(select(Ticket).where(Ticket.subject.in_(DEMO_AREAS)).order_by(Ticket.id)):
        ticket.area = DEMO_AREAS[ticket.subject]
        team = teams.route(ticket.area, ticket.category.value, ticket.organization_id, ticket.plan)
        ticket.team = team
        db.session.add(TicketEvent(ticket_id=ticket.id, kind="team", new_value=team.name, internal=True,
                                   reason=f"product area {ticket.area}", created_at=ticket.created_at))
    db.session.commit()
    labels = db.session.scalar(select(Ticket).where(Ticket.subject == "Labels print blank since this morning"))
    tickets.change_team(labels, services.user_by_email("admin@portal.example.com"), teams.team_by_key("integrations"),
                        now=now - timedelta(hours=2))


def _demo_email(now: datetime) -> None:
    """The email channel: Acme registered its mail domain, Ana filed a ticket by email, and a
    stranger's question waits in Unmatched email (as `portal mail fetch` would have taken them)."""
    from email.message import EmailMessage

    from .inbox.services import receive

    services.add_domain(services.organization_by_name("Acme Logistics"), "acme.example.com")
    for n, (sender, subject, body) in enumerate([
        ("Ana Customer <customer@acme.example.com>", "Labels print blank since this morning",
         "Hello,\n\nSince this morning every shipping label prints blank on the Zebra printers of the London "
         "warehouse. The preview looks right.\n\nThanks,\nAna"),
        ("Jordan Lee <jordan.lee@mail.example.org>", "Do you support single sign-on?",
         "Hi, we are evaluating the product for our team. Can users sign in with our Okta accounts?"),
    ]):
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = sender, "support@portal.example.com", subject
        message["Message-ID"] = f"<demo-{n}-{now:%Y%m%d}@mail.example.org>"
        message.set_content(body)
        receive(bytes(message), source="demo", now=now - timedelta(hours=3 - n))


def _demo_onboarding(now: datetime) -> None:
    """Two experts with weekly hours, and Acme's first session already held."""
    from .extensions import db
    from .onboarding import services as onboarding
    from .onboarding.models import OnboardingSession, SessionStatus

    sam = services.user_by_email("agent@portal.example.com")
    ada = services.user_by_email("admin@portal.example.com")
    onboarding.set_availability(onboarding.make_expert(sam, "Europe/Madrid", "https://meet.example.com/sam-agent"),
                                ["mon-fri 09:00-12:00", "tue,thu 15:00-18:00"])
    onboarding.set_availability(onboarding.make_expert(ada, "Europe/London", "https://meet.example.com/ada-admin"),
                                ["mon,wed,fri 14:00-17:00"])
    acme = services.organization_by_name("Acme Logistics")
    program = onboarding.program(acme)
    week = program.weeks[0]
    starts = datetime.combine(week.last_day, datetime.min.time()).replace(hour=9)  # 09:00 UTC, the week's last day
    held = OnboardingSession(
        organization_id=acme.id, booked_by_id=services.user_by_email("admin@acme.example.com").id,
        expert_id=sam.id, starts_at=starts, ends_at=starts + timedelta(hours=1), week=1, feature_area="tickets",
        questions="How do we choose between P2 and P3?\nCan colleagues see each other's tickets?",
        status=SessionStatus.HELD.value, notes="We filed a test ticket together and looked at the priority matrix.",
        follow_up="priorities-explained\nhow-to-write-a-good-ticket", created_at=now, updated_at=now)
    db.session.add(held)
    db.session.commit()


def _demo_expert_holidays(now: datetime) -> None:
    """Sam (Madrid) takes no sessions on Madrid's public holidays, Ada (London) on England's."""
    from . import audit
    from .extensions import db
    from .onboarding import services as onboarding
    from .onboarding.models import ExpertProfile

    for email, country, region in (("agent@portal.example.com", "ES", "MD"), ("admin@portal.example.com", "GB", "ENG")):
        profile = db.session.get(ExpertProfile, services.user_by_email(email).id)
        onboarding.set_holiday_region(profile, country, region, audit.CLI, now)


# requester, hours ago, category, impact, urgency, subject, description
TICKETS = [
    ("customer@acme.example.com", 30, "technical_issue", "high", "medium",
     "Export to PDF fails with error 500",
     "Since this morning every PDF export of the monthly report ends with *Internal Server Error*."),
    ("customer@acme.example.com", 3, "feature_request", "low", "low",
     "A dark theme for the dashboard", "Our night shift would like a dark theme on the dashboard."),
    ("cliente@nubes.example.com", 1, "technical_issue", "high", "high",
     "No podemos iniciar sesión", "Desde hace una hora nadie de la empresa puede iniciar sesión."),
    ("admin@flujo.example.com", 200, "question", "medium", "low",
     "Dashboard totals differ from the CSV export", "The totals on the sales dashboard do not match the CSV."),
    ("admin@flujo.example.com", 100, "technical_issue", "medium", "medium",
     "Report scheduler skips Mondays", "The weekly report scheduled for Monday 08:00 never arrives."),
]


def _demo_tickets(now: datetime) -> None:
    """A few tickets at different ages, so the SLA clocks, quota and hours ledger show something."""
    import secrets

    from sqlalchemy import select

    from .auth.models import User
    from .extensions import db
    from .tickets import billing, services as tickets

    users = {u.email: u for u in db.session.scalars(select(User))}
    agent = users["agent@portal.example.com"]
    filed = []
    for email, hours_ago, category, impact, urgency, subject, description in TICKETS:
        draft = tickets.TicketDraft(
            category=category, subject=subject, description=description, impact=impact, urgency=urgency,
            submission_key=secrets.token_hex(8), lang=users[email].locale or "en",
            steps_to_reproduce="1. Open the page.\n2. Press the button." if category == "technical_issue" else None,
            affected_account=email if category == "technical_issue" else None,
        )
        filed.append(tickets.file_ticket(users[email], draft, now=now - timedelta(hours=hours_ago)))
    totals, scheduler = filed[3], filed[4]
    tickets.reply(totals, agent, "The dashboard rounds per day and the export per line; we are checking with "
                  "the development team.", now=now - timedelta(hours=190))
    billing.set_billing_flags(totals, agent, escalated=True)
    # log_time and set_billing_flags read the clock themselves: the day worked is ours to give.
    billing.log_time(totals, agent, 40, worked_on=now.date(), note="Compared both totals with the customer")
    tickets.reply(scheduler, agent, "Found it: a bug in the scheduler's calendar. A fix ships on Thursday.",
                  now=now - timedelta(hours=90))
    billing.set_billing_flags(scheduler, agent, bug=True)
    billing.log_time(scheduler, agent, 75, worked_on=now.date(), note="Reproduced and reported the bug")
    _demo_history(users, agent, now)


# Older tickets, answered, solved and confirmed: what the analytics count as filed after the
# form suggested articles, and the backlog per week. (requester, subject, description)
HISTORY = [
    ("customer@acme.example.com", "Invoice PDF shows last month's address",
     "We changed our billing address but the new invoice still shows the old one."),
    ("cliente@nubes.example.com", "No llegan los correos de restablecimiento",
     "Varios usuarios piden restablecer la contraseña y el correo no llega."),
    ("customer@acme.example.com", "CSV import stops at row 5,000",
     "Importing our customer list stops at row 5,000 without any message."),
    ("cliente@nubes.example.com", "El panel tarda mucho en cargar",
     "Desde el lunes el panel principal tarda más de un minuto en cargar."),
]


def _demo_history(users, agent, now: datetime) -> None:
    """Two tickets a week for the last seven weeks, each filed after the form suggested articles."""
    import secrets

    from .extensions import db
    from .tickets import services as tickets
    from .tickets.models import Suggestion

    for week in range(1, 8):
        for n in range(2):
            email, subject, description = HISTORY[(week * 2 + n) % len(HISTORY)]
            customer = users[email]
            filed_at = now - timedelta(days=7 * week, hours=3 + 30 * n)
            key = secrets.token_hex(8)
            db.session.add(Suggestion(draft_key=key, user_id=customer.id, organization_id=customer.organization_id,
                                      slug=DEMO_SUGGESTED[(week + n) % len(DEMO_SUGGESTED)], action="shown", rank=1,
                                      created_at=filed_at - timedelta(minutes=4)))
            db.session.commit()
            draft = tickets.TicketDraft(category="question", subject=subject, description=description,
                                        impact="medium", urgency="medium", submission_key=key,
                                        lang=customer.locale or "en")
            ticket = tickets.file_ticket(customer, draft, now=filed_at)
            tickets.reply(ticket, agent, "Thank you: fixed on our side. Please check again.",
                          now=filed_at + timedelta(hours=2 + week % 3))
            tickets.change_status(ticket, agent, "solved", now=filed_at + timedelta(hours=5))
            tickets.confirm_solution(ticket, customer, now=filed_at + timedelta(days=1))


# What readers looked for in the last eight weeks: (words, results found). The ones with no
# result are the content gaps the analytics page lists for writers.
DEMO_SEARCHES = [
    ("reset password", 3), ("attach files", 4), ("ticket quota", 2), ("sla clock pause", 3),
    ("support hours left", 2), ("reopen ticket", 2), ("change language", 1), ("priority", 5),
    ("single sign-on saml", 0), ("export to excel", 0), ("delete my account", 0), ("audit log", 0),
]
# What the new-ticket form suggested, and what the customer then did.
DEMO_SUGGESTED = ["how-do-i-reset-my-password", "what-files-can-i-attach-to-a-ticket",
                  "what-happens-when-we-reach-the-ticket-quota", "when-does-the-sla-clock-pause",
                  "how-do-i-reopen-a-ticket"]


def _demo_analytics(now: datetime) -> None:
    """Eight weeks of searches, suggestions and votes, so the analytics page has figures to show."""
    import random

    from sqlalchemy import exists, insert, select

    from .auth.models import User
    from .extensions import db
    from .kb.models import ArticleVote, SearchEvent
    from .tickets.models import Suggestion, Ticket

    rng = random.Random(2026)  # the same demo every time
    customers = db.session.scalars(select(User).where(User.organization_id.is_not(None))).all()
    searches, suggestions, votes = [], [], []
    for day in range(56):
        for _ in range(rng.randint(6, 14)):
            words, found = rng.choice(DEMO_SEARCHES)
            at = now - timedelta(days=day, minutes=rng.randint(0, 1439))
            searches.append(dict(query=words, normalized=words, lang="en", result_count=found, created_at=at,
                                 updated_at=at))
        for n in range(rng.randint(1, 3)):  # forms that showed suggestions: most solved by an article
            customer, slug = rng.choice(customers), rng.choice(DEMO_SUGGESTED)
            at = now - timedelta(days=day, minutes=rng.randint(0, 1439))
            ending = rng.choice(("solved", "solved", "solved", "rejected", None))
            for action in ("shown", "opened", ending) if ending else ("shown",):
                suggestions.append(dict(draft_key=f"demo-{day}-{n}", user_id=customer.id,
                                        organization_id=customer.organization_id, slug=slug, action=action,
                                        rank=1, created_at=at))
    # The current demo tickets were filed after seeing suggestions too (the older ones have theirs).
    for ticket in db.session.scalars(select(Ticket).where(~exists().where(Suggestion.ticket_id == Ticket.id))):
        suggestions.append(dict(draft_key=f"demo-ticket-{ticket.id}", user_id=ticket.requester_id,
                                organization_id=ticket.organization_id, ticket_id=ticket.id,
                                slug=DEMO_SUGGESTED[ticket.id % len(DEMO_SUGGESTED)], action="shown", rank=1,
                                created_at=ticket.created_at))
    for n in range(40):
        at = now - timedelta(days=rng.randint(0, 55))
        votes.append(dict(slug=rng.choice(DEMO_SUGGESTED), voter=f"demo-{n}", helpful=rng.random() < 0.8,
                          created_at=at, updated_at=at))
    db.session.execute(insert(SearchEvent), searches)
    db.session.execute(insert(Suggestion), suggestions)
    db.session.execute(insert(ArticleVote), votes)
    db.session.commit()


def _demo_plans(today: date) -> None:
    """Plan histories to look at: Acme and Nubes evaluated the Premium SLA on a trial before going
    live (their older demo tickets were filed then), and Acme moves to Premium next month."""
    acme, nubes = (services.organization_by_name(name) for name, *_rest in ORGANIZATIONS[:2])
    for org in (acme, nubes):
        plan_history.set_plan(org, "premium", today - timedelta(days=70), org.started_on - timedelta(days=1),
                              trial=True, note="Evaluation before go-live")
    next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    plan_history.set_plan(acme, "premium", next_month, note="Upgrade ordered by Carlos, order PO-118")


@click.command("seed-demo", help="Load the demo organizations and accounts (once).")
@with_appcontext
def seed_demo_command():
    from .auth.models import utcnow

    created = seed_demo(utcnow())  # the real time: `make run` shows a demo of today
    click.echo("Loaded the demo data." if created else "The demo data is already loaded.")
    click.echo(f"\nDemo accounts (password for all: {DEMO_PASSWORD}):")
    for email, role, org, _name, _lang in ACCOUNTS:
        click.echo(f"  {role.value:<15} {email:<28} {org or ''}")
