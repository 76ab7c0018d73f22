#!/usr/bin/env python
"""Agents' workspace benchmark: p50/p95 of the first queue page, filtered pages and a
text search over N tickets (default 100,000), and of the analytics page over M
recorded searches (default 1,000,000) with their suggestions and votes, after the
analytics rollup has counted the ended days, on SQLite
and (with --postgres URL or under pg_virtualenv) on PostgreSQL. Requests go
through the whole app (routing, session, queries, SLA clocks, templates) in one
process.

    .venv/bin/python bench/agent.py [--tickets 100000] [--searches 1000000] [--postgres postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import pg  # noqa: E402  (bench/pg.py)

PASSWORD = "bench-password-1"
WORDS = ("export report invoice login password dashboard import csv pdf timeout error slow sync email "
         "quota backup restore permission user role filter search chart api token webhook").split()


def seed(app, tickets: int, rng: random.Random) -> None:
    from sqlalchemy import insert

    from portal.auth import services as auth
    from portal.auth.models import Role
    from portal.extensions import db
    from portal.plans import history
    from portal.tickets.models import NO_CLOCK, Ticket

    plans = ("standard", "premium", "prepaid")
    orgs = [history.create_organization(f"Org {i}", plans[i % 3], date(2025, 1, 1),
                                        timezone=("Europe/Madrid", "UTC", "America/New_York")[i % 3])
            for i in range(200)]
    customers = [auth.create_user(f"c{i}@bench.example.com", PASSWORD, Role.CUSTOMER, organization=orgs[i % 200])
                 for i in range(400)]
    agents = [auth.create_user(f"agent{i}@bench.example.com", PASSWORD, Role.AGENT, name=f"Agent {i:02d}")
              for i in range(20)]
    now = datetime.now(UTC).replace(tzinfo=None)
    statuses = ["new"] * 2 + ["open"] * 4 + ["waiting_on_customer"] * 2 + ["solved"] + ["closed"] * 11
    rows = []
    for n in range(tickets):
        customer = customers[n % len(customers)]
        created = now - timedelta(minutes=rng.randint(0, 60 * 24 * 365))
        status = rng.choice(statuses)
        answered = status != "new" and rng.random() < 0.9
        due = created + timedelta(hours=rng.choice((1, 3, 8, 24)))
        running = status in ("new", "open") and not answered
        priority = rng.choice(("P1", "P2", "P3", "P4"))
        rows.append(dict(
            reference=f"{created.year}-{n:05d}" if n < 100000 else f"{created.year}-{n}", plan=plans[n % 200 % 3],
            organization_id=customer.organization_id, requester_id=customer.id,
            assignee_id=rng.choice(agents).id if rng.random() < 0.7 else None,
            category=rng.choice(("technical_issue", "question", "feature_request", "training_request")),
            subject=" ".join(rng.sample(WORDS, 4)).capitalize(), description=" ".join(rng.choices(WORDS, k=40)),
            impact="medium", urgency="medium", computed_priority=priority, priority=priority, status=status,
            lang="en", submission_key=f"bench-{n}", created_at=created, updated_at=created,
            first_response_due=due, first_response_at=created + timedelta(minutes=30) if answered else None,
            sla_paused_seconds=0, escalated_to_development=False, caused_by_bug=False,
            sla_next_due=due if running else NO_CLOCK,
        ))
        if len(rows) == 5000:
            db.session.execute(insert(Ticket), rows)
            rows = []
    if rows:
        db.session.execute(insert(Ticket), rows)
    db.session.commit()


def seed_analytics(searches: int, rng: random.Random) -> None:
    """Recorded searches over the last year (a tenth found nothing), a suggestion event
    per ten searches, and votes: what a busy help center collects."""
    from sqlalchemy import insert

    from portal.extensions import db
    from portal.kb.models import ArticleVote, SearchEvent
    from portal.tickets.models import Suggestion

    now = datetime.now(UTC).replace(tzinfo=None)
    slugs = [f"article-{i:04d}" for i in range(400)]
    user_id = db.session.scalar(db.text("SELECT id FROM users WHERE email = 'c1@bench.example.com'"))
    org_id = db.session.scalar(db.text("SELECT organization_id FROM users WHERE id = :u"), {"u": user_id})
    batch, suggestions, votes = [], [], []
    for n in range(searches):
        at = now - timedelta(seconds=rng.randint(0, 365 * 86400))
        words = " ".join(rng.sample(WORDS, rng.randint(1, 3)))
        batch.append(dict(query=words, normalized=words, lang="en", result_count=0 if n % 10 == 0 else rng.randint(1, 40),
                          created_at=at, updated_at=at))
        if n % 10 == 0:
            action = rng.choice(("shown", "shown", "shown", "opened", "rejected", "solved"))
            suggestions.append(dict(draft_key=f"d{n // 40}", user_id=user_id, organization_id=org_id,
                                    slug=rng.choice(slugs), action=action, rank=1, created_at=at))
        if n % 50 == 0:
            votes.append(dict(slug=rng.choice(slugs), voter=f"v{n}", helpful=rng.random() < 0.7, created_at=at,
                              updated_at=at))
        if len(batch) == 20000:
            db.session.execute(insert(SearchEvent), batch)
            batch = []
    if batch:
        db.session.execute(insert(SearchEvent), batch)
    # Suggestions are unique per (draft, slug, action): keep the first of each.
    unique = {(s["draft_key"], s["slug"], s["action"]): s for s in suggestions}
    db.session.execute(insert(Suggestion), list(unique.values()))
    db.session.execute(insert(ArticleVote), votes)
    db.session.commit()


def measure(client, path: str, count: int) -> tuple[float, float, int]:
    timings = []
    rows = 0
    for _ in range(count):
        start = time.perf_counter()
        response = client.get(path)
        timings.append(time.perf_counter() - start)
        assert response.status_code == 200, (path, response.status_code)
        rows = len(re.findall(r'class="queue-row', response.get_data(as_text=True)))
    timings.sort()
    return statistics.median(timings) * 1000, timings[int(0.95 * (len(timings) - 1))] * 1000, rows


def run(label: str, database_url: str, tickets: int, searches: int, tmp: Path) -> None:
    from flask_migrate import upgrade

    from portal import create_app
    from portal.extensions import db

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench", "KB_AUTO_REINDEX": False,
                      "INSTANCE_PATH": str(tmp / label), "WTF_CSRF_ENABLED": False})
    with app.app_context():
        upgrade(directory=str(REPO / "portal" / "migrations"))
        started = time.perf_counter()
        seed(app, tickets, random.Random(7))
        seed_analytics(searches, random.Random(8))
        print(f"\n{label}: {tickets:,} tickets and {searches:,} searches seeded in {time.perf_counter() - started:.0f}s")
        if database_url.startswith("postgresql"):
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()
        org_id = db.session.scalar(db.text("SELECT id FROM organizations WHERE name = 'Org 7'"))
        # What `portal analytics rollup` does from cron: first a whole year, then each hour one day again.
        from portal.kb.services import rollup_searches

        for run_name in ("first run, a year of days", "the next run (cron)"):
            started = time.perf_counter()
            days = len(rollup_searches())
            print(f"  analytics rollup, {run_name}: {days} day(s) in {(time.perf_counter() - started) * 1000:.0f} ms")
    client = app.test_client()
    client.post("/login", data={"email": "agent3@bench.example.com", "password": PASSWORD})
    cases = [
        ("first page", "/agent/", 200),
        ("mine, P1", "/agent/?assignee=mine&priority=P1", 200),
        ("one organization, overdue", f"/agent/?organization={org_id}&risk=breached", 200),
        ("unassigned, technical issues", "/agent/?assignee=none&category=technical_issue", 200),
        ("search two words", "/agent/?q=invoice+timeout", 50),
        ("all statuses, page 1", "/agent/?status=all", 100),
        ("analytics, last 90 days", "/agent/analytics", 20),
        ("analytics, last 365 days", "/agent/analytics?days=365", 10),
    ]
    client.get("/agent/")  # warm-up: templates, calendars
    client.get("/agent/analytics")
    print(f"  {'page':<32} {'rows':>5} {'p50 ms':>8} {'p95 ms':>8}")
    for name, path, count in cases:
        p50, p95, rows = measure(client, path, count)
        verdict = "" if path.startswith("/agent/analytics") else \
            f"   {'OK' if p95 <= 100 else 'OVER'} (target p95 <= 100 ms)"
        print(f"  {name:<32} {rows:>5} {p50:>8.1f} {p95:>8.1f}{verdict}")
    with app.app_context():
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--searches", type=int, default=1_000_000)
    parser.add_argument("--postgres", help="a PostgreSQL URL (default: from PG* variables if set)")
    args = parser.parse_args()
    args.postgres = args.postgres or pg.url_from_environment()
    print(f"machine: {os.cpu_count()} cores; the app in one process (Flask test client)")
    with tempfile.TemporaryDirectory(prefix="portal-agent-bench-") as tmp:
        tmp = Path(tmp)
        run("SQLite", f"sqlite:///{tmp / 'agent.db'}", args.tickets, args.searches, tmp)
        if args.postgres:
            pg.empty(args.postgres)
            run("PostgreSQL", args.postgres, args.tickets, args.searches, tmp)
        else:
            print("\n(no PostgreSQL: pass --postgres URL or run under pg_virtualenv)")


if __name__ == "__main__":
    main()
