#!/usr/bin/env python
"""Mail benchmark: inbound mail over IMAP, and the outbox's delivery, on SQLite and PostgreSQL.

PostgreSQL with --postgres URL, or under pg_virtualenv. Every rate is also given as a ratio to
a baseline measured in the same run, as the machine is shared and noisy.

1. Fetch: N messages (default 1,000) in a fresh user of a throwaway Dovecot
   (tests/servers/dovecot.py): ~60% new tickets from customers of a few organizations, ~30%
   answers to seeded tickets (half threaded by In-Reply-To to the Message-ID of the outbox's
   mail, half by the [reference] in the subject), ~10% noise (out-of-office replies, strangers,
   bounces, newsletters). `portal mail fetch` runs as the real CLI over IMAPS. Baseline: the
   same messages handed to ``portal.inbox.services.receive`` in this process (no IMAP, no
   start-up), half before and half after the fetch. Afterwards every message must have exactly
   one mail_inbound row with the outcome its kind calls for, and the tickets and replies must be
   those expected; the CLI's CPU time is compared too (less sensitive to the machine's load).
2. Outbox drain: M notifications (default 2,000) queued with ``portal.mail.queue``, then
   ``outbox.deliver_due()`` against the aiosmtpd server of tests/servers/smtp.py (in a process of
   its own). Baseline: the same messages sent with smtplib over one connection, before and after
   the runs. Then M more with 1, and with W (default 4), `portal mail send` processes at once;
   the server must have received each Message-ID exactly once.

    .venv/bin/python bench/mail.py [--messages 1000] [--outbox 2000] [--workers 4] [--postgres URL]
    pg_virtualenv -o fsync=off .venv/bin/python bench/mail.py
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import imaplib
import io
import itertools
import json
import logging
import os
import random
import resource
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import pg  # noqa: E402  (bench/pg.py)

PASSWORD = "bench-password-1"
SUPPORT = "support@help.example.com"
SENDER = f"Support <{SUPPORT}>"
ORGS = [("Acme Logistics", "acme.example.com", "Europe/Madrid"), ("Nubes Hosting", "nubes.example.com", "UTC"),
        ("Flujo Payments", "flujo.example.com", "America/New_York"), ("Bravo Retail", "bravo.example.com", "UTC"),
        ("Delta Labs", "delta.example.com", "Europe/Madrid"), ("Orbit Media", "orbit.example.com", "UTC")]
FIRST = "ana luis marta pablo sofia diego lucia javier elena carlos nora ivan paula hugo irene".split()
LAST = "garcia lopez martin sanchez perez gomez ruiz diaz moreno alvarez romero navarro torres".split()
SUBJECTS = ["Export to CSV fails with error 500", "Cannot log in after the password reset",
            "The dashboard is very slow since Monday", "Invoice for November shows the wrong VAT",
            "How do I add a new user to our account?", "Webhook deliveries stopped", "Backup job failed twice",
            "Search does not find documents uploaded today", "API token returns 401", "Report PDF is cut off",
            "Importing the customer list skips rows", "Email notifications arrive late",
            "Need to change the billing contact", "Sync with the mobile app is stuck", "Permission error on reports"]
PARAGRAPHS = ["Since this morning every attempt ends with the same error, for all of us in the team.",
              "We tried another browser and cleared the cache, with the same result.",
              "It worked last week without any change on our side as far as I know.",
              "Could you tell us whether this is a known problem, and how long a fix may take?",
              "This blocks our month-end closing, so an answer today would help a lot.",
              "I attach what the page shows; the steps are: open Reports, pick November, press Export.",
              "Several colleagues see it too, on Windows and on macOS."]
REPLIES = ["Thanks, that worked. You can close the ticket.", "We tried it, but the error is still there.",
           "Here is the information you asked for: account 4471, it happened at 10:14 today.",
           "Sorry for the late answer: yes, it happens every time.", "Could you call me? My number is in the signature."]
KINDS = {"ticket": 0.60, "reply": 0.30, "out_of_office": 0.03, "stranger": 0.03, "bounce": 0.02, "newsletter": 0.02}
# What the portal must make of each kind: the mail_inbound outcome.
OUTCOMES = {"ticket": "ticket", "reply": "reply", "out_of_office": "unmatched", "stranger": "unmatched",
            "bounce": "bounce", "newsletter": "ignored"}

BOUNCE = """\
Return-Path: <>
Received: from mx.example.net by mail.help.example.com; {date}
Date: {date}
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
To: support@help.example.com
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
Message-ID: {message_id}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B0UNCE"

