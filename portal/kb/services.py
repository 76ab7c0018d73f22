"""Knowledge-base rules: who sees which article, and the record of what readers do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..auth.models import utcnow
from ..errors import DomainError
from ..extensions import db
from . import search as search_index
from .content import Article, ArticleError, Rendered, find_article_path, load_article, load_rendered
from .models import ArticleView, ArticleVote, SearchClick, SearchEvent


class ArticleNotFound(DomainError):
    pass


def get_article(kb_dir: Path, slug: str, can_see_drafts: bool) -> tuple[Article, Rendered]:
    """The article and its HTML; drafts exist only for writers and admins."""
    path = find_article_path(Path(kb_dir), slug)
    if path is None:
        raise ArticleNotFound(f"No article {slug!r}.")
    try:
        article, rendered = load_rendered(path, Path(kb_dir))
    except ArticleError as exc:
        raise ArticleNotFound(exc.message) from None
    if article.draft and not can_see_drafts:
        raise ArticleNotFound(f"No article {slug!r}.")
    return article, rendered


def related_articles(kb_dir: Path, article: Article, can_see_drafts: bool) -> list[Article]:
    found = []
    for slug in article.related:
        path = find_article_path(Path(kb_dir), slug)
        if not path:
            continue
        try:
            other = load_article(path)
        except ArticleError:
            continue
        if can_see_drafts or not other.draft:
            found.append(other)
    return found


@dataclass
class CatalogEntry:
    slug: str
    title: str
    summary: str
    type: str
    category: str
    lang: str
    draft: bool
    updated: str | None


def list_articles(kb_dir: Path, index_dir: Path, can_see_drafts: bool) -> list[CatalogEntry]:
    """Every visible article, from the index; from the files when the index is unreadable."""
    try:
        docs = search_index.catalog(index_dir)
        entries = [
            CatalogEntry(d["slug"], d["title"], d["summary"], d["type"], d["category"], d["lang"],
                         d["draft"] == "yes", d.get("updated"))
            for d in docs
        ]
    except Exception:
        entries = []
        from .content import article_paths

        for path in article_paths(Path(kb_dir)):
            try:
                a = load_article(path)
            except ArticleError:
                continue
            entries.append(CatalogEntry(a.slug, a.title, a.summary, a.type, a.category, a.lang, a.draft,
                                        a.updated.isoformat() if a.updated else None))
    return sorted((e for e in entries if can_see_drafts or not e.draft), key=lambda e: e.title.lower())


# --- analytics -----------------------------------------------------------------

def normalize(q: str) -> str:
    return " ".join(q.lower().split())[:200]


def record_search(
    query: str,
    lang: str,
    result_count: int,
    user_id: int | None = None,
    type_filter: str | None = None,
    category_filter: str | None = None,
    previous: tuple[int, str, float] | None = None,
    merge_seconds: float = 30,
    now: datetime | None = None,
) -> SearchEvent:
    """Record a search. ``previous`` is (id, query, unix time) of this reader's last
    search: while they keep typing the same query it is updated, not repeated."""
    now = now or utcnow()
    norm = normalize(query)
    if previous:
        prev_id, prev_query, at = previous
        prev_norm = normalize(prev_query)
        refining = norm.startswith(prev_norm) or prev_norm.startswith(norm)
        if refining and now.timestamp() - at <= merge_seconds:
            event = db.session.get(SearchEvent, prev_id)
            if event is not None and event.user_id == user_id:
                event.query, event.normalized, event.result_count = query, norm, result_count
                event.type_filter, event.category_filter, event.updated_at = type_filter, category_filter, now
                db.session.commit()
                return event
    event = SearchEvent(query=query, normalized=norm, lang=lang, result_count=result_count, user_id=user_id,
                        type_filter=type_filter, category_filter=category_filter, created_at=now, updated_at=now)
    db.session.add(event)
    db.session.commit()
    return event


def record_click(search_id: int, slug: str, rank: int) -> None:
    if db.session.get(SearchEvent, search_id) is None:
        return  # a stale or forged link: nothing to attach the click to
    db.session.add(SearchClick(search_id=search_id, slug=slug, rank=max(0, rank)))
    db.session.commit()


def record_view(slug: str, lang: str, user_id: int | None = None) -> None:
    db.session.add(ArticleView(slug=slug, lang=lang, user_id=user_id))
    db.session.commit()


def vote(slug: str, voter: str, helpful: bool, user_id: int | None = None) -> ArticleVote:
    """Record or change this reader's vote on an article."""
    existing = db.session.scalar(select(ArticleVote).where(ArticleVote.slug == slug, ArticleVote.voter == voter))
    if existing:
        existing.helpful, existing.updated_at = helpful, utcnow()
        db.session.commit()
        return existing
    ballot = ArticleVote(slug=slug, voter=voter, helpful=helpful, user_id=user_id)
    db.session.add(ballot)
    try:
        db.session.commit()
    except IntegrityError:  # a double click raced us: the other request's row stands
        db.session.rollback()
        ballot = db.session.scalar(select(ArticleVote).where(ArticleVote.slug == slug, ArticleVote.voter == voter))
        ballot.helpful = helpful
        db.session.commit()
    return ballot


def current_vote(slug: str, voter: str | None) -> bool | None:
    if not voter:
        return None
    return db.session.scalar(select(ArticleVote.helpful).where(ArticleVote.slug == slug, ArticleVote.voter == voter))


def helpfulness(slug: str) -> tuple[int, int]:
    """(helpful, not helpful) votes for one article."""
    rows = db.session.execute(
        select(ArticleVote.helpful, func.count()).where(ArticleVote.slug == slug).group_by(ArticleVote.helpful)
    ).all()
    counts = {helpful: n for helpful, n in rows}
    return counts.get(True, 0), counts.get(False, 0)


def content_gaps(days: int = 30, limit: int = 50) -> list[tuple[str, int, datetime]]:
    """Searches that found nothing: (query, times, last seen), most frequent first."""
    since = utcnow() - timedelta(days=days)
    return db.session.execute(
        select(SearchEvent.normalized, func.count(), func.max(SearchEvent.updated_at))
        .where(SearchEvent.result_count == 0, SearchEvent.created_at >= since)
        .group_by(SearchEvent.normalized)
        .order_by(func.count().desc(), func.max(SearchEvent.updated_at).desc())
        .limit(limit)
    ).all()
