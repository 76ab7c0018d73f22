import secrets
import time
from collections import OrderedDict
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from flask import (abort, current_app, flash, make_response, redirect, render_template, request,
                   send_from_directory, session, url_for)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from pygments.formatters import HtmlFormatter

from ..auth.models import Role, utcnow
from ..extensions import parse_id
from ..web import render_page_or_fragment, roles_required, wants_fragment
from . import bp, services
from . import search as search_index
from .content import TYPES
from .forms import VoteForm


def _kb_dir() -> Path:
    return Path(current_app.config["KB_DIR"])


def _index_dir() -> Path:
    return Path(current_app.config["INDEX_DIR"])


def _can_see_drafts() -> bool:
    return current_user.is_authenticated and current_user.can_see_drafts


def _user_id():
    return current_user.id if current_user.is_authenticated else None


def _lang() -> str:
    return str(get_locale() or "en")


@bp.get("/", endpoint="index")
def index():
    articles = services.list_articles(_kb_dir(), _index_dir(), _can_see_drafts())
    sections = OrderedDict((t, OrderedDict()) for t in TYPES.values())
    lang = _lang()
    # The reader's language first, then alphabetical (list_articles sorts by title).
    for entry in sorted(articles, key=lambda e: e.lang != lang):
        sections.setdefault(entry.type, OrderedDict()).setdefault(entry.category, []).append(entry)
    return render_template("kb/index.html", sections=sections, total=len(articles))


@bp.get("/search")
def search():
    q = search_index.normalize_query(request.args.get("q"))
    type_ = request.args.get("type") or None
    if type_ not in TYPES.values():
        type_ = None
    category = (request.args.get("category") or "").strip().lower()[:60] or None
    page = request.args.get("page", 1, type=int) or 1
    limit = request.args.get("limit", type=int)
    pagelen = min(max(limit or current_app.config["SEARCH_PAGE_SIZE"], 1), 50)
    lang = _lang()
    results = search_index.search(
        _index_dir(), q, lang=lang, type=type_, category=category, include_drafts=_can_see_drafts(),
        page=page, pagelen=pagelen, live=wants_fragment(),
    )
    search_id = None
    if q and page == 1 and not results.unavailable:
        previous = session.get("last_search")
        event = services.record_search(
            q, lang, results.total, _user_id(), type_, category,
            previous=tuple(previous) if previous else None,
            merge_seconds=current_app.config["SEARCH_MERGE_SECONDS"],
        )
        session["last_search"] = [event.id, q, time.time()]
        search_id = event.id
    elif q:
        search_id = (session.get("last_search") or [None])[0]
    compact = bool(limit) and wants_fragment()
    return render_page_or_fragment(
        "kb/search.html", "kb/_results.html",
        results=results, q=q, type=type_, category=category, search_id=search_id, compact=compact,
        categories=sorted({e.category for e in services.list_articles(_kb_dir(), _index_dir(), _can_see_drafts())})
        if not wants_fragment() else [],
    )


@bp.get("/pygments.css")
def pygments_css():
    response = make_response(_pygments_css())
    response.mimetype = "text/css"
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response


@lru_cache(maxsize=1)
def _pygments_css() -> str:
    light = HtmlFormatter(style="default").get_style_defs(".highlight")
    dark = HtmlFormatter(style="monokai").get_style_defs(".highlight")
    return f"{light}\n@media (prefers-color-scheme: dark) {{\n{dark}\n}}\n"


@bp.get("/assets/<path:filename>")
def asset(filename):
    """Images and files that articles reference, served from the KB folder."""
    if filename.endswith(".md") or "/." in f"/{filename}":
        abort(404)
    response = send_from_directory(_kb_dir(), filename, max_age=3600)
    # An SVG opened on its own must not run scripts.
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    return response


@bp.get("/<slug>")
def article(slug):
    try:
        art, rendered = services.get_article(_kb_dir(), slug, _can_see_drafts())
    except services.ArticleNotFound:
        abort(404)
    search_id = parse_id(request.args.get("search"))
    if search_id is not None:
        services.record_click(search_id, slug, parse_id(request.args.get("rank")) or 0)
    services.record_view(slug, art.lang, _user_id())
    related = services.related_articles(_kb_dir(), art, _can_see_drafts())
    return render_template(
        "kb/article.html", article=art, rendered=rendered, related=related,
        vote_form=VoteForm(), current_vote=services.current_vote(slug, _voter(create=False)),
    )


def _voter(create: bool = True) -> str | None:
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    if "voter" not in session and create:
        session["voter"] = secrets.token_hex(16)
    return f"anon:{session['voter']}" if "voter" in session else None


@bp.post("/<slug>/vote")
def vote(slug):
    try:
        services.get_article(_kb_dir(), slug, _can_see_drafts())
    except services.ArticleNotFound:
        abort(404)
    form = VoteForm()
    if not form.validate():
        abort(400)
    helpful = form.helpful.data == "yes"
    services.vote(slug, _voter(), helpful, _user_id())
    if wants_fragment():
        return render_template("kb/_vote.html", slug=slug, vote_form=VoteForm(formdata=None),
                               current_vote=helpful, thanked=True)
    flash(_("Thank you for your feedback."), "success")
    return redirect(url_for("kb.article", slug=slug, _anchor="helpful"))


@bp.get("/gaps")
@roles_required(Role.WRITER, Role.ADMIN, Role.AGENT)
def gaps():
    """The writers' to-do list: what readers searched for and did not find."""
    days = min(max(request.args.get("days", 30, type=int) or 30, 1), 365)
    since = utcnow().date() - timedelta(days=days - 1)  # "the last 30 days": today and the 29 before
    return render_template("kb/gaps.html", gaps=services.content_gaps(since), days=days)