--B0UNCE
Content-Type: text/plain; charset=utf-8

<{recipient}>: host mx.example.net said: 550 5.1.1 User unknown

--B0UNCE
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; {recipient}
Action: failed
Status: 5.1.1

--B0UNCE--
""".replace("\n", "\r\n")

problems: list[str] = []


def check(ok: bool, what: str) -> str:
    if not ok:
        problems.append(what)
    return "OK" if ok else "MISMATCH"


# --- the portal: migrations, an app in this process, the CLI ----------------------------------

def portal_command() -> str:
    return str(Path(sys.executable).with_name("portal"))


def environment(instance: Path, database_url: str, **settings) -> dict:
    """For the CLI. PYTHONPATH: the code of this checkout, whatever the venv's editable install points at."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "PORTAL_INSTANCE_PATH": str(instance),
           "PORTAL_DATABASE_URL": database_url, "PORTAL_KB_AUTO_REINDEX": "false", "PORTAL_SECRET_KEY": "bench",
           "PORTAL_MAIL_SENDER": SENDER, "PORTAL_BASE_URL": "https://help.example.com"}
    env.update({f"PORTAL_{name}": str(value) for name, value in settings.items()})
    return env


def fresh_database(label: str, url: str, instance: Path) -> dict:
    """An empty database migrated by `portal db upgrade`; returns the CLI's environment."""
    if url.startswith("postgresql"):
        pg.empty(url)
    env = environment(instance, url)
    subprocess.run([portal_command(), "db", "upgrade"], env=env, cwd=REPO, check=True, capture_output=True)
    return env


def make_app(instance: Path, url: str, **config):
    from portal import create_app

    os.environ["PORTAL_INSTANCE_PATH"] = str(instance)  # read by create_app()
    return create_app({"DATABASE_URL": url, "KB_AUTO_REINDEX": False, "SECRET_KEY": "bench", "MAIL_SENDER": SENDER,
                       "BASE_URL": "https://help.example.com", **config})


def close(app) -> None:
    from portal.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


# --- 1. fetch ------------------------------------------------------------------------------------

@dataclass
class Customer:
    email: str
    name: str


@dataclass
class SeededTicket:
    reference: str
    subject: str
    requester: Customer
    last_mail_id: str  # the Message-ID of the last mail the portal queued to the requester about it


@dataclass
class Seed:
    customers: list[Customer]
    tickets: list[SeededTicket]
    seconds: float = 0.0


@contextlib.contextmanager
def deterministic_message_ids():
    """The seed's mails get the same Message-IDs in every database, so that one set of messages
    answers them all (the fetch and the baseline each start from their own fresh seed)."""
    from portal.mail import compose

    numbers = itertools.count(1)
    real = compose.make_msgid
    compose.make_msgid = lambda idstring=None, domain=None: f"<seed-{next(numbers)}@{domain}>"
    try:
        yield
    finally:
        compose.make_msgid = real


