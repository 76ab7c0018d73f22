"""Knowledge-base rules: who sees which article, and the record of what readers do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import case, delete, func, literal, select, union_all
from sqlalchemy.exc import IntegrityError

from ..auth.models import utcnow
from ..errors import DomainError, lazy_gettext as _l
from ..extensions import db, insert_for_dialect
from . import search as search_index
from .content import Article, ArticleError, Rendered, find_article_path, load_article, load_rendered
from .models import ArticleView, ArticleVote, SearchClick, SearchDay, SearchEvent, SearchGapDay


class ArticleNotFound(DomainError):
    pass


def get_article(kb_dir: Path, slug: str, can_see_drafts: bool) -> tuple[Article, Rendered]:
    """The article and its HTML; drafts exist only for writers and admins."""
    path = find_article_path(Path(kb_dir), slug)
    if path is None:
        raise ArticleNotFound(_l("No article %(slug)s.", slug=repr(slug)))
    try:
        article, rendered = load_rendered(path, Path(kb_dir))
    except ArticleError as exc:
        raise ArticleNotFound(exc.message) from None
    if article.draft and not can_see_drafts:
        raise ArticleNotFound(_l("No article %(slug)s.", slug=repr(slug)))
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


def content_gaps(since: date, limit: int = 50) -> list[tuple[str, int, datetime]]:
    """Searches since that UTC day that found nothing: (query, times, last seen), most frequent first."""
    through = _counted_through()
    parts = [select(SearchEvent.normalized.label("query"), literal(1).label("times"),
                    SearchEvent.updated_at.label("last_seen"))
             .where(SearchEvent.result_count == 0, SearchEvent.created_at >= _raw_from(since, through))]
    if through is not None and through >= since:
        parts.append(select(SearchGapDay.normalized, SearchGapDay.times, SearchGapDay.last_seen)
                     .where(SearchGapDay.day >= since, SearchGapDay.day <= through))
    gaps = union_all(*parts).subquery()
    return db.session.execute(
        select(gaps.c.query, func.sum(gaps.c.times), func.max(gaps.c.last_seen))
        .group_by(gaps.c.query)
        .order_by(func.sum(gaps.c.times).desc(), func.max(gaps.c.last_seen).desc(), gaps.c.query)
        .limit(limit)
    ).all()


def search_totals(since: date) -> tuple[int, int]:
    """(searches, searches without any result) since that UTC day."""
    through = _counted_through()
    total = empty = 0
    if through is not None and through >= since:
        counted = db.session.execute(select(func.sum(SearchDay.searches), func.sum(SearchDay.without_results))
                                     .where(SearchDay.day >= since)).one()
        total, empty = counted[0] or 0, counted[1] or 0
    raw = db.session.execute(select(func.count(), func.sum(case((SearchEvent.result_count == 0, 1), else_=0)))
                             .where(SearchEvent.created_at >= _raw_from(since, through))).one()
    return total + (raw[0] or 0), empty + int(raw[1] or 0)


def _counted_through() -> date | None:
    """The last day ``rollup_searches`` counted (its figures are in the day tables)."""
    return db.session.scalar(select(func.max(SearchDay.day)))


def _raw_from(since: date, through: date | None) -> datetime:
    """Where the figures read from the recorded searches themselves: after the counted days."""
    first = since if through is None or through < since else through + timedelta(days=1)
    return datetime.combine(first, time())


def rollup_searches(today: date | None = None) -> list[date]:
    """Count every ended UTC day's searches and content gaps into the day tables, so the
    analytics read a row per day instead of every search. The last counted day is
    counted again: a search typed just before midnight may be refined just after it.
    Safe to repeat and to run twice at once (the rows are upserted)."""
    today = today or utcnow().date()
    start = _counted_through()
    if start is None:
        first = db.session.scalar(select(func.min(SearchEvent.created_at)))
        if first is None:
            return []
        start = first.date()
    if start >= today:
        return []
    window = (SearchEvent.created_at >= datetime.combine(start, time()),
              SearchEvent.created_at < datetime.combine(today, time()))
    day = func.date(SearchEvent.created_at)  # 'YYYY-MM-DD' on SQLite, a date on PostgreSQL
    days = [start + timedelta(days=i) for i in range((today - start).days)]
    counted = {d: {"day": d, "searches": 0, "without_results": 0} for d in days}  # a day without searches is 0
    for d, n, empty in db.session.execute(
            select(day, func.count(), func.sum(case((SearchEvent.result_count == 0, 1), else_=0)))
            .where(*window).group_by(day)):
        counted[_as_date(d)].update(searches=n, without_results=int(empty or 0))
    upsert = insert_for_dialect(SearchDay)
    db.session.execute(upsert.on_conflict_do_update(
        index_elements=["day"], set_={"searches": upsert.excluded.searches,
                                      "without_results": upsert.excluded.without_results}),
        list(counted.values()))
    # A recounted day's gap may have gone (the search was refined into one that finds articles).
    db.session.execute(delete(SearchGapDay).where(SearchGapDay.day >= start, SearchGapDay.day < today))
    gaps = [{"day": _as_date(d), "normalized": q, "times": n, "last_seen": last} for d, q, n, last in db.session.execute(
        select(day, SearchEvent.normalized, func.count(), func.max(SearchEvent.updated_at))
        .where(*window, SearchEvent.result_count == 0).group_by(day, SearchEvent.normalized))]
    if gaps:
        upsert = insert_for_dialect(SearchGapDay)
        db.session.execute(upsert.on_conflict_do_update(
            index_elements=["day", "normalized"], set_={"times": upsert.excluded.times,
                                                        "last_seen": upsert.excluded.last_seen}), gaps)
    db.session.commit()
    return days


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)
