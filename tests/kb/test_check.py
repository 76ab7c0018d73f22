from portal.kb.check import check_kb
from tests.conftest import KB_DIR
from tests.kb.conftest import write_article


def _messages(kb):
    return [(p.path, p.level, p.message) for p in check_kb(kb)]


def test_the_shipped_knowledge_base_is_clean():
    errors = [str(p) for p in check_kb(KB_DIR) if p.level == "error"]
    assert errors == []


def test_clean_kb_has_no_errors(small_kb):
    assert [p for p in check_kb(small_kb) if p.level == "error"] == []


def test_problems_are_reported_with_file_and_line(small_kb):
    write_article(small_kb, "faq", "password-reset", "duplicate slug")
    write_article(small_kb, "guides", "links", "Line one.\n\nSee [gone](../faq/missing.md).\n\n![x](images/nope.png)",
                  related="[quota-limit, not-there]")
    (small_kb / "guides" / "no-front.md").write_text("Just text.\n")
    write_article(small_kb, "api", "search", "Reserved.")
    write_article(small_kb, "guides", "odd", category="astrology", tags=None)
    (small_kb / "stray").mkdir()
    (small_kb / "stray" / "lost.md").write_text("---\ntitle: x\n---\n")
    problems = _messages(small_kb)
    assert ("faq/password-reset.md", "error", "duplicate slug 'password-reset': also guides/password-reset.md") in problems
    assert ("guides/links.md", "error", "related article 'not-there' does not exist") in problems
    assert ("guides/links.md", "error", "broken link to article '../faq/missing.md'") in problems
    assert ("guides/links.md", "error", "missing image 'images/nope.png'") in problems
    assert any(p[0] == "guides/no-front.md" and "no front matter" in p[2] for p in problems)
    assert ("api/search.md", "error", "the slug 'search' is reserved by the portal") in problems
    assert any(p[0] == "guides/odd.md" and p[1] == "warning" and "unknown category" in p[2] for p in problems)
    assert any(p[0] == "stray/lost.md" and p[1] == "warning" for p in problems)
    line = next(p for p in check_kb(small_kb) if "broken link" in p.message).line
    assert line == 12  # 8 lines of front matter, a blank, then the body's third line


def test_existing_image_passes(small_kb):
    (small_kb / "guides" / "images").mkdir()
    (small_kb / "guides" / "images" / "ok.png").write_bytes(b"\x89PNG")
    write_article(small_kb, "guides", "pic", "![ok](images/ok.png)")
    assert not any("image" in p.message for p in check_kb(small_kb))


def test_cli_exit_codes(runner, small_kb):
    result = runner.invoke(args=["kb", "check", "--dir", str(small_kb)])
    assert result.exit_code == 0, result.output
    assert "0 error(s)" in result.output
    write_article(small_kb, "faq", "bad", related="[ghost]")
    result = runner.invoke(args=["kb", "check", "--dir", str(small_kb)])
    assert result.exit_code == 1
    assert "faq/bad.md:" in result.output and "related article 'ghost' does not exist" in result.output
