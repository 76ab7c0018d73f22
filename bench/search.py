#!/usr/bin/env python
"""Search benchmark: N synthetic articles, one index build, 500 queries.

Prints the build time, the index size, and p50/p95 latency of the same queries
straight through Whoosh, through the portal's search service, and through the
app (the htmx results fragment, as search-as-you-type asks for it), so the
app's overhead over raw Whoosh is visible.

    .venv/bin/python bench/search.py [--articles 10000] [--queries 500]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from portal.kb import search as idx  # noqa: E402
from portal.kb.content import article_paths, load_article  # noqa: E402

TYPES = ["guides", "faq", "tutorials", "api"]
CATEGORIES = ["getting-started", "knowledge-base", "tickets", "plans", "onboarding", "account", "api"]


def vocabulary(size: int = 20_000, rng: random.Random | None = None) -> dict[str, list[str]]:
    """Per language, real words from the shipped KB followed by made-up ones,
    in rank order: text drawn with Zipf's law over it reads like real text to
    the index (a few very common words, a long tail of rare ones)."""
    rng = rng or random.Random(1)
    words = {"en": {}, "es": {}}
    for path in article_paths(REPO / "kb"):
        article = load_article(path)
        for w in idx.WORD.findall(article.body + " " + article.title):
            if len(w) > 3 and w.isalpha():
                counts = words[article.lang]
                counts[w.lower()] = counts.get(w.lower(), 0) + 1
    syllables = ["ka", "lo", "mi", "ter", "san", "pro", "vel", "dor", "ni", "qua", "res", "tin", "gal", "mon"]
    ranked = {}
    for lang, counts in words.items():
        real = sorted(counts, key=counts.get, reverse=True)
        made_up = set()
        while len(real) + len(made_up) < size:
            made_up.add("".join(rng.choices(syllables, k=rng.randint(2, 4))))
        ranked[lang] = real + sorted(made_up)
    return ranked


class ZipfWords:
    def __init__(self, ranked: list[str], rng: random.Random, exponent: float = 1.05):
        self.words, self.rng = ranked, rng
        weights = [1 / (rank + 1) ** exponent for rank in range(len(ranked))]
        total, acc = sum(weights), 0.0
        self.cumulative = []
        for w in weights:
            acc += w / total
            self.cumulative.append(acc)

    def __call__(self, k: int) -> list[str]:
        return self.rng.choices(self.words, cum_weights=self.cumulative, k=k)


def generate(kb: Path, n: int, vocab: dict[str, list[str]], rng: random.Random) -> None:
    for folder in TYPES:
        (kb / folder).mkdir(parents=True)
    draw = {lang: ZipfWords(words, rng) for lang, words in vocab.items()}
    for i in range(n):
        lang = "es" if i % 3 == 0 else "en"
        words = draw[lang]
        title = " ".join(words(rng.randint(3, 7))).capitalize()
        sections = []
        for _ in range(rng.randint(2, 5)):
            paragraphs = [" ".join(words(rng.randint(30, 90))) + "." for _ in range(rng.randint(1, 3))]
            sections.append(f"## {' '.join(words(3)).capitalize()}\n\n" + "\n\n".join(paragraphs))
        tags = ", ".join(json.dumps(w) for w in set(words(3)))
        (kb / TYPES[i % 4] / f"article-{i:06d}.md").write_text(
            f"---\ntitle: {json.dumps(title)}\nsummary: {json.dumps(' '.join(words(12)).capitalize())}\n"
            f"tags: [{tags}]\ncategory: {rng.choice(CATEGORIES)}\nlang: {lang}\nupdated: 2026-11-01\n---\n\n"
            + "\n\n".join(sections) + "\n",
            encoding="utf-8",
        )


def typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1:]


def make_queries(vocab, n: int, rng: random.Random) -> list[tuple[str, str]]:
    """Readers search for content words: drawn from ranks 30-3000 (not the
    commonest words, not the rarest), in five shapes."""
    queries = []
    for i in range(n):
        lang = "es" if i % 3 == 0 else "en"
        words = vocab[lang][30:3000]
        kind = i % 5
        if kind == 0:
            q = rng.choice(words)
        elif kind == 1:
            q = " ".join(rng.sample(words, 2))
        elif kind == 2:
            q = " ".join(rng.sample(words, 3))
        elif kind == 3:
            q = typo(rng.choice([w for w in words if len(w) > 5]), rng)
        else:
            q = f'"{" ".join(rng.sample(words[:300], 2))}"'
        queries.append((lang, q))
    return queries


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * len(ordered))) - 1)]
    return statistics.median(ordered) * 1000, p95 * 1000


def timed(fn, queries) -> list[float]:
    out = []
    for lang, q in queries:
        start = time.perf_counter()
        fn(lang, q)
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    vocab = vocabulary(rng=random.Random(args.seed))

    with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
        tmp = Path(tmp)
        kb, index_dir = tmp / "kb", tmp / "index"
        started = time.perf_counter()
        generate(kb, args.articles, vocab, rng)
        print(f"generated {args.articles} articles in {time.perf_counter() - started:.1f}s")

        report = idx.reindex(kb, index_dir, full=True)
        size = sum(f.stat().st_size for f in index_dir.rglob("*") if f.is_file())
        print(f"index build: {report.seconds:.1f}s for {report.documents} articles, {size / 2**20:.1f} MiB on disk")

        queries = make_queries(vocab, args.queries, rng)
        warmup = queries[:20]

        searcher = idx.searcher_for(index_dir)

        def raw_whoosh(lang, q):
            # Parse, score, take the top 10 with their stored fields: no correction,
            # no snippets, no language preference, no page.
            results = searcher.search(idx._parser.parse(q), limit=10)
            return [hit.fields() for hit in results]

        def service(lang, q):
            return idx.search(index_dir, q, lang=lang, pagelen=10)

        os.environ["PORTAL_INSTANCE_PATH"] = str(tmp / "instance")
        from flask_migrate import upgrade

        from portal import create_app

        app = create_app({"KB_DIR": str(kb), "INDEX_DIR": str(index_dir), "KB_AUTO_REINDEX": False,
                          "DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}"})
        with app.app_context():
            upgrade()
        client = app.test_client()
        headers = {"HX-Request": "true"}

        def through_app(lang, q):
            response = client.get("/kb/search", query_string={"q": q}, headers={**headers, "Accept-Language": lang})
            assert response.status_code == 200, response.status_code

        rows = []
        for name, fn in (("raw Whoosh", raw_whoosh), ("search service", service), ("app fragment", through_app)):
            timed(fn, warmup)
            p50, p95 = percentiles(timed(fn, queries))
            rows.append((name, p50, p95))
        hits = sum(1 for lang, q in queries if idx.search(index_dir, q, lang=lang).total)

        print(f"\n{len(queries)} queries ({hits} with results); latency in ms on {os.cpu_count()} cores:")
        print(f"  {'path':<16} {'p50':>8} {'p95':>8}")
        for name, p50, p95 in rows:
            print(f"  {name:<16} {p50:>8.1f} {p95:>8.1f}")
        raw95, app95 = rows[0][2], rows[2][2]
        print(f"\napp p95 {app95:.1f} ms (target <= 30 ms): {'OK' if app95 <= 30 else 'OVER'}; "
              f"app overhead over raw Whoosh at p95: {100 * (app95 / raw95 - 1):.0f}% (target <= 50%)")


if __name__ == "__main__":
    main()
