#!/usr/bin/env python
"""Hardening: a mixed load on gunicorn (4 sync workers) on PostgreSQL, one worker killed mid-run.

For --seconds (default 60), real HTTP sessions work a fresh instance at once: customers sign in
and file tickets through the form with a small attachment (PNG, PDF or text log) and reply on
them; API customers file with a token (Idempotency-Key), attach a file and reply; agents open
the queue and tickets, report in as viewers, reply and change the status; and two agents race
on one ticket's status, both posting the same moment. At --kill-at (default half-way) one
gunicorn worker gets SIGKILL: gunicorn starts another, and what was in flight on it fails with
a dropped connection, which the client counts apart (a filing is sent again, as a person or a
script would, and must not file twice). Only HTTP 5xx answers are server errors.

Afterwards, with gunicorn stopped, every acknowledged write must be in the database: a filing
(302 to its page, 201 from the API) as its ticket with its attachments, whose files are on disk
with the same size; a reply (302, 201) as its message and files; a status change (the page's
"Ticket updated.") as a status event by that agent. Each ticket's status events must form one
chain (each starts from the status the previous one set) ending at the ticket's status: an
event that starts from a status already left is an update that overwrote one it never saw, and
the overwritten change counts as a missing write.

    .venv/bin/python bench/hardening.py [--seconds 60] [--kill-at 30] [--postgres URL]
    make bench-hardening BENCH_ARGS="--seconds 10"   # under pg_virtualenv unless PGHOST is set

Without --postgres and PG* variables the script starts itself again under pg_virtualenv.
It exits 1 when there was a server error, a missing write, an inconsistent history or a failure
the kill does not explain.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import requests
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import pg  # noqa: E402  (bench/pg.py)
from serving import free_port, percentiles, serve  # noqa: E402  (bench/serving.py)
from tickets import DRAFT, PASSWORD, TOKEN  # noqa: E402  (bench/tickets.py: the form's hidden fields)

WORKERS = 4
STATUS = re.compile(r'class="status-badge status-(\w+)"')
SEEN = re.compile(r'name="seen_message_id" value="(\d+)"')
QUEUE_ROW = re.compile(r'data-ref="([^"]+)".*?class="status-badge status-(\w+)"', re.DOTALL)
FILED = re.compile(r"/tickets/([\d-]+)/filed")
# Gunicorn's own lines and the portal's logging (basicConfig) each start an entry of the error log.
LOG_ENTRY = re.compile(r"^(\[\d{4}-\d\d-\d\d |\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ )")
STAFF_TARGETS = ["open", "waiting_on_customer", "solved"]
SUBJECTS = ["Export to CSV fails", "Cannot log in after the reset", "Dashboard slow since Monday",
            "Invoice shows the wrong VAT", "Webhook deliveries stopped", "Backup job failed twice",
            "Report PDF is cut off", "Sync with the mobile app is stuck"]


# --- what the clients saw ------------------------------------------------------------------

@dataclass
class Failure:
    kind: str
    method: str
    url: str
    started: float
    ended: float
    what: str  # "HTTP 500", or the exception
    status: int | None = None
    body: str = ""


@dataclass
class Record:
    """Every request's kind, time and outcome, and the writes the portal acknowledged."""

    timings: dict = field(default_factory=lambda: collections.defaultdict(list))
    statuses: dict = field(default_factory=lambda: collections.defaultdict(collections.Counter))
    server_errors: list = field(default_factory=list)
    connection_failures: list = field(default_factory=list)
    filings: list = field(default_factory=list)  # (reference, channel, email, submission key or None, files)
    attachments: list = field(default_factory=list)  # (reference, email, [(id, name, size)])
    replies: list = field(default_factory=list)  # (reference, email, marker, files)
    status_changes: list = field(default_factory=list)  # (reference, email, status, raced)
    notes: collections.Counter = field(default_factory=collections.Counter)  # refusals and conflicts, by kind
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, what: str, *row) -> None:
        with self.lock:
            getattr(self, what).append(row)

    def note(self, what: str) -> None:
        with self.lock:
            self.notes[what] += 1