def seed(app, orgs: int, customers: int, tickets: int) -> Seed:
    """Organizations with their mail domains, customers, two agents, and tickets (half answered
    by an agent), through the services."""
    from sqlalchemy import select

    from portal.auth import services as accounts
    from portal.auth.models import Role
    from portal.extensions import db
    from portal.mail.models import OutboxMessage
    from portal.plans import history
    from portal.tickets import services as ticket_services

    started = time.perf_counter()
    with app.app_context(), deterministic_message_ids():
        organizations = []
        for i in range(orgs):
            name, domain, zone = ORGS[i % len(ORGS)]
            if i >= len(ORGS):
                name, domain = f"{name} {i}", domain.replace(".example", f"{i}.example")
            org = history.create_organization(name, ("standard", "premium")[i % 2], date(2024, 1, 1), zone)
            accounts.add_domain(org, domain)
            organizations.append((org, domain))
        people = []
        for i in range(customers):
            org, domain = organizations[i % orgs]
            first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
            email = f"{first}.{last}{i}@{domain}"
            name = f"{first.title()} {last.title()}"
            accounts.create_user(email, PASSWORD, Role.CUSTOMER, name=name, organization=org, commit=False)
            people.append(Customer(email, name))
        db.session.commit()
        agents = [accounts.create_user(f"agent{i}@help.example.com", PASSWORD, Role.AGENT, name=f"Agent {i}")
                  for i in range(2)]
        filed = []
        for i in range(tickets):
            requester = people[i % len(people)]
            user = accounts.user_by_email(requester.email)
            subject = SUBJECTS[i % len(SUBJECTS)]
            draft = ticket_services.TicketDraft(
                category="question", subject=subject, description=" ".join(PARAGRAPHS[i % 3:i % 3 + 3]),
                impact="medium", urgency="medium", submission_key=f"bench-seed-{i}")
            ticket = ticket_services.file_ticket(user, draft)
            if i % 2:
                ticket_services.reply(ticket, agents[i % 2], "Could you tell us which browser and account you use?")
            filed.append((ticket.reference, subject, requester))
        last = {}
        for message_id, thread, recipient in db.session.execute(
                select(OutboxMessage.message_id, OutboxMessage.thread, OutboxMessage.recipient)
                .order_by(OutboxMessage.id)):
            last[(thread, recipient)] = message_id
        result = Seed(people, [SeededTicket(ref, subject, who, last[(ref, who.email)]) for ref, subject, who in filed])
        db.session.remove()
    result.seconds = time.perf_counter() - started
    return result


def screenshot() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (640, 360), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 620, 60), fill="#2b6cb0")
    draw.text((30, 100), "Error 500: the export could not be completed", fill="black")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@dataclass
class Letter:
    kind: str
    message_id: str
    raw: bytes


def letters(seed_data: Seed, count: int, rng: random.Random) -> list[Letter]:
    """The mix of KINDS, shuffled. Senders take turns, so that none reaches the per-sender limit."""
    kinds = [kind for kind, share in KINDS.items() for _ in range(round(count * share))]
    kinds = (kinds + ["ticket"] * count)[:count]
    rng.shuffle(kinds)
    arrived = datetime.now(UTC) - timedelta(minutes=5)
    customers, threads = itertools.cycle(seed_data.customers), itertools.cycle(seed_data.tickets)
    picture = screenshot()
    log_file = "\n".join(f"2026-12-01 10:{m:02d}:00 ERROR export worker: timeout after 30 s" for m in range(40)).encode()
    made = []
    for number, kind in enumerate(kinds):
        message = EmailMessage()
        message["Received"] = f"from mx.example.net by mail.help.example.com; {format_datetime(arrived)}"
        message["To"] = SUPPORT
        message["Date"] = format_datetime(arrived - timedelta(seconds=30))
        message_id = f"<bench-{number}.{rng.getrandbits(40):x}@mail.example.net>"
        message["Message-ID"] = message_id
        if kind == "ticket":
            who = next(customers)
            message["From"] = f"{who.name} <{who.email}>"
            message["Subject"] = rng.choice(SUBJECTS)
            body = "Hello,\n\n" + "\n\n".join(rng.sample(PARAGRAPHS, 3)) + f"\n\nBest regards,\n{who.name}\n"
            message.set_content(body)
            if rng.random() < 0.5:  # as Gmail and Outlook send it
                html = "".join(f"<p>{line}</p>" for line in body.split("\n\n"))
                message.add_alternative(f"<html><body><div dir=\"ltr\">{html}</div></body></html>", subtype="html")
            if rng.random() < 0.10:
                message.add_attachment(picture, maintype="image", subtype="png", filename="screenshot.png")
            elif rng.random() < 0.05:
                message.add_attachment(log_file, maintype="text", subtype="plain", filename="export.log")
        elif kind == "reply":
            thread = next(threads)
            who = thread.requester
            message["From"] = f"{who.name} <{who.email}>"
            quote = f"\n\nOn Tue, 1 Dec 2026 at 09:12, Support <{SUPPORT}> wrote:\n> Could you tell us which browser?\n"
            if number % 2:
                message["Subject"] = f"Re: [{thread.reference}] {thread.subject}"
                message["In-Reply-To"] = message["References"] = thread.last_mail_id
            else:  # a new mail that names the ticket
                message["Subject"] = f"[{thread.reference}] {thread.subject} - more details"
                quote = ""
            message.set_content(rng.choice(REPLIES) + f"\n\n{who.name}" + quote)
        elif kind == "out_of_office":
            thread = next(threads)
            who = thread.requester
            message["From"] = f"{who.name} <{who.email}>"
            message["Subject"] = f"Automatic reply: [{thread.reference}] {thread.subject}"
            message["Auto-Submitted"] = "auto-replied"
            message["In-Reply-To"] = thread.last_mail_id
            message.set_content("I am out of the office until Monday, with limited access to email.")
        elif kind == "stranger":
            message["From"] = f"Visitor {number} <visitor{number}@mail{number % 7}.example.org>"
            message["Subject"] = "Question about your pricing"
            message.set_content("Hello, do you offer a discount for non-profits? Thanks.")
        elif kind == "bounce":  # a DSN for one of our notifications (RFC 3464), as Postfix writes it
            who = next(customers)
            made.append(Letter(kind, message_id, BOUNCE.format(
                date=format_datetime(arrived), message_id=message_id, recipient=who.email).encode()))
            continue
        else:  # newsletter
            message["From"] = f"Vendor News <news@vendor{number % 3}.example.net>"
            message["Subject"] = "Our December product update"
            message["Precedence"] = "bulk"
            message["List-Unsubscribe"] = f"<https://vendor{number % 3}.example.net/unsubscribe>"
            message.set_content("Read what is new this month.")
        made.append(Letter(kind, message_id, bytes(message)))
    return made


