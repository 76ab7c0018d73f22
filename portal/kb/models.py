"""What readers do with the knowledge base, for the writers' analytics."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..auth.models import utcnow
from ..extensions import db


class SearchEvent(db.Model):
    """One search; keystrokes refining the same query update one row."""

    __tablename__ = "kb_searches"

    id: Mapped[int] = mapped_column(primary_key=True)
    query: Mapped[str] = mapped_column(String(200))
    # Lowercased, single-spaced: what the content-gap report groups by.
    normalized: Mapped[str] = mapped_column(String(200), index=True)
    lang: Mapped[str] = mapped_column(String(8))
    type_filter: Mapped[str | None] = mapped_column(String(20))
    category_filter: Mapped[str | None] = mapped_column(String(60))
    result_count: Mapped[int]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_kb_searches_created_at", "created_at"),)


class SearchClick(db.Model):
    """A reader opened a result: which search, which article, at which rank."""

    __tablename__ = "kb_search_clicks"

    id: Mapped[int] = mapped_column(primary_key=True)
    search_id: Mapped[int] = mapped_column(ForeignKey("kb_searches.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(120), index=True)
    rank: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ArticleView(db.Model):
    __tablename__ = "kb_article_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120))
    lang: Mapped[str] = mapped_column(String(8))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_kb_article_views_slug_created_at", "slug", "created_at"),)


class ArticleVote(db.Model):
    """"Was this helpful?": one vote per reader and article, which they may change."""

    __tablename__ = "kb_article_votes"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), index=True)
    # The signed-in user's id, or a random id kept in an anonymous reader's session.
    voter: Mapped[str] = mapped_column(String(64))
    helpful: Mapped[bool]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("slug", "voter", name="uq_kb_article_votes_slug_voter"),)


class SearchDay(db.Model):
    """One ended UTC day of searches, counted by ``portal analytics rollup``: a year of
    figures is then 365 rows instead of every recorded search."""

    __tablename__ = "kb_search_days"

    day: Mapped[date] = mapped_column(primary_key=True)
    searches: Mapped[int]
    without_results: Mapped[int]


class SearchGapDay(db.Model):
    """One day's searches without results, per normalized query (the content gaps)."""

    __tablename__ = "kb_search_gap_days"

    day: Mapped[date] = mapped_column(primary_key=True)
    normalized: Mapped[str] = mapped_column(String(200), primary_key=True)
    times: Mapped[int]
    last_seen: Mapped[datetime]