class Session:
    """One person's HTTP session (cookies; a token for the API). ``call`` answers the response,
    or None when the connection failed (recorded with its start and end, to be judged
    against the moment of the kill)."""

    def __init__(self, base: str, record: Record, email: str, token: str | None = None):
        self.base, self.record, self.email = base, record, email
        self.http = requests.Session()
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"
        self.csrf = ""

    def call(self, kind: str, method: str, path: str, **kwargs) -> requests.Response | None:
        kwargs.setdefault("allow_redirects", False)
        kwargs.setdefault("timeout", 30)
        started = time.monotonic()
        try:
            response = self.http.request(method, self.base + path, **kwargs)
        except requests.RequestException as exc:
            ended = time.monotonic()
            with self.record.lock:
                self.record.connection_failures.append(
                    Failure(kind, method, path, started, ended, f"{type(exc).__name__}: {exc}"[:300]))
                self.record.statuses[kind]["dropped"] += 1
            return None
        ended = time.monotonic()
        with self.record.lock:
            self.record.timings[kind].append(ended - started)
            self.record.statuses[kind][response.status_code] += 1
            if response.status_code >= 500:
                self.record.server_errors.append(Failure(kind, method, path, started, ended,
                                                         f"HTTP {response.status_code}", response.status_code,
                                                         response.text[:300]))
        if "text/html" in response.headers.get("Content-Type", ""):
            token = TOKEN.search(response.text)
            if token:
                self.csrf = token.group(1)
        return response

    def login(self) -> bool:
        page = self.call("sign in", "GET", "/login")
        if page is None or page.status_code != 200:
            return False
        answer = self.call("sign in", "POST", "/login",
                           data={"email": self.email, "password": PASSWORD, "csrf_token": self.csrf})
        return answer is not None and answer.status_code == 302

    def form(self, **data) -> dict:
        return {"csrf_token": self.csrf, **data}


# --- attachments -----------------------------------------------------------------------------

def attachment(rng: random.Random) -> tuple[str, bytes, str]:
    """A small file of one of the accepted kinds, different each time (so are the sizes)."""
    kind = rng.choice(("png", "pdf", "txt"))
    marker = uuid.uuid4().hex
    if kind == "png":
        out = io.BytesIO()
        Image.new("RGB", (rng.randint(20, 120), rng.randint(20, 80)),
                  tuple(rng.randrange(256) for _ in range(3))).save(out, "PNG")
        return f"screenshot-{marker[:6]}.png", out.getvalue(), "image/png"
    if kind == "pdf":
        text = f"Error report {marker}"
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET"
        body = ("%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
                "2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
                "3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >> endobj\n"
                f"4 0 obj << /Length {len(stream)} >> stream\n{stream}\nendstream endobj\ntrailer << /Root 1 0 R >>\n"
                "%%EOF\n")
        return f"report-{marker[:6]}.pdf", body.encode(), "application/pdf"
    lines = [f"2026-12-07T10:{n:02d}:00Z worker-{rng.randint(1, 9)} ERROR export failed id={marker}"
             for n in range(rng.randint(3, 40))]
    return f"export-{marker[:6]}.log", "\n".join(lines).encode(), "text/plain"


# --- the people ------------------------------------------------------------------------------

class Person(threading.Thread):
    def __init__(self, session: Session, deadline: float, think: float, seed: int):
        super().__init__(daemon=True)
        self.session, self.deadline, self.think = session, deadline, think
        self.rng = random.Random(seed)
        self.error: str | None = None

    def run(self) -> None:
        try:
            while time.monotonic() < self.deadline:
                if not self.step():
                    time.sleep(0.2)  # dropped, or nothing to do yet
                time.sleep(self.rng.uniform(0, self.think))
        except Exception as exc:  # a bug in the bench itself: say so, do not hide it
            self.error = f"{type(exc).__name__}: {exc}"
            raise


