"""Articles: Markdown files with YAML front matter under ``kb/<type>/<slug>.md``.

The file name is the slug, so an article is found without any index or
database row; slugs are unique across the whole knowledge base.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import frontmatter
import markdown
import nh3
import yaml
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

# Folder -> article type.
TYPES = {"guides": "guide", "faq": "faq", "tutorials": "tutorial", "api": "api"}
FOLDERS = {v: k for k, v in TYPES.items()}
LANGS = ("en", "es")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SLUG_LENGTH = 120
FRONT_MATTER_KEYS = {"title", "summary", "tags", "category", "lang", "draft", "updated", "related", "video"}
REQUIRED_KEYS = ("title", "summary", "category", "lang")
# Slugs that would shadow the knowledge base's own pages under /kb/.
RESERVED_SLUGS = {"search", "gaps", "assets"}


class ArticleError(Exception):
    def __init__(self, path: Path, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass
class Article:
    slug: str
    type: str
    path: Path
    title: str
    summary: str
    category: str
    lang: str
    body: str
    tags: list[str] = field(default_factory=list)
    draft: bool = False
    updated: date | None = None
    related: list[str] = field(default_factory=list)
    video: str | None = None

    @property
    def folder(self) -> str:
        return FOLDERS[self.type]


def article_paths(kb_dir: Path) -> list[Path]:
    """Every article file: ``<kb>/<type folder>/<slug>.md``, in a stable order."""
    paths: list[Path] = []
    for folder in TYPES:
        paths.extend(sorted((kb_dir / folder).glob("*.md")))
    return paths


def find_article_path(kb_dir: Path, slug: str) -> Path | None:
    if len(slug) > SLUG_LENGTH or not SLUG.match(slug):  # a longer one is no file name, nor fits the views' rows
        return None
    for folder in TYPES:
        path = kb_dir / folder / f"{slug}.md"
        if path.is_file():
            return path
    return None


def _as_list(value, name: str, path: Path) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return [str(v).strip() for v in value]
    raise ArticleError(path, f"'{name}' must be a list of words")


def load_article(path: Path) -> Article:
    """Parse one file; raises ArticleError with a message a writer can act on."""
    path = Path(path)
    slug, folder = path.stem, path.parent.name
    if folder not in TYPES:
        raise ArticleError(path, f"articles live in one of {', '.join(TYPES)}")
    if not SLUG.match(slug):
        raise ArticleError(path, "the file name is the slug: lowercase letters, digits and single hyphens")
    if len(slug) > SLUG_LENGTH:
        raise ArticleError(path, f"the file name is the slug: at most {SLUG_LENGTH} characters")
    try:
        post = frontmatter.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ArticleError(path, "the file is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise ArticleError(path, f"the front matter is not valid YAML: {exc}") from None
    meta = post.metadata
    if not meta:
        raise ArticleError(path, "no front matter: start the file with a '---' block (title, summary, category, lang)")
    missing = [k for k in REQUIRED_KEYS if not str(meta.get(k) or "").strip()]
    if missing:
        raise ArticleError(path, f"missing front matter: {', '.join(missing)}")
    unknown = sorted(set(meta) - FRONT_MATTER_KEYS)
    if unknown:
        raise ArticleError(path, f"unknown front matter keys: {', '.join(unknown)}")
    lang = str(meta["lang"]).strip()
    if lang not in LANGS:
        raise ArticleError(path, f"lang must be one of {', '.join(LANGS)}, not {lang!r}")
    draft = meta.get("draft", False)
    if not isinstance(draft, bool):
        raise ArticleError(path, "draft must be true or false")
    updated = meta.get("updated")
    if isinstance(updated, datetime):
        updated = updated.date()
    elif isinstance(updated, str):
        try:
            updated = date.fromisoformat(updated)
        except ValueError:
            raise ArticleError(path, f"updated must be a date like 2026-11-20, not {updated!r}") from None
    elif updated is not None and not isinstance(updated, date):
        raise ArticleError(path, "updated must be a date like 2026-11-20")
    video = meta.get("video")
    if video is not None and not isinstance(video, str):
        raise ArticleError(path, "video must be a URL or a path")
    return Article(
        slug=slug,
        type=TYPES[folder],
        path=path,
        title=str(meta["title"]).strip(),
        summary=str(meta["summary"]).strip(),
        category=str(meta["category"]).strip().lower(),
        lang=lang,
        body=post.content,
        tags=[t.lower() for t in _as_list(meta.get("tags"), "tags", path)],
        draft=draft,
        updated=updated,
        related=_as_list(meta.get("related"), "related", path),
        video=video or None,
    )


# --- rendering ---------------------------------------------------------------

def link_target(href: str, article_path: Path, kb_dir: Path) -> tuple[str, str | None]:
    """Classify a link in an article: ("article", slug), ("asset", kb-relative path),
    ("external", None) or ("page", None) for other absolute paths of the portal."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or href.startswith(("#", "mailto:")):
        return "external", None
    slug = parts.path[4:].strip("/") if parts.path.startswith("/kb/") else ""
    if SLUG.match(slug) and slug not in RESERVED_SLUGS:
        return "article", slug
    if parts.path.startswith("/"):
        return "page", None
    rel = posixpath.normpath(posixpath.join(article_path.parent.relative_to(kb_dir).as_posix(), parts.path))
    if rel.endswith(".md"):
        return "article", posixpath.basename(rel)[:-3]
    return "asset", rel


