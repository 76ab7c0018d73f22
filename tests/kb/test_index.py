import os
import time

from portal.kb import search as idx
from tests.kb.conftest import write_article


def _slugs(index_dir, q, **kw):
    return [h.slug for h in idx.search(index_dir, q, **kw).hits]


def test_full_build_then_incremental_updates(small_kb, tmp_path):
    index_dir = tmp_path / "index"
    report = idx.reindex(small_kb, index_dir, full=True)
    assert report.full and report.documents == 3 and sorted(report.added) == sorted(
        ["password-reset", "quota-limit", "buscar-articulos"])

    assert not idx.reindex(small_kb, index_dir).changed  # nothing to do

    write_article(small_kb, "faq", "new-one", "Brand new zeppelin article.")
    path = small_kb / "faq" / "quota-limit.md"
    path.write_text(path.read_text().replace("monthly quota", "monthly allowance of tickets"))
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    (small_kb / "guides" / "password-reset.md").unlink()
    report = idx.reindex(small_kb, index_dir)
    assert not report.full
    assert report.added == ["new-one"] and report.updated == ["quota-limit"] and report.deleted == ["password-reset"]
    assert report.documents == 3
    assert _slugs(index_dir, "zeppelin") == ["new-one"]
    assert _slugs(index_dir, "allowance") == ["quota-limit"]
    assert _slugs(index_dir, "password") == []

    report = idx.reindex(small_kb, index_dir, full=True)
    assert report.full and report.documents == 3


def test_state_reports_missing_stale_and_corrupt(small_kb, tmp_path):
    index_dir = tmp_path / "index"
    assert idx.index_state(small_kb, index_dir).status == "missing"
    idx.reindex(small_kb, index_dir)
    assert idx.index_state(small_kb, index_dir).status == "ok"
    write_article(small_kb, "faq", "later", "Added after the build.")
    assert idx.index_state(small_kb, index_dir).status == "stale"
    assert idx.ensure_index(small_kb, index_dir).status == "ok"
    assert _slugs(index_dir, "added build") == ["later"]

    build = index_dir / (index_dir / "CURRENT").read_text().strip()
    for f in build.iterdir():
        if f.suffix in (".seg", ".toc"):
            f.write_bytes(b"garbage")
    assert idx.index_state(small_kb, index_dir).status == "corrupt"
    idx.ensure_index(small_kb, index_dir)
    assert idx.index_state(small_kb, index_dir).status == "ok"
    assert _slugs(index_dir, "password") == ["password-reset"]


def test_a_corrupt_index_makes_search_unavailable_not_an_error(small_kb, tmp_path):
    index_dir = tmp_path / "index"
    idx.reindex(small_kb, index_dir)
    (index_dir / "CURRENT").write_text("build-that-does-not-exist\n")
    results = idx.search(index_dir, "password")
    assert results.unavailable and results.hits == []


def test_readers_keep_working_while_a_new_build_is_swapped_in(small_kb, tmp_path):
    index_dir = tmp_path / "index"
    idx.reindex(small_kb, index_dir)
    first = (index_dir / "CURRENT").read_text()
    assert _slugs(index_dir, "password") == ["password-reset"]
    write_article(small_kb, "guides", "password-rules", "Password rules: twelve characters.")
    idx.reindex(small_kb, index_dir)
    assert (index_dir / "CURRENT").read_text() != first
    # The same thread's cached searcher notices the new build.
    assert set(_slugs(index_dir, "password")) == {"password-reset", "password-rules"}
    # The previous build is still on disk for readers in other processes.
    assert (index_dir / first.strip()).is_dir()


def test_invalid_article_is_skipped_and_reported(small_kb, tmp_path):
    (small_kb / "faq" / "broken.md").write_text("---\ntitle: [oops\n---\n")
    report = idx.reindex(small_kb, tmp_path / "index")
    assert report.documents == 3
    assert any("broken.md" in e and "not valid YAML" in e for e in report.errors)


def test_first_of_two_same_slugs_wins(small_kb, tmp_path):
    write_article(small_kb, "api", "password-reset", "Shadow copy about tokens.")
    report = idx.reindex(small_kb, tmp_path / "index")
    assert any("already used" in e for e in report.errors)
    assert _slugs(tmp_path / "index", "tokens") == []


def test_drafts_are_masked_unless_asked_for(small_kb, tmp_path):
    write_article(small_kb, "guides", "secret-plan", "Upcoming zeppelin feature.", draft="true")
    idx.reindex(small_kb, tmp_path / "index")
    assert _slugs(tmp_path / "index", "zeppelin") == []
    assert _slugs(tmp_path / "index", "zeppelin", include_drafts=True) == ["secret-plan"]


def test_filters_by_type_and_category(small_kb, tmp_path):
    idx.reindex(small_kb, tmp_path / "index")
    assert _slugs(tmp_path / "index", "password quota", type="faq") == ["quota-limit"]
    assert _slugs(tmp_path / "index", "password quota", category="account") == ["password-reset"]