class WebCustomer(Person):
    """Files tickets through the form with an attachment; answers on its tickets."""

    def __init__(self, *args):
        super().__init__(*args)
        self.mine: list[str] = []

    def step(self) -> bool:
        if not self.session.csrf and not self.session.login():
            return False
        if self.mine and self.rng.random() < 0.4:
            return self.answer(self.rng.choice(self.mine[-10:]))
        return self.file()

    def file(self) -> bool:
        s = self.session
        page = s.call("customer: new-ticket form", "GET", "/tickets/new")
        if page is None or page.status_code != 200:
            return False
        name, data, mime = attachment(self.rng)
        technical = self.rng.random() < 0.3
        form = s.form(draft_key=DRAFT.search(page.text).group(1),
                      category="technical_issue" if technical else "question",
                      subject=f"{self.rng.choice(SUBJECTS)} ({uuid.uuid4().hex[:8]})",
                      description="Since this morning every attempt ends with the same error; the log is attached.",
                      impact=self.rng.choice(("low", "medium", "high")), urgency=self.rng.choice(("low", "medium")))
        if technical:
            form.update(steps_to_reproduce="Open Reports, pick November, press Export.", affected_account=s.email)
        for attempt in range(2):  # a dropped connection: the customer presses Submit again
            answer = s.call("customer: file (form + file)", "POST", "/tickets/new", data=form,
                            files={"files": (name, data, mime)})
            if answer is not None:
                break
        else:
            return False
        filed = FILED.search(answer.headers.get("Location", "")) if answer.status_code == 302 else None
        if not filed:
            s.record.note(f"form filing answered {answer.status_code}")
            return False
        self.mine.append(filed.group(1))
        s.record.add("filings", filed.group(1), "web", s.email, form["draft_key"], [(name, len(data))])
        return True

    def answer(self, reference: str) -> bool:
        s = self.session
        page = s.call("customer: open ticket", "GET", f"/tickets/{reference}")
        if page is None or page.status_code != 200:
            return False
        status = STATUS.search(page.text).group(1)
        if status == "closed":
            self.mine.remove(reference)
            return True
        marker = f"hb-{uuid.uuid4().hex}"
        files = {}
        if self.rng.random() < 0.3:
            name, data, mime = attachment(self.rng)
            files = {"files": (name, data, mime)}
        answer = s.call("customer: reply", "POST", f"/tickets/{reference}/reply",
                        data=s.form(body=f"Here is more detail ({marker})."), files=files or None)
        if answer is None:
            return False
        if answer.status_code != 302:
            s.record.note(f"customer reply answered {answer.status_code}")  # e.g. 422: closed meanwhile
            return False
        sent = [(files["files"][0], len(files["files"][1]))] if files else []
        s.record.add("replies", reference, s.email, marker, sent)
        return True


class ApiCustomer(Person):
    """Files with its token (an Idempotency-Key, sent again after a dropped connection),
    attaches a file to the new ticket, and replies on its tickets."""

    def __init__(self, *args):
        super().__init__(*args)
        self.mine: list[str] = []

    def step(self) -> bool:
        if self.mine and self.rng.random() < 0.3:
            return self.answer(self.rng.choice(self.mine[-10:]))
        return self.file()

    def file(self) -> bool:
        s = self.session
        key = str(uuid.uuid4())
        body = {"subject": f"{self.rng.choice(SUBJECTS)} (api {key[:8]})", "category": "question",
                "description": "Our monitoring script noticed the failure and filed this ticket.",
                "impact": "medium", "urgency": self.rng.choice(("low", "high"))}
        for attempt in range(5):
            answer = s.call("api: file", "POST", "/api/v1/tickets", json=body, headers={"Idempotency-Key": key})
            if answer is not None and answer.status_code == 409 and "in-progress" in answer.text:
                s.record.note("api filing: request in progress, retried")  # the first try still runs
                time.sleep(float(answer.headers.get("Retry-After", 1)))
                continue
            if answer is not None:
                break
        else:
            return False
        if answer.status_code != 201:
            s.record.note(f"api filing answered {answer.status_code}")
            return False
        reference = answer.json()["reference"]
        if answer.headers.get("Idempotent-Replayed"):
            s.record.note("api filing replayed after a dropped connection")
        self.mine.append(reference)
        s.record.add("filings", reference, "api", s.email, None, [])
        name, data, mime = attachment(self.rng)
        answer = s.call("api: attach", "POST", f"/api/v1/tickets/{reference}/attachments",
                        files={"files": (name, data, mime)})
        if answer is not None and answer.status_code == 201:
            s.record.add("attachments", reference, s.email,
                         [(a["id"], a["filename"], a["size"]) for a in answer.json()["attachments"]])
        elif answer is not None:
            s.record.note(f"api attach answered {answer.status_code}")
        return True

    def answer(self, reference: str) -> bool:
        s = self.session
        marker = f"hb-{uuid.uuid4().hex}"
        answer = s.call("api: reply", "POST", f"/api/v1/tickets/{reference}/replies",
                        json={"body": f"The script saw it again ({marker})."})
        if answer is None:
            return False
        if answer.status_code != 201:
            s.record.note(f"api reply answered {answer.status_code}")
            if answer.status_code == 422:
                self.mine.remove(reference)  # closed
            return False
        s.record.add("replies", reference, s.email, marker, [])
        return True


