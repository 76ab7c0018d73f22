#!/usr/bin/env python
"""The queue's query with its default team filter ("mine": my teams' tickets, those of no team and
mine) on SQLite: its EXPLAIN QUERY PLAN and p50/p95 of the first page over N tickets (default
100,000, seeded as bench/agent.py does) spread over four teams, for an agent in two of them.

    .venv/bin/python bench/queue_plan.py [--tickets 100000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from agent import seed  # noqa: E402  (bench/agent.py)


def captured_queue(agent, filters):
    """The queue's SELECT of tickets as run (SQL and parameters), and its rows."""
    from sqlalchemy import event

    from portal.agent import services
    from portal.extensions import db

    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "ORDER BY tickets.sla_next_due" in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        rows, _ = services.queue(agent, filters)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return seen[0], rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    args = parser.parse_args()
    from flask_migrate import upgrade

    from portal import create_app
    from portal.agent.services import Filters
    from portal.auth.models import User
    from portal.extensions import db
    from portal.teams import services as teams

    with tempfile.TemporaryDirectory(prefix="portal-queue-plan-") as tmp:
        app = create_app({"DATABASE_URL": f"sqlite:///{Path(tmp) / 'queue.db'}", "SECRET_KEY": "bench",
                          "KB_AUTO_REINDEX": False, "INSTANCE_PATH": tmp})
        with app.app_context():
            upgrade(directory=str(REPO / "portal" / "migrations"))
            seed(app, args.tickets, random.Random(7))
            made = [teams.create_team(key, key.title()) for key in ("accounting", "inventory", "integrations",
                                                                    "support")]
            # A fifth of the tickets has no team, the rest spread over the four.
            ids = [t.id for t in made]
            db.session.execute(db.text("UPDATE tickets SET team_id = CASE id % 5 WHEN 1 THEN :a WHEN 2 THEN :b "
                                       "WHEN 3 THEN :c WHEN 4 THEN :d END"), dict(zip("abcd", ids)))
            db.session.commit()
            agent = db.session.scalar(db.select(User).where(User.email == "agent3@bench.example.com"))
            for team in made[:2]:
                teams.add_member(team, agent)
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()
            filters = Filters()  # the page's default: active tickets, team "" -> "mine"
            (statement, parameters), rows = captured_queue(agent, filters)
            print(f"SQLite, {args.tickets:,} tickets, agent in 2 of 4 teams; the default queue (team=mine):\n")
            print(statement.strip(), "\n", parameters, "\n")
            print("EXPLAIN QUERY PLAN:")
            for row in db.session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters):
                print("  ", row[-1])
            connection = db.session.connection()
            for label, values, runs in (("the query alone", parameters, 100),
                                        ("the query, without its LIMIT (every match)", (*parameters[:-2], -1, 0), 20)):
                timings = []
                for _ in range(runs):
                    started = time.perf_counter()
                    found = connection.exec_driver_sql(statement, values).fetchall()
                    timings.append((time.perf_counter() - started) * 1000)
                timings.sort()
                print(f"{label}: {len(found):,} rows, p50 {statistics.median(timings):.1f} ms, "
                      f"p95 {timings[int(0.95 * (runs - 1))]:.1f} ms")
            # An index led by team_id, the candidate: SQLite keeps walking ix_tickets_queue in order (the
            # OR of three conditions and the ORDER BY ... LIMIT make the ordered walk cheaper).
            connection.exec_driver_sql("CREATE INDEX ix_bench_team_due ON tickets (team_id, sla_next_due, id)")
            connection.exec_driver_sql("ANALYZE")
            print("with an index on (team_id, sla_next_due, id):")
            for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters):
                print("  ", row[-1])
            connection.exec_driver_sql("DROP INDEX ix_bench_team_due")
            # The first page with the default "mine" filter, against "all" (no team condition) as the
            # baseline measured in the same run, alternating so that noise hits both alike.
            timings = {"mine": [], "all": []}
            for _ in range(100):
                for scope, chosen in (("mine", filters), ("all", Filters(team="all"))):
                    started = time.perf_counter()
                    captured_queue(agent, chosen)
                    timings[scope].append((time.perf_counter() - started) * 1000)
            for values in timings.values():
                values.sort()
            print(f"\nfirst page (services.queue, with its selectin loads), {len(rows)} rows:")
            for scope, values in timings.items():
                print(f"  team={scope}: p50 {statistics.median(values):.1f} ms, p95 {values[94]:.1f} ms")
            print(f"  mine / all: p50 {statistics.median(timings['mine']) / statistics.median(timings['all']):.2f}x, "
                  f"p95 {timings['mine'][94] / timings['all'][94]:.2f}x")
            db.engine.dispose()


if __name__ == "__main__":
    main()
