"""Shared by the benches: the PostgreSQL to use, and emptying it."""

from __future__ import annotations

import os


def url_from_environment() -> str | None:
    """A SQLAlchemy URL from the PG* variables that pg_virtualenv sets, or None."""
    if not (os.environ.get("PGHOST") and os.environ.get("PGDATABASE")):
        return None
    parts = {k: os.environ.get(k, "") for k in ("PGUSER", "PGPASSWORD", "PGHOST", "PGPORT", "PGDATABASE")}
    return "postgresql+psycopg://{PGUSER}:{PGPASSWORD}@{PGHOST}:{PGPORT}/{PGDATABASE}".format(**parts)


def empty(url: str) -> None:
    """Drop every table: each run starts from a fresh schema."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