def queue(session: Session, query: str = "") -> list[tuple[str, str]]:
    """The agent's queue page: (reference, status) of its rows."""
    page = session.call("agent: queue", "GET", "/agent/" + query)
    if page is None or page.status_code != 200:
        return []
    return list(dict.fromkeys(QUEUE_ROW.findall(page.text)))


def open_ticket(session: Session, reference: str) -> tuple[str, str] | None:
    """The ticket page as an agent opens it, and the viewers report it sends: (status, last message id)."""
    page = session.call("agent: open ticket", "GET", f"/tickets/{reference}")
    if page is None or page.status_code != 200:
        return None
    session.call("agent: viewers (htmx)", "POST", f"/tickets/{reference}/viewers",
                 headers={"HX-Request": "true", "X-CSRFToken": session.csrf})
    seen = SEEN.search(page.text)
    return STATUS.search(page.text).group(1), seen.group(1) if seen else "0"


def agent_reply(session: Session, reference: str, seen: str) -> bool:
    marker = f"hb-{uuid.uuid4().hex}"
    data = session.form(body=f"Thanks, we are looking into it ({marker}).", seen_message_id=seen)
    answer = session.call("agent: reply", "POST", f"/tickets/{reference}/reply", data=data)
    if answer is not None and answer.status_code == 409:  # the customer wrote meanwhile: read it, send again
        session.record.note("agent reply: the customer wrote meanwhile (409), sent again")
        answer = session.call("agent: reply", "POST", f"/tickets/{reference}/reply", data={**data, "confirm_newer": "1"})
    if answer is None:
        return False
    if answer.status_code != 302:
        session.record.note(f"agent reply answered {answer.status_code}")
        return False
    session.record.add("replies", reference, session.email, marker, [])
    return True


def change_status(session: Session, reference: str, status: str, kind: str, raced: bool) -> bool:
    answer = session.call(kind, "POST", f"/tickets/{reference}/update",
                          data=session.form(field="status", value=status))
    if answer is None:
        return False
    if answer.status_code != 302:
        session.record.note(f"status change answered {answer.status_code}")
        return False
    page = session.call(kind + " (its page)", "GET", answer.headers["Location"].removeprefix(session.base))
    if page is None:
        session.record.note("status change: its page was dropped, outcome unknown")
        return False
    if "flash-success" not in page.text:
        session.record.note("status change refused (flash error)")
        return False
    session.record.add("status_changes", reference, session.email, status, raced)
    return True


class Agent(Person):
    """Works the queue: opens a ticket, answers it or moves its status."""

    def step(self) -> bool:
        s = self.session
        if not s.csrf and not s.login():
            return False
        # The queue's first rows are the newest tickets (their first-response clock runs): half the
        # time the agent works answered ones instead, so statuses move too.
        rows = queue(s, "?status=" + self.rng.choice(("open", "waiting_on_customer"))) \
            if self.rng.random() < 0.5 else []
        rows = rows or queue(s)
        if not rows:
            return False
        reference, _status = self.rng.choice(rows[:30])
        opened = open_ticket(s, reference)
        if opened is None:
            return False
        status, seen = opened
        if status == "new" or self.rng.random() < 0.3:
            return agent_reply(s, reference, seen)
        weights = {"open": 3, "waiting_on_customer": 3, "solved": 3, "closed": 1}
        choices = [k for k in weights if k != status]
        target = self.rng.choices(choices, [weights[k] for k in choices])[0]
        return change_status(s, reference, target, "agent: change status", raced=False)


class Racers(Person):
    """Two agents with the same ticket open post two different statuses the same moment."""

    def __init__(self, session: Session, other: Session, *args):
        super().__init__(session, *args)
        self.other = other
        self.raced: set[str] = set()

    def step(self) -> bool:
        first, second = self.session, self.other
        for s in (first, second):
            if not s.csrf and not s.login():
                return False
        rows = queue(first, "?status=open") or queue(first)  # answered tickets; else one to answer first
        if not rows:
            return False
        reference, _status = self.rng.choice(rows[:10])
        opened = [open_ticket(s, reference) for s in (first, second)]
        if None in opened:
            return False
        status, seen = opened[0]
        if status == "new":
            return agent_reply(first, reference, seen)  # answered first: it may then wait, be solved
        targets = self.rng.sample([t for t in STAFF_TARGETS if t != status], 2)
        barrier = threading.Barrier(2)

        def post(s, target):
            try:
                barrier.wait(timeout=10)
            except threading.BrokenBarrierError:
                return
            change_status(s, reference, target, "racing agents: change status", raced=True)

        pair = [threading.Thread(target=post, args=(s, t)) for s, t in zip((first, second), targets)]
        for t in pair:
            t.start()
        for t in pair:
            t.join()
        self.raced.add(reference)
        return True