class Mailboxes:
    """The Dovecot of tests/servers/dovecot.py, and a fresh user per run."""

    def __init__(self, folder: Path):
        from tests.servers import dovecot

        self.server = dovecot.Dovecot(folder)
        self.server.start()
        self.users = itertools.count(1)

    def new_user(self) -> tuple[str, str]:
        number = next(self.users)
        user, password = f"support{number}@portal.test", f"bench-secret-{number}"
        self.server.add_user(user, password)
        return user, password

    def session(self, user: str, password: str) -> imaplib.IMAP4:
        imap = imaplib.IMAP4("127.0.0.1", self.server.port, timeout=30)
        imap.login(user, password)
        return imap

    def append(self, user: str, password: str, raws: list[bytes]) -> None:
        """As the mail server delivers: unseen, in INBOX (one session, not one per message)."""
        with self.session(user, password) as imap:
            for raw in raws:
                typ, data = imap.append("INBOX", None, None, raw)
                if typ != "OK":
                    raise RuntimeError(f"APPEND failed: {data!r}")

    def count(self, user: str, password: str, folder: str) -> int:
        with self.session(user, password) as imap:
            typ, data = imap.status(folder, "(MESSAGES)")
        return int(data[0].split(b"MESSAGES ")[1].rstrip(b")")) if typ == "OK" else 0

    def settings(self, user: str, password: str) -> dict:
        server = self.server
        return {"MAIL_IMAP_HOST": "127.0.0.1", "MAIL_IMAP_PORT": server.ssl_port, "MAIL_IMAP_SECURITY": "ssl",
                "MAIL_IMAP_USERNAME": user, "MAIL_IMAP_PASSWORD": password, "MAIL_IMAP_CAFILE": server.cafile}

    def stop(self) -> None:
        self.server.stop()


def check_inbound(app, made: list[Letter], seed_data: Seed) -> str:
    from sqlalchemy import func, select

    from portal.extensions import db
    from portal.inbox.models import InboundMessage
    from portal.tickets.models import Channel, Message, Ticket

    with app.app_context():
        rows = db.session.execute(select(InboundMessage.message_id, InboundMessage.outcome)).all()
        tickets = db.session.scalar(select(func.count()).select_from(Ticket))
        replies = db.session.scalar(select(func.count()).select_from(Message).where(Message.channel == Channel.EMAIL))
        db.session.remove()
    per_id = collections.defaultdict(list)
    for message_id, outcome in rows:
        per_id[message_id].append(outcome)
    expected = collections.Counter(OUTCOMES[letter.kind] for letter in made)
    got = collections.Counter(outcome for _, outcome in rows)
    wrong = [letter for letter in made if per_id.get(letter.message_id) != [OUTCOMES[letter.kind]]]
    new_tickets = sum(letter.kind == "ticket" for letter in made)
    ok = (len(rows) == len(made) and not wrong and tickets == len(seed_data.tickets) + new_tickets
          and replies == expected["reply"])
    detail = f"; first wrong: {wrong[0].kind} {wrong[0].message_id} -> {per_id.get(wrong[0].message_id)}" if wrong else ""
    verdict = check(ok, f"inbound: {len(rows)} rows for {len(made)} messages{detail}")
    return (f"{len(rows)} mail_inbound rows for {len(made)} messages, {len(wrong)} missing/doubled/wrong outcome; "
            f"{tickets - len(seed_data.tickets)} new tickets (expected {new_tickets}), {replies} email replies "
            f"(expected {expected['reply']}); outcomes {dict(sorted(got.items()))}{detail}: {verdict}")