def test_typos_are_corrected_and_suggested(small_kb, tmp_path):
    idx.reindex(small_kb, tmp_path / "index")
    results = idx.search(tmp_path / "index", "pasword")
    assert results.did_you_mean == "password"
    assert [h.slug for h in results.hits] == ["password-reset"]


def test_snippets_highlight_the_matched_words(small_kb, tmp_path):
    idx.reindex(small_kb, tmp_path / "index")
    hit = idx.search(tmp_path / "index", "reset").hits[0]
    assert hit.snippet == "<mark>Reset</mark> Use the sign-in page to <mark>reset</mark> your password."
    assert hit.title_html == "<mark>Reset</mark> your password"
    assert "<mark" in hit.title_html


def test_snippets_escape_article_text(small_kb, tmp_path):
    write_article(small_kb, "faq", "angle", "Use the `<b>` flag with quotas & care.")
    idx.reindex(small_kb, tmp_path / "index")
    hit = [h for h in idx.search(tmp_path / "index", "flag").hits if h.slug == "angle"][0]
    assert "&lt;b&gt;" in hit.snippet and "<b>" not in hit.snippet


def test_search_as_you_type_matches_an_unfinished_word(small_kb, tmp_path):
    idx.reindex(small_kb, tmp_path / "index")
    assert _slugs(tmp_path / "index", "passw", live=True) == ["password-reset"]
    hit = idx.search(tmp_path / "index", "passw", live=True).hits[0]
    assert "<mark>password</mark>" in hit.snippet
    assert idx.search(tmp_path / "index", "passw", live=True).did_you_mean is None


def test_readers_language_comes_first(small_kb, tmp_path):
    write_article(small_kb, "guides", "zeppelin-en", "Zeppelin zeppelin.", title="Zeppelin")
    write_article(small_kb, "guides", "zeppelin-es", "Zeppelin zeppelin.", title="Zeppelin", lang="es")
    idx.reindex(small_kb, tmp_path / "index")
    assert _slugs(tmp_path / "index", "zeppelin", lang="es") == ["zeppelin-es", "zeppelin-en"]
    assert _slugs(tmp_path / "index", "zeppelin", lang="en") == ["zeppelin-en", "zeppelin-es"]


def _reindex_in_another_process(kb, index_dir, times):
    import subprocess
    import sys

    code = (
        "import sys; from pathlib import Path; from portal.kb.search import reindex\n"
        f"for _ in range({times}): reindex(Path(sys.argv[1]), Path(sys.argv[2]), full=True)\n"
    )
    return subprocess.Popen([sys.executable, "-c", code, str(kb), str(index_dir)])


def test_searches_keep_answering_while_other_processes_rebuild(small_kb, tmp_path):
    index_dir = tmp_path / "index"
    idx.reindex(small_kb, index_dir)
    writers = [_reindex_in_another_process(small_kb, index_dir, 3) for _ in range(2)]
    answered = 0
    while any(w.poll() is None for w in writers):
        results = idx.search(index_dir, "password")
        assert not results.unavailable and [h.slug for h in results.hits] == ["password-reset"]
        answered += 1
    assert [w.returncode for w in writers] == [0, 0]
    assert answered > 0
    assert idx.index_state(small_kb, index_dir).status == "ok"


def test_suggestions_rank_the_readers_language_first_and_skip_drafts(small_kb, tmp_path):
    index_dir = tmp_path / "index"
    write_article(small_kb, "faq", "buscar-en-la-pagina", "Buscar artículos en la página de ayuda.",
                  title="Buscar en la página", lang="es")
    write_article(small_kb, "faq", "search-the-page", "Search articles: buscar works too.", title="Search the page")
    write_article(small_kb, "faq", "draft-search", "Buscar artículos, a draft.", title="Draft", draft="true")
    idx.reindex(small_kb, index_dir, full=True)
    spanish = [s.slug for s in idx.suggest(index_dir, "buscar artículos", lang="es")]
    assert spanish[0] in ("buscar-en-la-pagina", "buscar-articulos") and "draft-search" not in spanish
    assert "search-the-page" in spanish
    # A word being typed counts by its completions.
    assert "password-reset" in [s.slug for s in idx.suggest(index_dir, "cannot reset my passw")]
    assert idx.suggest(index_dir, "   ") == []


def test_cached_suggestions_follow_a_new_build(small_kb, tmp_path):
    index_dir = tmp_path / "index"
    idx.reindex(small_kb, index_dir, full=True)
    assert idx.suggest(index_dir, "zeppelin crashed") == []
    assert idx.suggest(index_dir, "zeppelin crashed") == []  # from the cache
    write_article(small_kb, "faq", "zeppelin", "When the zeppelin crashed.", title="Zeppelin crashes")
    idx.reindex(small_kb, index_dir)
    assert [s.slug for s in idx.suggest(index_dir, "zeppelin crashed")] == ["zeppelin"]


def test_suggestions_from_a_broken_index_are_empty_not_an_error(small_kb, tmp_path):
    index_dir = tmp_path / "index"
    assert idx.suggest(index_dir, "password") == []  # never built
    idx.reindex(small_kb, index_dir)
    (index_dir / "CURRENT").write_text("build-that-does-not-exist\n")
    assert idx.suggest(index_dir, "password") == []