# --- the server ----------------------------------------------------------------------------

def workers_of(master: int) -> list[int]:
    """gunicorn's workers: the master's children, from /proc."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                children.append(int(entry.name))
    return sorted(children)


class Killer(threading.Thread):
    def __init__(self, master: int, at: float, started: float, rng: random.Random):
        super().__init__(daemon=True)
        self.master, self.at, self.started, self.rng = master, at, started, rng
        self.killed: int | None = None
        self.when: float | None = None  # monotonic
        self.back_after: float | None = None  # seconds until gunicorn had all its workers again

    def run(self) -> None:
        time.sleep(max(0.0, self.started + self.at - time.monotonic()))
        workers = workers_of(self.master)
        if not workers:
            return
        self.killed = self.rng.choice(workers)
        self.when = time.monotonic()
        os.kill(self.killed, signal.SIGKILL)
        while time.monotonic() < self.when + 30:
            time.sleep(0.1)
            now = workers_of(self.master)
            if len(now) >= WORKERS and self.killed not in now:
                self.back_after = time.monotonic() - self.when
                return


def log_entries(path: Path) -> list[str]:
    entries: list[str] = []
    for line in path.read_text(errors="replace").splitlines():
        if LOG_ENTRY.match(line) or not entries:
            entries.append(line)
        else:
            entries[-1] += "\n" + line
    return entries


# --- the instance ----------------------------------------------------------------------------

def prepare(database_url: str, tmp: Path, customers: int, api_customers: int, agents: int) -> dict[str, str]:
    """Migrate; one organization (premium: a 24x7 calendar), its customers, agents and API tokens.
    Answers each API customer's token by email."""
    from flask_migrate import upgrade

    from portal import create_app
    from portal.api import services as api_services
    from portal.auth import services as auth
    from portal.auth.models import Role
    from portal.extensions import db
    from portal.kb.search import reindex
    from portal.plans import history

    reindex(REPO / "kb", tmp / "index", full=True)
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench", "KB_AUTO_REINDEX": False,
                      "INDEX_DIR": str(tmp / "index")})
    tokens = {}
    with app.app_context():
        quiet = io.StringIO()
        try:
            with contextlib.redirect_stderr(quiet):  # alembic's INFO lines
                upgrade(directory=str(REPO / "portal" / "migrations"))
        except Exception:
            print(quiet.getvalue(), file=sys.stderr)
            raise
        org = history.create_organization("Hardening Org", "premium", date(2025, 1, 1))
        for i in range(customers):
            auth.create_user(f"customer{i}@hardening.example.com", PASSWORD, Role.CUSTOMER, organization=org)
        for i in range(api_customers):
            user = auth.create_user(f"script{i}@hardening.example.com", PASSWORD, Role.CUSTOMER, organization=org)
            tokens[user.email] = api_services.create_token(user, "hardening bench")[1]
        for i in range(agents):
            auth.create_user(f"agent{i}@hardening.example.com", PASSWORD, Role.AGENT, name=f"Agent {i}")
        db.engine.dispose()
    return tokens


def environment(tmp: Path, database_url: str) -> dict:
    unlimited = "1000000 per minute"  # the bench measures failures, not the API's rate limits
    return {**os.environ, "PORTAL_INSTANCE_PATH": str(tmp / "instance"), "PORTAL_DATABASE_URL": database_url,
            "PORTAL_INDEX_DIR": str(tmp / "index"), "PORTAL_UPLOAD_DIR": str(tmp / "uploads"),
            "PORTAL_SECRET_KEY": "bench", "PORTAL_KB_AUTO_REINDEX": "false",
            "PORTAL_API_RATE_LIMIT": unlimited, "PORTAL_API_RATE_LIMIT_FILING": unlimited}


# --- the check -------------------------------------------------------------------------------