def children_cpu() -> float:
    """CPU seconds of the child processes waited for so far (a CLI run's, by difference)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def seeded(label: str, part: str, url: str | None, tmp: Path, args):
    """A fresh database, migrated and seeded: (app, seed, CLI environment)."""
    instance = tmp / f"{part}-{label}"
    db_url = url or f"sqlite:///{instance}.db"
    env = fresh_database(label, db_url, instance)
    app = make_app(instance, db_url)
    return app, seed(app, args.orgs, args.customers, args.seed_tickets), env


def receive_directly(app, made: list[Letter]) -> tuple[float, float]:
    """Each message handed to receive() in this process, as `portal mail fetch` hands them on:
    (seconds, CPU seconds)."""
    from portal.extensions import db
    from portal.inbox import services as inbox

    cpu, started = time.process_time(), time.perf_counter()
    for letter in made:
        with app.app_context():
            try:
                inbox.receive(letter.raw, source="imap:default")
            finally:
                db.session.remove()
    return time.perf_counter() - started, time.process_time() - cpu


def same_seed(first: Seed, other: Seed, label: str) -> None:
    """The messages were written for the first seed: every other must have its references and Message-IDs."""
    if [(t.reference, t.last_mail_id) for t in first.tickets] != [(t.reference, t.last_mail_id) for t in other.tickets]:
        problems.append(f"{label}: the seeds differ, so the answers do not thread alike")


def bench_fetch(label: str, url: str | None, tmp: Path, mailboxes: Mailboxes, args, rng_seed: int) -> None:
    # The baseline brackets the fetch in time (half before, half after, each on a fresh seed), as
    # the load of a shared machine drifts.
    app, seed_data, _ = seeded(label, "direct-1", url, tmp, args)
    made = letters(seed_data, args.messages, random.Random(rng_seed))
    half = len(made) // 2
    size = sum(len(letter.raw) for letter in made)
    print(f"\n[{label}] {len(made)} messages ({size / len(made) / 1024:.1f} KiB on average: "
          + ", ".join(f"{n} {kind}" for kind, n in collections.Counter(l.kind for l in made).most_common())
          + f"); seeded {args.orgs} organizations, {args.customers} customers, {args.seed_tickets} tickets "
          f"in {seed_data.seconds:.0f}s")
    first, cpu_first = receive_directly(app, made[:half])
    first_check = check_inbound(app, made[:half], seed_data)
    close(app)

    app, fetch_seed, env = seeded(label, "fetch", url, tmp, args)
    same_seed(seed_data, fetch_seed, label)
    user, password = mailboxes.new_user()
    started = time.perf_counter()
    mailboxes.append(user, password, [letter.raw for letter in made])
    appended = time.perf_counter() - started
    env.update({f"PORTAL_{name}": str(value) for name, value in mailboxes.settings(user, password).items()})
    command = [portal_command(), "mail", "fetch"]
    cpu, started = children_cpu(), time.perf_counter()
    run = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True)
    fetched, fetch_cpu = time.perf_counter() - started, children_cpu() - cpu
    (tmp / f"fetch-{label}.log").write_text(run.stderr)
    cpu, started = children_cpu(), time.perf_counter()
    again = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True)  # nothing left: the fixed cost
    fixed, fixed_cpu = time.perf_counter() - started, children_cpu() - cpu
    if run.returncode != 0 or again.returncode != 0:
        problems.append(f"portal mail fetch exited {run.returncode}/{again.returncode}")
        print(run.stdout, run.stderr[-3000:], again.stdout, again.stderr[-3000:], sep="\n")
    left, processed = mailboxes.count(user, password, "INBOX"), mailboxes.count(user, password, "Processed")
    fetch_check = check_inbound(app, made, seed_data)
    close(app)

    app, second_seed, _ = seeded(label, "direct-2", url, tmp, args)
    same_seed(seed_data, second_seed, label)
    second, cpu_second = receive_directly(app, made[half:])
    second_check = check_inbound(app, made[half:], seed_data)
    close(app)
    direct, direct_cpu = first + second, cpu_first + cpu_second
    base = len(made) / direct
    print(f"  baseline, receive() in-process (half before, half after the fetch): {len(made)} in {direct:.1f}s "
          f"= {base:.1f} messages/s ({first / half * 1000:.0f} and {second / (len(made) - half) * 1000:.0f} ms a "
          f"message), CPU {direct_cpu / len(made) * 1000:.1f} ms a message")
    print(f"    check, first half: {first_check}")
    print(f"    check, second half: {second_check}")
    rate, inner = len(made) / fetched, len(made) / max(fetched - fixed, 1e-9)
    print(f"  portal mail fetch (IMAPS, one process): {len(made)} in {fetched:.1f}s = {rate:.1f} messages/s "
          f"= {rate / base:.2f}x the baseline; less the fixed cost below: {inner:.1f}/s = {inner / base:.2f}x; "
          f"CPU of the CLI {(fetch_cpu - fixed_cpu) / len(made) * 1000:.1f} ms a message "
          f"= {(fetch_cpu - fixed_cpu) / direct_cpu:.2f}x the baseline's")
    print(f"    it said: {run.stdout.strip()}")
    print(f"    a run that finds nothing (start-up, login): {fixed:.1f}s ({fixed_cpu:.1f}s CPU); "
          f"APPEND of the {len(made)}: {appended:.1f}s")
    print(f"    IMAP afterwards: {left} left in INBOX, {processed} in Processed: "
          f"{check(left == 0 and processed == len(made), f'IMAP {label}: {left} left, {processed} processed')}")
    print(f"    check: {fetch_check}")


# --- 2. outbox drain -----------------------------------------------------------------------------

class SMTPProcess:
    """tests/servers/smtp.py's aiosmtpd server in a process of its own, so that its parsing does
    not share a GIL with the portal; asked for the Message-IDs it received over a pipe."""

    def __init__(self):
        self.process = subprocess.Popen([sys.executable, __file__, "--serve-smtp"], cwd=REPO, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        env={**os.environ, "PYTHONPATH": str(REPO)})
        self.port = int(self.process.stdout.readline())

    def _ask(self, command: str) -> str:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.process.stdout.readline()

    def received(self) -> tuple[list[str], float]:
        """The Message-IDs received since the last reset, and the seconds from the first to the last."""
        answer = json.loads(self._ask("ids"))
        return answer["ids"], answer["span"]

    def reset(self) -> None:
        self._ask("reset")

    def stop(self) -> None:
        self.process.stdin.close()
        self.process.wait(10)


def serve_smtp() -> None:
    from tests.servers.smtp import SMTPServer

    class TimedServer(SMTPServer):
        arrivals: list[float] = []

        async def handle_DATA(self, server, session, envelope):
            answer = await super().handle_DATA(server, session, envelope)
            self.arrivals.append(time.monotonic())
            return answer

    server = TimedServer().start()
    print(server.port, flush=True)
    for line in sys.stdin:
        if line.strip() == "ids":
            arrivals = list(server.arrivals)
            print(json.dumps({"ids": [str(m["Message-ID"]) for m in list(server.messages)],
                              "span": arrivals[-1] - arrivals[0] if len(arrivals) > 1 else 0.0}), flush=True)
        elif line.strip() == "reset":
            server.reset()
            server.arrivals.clear()
            print("ok", flush=True)
    server.stop()


def queue_notifications(app, count: int, batch: int) -> tuple[list[tuple[str, str, bytes]], float]:
    """``count`` ticket notifications as the portal writes them (text and HTML, threaded); returns
    (Message-ID, recipient, raw) of each and the seconds it took."""
    from sqlalchemy import select

    from portal import mail
    from portal.extensions import db
    from portal.mail.models import OutboxMessage

    started = time.perf_counter()
    with app.app_context():
        first = db.session.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()).limit(1)) or 0
        for n in range(count):
            reference = f"2026-{n % 500 + 1:05d}"
            subject = SUBJECTS[n % len(SUBJECTS)]
            text = (f"Hello,\n\nAgent 1 from support wrote:\n\n{PARAGRAPHS[n % len(PARAGRAPHS)]}\n\n"
                    f"See the ticket: https://help.example.com/tickets/{reference}\n\n"
                    "Reply to this email to answer: your message joins the ticket.\n")
            html = "".join(f"<p>{line}</p>" for line in text.split("\n\n"))
            mail.queue(f"customer{n % 300}@acme.example.com", f"[{reference}] New answer on your ticket: {subject}",
                       text, f"<html><body>{html}</body></html>", thread=reference, automatic=False)
            if (n + 1) % batch == 0:
                db.session.commit()
        db.session.commit()
        rows = db.session.execute(select(OutboxMessage.message_id, OutboxMessage.recipient, OutboxMessage.raw)
                                  .where(OutboxMessage.id > first).order_by(OutboxMessage.id)).all()
        db.session.remove()
    return [tuple(row) for row in rows], time.perf_counter() - started


def check_received(server: SMTPProcess, queued) -> tuple[bool, str]:
    received = collections.Counter(server.received()[0])
    expected = {message_id for message_id, _, _ in queued}
    twice = sum(1 for n in received.values() if n > 1)
    missing = len(expected - set(received))
    extra = len(set(received) - expected)
    ok = not twice and not missing and not extra and sum(received.values()) == len(queued)
    return ok, (f"{sum(received.values())} received for {len(queued)} queued, {twice} Message-IDs twice, "
                f"{missing} missing, {extra} unknown")


def statuses(app) -> dict[str, int]:
    from portal.extensions import db
    from portal.mail import outbox

    with app.app_context():
        found = outbox.counts()
        db.session.remove()
    return found


def smtplib_baseline(server: SMTPProcess, queued, label: str) -> tuple[float, float]:
    """The same messages through smtplib over one connection: (seconds, CPU seconds)."""
    server.reset()
    cpu, started = time.process_time(), time.perf_counter()
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as smtp:
        for _, recipient, raw in queued:
            smtp.sendmail(SUPPORT, [recipient], raw)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    ok, detail = check_received(server, queued)
    check(ok, f"smtplib baseline {label}: {detail}")
    return elapsed, cpu


def bench_outbox(label: str, url: str | None, tmp: Path, server: SMTPProcess, args) -> None:
    from sqlalchemy import func, select

    from portal.extensions import db
    from portal.mail import outbox
    from portal.mail.models import DeliveryAttempt

    instance = tmp / f"outbox-{label}"
    db_url = url or f"sqlite:///{instance}.db"
    fresh_database(label, db_url, instance)
    smtp_settings = {"MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": server.port, "MAIL_TIMEOUT": 10}
    app = make_app(instance, db_url, **smtp_settings)
    queued, seconds = queue_notifications(app, args.outbox, batch=100)
    size = sum(len(raw) for _, _, raw in queued) / len(queued) / 1024
    print(f"\n[{label}] outbox: {len(queued)} notifications ({size:.1f} KiB each) queued with mail.queue() in "
          f"{seconds:.1f}s = {len(queued) / seconds:.0f}/s")
    lines = []  # printed once the baseline is known: it is measured before and after the runs

    # Baseline, first half of the bracket.
    before, before_cpu = smtplib_baseline(server, queued, label)

    server.reset()
    with app.app_context():
        cpu, started = time.process_time(), time.perf_counter()
        report = outbox.deliver_due()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        db.session.remove()
    ok, detail = check_received(server, queued)
    verdict = check(ok and report.sent == len(queued), f"deliver_due {label}: {detail}")
    lines.append(lambda base, base_cpu: (
        f"  deliver_due() in-process: {report.sent} sent in {elapsed:.1f}s = {len(queued) / elapsed:.0f} messages/s "
        f"= {len(queued) / elapsed / base:.2f}x the baseline; CPU {cpu / len(queued) * 1000:.2f} ms a message "
        f"= {cpu / base_cpu:.1f}x the baseline's ({detail}): {verdict}"))

    for workers in sorted({1, args.workers}):
        queued_now, _ = queue_notifications(app, args.outbox, batch=100)
        server.reset()
        with app.app_context():
            first_attempt = db.session.scalar(select(func.max(DeliveryAttempt.id))) or 0
            db.session.remove()
        env = environment(instance, db_url, **smtp_settings)
        started = time.perf_counter()
        processes = [subprocess.Popen([portal_command(), "mail", "send"], env=env, cwd=REPO,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for _ in range(workers)]
        outputs = [process.communicate() for process in processes]
        elapsed_now = time.perf_counter() - started
        codes = [process.returncode for process in processes]
        ok, detail_now = check_received(server, queued_now)
        window = server.received()[1]
        with app.app_context():
            shares = sorted((n for _, n in db.session.execute(
                select(DeliveryAttempt.worker, func.count()).where(DeliveryAttempt.id > first_attempt)
                .group_by(DeliveryAttempt.worker))), reverse=True)
            db.session.remove()
        shares += [0] * (workers - len(shares))
        left = statuses(app)
        verdict_now = check(ok and all(code == 0 for code in codes) and set(left) == {"sent"},
                            f"{workers} workers {label}: {detail_now}, exit codes {codes}, statuses {left}")
        if any(codes):
            print("\n".join(err[-2000:] for _, err in outputs))
        lines.append(lambda base, base_cpu, workers=workers, elapsed=elapsed_now, window=window, shares=shares,
                     detail=detail_now, verdict=verdict_now, n=len(queued_now): (
            f"  {workers} x portal mail send (processes at once): {n} in {elapsed:.1f}s with start-up = "
            f"{n / elapsed:.0f} messages/s = {n / elapsed / base:.2f}x the baseline; from the server's first message "
            f"to its last {window:.1f}s = {n / window:.0f}/s = {n / window / base:.2f}x; sent per process "
            f"{'/'.join(map(str, shares))} ({detail}): {verdict}"))

    after, after_cpu = smtplib_baseline(server, queued, label)
    close(app)
    base, base_cpu = 2 * len(queued) / (before + after), (before_cpu + after_cpu) / 2
    print(f"  baseline, smtplib over one connection (before and after the runs): {base:.0f} messages/s "
          f"({len(queued) / before:.0f} and {len(queued) / after:.0f}), CPU {base_cpu / len(queued) * 1000:.2f} ms "
          "a message")
    for line in lines:
        print(line(base, base_cpu))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1000, help="messages to fetch")
    parser.add_argument("--orgs", type=int, default=4)
    parser.add_argument("--customers", type=int, help="default: messages / 12, at least 40 (each stays under the "
                                                       "per-sender limit of 30 an hour)")
    parser.add_argument("--seed-tickets", type=int, default=200, help="tickets the answers go to")
    parser.add_argument("--outbox", type=int, default=2000, help="notifications to deliver")
    parser.add_argument("--workers", type=int, default=4, help="concurrent `portal mail send` processes")
    parser.add_argument("--skip", choices=["fetch", "outbox"], action="append", default=[])
    parser.add_argument("--postgres", help="a PostgreSQL URL (default: from PG* variables if set)")
    parser.add_argument("--serve-smtp", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_smtp:
        serve_smtp()
        return
    args.postgres = args.postgres or pg.url_from_environment()
    args.customers = max(args.customers or max(40, args.messages // 12), args.orgs)
    print(f"machine: {os.cpu_count()} cores; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    runs = [("SQLite", None)]
    if args.postgres:
        runs.append(("PostgreSQL", args.postgres))
    else:
        print("(no PostgreSQL: pass --postgres URL or run under pg_virtualenv for the second runs)")

    with tempfile.TemporaryDirectory(prefix="portal-mail-bench-") as tmp:
        tmp = Path(tmp)
        # The portal logs a line per message, as in production: to a file, not over the figures.
        logging.basicConfig(filename=tmp / "bench.log", level=logging.INFO)
        if "fetch" not in args.skip:
            from tests.servers import dovecot

            if not dovecot.installed():
                print("\n(no Dovecot: the fetch runs need Debian's dovecot-imapd)")
                problems.append("fetch not run: no Dovecot")
            else:
                folder = Path(tempfile.mkdtemp(prefix="portal-mail-bench-dovecot-"))
                mailboxes = Mailboxes(folder)
                try:
                    for label, url in runs:
                        bench_fetch(label, url, tmp, mailboxes, args, rng_seed=11)
                finally:
                    mailboxes.stop()
                    shutil.rmtree(folder, ignore_errors=True)
        if "outbox" not in args.skip:
            server = SMTPProcess()
            try:
                for label, url in runs:
                    bench_outbox(label, url, tmp, server, args)
            finally:
                server.stop()
    if problems:
        print("\nFAILED:\n  " + "\n  ".join(problems))
        sys.exit(1)
    print("\nall checks passed")


if __name__ == "__main__":
    main()
