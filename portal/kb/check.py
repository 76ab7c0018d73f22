"""``portal kb check``: the linter writers run before they push."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import markdown

from .content import RESERVED_SLUGS, SLUG, TYPES, ArticleError, article_paths, link_target, load_article

KNOWN_CATEGORIES = {"getting-started", "knowledge-base", "tickets", "plans", "onboarding", "account", "api"}


@dataclass(order=True)
class Problem:
    path: str
    line: int
    level: str  # "error" or "warning"
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.level}: {self.message}"


def _line_of(text: str, needle: str) -> int:
    index = text.find(needle)
    return text.count("\n", 0, index) + 1 if index >= 0 else 0


def _links(body: str) -> list[tuple[str, str]]:
    """(tag, target) of every link and image, as Markdown parses them."""
    found: list[tuple[str, str]] = []

    class Collect(markdown.treeprocessors.Treeprocessor):
        def run(self, root):
            for el in root.iter():
                if el.tag == "a" and el.get("href"):
                    found.append(("link", el.get("href")))
                elif el.tag == "img" and el.get("src"):
                    found.append(("image", el.get("src")))

    class Ext(markdown.extensions.Extension):
        def extendMarkdown(self, md):
            md.treeprocessors.register(Collect(md), "collect", 0)

    markdown.markdown(body, extensions=["tables", "fenced_code", "admonition", "attr_list", Ext()])
    return found


def check_kb(kb_dir: Path) -> list[Problem]:
    kb_dir = Path(kb_dir)
    problems: list[Problem] = []

    def rel(path: Path) -> str:
        return path.relative_to(kb_dir).as_posix() if path.is_relative_to(kb_dir) else str(path)

    if not kb_dir.is_dir():
        return [Problem(str(kb_dir), 0, "error", "the knowledge base folder does not exist")]

    for stray in sorted(kb_dir.rglob("*.md")):
        parts = stray.relative_to(kb_dir).parts
        if len(parts) == 1 and stray.name.lower() == "readme.md":
            continue
        if len(parts) != 2 or parts[0] not in TYPES:
            problems.append(Problem(rel(stray), 0, "warning",
                                    f"not published: articles go directly in one of {', '.join(TYPES)}/"))

    articles = {}
    owners: dict[str, Path] = {}
    for path in article_paths(kb_dir):
        try:
            article = load_article(path)
        except ArticleError as exc:
            problems.append(Problem(rel(path), 1, "error", exc.message))
            continue
        if article.slug in owners:
            problems.append(Problem(rel(path), 0, "error",
                                    f"duplicate slug {article.slug!r}: also {rel(owners[article.slug])}"))
            continue
        if article.slug in RESERVED_SLUGS:
            problems.append(Problem(rel(path), 0, "error", f"the slug {article.slug!r} is reserved by the portal"))
        owners[article.slug] = path
        articles[article.slug] = article

    for slug, article in articles.items():
        path, text = article.path, article.path.read_text(encoding="utf-8")
        if article.category not in KNOWN_CATEGORIES:
            problems.append(Problem(rel(path), _line_of(text, "category:"), "warning",
                                    f"unknown category {article.category!r} (known: {', '.join(sorted(KNOWN_CATEGORIES))})"))
        if not article.tags:
            problems.append(Problem(rel(path), 0, "warning", "no tags: tags help readers find the article"))
        for other in article.related:
            if other not in articles:
                problems.append(Problem(rel(path), _line_of(text, other), "error", f"related article {other!r} does not exist"))
            elif other == slug:
                problems.append(Problem(rel(path), _line_of(text, "related:"), "warning", "the article lists itself as related"))
        if article.video and not re.match(r"https?://", article.video):
            target = (path.parent / article.video).resolve()
            if not target.is_file() or not target.is_relative_to(kb_dir.resolve()):
                problems.append(Problem(rel(path), _line_of(text, "video:"), "error", f"video file {article.video!r} not found"))
        for kind, href in _links(article.body):
            what, target = link_target(href, path, kb_dir)
            line = _line_of(text, href)
            if what == "article":
                if not SLUG.match(target or "") or target not in articles:
                    problems.append(Problem(rel(path), line, "error", f"broken link to article {href!r}"))
                elif articles[target].draft and not article.draft:
                    problems.append(Problem(rel(path), line, "warning", f"links to the draft {target!r}, which readers cannot open"))
            elif what == "asset":
                target_path = (kb_dir / target).resolve()
                if target.startswith("..") or not target_path.is_relative_to(kb_dir.resolve()):
                    problems.append(Problem(rel(path), line, "error", f"{href!r} points outside the knowledge base"))
                elif not target_path.is_file():
                    label = "missing image" if kind == "image" else "missing file"
                    problems.append(Problem(rel(path), line, "error", f"{label} {href!r}"))
    return sorted(problems)
