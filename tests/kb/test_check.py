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


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _rows(database_url):
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return {table: conn.execute(text(f'SELECT * FROM "{table}"')).all()
                    for table in sorted(inspect(conn).get_table_names())}
    finally:
        engine.dispose()


def test_check_against_a_running_instance_writes_nothing(database_url, small_kb, tmp_path, monkeypatch):
    """`portal kb check` run with a copied PORTAL_KB_DIR beside a live instance: the live index
    (stale for that copy), the database and the instance folder stay exactly as they were."""
    from click.testing import CliRunner

    from portal.cli import main
    from portal.kb.search import reindex

    instance = tmp_path / "instance"
    reindex(KB_DIR, instance / "index", full=True)
    (instance / "secret_key").write_text("live\n")
    write_article(small_kb, "faq", "bad", related="[ghost]")
    for name in ("PORTAL_INDEX_DIR", "PORTAL_KB_AUTO_REINDEX", "PORTAL_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    env = {"PORTAL_INSTANCE_PATH": str(instance), "PORTAL_KB_DIR": str(small_kb), "PORTAL_DATABASE_URL": database_url}
    before_files, before_rows = _files(instance), _rows(database_url)
    assert "alembic_version" in before_rows

    result = CliRunner().invoke(main, ["kb", "check"], env=env)

    assert result.exit_code == 1, result.output
    assert "faq/bad.md:" in result.output and "related article 'ghost' does not exist" in result.output
    assert f"{small_kb}: 1 error(s)" in result.output
    assert _files(instance) == before_files
    assert _rows(database_url) == before_rows


def test_check_without_an_instance_folder_creates_none(small_kb, tmp_path):
    from click.testing import CliRunner

    from portal.cli import main

    instance = tmp_path / "no-instance"
    result = CliRunner().invoke(main, ["kb", "check"], env={"PORTAL_INSTANCE_PATH": str(instance),
                                                            "PORTAL_KB_DIR": str(small_kb)})
    assert result.exit_code == 0, result.output
    assert f"{small_kb}: 0 error(s)" in result.output
    assert not instance.exists()