@dataclass
class Check:
    checked: collections.Counter = field(default_factory=collections.Counter)
    missing: list = field(default_factory=list)  # (kind, what)
    lost: list = field(default_factory=list)  # (reference, raced, the overwritten event, the one that overwrote it)
    inconsistent: list = field(default_factory=list)


def check_database(database_url: str, upload_dir: Path, record: Record, raced: set[str]) -> Check:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as conn:
        tickets = {r.reference: r for r in conn.execute(text(
            "SELECT t.id, t.reference, t.submission_key, t.status, t.channel, u.email FROM tickets t "
            "JOIN users u ON u.id = t.requester_id"))}
        files = conn.execute(text("SELECT id, ticket_id, message_id, filename, stored_name, size "
                                  "FROM ticket_attachments")).all()
        messages = conn.execute(text("SELECT m.id, m.ticket_id, m.body, u.email FROM ticket_messages m "
                                     "JOIN users u ON u.id = m.author_id")).all()
        events = conn.execute(text("SELECT e.id, e.ticket_id, e.old_value, e.new_value, u.email FROM ticket_events e "
                                   "LEFT JOIN users u ON u.id = e.actor_id WHERE e.kind = 'status' ORDER BY e.id")).all()
    engine.dispose()
    result = Check()

    def on_disk(row) -> bool:
        path = upload_dir / row.stored_name
        return path.is_file() and path.stat().st_size == row.size

    files_of = collections.defaultdict(list)
    for row in files:
        files_of[(row.ticket_id, row.message_id)].append(row)
    by_id = {row.id: row for row in files}
    for reference, channel, email, key, sent in record.filings:
        result.checked["filings"] += 1
        ticket = tickets.get(reference)
        if ticket is None or ticket.email != email or (key is not None and ticket.submission_key != key):
            result.missing.append(("filing", f"{reference} ({channel}, {email})"))
            continue
        stored = files_of[(ticket.id, None)]
        for name, size in sent:
            result.checked["attachment files"] += 1
            if not any(r.filename == name and r.size == size and on_disk(r) for r in stored):
                result.missing.append(("attachment", f"{name} ({size} bytes) of {reference}"))
    for reference, email, sent in record.attachments:
        for attachment_id, name, size in sent:
            result.checked["attachment files"] += 1
            row = by_id.get(attachment_id)
            ticket = tickets.get(reference)
            if row is None or ticket is None or row.ticket_id != ticket.id or row.size != size or not on_disk(row):
                result.missing.append(("attachment", f"#{attachment_id} {name} ({size} bytes) of {reference}"))
    for reference, email, marker, sent in record.replies:
        result.checked["replies"] += 1
        ticket = tickets.get(reference)
        found = [m for m in messages if ticket is not None and m.ticket_id == ticket.id and marker in m.body
                 and m.email == email]
        if len(found) != 1:
            result.missing.append(("reply", f"{marker} on {reference} by {email}: {len(found)} messages"))
            continue
        for name, size in sent:
            result.checked["attachment files"] += 1
            if not any(r.filename == name and r.size == size and on_disk(r)
                       for r in files_of[(ticket.id, found[0].id)]):
                result.missing.append(("attachment", f"{name} ({size} bytes) of a reply on {reference}"))

    chains = collections.defaultdict(list)
    for row in events:
        chains[row.ticket_id].append(row)
    overwritten = set()
    for reference, ticket in tickets.items():
        chain, previous = chains[ticket.id], "new"
        for before, event in zip([None] + chain, chain):
            if event.old_value != previous:
                result.lost.append((reference, reference in raced, before, event))
                overwritten.add(before.id if before is not None else None)
            previous = event.new_value
        if ticket.status != previous:
            result.inconsistent.append(f"{reference}: status {ticket.status}, its last status event says {previous}")
    for reference, email, status, raced_change in record.status_changes:
        result.checked["status changes"] += 1
        ticket = tickets.get(reference)
        chain = chains[ticket.id] if ticket is not None else []
        own = [e for e in chain if e.email == email and e.new_value == status]
        if not own and not any(e.new_value == status for e in chain):  # else: another agent had set it first
            result.missing.append(("status change", f"{reference} to {status} by {email}"))
        elif own and all(e.id in overwritten for e in own):
            result.missing.append(("status change", f"{reference} to {status} by {email}: overwritten unseen"
                                   + (" (racing agents)" if raced_change else "")))
    return result


# --- the report ------------------------------------------------------------------------------

