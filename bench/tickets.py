#!/usr/bin/env python
"""Ticket benchmark against the app served by gunicorn on 127.0.0.1.

1. Suggestions: p50/p95 of the new-ticket form's suggestion fragment over a
   knowledge base of N synthetic articles (default 10,000), with 8 concurrent
   signed-in customers typing subjects word by word: once waiting the form's
   400 ms debounce between requests as a browser does, once never pausing
   (the capacity of 2 cores).
2. Filing: throughput of 16 concurrent customers filing tickets through the
   form over 4 gunicorn workers, on SQLite and (with --postgres URL, or under
   pg_virtualenv) on PostgreSQL; afterwards every accepted ticket must be in the
   database exactly once.

    .venv/bin/python bench/tickets.py [--articles 10000] [--postgres postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import pg  # noqa: E402  (bench/pg.py)
import search as search_bench  # noqa: E402  (bench/search.py: the synthetic KB)
from serving import free_port, percentiles, serve  # noqa: E402  (bench/serving.py)

from portal.kb.search import reindex  # noqa: E402

PASSWORD = "bench-password-1"
TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
DRAFT = re.compile(r'id="draft_key" name="draft_key" type="hidden" value="([^"]+)"')


class Client:
    """A browser-like session: cookies, CSRF tokens from pages."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str, headers=None) -> tuple[int, str]:
        request = urllib.request.Request(self.base + path, headers=headers or {})
        with self.opener.open(request, timeout=30) as response:
            return response.status, response.read().decode()

    def post(self, path: str, data: dict) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode()
        try:
            with self.opener.open(urllib.request.Request(self.base + path, data=body), timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def login(self, email: str) -> None:
        _, page = self.get("/login")
        status, page = self.post("/login", {"email": email, "password": PASSWORD,
                                            "csrf_token": TOKEN.search(page).group(1)})
        assert "Sign out" in page, f"could not sign in {email}"


def prepare(env: dict, customers: int) -> None:
    """Migrate, and create one organization with the customers."""
    portal = [str(Path(sys.executable).with_name("portal"))]
    run = lambda *args: subprocess.run(portal + list(args), env=env, cwd=REPO, check=True, capture_output=True)  # noqa: E731
    run("db", "upgrade")
    run("org", "create", "Bench Org", "--plan", "standard")
    for i in range(customers):
        run("user", "create", f"customer{i}@bench.example.com", "--role", "customer", "--org", "Bench Org",
            "--password", PASSWORD)


DEBOUNCE = 0.4  # the form asks for suggestions 400 ms after the last keystroke in the subject


def bench_suggestions(base: str, vocab, clients: int, per_client: int, rng: random.Random, pause: bool):
    """Each client types subjects word by word and the form asks after every
    word. With ``pause`` a client waits the form's debounce between requests,
    as a typing customer's browser does; without, it asks again at once (a
    capacity test: 8 clients on 2 cores that never pause)."""
    sessions = []
    for i in range(clients):
        client = Client(base)
        client.login(f"customer{i}@bench.example.com")
        _, page = client.get("/tickets/new")
        sessions.append((client, DRAFT.search(page).group(1)))
    typed = []
    for _lang, q in search_bench.make_queries(vocab, clients * per_client, rng):
        words = q.strip('"').split()
        typed.extend(" ".join(words[:n]) for n in range(1, len(words) + 1))
    typed = typed[:clients * per_client]
    timings, errors = [], []

    def work(index):
        client, draft = sessions[index]
        for subject in typed[index::clients]:
            if pause:
                time.sleep(DEBOUNCE * random.uniform(1.0, 1.5))
            start = time.perf_counter()
            try:
                status, body = client.get(f"/tickets/suggest?subject={urllib.parse.quote(subject)}&description="
                                          f"&draft_key={draft}", headers={"HX-Request": "true"})
                assert status == 200 and "<html" not in body
            except Exception as exc:
                errors.append(repr(exc))
                continue
            timings.append(time.perf_counter() - start)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return timings, errors, elapsed


def bench_filing(base: str, customers: int, per_customer: int):
    accepted, errors = [], []

    def work(index):
        client = Client(base)
        client.login(f"customer{index}@bench.example.com")
        for n in range(per_customer):
            _, page = client.get("/tickets/new")
            data = {"csrf_token": TOKEN.search(page).group(1), "draft_key": DRAFT.search(page).group(1),
                    "category": "question", "subject": f"Bench question {index}-{n}",
                    "description": "How do I export the monthly report as PDF?", "impact": "low", "urgency": "low"}
            status, body = client.post("/tickets/new", data)
            match = re.search(r'class="reference">([\d-]+)<', body)
            if status == 200 and match:
                accepted.append((data["draft_key"], match.group(1)))
                if n % 5 == 0:  # a double click: the same form again must not file twice
                    again_status, again = client.post("/tickets/new", data)
                    again_ref = re.search(r'class="reference">([\d-]+)<', again)
                    if not again_ref or again_ref.group(1) != match.group(1):
                        errors.append(f"resubmission filed something else: {again_status}")
            else:
                errors.append(f"HTTP {status}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(customers)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return accepted, errors, time.perf_counter() - started


def check_database(database_url: str, accepted) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT submission_key, reference FROM tickets")).all()
    engine.dispose()
    stored = {}
    for key, reference in rows:
        stored.setdefault(key, []).append(reference)
    missing = [k for k, _ in accepted if k not in stored]
    duplicated = [k for k, refs in stored.items() if len(refs) > 1]
    wrong = [k for k, ref in accepted if stored.get(k) != [ref]]
    refs = [r for r, in ((ref,) for _k, ref in rows)]
    ok = not missing and not duplicated and not wrong and len(rows) == len(accepted) and len(set(refs)) == len(refs)
    return (f"{len(rows)} rows for {len(accepted)} accepted, {len(missing)} missing, {len(duplicated)} duplicated, "
            f"{len(set(refs))} distinct references: {'OK' if ok else 'MISMATCH'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--suggestions", type=int, default=40, help="requests per suggestion client")
    parser.add_argument("--customers", type=int, default=16)
    parser.add_argument("--tickets", type=int, default=15, help="tickets per filing customer")
    parser.add_argument("--postgres", help="a PostgreSQL URL for the filing run (default: from PG* variables if set)")
    args = parser.parse_args()
    args.postgres = args.postgres or pg.url_from_environment()
    rng = random.Random(11)
    vocab = search_bench.vocabulary(rng=random.Random(11))
    print(f"machine: {os.cpu_count()} cores; gunicorn on 127.0.0.1")

    with tempfile.TemporaryDirectory(prefix="portal-tickets-bench-") as tmp:
        tmp = Path(tmp)
        kb, index_dir = tmp / "kb", tmp / "index"
        search_bench.generate(kb, args.articles, vocab, rng)
        report = reindex(kb, index_dir, full=True)
        print(f"knowledge base: {report.documents} articles indexed in {report.seconds:.0f}s")

        def environment(name: str, database_url: str) -> dict:
            return {**os.environ, "PORTAL_INSTANCE_PATH": str(tmp / name), "PORTAL_KB_DIR": str(kb),
                    "PORTAL_INDEX_DIR": str(index_dir), "PORTAL_DATABASE_URL": database_url,
                    "PORTAL_SECRET_KEY": "bench", "PORTAL_KB_AUTO_REINDEX": "false"}

        # 1. suggestions
        sqlite_url = f"sqlite:///{tmp / 'suggest.db'}"
        env = environment("suggest", sqlite_url)
        prepare(env, args.clients)
        port = free_port()
        server = serve(env, port, workers=4, threads=2)
        try:
            base = f"http://127.0.0.1:{port}"
            bench_suggestions(base, vocab, args.clients, 5, rng, pause=False)  # warm-up: every worker opens the index
            runs = [(pause, bench_suggestions(base, vocab, args.clients, args.suggestions, rng, pause))
                    for pause in (True, False)]
        finally:
            server.terminate()
            server.wait(10)
        for pause, (timings, errors, elapsed) in runs:
            p50, p95 = percentiles(timings)
            label = "typing (the form's 400 ms debounce between requests)" if pause else "no pauses (capacity)"
            print(f"\nsuggestion fragment, {args.clients} concurrent clients {label}: {len(timings)} requests, "
                  f"{len(errors)} errors, {len(timings) / elapsed:.0f} req/s")
            print(f"  p50 {p50:.1f} ms   p95 {p95:.1f} ms   (target p95 <= 50 ms): {'OK' if p95 <= 50 else 'OVER'}")

        # 2. filing
        runs = [("SQLite", f"sqlite:///{tmp / 'filing.db'}")]
        if args.postgres:
            runs.append(("PostgreSQL", args.postgres))
        else:
            print("\n(no PostgreSQL: pass --postgres URL or run under pg_virtualenv for the second filing run)")
        for label, url in runs:
            if label == "PostgreSQL":
                pg.empty(url)
            env = environment(f"filing-{label}", url)
            prepare(env, args.customers)
            port = free_port()
            server = serve(env, port, workers=4, threads=1)
            try:
                accepted, errors, elapsed = bench_filing(f"http://127.0.0.1:{port}", args.customers, args.tickets)
            finally:
                server.terminate()
                server.wait(10)
            print(f"\nfiling on {label}: {args.customers} concurrent customers, 4 workers: {len(accepted)} tickets "
                  f"in {elapsed:.1f}s = {len(accepted) / elapsed:.1f} tickets/s, {len(errors)} errors"
                  + (f" (first: {errors[0]})" if errors else ""))
            print(f"  database check: {check_database(url, accepted)}")


if __name__ == "__main__":
    main()