class _LinkRewriter(Treeprocessor):
    """Relative links written for git previews become portal URLs."""

    def __init__(self, md, article_path: Path, kb_dir: Path):
        super().__init__(md)
        self.article_path, self.kb_dir = article_path, kb_dir

    def run(self, root):
        for el in root.iter():
            attr = {"a": "href", "img": "src"}.get(el.tag)
            if not attr or not el.get(attr):
                continue
            href = el.get(attr)
            kind, target = link_target(href, self.article_path, self.kb_dir)
            fragment = urlsplit(href).fragment
            if kind == "article":
                el.set(attr, f"/kb/{target}" + (f"#{fragment}" if fragment else ""))
            elif kind == "asset" and not target.startswith(".."):
                el.set(attr, f"/kb/assets/{target}")
            if el.tag == "img":
                el.set("loading", "lazy")


class _PortalLinks(Extension):
    def __init__(self, article_path: Path, kb_dir: Path):
        super().__init__()
        self.article_path, self.kb_dir = article_path, kb_dir

    def extendMarkdown(self, md):
        md.treeprocessors.register(_LinkRewriter(md, self.article_path, self.kb_dir), "portal_links", 5)


ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p",
    "pre", "s", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "ul", "video", "source",
}
ALLOWED_ATTRIBUTES = {
    "*": {"class", "id", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height", "loading"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan", "scope"},
    "video": {"src", "controls", "preload"},
    "source": {"src", "type"},
    "ol": {"start"},
}


@dataclass
class Rendered:
    html: str
    toc: list[dict]
    text: str  # plain text, for the search index and snippets


PERMALINK_TITLE = {"en": "Link to this section", "es": "Enlace a esta sección"}


def render_markdown(body: str, article_path: Path, kb_dir: Path, lang: str = "en") -> Rendered:
    md = markdown.Markdown(
        extensions=[
            "toc", "tables", "fenced_code", "codehilite", "admonition", "sane_lists", "attr_list", "def_list",
            _PortalLinks(article_path, kb_dir),
        ],
        extension_configs={
            "toc": {"permalink": "#", "permalink_title": PERMALINK_TITLE.get(lang, PERMALINK_TITLE["en"]),
                    "toc_depth": "2-3"},
            # align="…" attributes: an inline style would be refused by the CSP.
            "tables": {"use_align_attribute": True},
            "codehilite": {"css_class": "highlight", "guess_lang": False},
        },
        output_format="html",
    )
    html = md.convert(body)
    # Articles come from writers' git, yet raw HTML in Markdown would still run
    # in readers' browsers: only the tags Markdown itself produces survive.
    clean = nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, link_rel="noopener noreferrer")
    text = nh3.clean(html, tags=set()).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    text = re.sub(r"\s+", " ", text.replace("#", " ")).strip()
    return Rendered(html=clean, toc=md.toc_tokens, text=text)


@lru_cache(maxsize=512)
def _render_cached(path: str, mtime_ns: int, kb_dir: str) -> tuple[Article, Rendered]:
    article = load_article(Path(path))
    return article, render_markdown(article.body, article.path, Path(kb_dir), article.lang)


def load_rendered(path: Path, kb_dir: Path) -> tuple[Article, Rendered]:
    """Parse and render, cached until the file changes."""
    return _render_cached(str(path), path.stat().st_mtime_ns, str(kb_dir))