def exception_summary(entry: str) -> str:
    lines = [line for line in entry.splitlines() if line.strip()]
    last = next((line for line in reversed(lines) if re.match(r"^[\w.]+(Error|Exception|Warning)\b|^\w[\w.]*: ", line)),
                lines[-1])
    where = [line.strip() for line in lines if line.strip().startswith('File "') and "/portal/" in line]
    return f"{last.strip()[:200]}" + (f"  (last portal frame: {where[-1]})" if where else "")


def report(record: Record, killer: Killer, elapsed: float, log: list[str], check: Check, show: int) -> int:
    print(f"\n{'requests':<44} {'count':>6} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8}  answers")
    total = 0
    for kind in sorted(record.statuses):
        timings, answers = record.timings.get(kind, []), record.statuses[kind]
        total += sum(answers.values())
        p50, p95 = percentiles(timings) if timings else (0, 0)
        shown = ", ".join(f"{k}: {v}" for k, v in sorted(answers.items(), key=lambda kv: str(kv[0])))
        print(f"  {kind:<42} {sum(answers.values()):>6} {sum(answers.values()) / elapsed:>7.1f} "
              f"{p50:>8.1f} {p95:>8.1f}  {shown}")
    print(f"  {'all':<42} {total:>6} {total / elapsed:>7.1f}")
    if record.notes:
        print("\nanswers that are no error (refused, conflicts, retries):")
        for what, count in record.notes.most_common():
            print(f"  {count:>5}  {what}")

    if killer.killed:
        back = f"gunicorn forked its replacement {killer.back_after:.1f}s later" if killer.back_after else \
            f"gunicorn did NOT have {WORKERS} workers again within 30s"
        print(f"\nworker {killer.killed} got SIGKILL at {killer.when - killer.started:.1f}s; {back}")
    else:
        print("\nno worker was killed")
    in_flight = [f for f in record.connection_failures
                 if killer.when is not None and f.started <= killer.when <= f.ended + 0.05]
    other = [f for f in record.connection_failures if f not in in_flight]
    print(f"connection dropped by the killed worker: {len(in_flight)}"
          + "".join(f"\n  {f.kind}: {f.method} {f.url}: {f.what[:120]}" for f in in_flight))
    if other:
        print(f"OTHER connection failures (not in flight at the kill): {len(other)}")
        for f in other[:show]:
            print(f"  {f.started - killer.started:6.1f}s {f.kind}: {f.method} {f.url}: {f.what}")

    errors = record.server_errors
    print(f"\nserver errors (HTTP 5xx): {len(errors)}")
    tracebacks = [e for e in log if "Exception on " in e or "Traceback" in e]
    used = set()
    for n, error in enumerate(errors):
        needle = f"Exception on {error.url.split('?')[0]} [{error.method}]"
        match = next((i for i, e in enumerate(tracebacks) if i not in used and needle in e), None)
        if match is not None:
            used.add(match)
        if n < show:
            print(f"  {error.started - killer.started:6.1f}s {error.kind}: {error.method} {error.url} -> {error.what}")
            if match is None:
                print("    (no traceback in the gunicorn log for it)")
            else:
                lines = [line for line in tracebacks[match].splitlines() if line.strip(" ^~")]  # not the carets
                print("    " + "\n    ".join(lines if len(lines) <= 14 else lines[:1] + ["..."] + lines[-12:]))
    if tracebacks:
        print("\ntracebacks in the gunicorn log, by exception:")
        for what, count in collections.Counter(exception_summary(e) for e in tracebacks).most_common():
            print(f"  {count:>4}x {what}")
    kills = [e for e in log if "SIGKILL" in e or "WORKER TIMEOUT" in e]
    if kills:
        print("gunicorn log about workers: " + "; ".join(e.strip()[:160] for e in kills[:4]))

    print("\nacknowledged writes checked in the database: "
          + ", ".join(f"{v} {k}" for k, v in check.checked.items()) + f"; missing: {len(check.missing)}")
    for kind, what in check.missing[:show * 2]:
        print(f"  MISSING {kind}: {what}")
    raced_lost = sum(1 for _ref, raced, _b, _e in check.lost if raced)
    print(f"status history: {len(check.lost)} status changes overwritten by one that started from a status already "
          f"left (lost updates; {raced_lost} on the racing agents' tickets), "
          f"{len(check.inconsistent)} tickets whose status is not their last status event")
    for reference, raced, before, event in check.lost[:show]:
        print(f"  {reference}{' (raced)' if raced else ''}: "
              f"{before.old_value if before else '-'} -> {before.new_value if before else 'new'} by "
              f"{before.email if before else '-'}, then {event.old_value} -> {event.new_value} by {event.email}")
    for line in check.inconsistent[:show]:
        print(f"  {line}")
    missing = len(check.missing)
    print(f"\nserver errors: {len(errors)}, missing writes: {missing}")
    return 1 if errors or missing or other or check.inconsistent else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--kill-at", type=float, help="seconds into the run (default: half-way; negative: no kill)")
    parser.add_argument("--customers", type=int, default=3, help="customers filing through the form")
    parser.add_argument("--api-customers", type=int, default=2, help="scripts filing through the API")
    parser.add_argument("--agents", type=int, default=3, help="agents working the queue (plus the 2 racing agents)")
    parser.add_argument("--think", type=float, default=0.2, help="each person waits up to this long between actions")
    parser.add_argument("--show", type=int, default=5, help="how many server errors etc. to show in full")
    parser.add_argument("--postgres", help="a PostgreSQL URL, emptied first (default: from PG* variables; without "
                                           "them the script runs itself under pg_virtualenv)")
    parser.add_argument("--keep-log", type=Path, help="copy gunicorn's error log here")
    args = parser.parse_args()
    args.postgres = args.postgres or pg.url_from_environment()
    if not args.postgres:
        if shutil.which("pg_virtualenv") and not os.environ.get("HARDENING_UNDER_PG_VIRTUALENV"):
            os.environ["HARDENING_UNDER_PG_VIRTUALENV"] = "1"
            os.execvp("pg_virtualenv", ["pg_virtualenv", "-o", "fsync=off", sys.executable, *sys.argv])
        parser.error("no PostgreSQL: pass --postgres URL, or install pg_virtualenv (postgresql-common)")
    kill_at = args.seconds / 2 if args.kill_at is None else args.kill_at
    rng = random.Random(14)
    print(f"machine: {os.cpu_count()} cores; gunicorn, {WORKERS} sync workers on 127.0.0.1; PostgreSQL; "
          f"{args.seconds:.0f}s of {args.customers} form customers, {args.api_customers} API scripts, "
          f"{args.agents} agents and 2 racing agents"
          + (f"; one worker killed at {kill_at:.0f}s" if kill_at >= 0 else ""))

    with tempfile.TemporaryDirectory(prefix="portal-hardening-bench-") as tmp:
        tmp = Path(tmp)
        pg.empty(args.postgres)
        tokens = prepare(args.postgres, tmp, args.customers, args.api_customers, args.agents + 2)
        port = free_port()
        log_path = tmp / "gunicorn.log"
        record = Record()
        with open(log_path, "w") as log_file:
            server = serve(environment(tmp, args.postgres), port, workers=WORKERS, threads=1, stderr=log_file)
            try:
                base = f"http://127.0.0.1:{port}"
                started = time.monotonic()
                deadline = started + args.seconds
                people = [WebCustomer(Session(base, record, f"customer{i}@hardening.example.com"),
                                      deadline, args.think, i) for i in range(args.customers)]
                people += [ApiCustomer(Session(base, record, email, token), deadline, args.think, 100 + i)
                           for i, (email, token) in enumerate(tokens.items())]
                people += [Agent(Session(base, record, f"agent{i}@hardening.example.com"), deadline, args.think,
                                 200 + i) for i in range(args.agents)]
                racers = Racers(Session(base, record, f"agent{args.agents}@hardening.example.com"),
                                Session(base, record, f"agent{args.agents + 1}@hardening.example.com"),
                                deadline, args.think, 300)
                people.append(racers)
                killer = Killer(server.pid, kill_at, started, rng)
                for person in people:
                    person.start()
                if kill_at >= 0:
                    killer.start()
                for person in people:
                    person.join()
                elapsed = time.monotonic() - started
            finally:
                server.terminate()
                server.wait(30)
        if args.keep_log:
            shutil.copy(log_path, args.keep_log)
        broken = [p.error for p in people if p.error]
        if broken:
            print("\nBENCH BUG: client threads stopped early: " + "; ".join(broken))
        check = check_database(args.postgres, tmp / "uploads", record, racers.raced)
        code = report(record, killer, elapsed, log_entries(log_path), check, args.show)
        return code or (1 if broken else 0)


if __name__ == "__main__":
    sys.exit(main())
