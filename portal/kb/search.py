"""The Whoosh search index: derived data, rebuilt from ``kb/`` at any time.

Layout of the index folder::

    CURRENT           name of the build that readers use
    build-<stamp>/    one immutable Whoosh index + manifest.json
    .lock             held by whoever writes a build

Builds are written by one process at a time (``portal kb reindex`` or the
start-up check) into a new folder, then ``CURRENT`` is replaced atomically,
so any number of web processes keep reading a complete index meanwhile.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
import threading
import time
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice
from pathlib import Path

from markupsafe import escape
from whoosh import index, qparser, query
from whoosh.analysis import CharsetFilter, LanguageAnalyzer, RegexTokenizer, LowercaseFilter, StemmingAnalyzer
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import BufferFile
from whoosh.support.charset import accent_map

from .content import TYPES, ArticleError, article_paths, load_article, render_markdown

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3
MAX_QUERY_LENGTH = 200
# Snippets come from the start of an article: storing only this much keeps
# loading a hit's stored fields cheap on long articles.
SNIPPET_SOURCE_CHARS = 3000
# Search-as-you-type: how many completions of an unfinished last word are tried.
PREFIX_EXPANSIONS = 20
# How many top hits are re-ranked to prefer the reader's language, and by how much.
# Past this many hits the total is shown as "more than N": counting every match
# exactly costs a second pass over the postings, the slowest part of a search.
RERANK_WINDOW = 30
LANGUAGE_PREFERENCE = 1.5


def _schema() -> Schema:
    fold = CharsetFilter(accent_map)
    english = StemmingAnalyzer() | fold
    spanish = LanguageAnalyzer("es") | fold
    plain = RegexTokenizer() | LowercaseFilter() | fold
    return Schema(
        slug=ID(stored=True, unique=True),
        type=ID(stored=True),
        category=ID(stored=True),
        lang=ID(stored=True, sortable=True),  # a column: re-ranking reads it without the stored fields
        draft=ID(stored=True),
        path=STORED,
        title=STORED,
        summary=STORED,
        updated=STORED,
        content=STORED,
        tags=KEYWORD(stored=True, commas=True, lowercase=True, scorable=True, field_boost=2.0),
        # One searchable field per language. Every field costs a posting list per
        # query word, so the title and summary are weighted by repetition inside
        # it rather than by fields of their own (see TITLE_WEIGHT).
        text_en=TEXT(analyzer=english),
        text_es=TEXT(analyzer=spanish),
        # Unstemmed words, for "did you mean" (a stemmed field would suggest stems).
        spell=TEXT(analyzer=plain, spelling=True),
    )


SCHEMA = _schema()
SEARCH_FIELDS = ["text_en", "text_es", "tags"]
# How many times the title and the summary are repeated in the searchable text.
TITLE_WEIGHT, SUMMARY_WEIGHT = 4, 2
WORD = re.compile(r"\w+", re.UNICODE)


class IndexUnavailable(Exception):
    """The index is missing or unreadable; pages degrade instead of failing."""


# Builds up to this size are read into memory once per process (shared by its threads);
# larger ones are read from their files as needed, which measured ~1.7-3x slower.
IN_MEMORY_MAX_BYTES = 64 * 2**20


class _ReadStorage(FileStorage):
    """A build's files without Whoosh's memory maps: reading a mapped segment that was
    truncated underneath is SIGBUS, which kills the process (a gunicorn worker, or all of
    ``portal run``), where a short read is only an exception. Segments are read into memory
    whole, as fast as a map and untouched by whatever happens to the file later."""

    def __init__(self, build_dir: Path):
        super().__init__(str(build_dir), supports_mmap=False)
        self.build_dir = build_dir

    def open_file(self, name, **kwargs):
        if name.endswith(".seg"):
            segments = tuple(sorted((p.name, st.st_size, st.st_mtime_ns)
                                    for p in self.build_dir.glob("*.seg") for st in [p.stat()]))
            loaded = _segments_in_memory(self.build_dir, segments).get(name)
            if loaded is not None:
                return BufferFile(loaded, name=name)
        return super().open_file(name, **kwargs)


@lru_cache(maxsize=4)  # the current build and the one before it, of an index or two
def _segments_in_memory(build_dir: Path, segments: tuple) -> dict[str, memoryview]:
    if sum(size for _name, size, _mtime in segments) > IN_MEMORY_MAX_BYTES:
        return {}
    return {name: memoryview((build_dir / name).read_bytes()) for name, _size, _mtime in segments}


def _open(build_dir: Path, for_writing: bool = False):
    build_dir = Path(build_dir)
    storage = FileStorage(str(build_dir), supports_mmap=False) if for_writing else _ReadStorage(build_dir)
    return storage.open_index(schema=SCHEMA)


def _file_sizes(build_dir: Path) -> dict[str, int]:
    """The size of every file of a Whoosh build, to tell a truncated one later."""
    return {p.name: p.stat().st_size for p in build_dir.iterdir()
            if p.is_file() and p.name != "manifest.json" and not p.name.endswith("_WRITELOCK")}


def damage(build_dir: Path, manifest: dict | None) -> str | None:
    """Why a build cannot be trusted (a file missing or not the size it was built with), or None.
    Only stats files: cheap enough for every process that opens the build."""
    if manifest is None:
        return "no manifest"
    expected = manifest.get("sizes")
    if expected is None:
        return None  # built before sizes were recorded: the read check alone decides
    for name, size in expected.items():
        try:
            actual = (build_dir / name).stat().st_size
        except OSError:
            return f"{name} is missing"
        if actual != size:
            return f"{name} is {actual} bytes, built as {size}"
    return None


# --- building ----------------------------------------------------------------

@dataclass
class ReindexReport:
    full: bool
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    documents: int = 0
    build: str | None = None
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.deleted) or self.full


def _scan(kb_dir: Path) -> dict[str, list[int]]:
    """Every article file with its modification time and size."""
    files = {}
    for path in article_paths(kb_dir):
        st = path.stat()
        files[path.relative_to(kb_dir).as_posix()] = [st.st_mtime_ns, st.st_size]
    return files


def _document(article, kb_dir: Path) -> dict:
    rendered = render_markdown(article.body, article.path, kb_dir, article.lang)
    lang = article.lang
    return {
        "slug": article.slug,
        "type": article.type,
        "category": article.category,
        "lang": lang,
        "draft": "yes" if article.draft else "no",
        "path": article.path.relative_to(kb_dir).as_posix(),
        "title": article.title,
        "summary": article.summary,
        "updated": article.updated.isoformat() if article.updated else None,
        "content": rendered.text[:SNIPPET_SOURCE_CHARS],
        "tags": ",".join(article.tags),
        # A full stop between the copies keeps phrases from spanning them.
        f"text_{lang}": " . ".join([article.title] * TITLE_WEIGHT + [article.summary] * SUMMARY_WEIGHT + [rendered.text]),
        "spell": " ".join([article.title, article.summary, " ".join(article.tags), rendered.text]),
    }


def _read_current(index_dir: Path) -> str | None:
    try:
        return (index_dir / "CURRENT").read_text().strip() or None
    except FileNotFoundError:
        return None


def _read_manifest(build_dir: Path) -> dict | None:
    try:
        return json.loads((build_dir / "manifest.json").read_text())
    except (OSError, ValueError):
        return None


@contextmanager
def _writer_lock(index_dir: Path, timeout: float = 120.0):
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as lock:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"another process holds {index_dir / '.lock'}") from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _swap_in(index_dir: Path, build_name: str) -> None:
    tmp = index_dir / f".CURRENT.{os.getpid()}"
    tmp.write_text(build_name + "\n")
    os.replace(tmp, index_dir / "CURRENT")
    _prune(index_dir, keep=build_name)


def _prune(index_dir: Path, keep: str, grace_seconds: float = 600) -> None:
    """Remove old builds, leaving recent ones to readers that still have them open."""
    builds = sorted(p for p in index_dir.glob("build-*") if p.name != keep)
    for old in builds[:-2]:
        if time.time() - old.stat().st_mtime > grace_seconds:
            shutil.rmtree(old, ignore_errors=True)


def reindex(kb_dir: Path, index_dir: Path, full: bool = False) -> ReindexReport:
    """Bring the index up to date with ``kb_dir``; only changed files unless ``full``."""
    kb_dir, index_dir = Path(kb_dir), Path(index_dir)
    started = time.perf_counter()
    with _writer_lock(index_dir):
        current = _read_current(index_dir)
        manifest = _read_manifest(index_dir / current) if current else None
        if not full and (manifest is None or manifest.get("schema") != SCHEMA_VERSION or not _healthy(index_dir / current)):
            full = True
        report = ReindexReport(full=full)
        files = _scan(kb_dir)
        old_files = {} if full else manifest["files"]
        old_slugs = {} if full else manifest["slugs"]  # relpath -> slug
        changed = [p for p, stat in files.items() if old_files.get(p) != stat]
        removed = [p for p in old_files if p not in files]
        if not full and not changed and not removed:
            report.documents = manifest.get("documents", 0)
            report.build = current
            report.seconds = time.perf_counter() - started
            return report

        build_name = f"build-{time.strftime('%Y%m%d%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6:06d}"
        build_dir = index_dir / build_name
        if full:
            build_dir.mkdir()
            ix = index.create_in(build_dir, SCHEMA)
        else:
            shutil.copytree(index_dir / current, build_dir)
            ix = _open(build_dir, for_writing=True)

        slugs = dict(old_slugs)  # relpath -> slug of what is indexed
        writer = ix.writer(limitmb=256)
        try:
            for rel in removed:
                slug = slugs.pop(rel, None)
                if slug:
                    writer.delete_by_term("slug", slug)
                    report.deleted.append(slug)
            seen = {s: r for r, s in slugs.items()}
            for rel in sorted(changed, key=_folder_order):
                path = kb_dir / rel
                try:
                    article = load_article(path)
                except ArticleError as exc:
                    report.errors.append(str(exc))
                    old = slugs.pop(rel, None)
                    if old:
                        writer.delete_by_term("slug", old)
                        report.deleted.append(old)
                    continue
                owner = seen.get(article.slug)
                if owner and owner != rel:
                    report.errors.append(f"{path}: slug {article.slug!r} is already used by {kb_dir / owner}; skipped")
                    continue
                writer.update_document(**_document(article, kb_dir))
                (report.updated if rel in slugs else report.added).append(article.slug)
                slugs[rel] = article.slug
                seen[article.slug] = rel
        except BaseException:
            writer.cancel()
            shutil.rmtree(build_dir, ignore_errors=True)
            raise
        writer.commit(optimize=full)
        report.documents = ix.doc_count()
        ix.close()
        (build_dir / "manifest.json").write_text(json.dumps({
            "schema": SCHEMA_VERSION,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "documents": report.documents,
            "files": files,
            "slugs": slugs,
            "sizes": _file_sizes(build_dir),
        }))
        _swap_in(index_dir, build_name)
        report.build = build_name
        report.seconds = time.perf_counter() - started
        return report


def _folder_order(rel: str) -> tuple[int, str]:
    """Index in the same folder order as article lookup, so the first of two same slugs wins."""
    folder = rel.split("/", 1)[0]
    return (list(TYPES).index(folder) if folder in TYPES else 99, rel)


def _healthy(build_dir: Path) -> bool:
    if damage(build_dir, _read_manifest(build_dir)):
        return False
    try:
        ix = _open(build_dir)
        with ix.searcher() as s:
            s.doc_count()
        ix.close()
        return True
    except Exception:  # any failure to read means: rebuild
        return False


@dataclass
class IndexState:
    status: str  # ok, stale, missing, corrupt
    documents: int = 0
    build: str | None = None
    built_at: str | None = None


def index_state(kb_dir: Path, index_dir: Path, check_files: bool = True) -> IndexState:
    current = _read_current(Path(index_dir))
    if not current:
        return IndexState("missing")
    build_dir = Path(index_dir) / current
    manifest = _read_manifest(build_dir)
    if manifest is None or not _healthy(build_dir):
        return IndexState("corrupt", build=current)
    state = IndexState("ok", manifest.get("documents", 0), current, manifest.get("built_at"))
    if manifest.get("schema") != SCHEMA_VERSION or (check_files and _scan(Path(kb_dir)) != manifest["files"]):
        state.status = "stale"
    return state


def repair_index(kb_dir: Path, index_dir: Path) -> IndexState:
    """Rebuild the index if it is missing or damaged (a worker's check: it does not read the
    articles' folder, so it stays cheap on a large KB; a stale index waits for `portal kb reindex`)."""
    state = index_state(kb_dir, index_dir, check_files=False)
    if state.status in ("missing", "corrupt"):
        log.warning("search index is %s; rebuilding", state.status)
        reindex(kb_dir, index_dir, full=True)
        state = index_state(kb_dir, index_dir, check_files=False)
    return state


def repair_job(app, stop) -> None:
    """The worker's thread: a damaged or missing index is rebuilt within KB_REPAIR_SECONDS, so
    "search is being rebuilt" on the pages comes true without anyone at a shell."""
    while True:
        try:
            repair_index(Path(app.config["KB_DIR"]), Path(app.config["INDEX_DIR"]))
        except Exception:  # a full disk, say: try again at the next round
            log.exception("could not rebuild the search index; trying again later")
        if stop.wait(float(app.config["KB_REPAIR_SECONDS"])):
            return


def ensure_index(kb_dir: Path, index_dir: Path) -> IndexState:
    """Start-up check: rebuild a missing, corrupt or stale index."""
    state = index_state(kb_dir, index_dir)
    if state.status != "ok":
        log.info("search index is %s; rebuilding", state.status)
        reindex(kb_dir, index_dir, full=state.status != "stale")
        state = index_state(kb_dir, index_dir, check_files=False)
    return state


# --- reading -----------------------------------------------------------------

_local = threading.local()


def searcher_for(index_dir: Path):
    """A searcher on the current build, one per thread, reopened when a new build is swapped in."""
    index_dir = Path(index_dir)
    current = _read_current(index_dir)
    if not current:
        raise IndexUnavailable("the search index has not been built yet")
    key = (str(index_dir), current)
    cached = getattr(_local, "searchers", {})
    entry = cached.get(str(index_dir))
    if entry and entry[0] == key:
        return entry[1]
    problem = damage(index_dir / current, _read_manifest(index_dir / current))
    if problem:
        log.error("search index %s is damaged (%s); run `portal kb reindex`", current, problem)
        raise IndexUnavailable(f"the search index is damaged: {problem}")
    try:
        searcher = _open(index_dir / current).searcher()
    except Exception as exc:
        raise IndexUnavailable(f"the search index cannot be read: {exc}") from exc
    if entry:
        try:
            entry[1].close()
        except Exception:
            pass
    cached[str(index_dir)] = (key, searcher)
    _local.searchers = cached
    return searcher


def _forget(index_dir: Path) -> None:
    """Drop this thread's searcher after a failed read, so the next search checks the build again."""
    entry = getattr(_local, "searchers", {}).pop(str(index_dir), None)
    if entry:
        try:
            entry[1].close()
        except Exception:
            pass


@dataclass
class Hit:
    slug: str
    title: str
    summary: str
    type: str
    category: str
    lang: str
    draft: bool
    score: float
    snippet: str  # HTML: escaped text with <mark> around matches
    title_html: str


@dataclass
class SearchResults:
    query: str
    hits: list[Hit]
    total: int  # exact when total_exact, else a lower bound
    page: int
    pagelen: int
    did_you_mean: str | None = None
    unavailable: bool = False
    total_exact: bool = True

    @property
    def has_next(self) -> bool:
        return self.total > self.page * self.pagelen


def normalize_query(q: str | None) -> str:
    q = unicodedata.normalize("NFC", q or "")
    return " ".join(q.split())[:MAX_QUERY_LENGTH]


def _fold(word: str) -> str:
    """Lowercase without accents, as the unstemmed ``spell`` field stores words."""
    return "".join(c for c in unicodedata.normalize("NFKD", word.lower()) if not unicodedata.combining(c))


_parser = qparser.MultifieldParser(SEARCH_FIELDS, SCHEMA, group=qparser.OrGroup.factory(0.9))
# Readers type words, not query syntax: "error: 500" is not a field search.
for _plugin in (qparser.FieldsPlugin, qparser.BoostPlugin, qparser.RangePlugin):
    _parser.remove_plugin_class(_plugin)


def _correct(reader, words: list[str], live: bool) -> list[str] | None:
    """The words with unknown ones replaced by the closest known word, or None."""
    corrector = reader.corrector("spell")
    corrected, changed = [], False
    for i, word in enumerate(words):
        folded = _fold(word)
        last = live and i == len(words) - 1
        known = len(folded) < 4 or reader.doc_frequency("spell", folded) > 0
        if not known and last:
            # The word being typed may be a prefix of a real word.
            known = next(iter(reader.expand_prefix("spell", folded)), None) is not None
        if known:
            corrected.append(word)
            continue
        # One edit: a second multiplies the corrector's work several times over.
        suggestions = corrector.suggest(folded, limit=1, maxdist=1)
        if suggestions:
            corrected.append(suggestions[0])
            changed = True
        else:
            corrected.append(word)
    return corrected if changed else None


def _lang_column(searcher):
    """The lang column of this searcher's build, read once (its offsets cost a pass)."""
    cached = getattr(searcher, "_portal_lang_column", None)
    if cached is None:
        cached = searcher._portal_lang_column = searcher.reader().column_reader("lang")
    return cached


def _completions(reader, prefix: str) -> list[query.Query]:
    """Words the reader may be in the middle of typing, as low-weight extra terms."""
    if reader.doc_frequency("spell", prefix) > 0:
        return []  # already a whole word
    words = list(islice(reader.expand_prefix("spell", prefix), PREFIX_EXPANSIONS))
    return [query.Term("spell", w.decode() if isinstance(w, bytes) else w, boost=0.3) for w in words]


class Snippets:
    """Highlighted snippets from an article's stored plain text.

    Whoosh's highlighter re-runs the full analyzer chain over every hit's text,
    which dominated a search's time. Here words are found with one regex and
    stemmed once each (cached), then the densest window of matches is marked.
    """

    WINDOW = 220

    def __init__(self, cache_size: int = 200_000):
        self._stems: dict[tuple[str, str], str | None] = {}
        self._cache_size = cache_size

    def stem(self, fieldname: str, word: str) -> str | None:
        key = (fieldname, word)
        if key not in self._stems:
            if len(self._stems) >= self._cache_size:
                self._stems.clear()
            tokens = [t.text for t in SCHEMA[fieldname].analyzer(word)]
            self._stems[key] = tokens[0] if tokens else None
        return self._stems[key]

    def matches(self, fieldname: str, text: str, terms: frozenset[str]) -> list[tuple[int, int]]:
        if not terms:
            return []
        spans = []
        # Only words that start like a query term are worth stemming.
        for m in _candidates(terms).finditer(text):
            if self.stem(fieldname, m.group().lower()) in terms:
                spans.append(m.span())
        return spans

    def mark(self, text: str, spans: list[tuple[int, int]], start: int = 0, end: int | None = None) -> str:
        end = len(text) if end is None else end
        out, pos = [], start
        for a, b in spans:
            if a < start or b > end:
                continue
            out.append(str(escape(text[pos:a])))
            out.append(f"<mark>{escape(text[a:b])}</mark>")
            pos = b
        out.append(str(escape(text[pos:end])))
        return "".join(out)

    def snippet(self, fieldname: str, text: str, terms: frozenset[str]) -> str | None:
        spans = self.matches(fieldname, text, terms)
        if not spans:
            return None
        # The window holding the most distinct matched words wins.
        best, best_score = 0, -1
        for i, (a, _b) in enumerate(spans):
            inside = {text[x:y].lower() for x, y in spans[i:] if y <= a + self.WINDOW}
            if len(inside) > best_score:
                best, best_score = i, len(inside)
        first = spans[best][0]
        start = max(0, first - 60)
        if start:
            start = text.find(" ", start, first) + 1 or start
        end = min(len(text), start + self.WINDOW)
        if end < len(text):
            end = text.rfind(" ", start, end) if text.rfind(" ", start, end) > first else end
        body = self.mark(text, spans, start, end).strip()
        return ("… " if start else "") + body + (" …" if end < len(text) else "")


_snippets = Snippets()

_ACCENTED = {"a": "aáàâä", "e": "eéèêë", "i": "iíìîï", "o": "oóòôö", "u": "uúùûü", "n": "nñ", "c": "cç"}


@lru_cache(maxsize=1024)
def _candidates(terms: frozenset[str]) -> re.Pattern:
    """A regex for words beginning with the first letters of any term, accents
    ignored: a stem shares its first three letters with the words it came from."""
    prefixes = sorted({
        "".join(f"[{_ACCENTED[c]}]" if c in _ACCENTED else re.escape(c) for c in term[:3])
        for term in terms if term
    })
    return re.compile(r"\b(?:" + "|".join(prefixes) + r")\w*", re.IGNORECASE)


def _query_terms(q: query.Query, fieldname: str) -> frozenset[str]:
    """The query's terms in one field; completions of an unfinished word (in the
    unstemmed ``spell`` field) count too, stemmed as that field stems."""
    terms = set()
    for name, text in q.iter_all_terms():
        text = text.decode() if isinstance(text, bytes) else text
        if name == fieldname:
            terms.add(text)
        elif name == "spell":
            terms.add(_snippets.stem(fieldname, text))
    return frozenset(terms)


def search(
    index_dir: Path,
    q: str,
    lang: str = "en",
    type: str | None = None,
    category: str | None = None,
    include_drafts: bool = False,
    page: int = 1,
    pagelen: int = 10,
    live: bool = False,
) -> SearchResults:
    """Search the knowledge base. ``live`` is for search-as-you-type: the last word may be unfinished."""
    q = normalize_query(q)
    page = max(1, page)
    if not q:
        return SearchResults(q, [], 0, page, pagelen)
    try:
        searcher = searcher_for(index_dir)
        final, corrected = _build_query(searcher.reader(), q, live, _parser)
        did_you_mean = " ".join(corrected) if corrected else None
        filters = [query.Term("type", type)] if type else []
        if category:
            filters.append(query.Term("category", category))
        mask = None if include_drafts else query.Term("draft", "yes")
        window = max(RERANK_WINDOW, page * pagelen) + 1  # one more tells whether there are more
        # optimize=False: Whoosh's block-quality skipping can loop forever on
        # nested OR queries (seen at 10,000 articles), and measured no faster here.
        results = searcher.search(
            final, limit=window, filter=query.And(filters) if filters else None, mask=mask, optimize=False
        )
        ranked = _prefer_language(searcher, results, lang)
        start = (page - 1) * pagelen
        terms = {f: _query_terms(final, f) for f in ("text_en", "text_es")}
        hits = [_hit(searcher.stored_fields(docnum), score, terms) for docnum, score in ranked[start:start + pagelen]]
        collected = results.scored_length()
        total_exact = collected < window
        return SearchResults(q, hits, collected if total_exact else collected - 1, page, pagelen, did_you_mean,
                             total_exact=total_exact)
    except IndexUnavailable:
        return SearchResults(q, [], 0, page, pagelen, unavailable=True)
    except Exception:  # a damaged index must never turn a search into a 500
        log.exception("search failed for %r", q)
        _forget(Path(index_dir))
        return SearchResults(q, [], 0, page, pagelen, unavailable=True)


def _build_query(reader, q: str, live: bool, parser) -> tuple[query.Query, list[str] | None]:
    """The query for what the reader typed, and the corrected words if any were misspelt."""
    words = WORD.findall(q)
    corrected = _correct(reader, words, live) if words else None
    # Typo tolerance: the corrected words are searched too, in one flat query.
    extra = [w for w in corrected or [] if w not in words]
    final = parser.parse(" ".join([q, *extra]))
    if live and words and len(words[-1]) >= 3:
        completions = _completions(reader, _fold(words[-1]))
        if completions:
            top = list(final.subqueries) if isinstance(final, query.Or) else [final]
            final = query.Or(top + completions, scale=0.9)
    return final, corrected


def _prefer_language(searcher, results, lang: str) -> list[tuple[int, float]]:
    """(docnum, score) best first, the reader's language lifted 1.5x within the collected window."""
    langs = _lang_column(searcher)
    return sorted(
        results.items(),
        key=lambda item: item[1] * (LANGUAGE_PREFERENCE if langs[item[0]] == lang else 1.0),
        reverse=True,
    )


@dataclass(frozen=True)
class Suggestion:
    slug: str
    title: str
    summary: str
    lang: str


# Suggestions rank by the sum of the words' scores; the search page's extra
# "how many words matched" factor costs a third of a suggestion's time.
_suggest_parser = qparser.MultifieldParser(SEARCH_FIELDS, SCHEMA, group=qparser.OrGroup)
for _plugin in (qparser.FieldsPlugin, qparser.BoostPlugin, qparser.RangePlugin, qparser.PhrasePlugin):
    _suggest_parser.remove_plugin_class(_plugin)
SUGGEST_WINDOW = 15


def suggest(index_dir: Path, text: str, lang: str = "en", limit: int = 5) -> list[Suggestion]:
    """Published articles that may answer ``text`` (a ticket being typed), the
    reader's language first. Leaner than :func:`search`: no snippets, no
    totals, no phrases. Answers are cached per build, since the form asks
    again with the same words whenever the customer types past them."""
    text = normalize_query(text)
    if not text:
        return []
    try:
        current = _read_current(Path(index_dir))
        if not current:
            return []
        return list(_suggest_cached(str(index_dir), current, text, lang, limit))
    except IndexUnavailable:
        return []
    except Exception:  # a damaged index must never break the ticket form
        log.exception("suggestions failed for %r", text)
        return []


@lru_cache(maxsize=4096)
def _suggest_cached(index_dir: str, build: str, text: str, lang: str, limit: int) -> tuple[Suggestion, ...]:
    searcher = searcher_for(Path(index_dir))
    final, _corrected = _build_query(searcher.reader(), text, True, _suggest_parser)
    results = searcher.search(final, limit=max(SUGGEST_WINDOW, limit), mask=query.Term("draft", "yes"),
                              optimize=False)
    hits = []
    for docnum, _score in _prefer_language(searcher, results, lang)[:limit]:
        fields = searcher.stored_fields(docnum)
        hits.append(Suggestion(fields["slug"], fields["title"], fields["summary"], fields["lang"]))
    return tuple(hits)


def _hit(h: dict, score: float, terms: dict[str, frozenset[str]]) -> Hit:
    lang = h["lang"]
    snippet = _snippets.snippet(f"text_{lang}", h["content"], terms[f"text_{lang}"])
    title_spans = _snippets.matches(f"text_{lang}", h["title"], terms[f"text_{lang}"])
    return Hit(
        slug=h["slug"],
        title=h["title"],
        summary=h["summary"],
        type=h["type"],
        category=h["category"],
        lang=lang,
        draft=h["draft"] == "yes",
        score=round(score, 3),
        snippet=snippet or str(escape(h["summary"])),
        title_html=_snippets.mark(h["title"], title_spans),
    )


def catalog(index_dir: Path) -> list[dict]:
    """The stored fields of every indexed article, cached per build."""
    searcher = searcher_for(index_dir)
    key = _read_current(Path(index_dir))
    cache = getattr(_local, "catalog", None)
    if cache and cache[0] == key:
        return cache[1]
    docs = [
        {k: v for k, v in fields.items() if k != "content"}
        for fields in searcher.all_stored_fields()
    ]
    _local.catalog = (key, docs)
    return docs
