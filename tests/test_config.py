import sqlite3

from portal import create_app


def test_defaults_live_in_the_instance_folder(tmp_path, monkeypatch):
    for name in ("DATABASE_URL", "KB_DIR", "INDEX_DIR", "UPLOAD_DIR", "SECRET_KEY"):
        monkeypatch.delenv(f"PORTAL_{name}", raising=False)
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / "inst"))
    monkeypatch.setenv("PORTAL_KB_AUTO_REINDEX", "false")
    app = create_app()
    assert app.instance_path == str(tmp_path / "inst")
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'inst' / 'portal.db'}"
    assert app.config["INDEX_DIR"] == str(tmp_path / "inst" / "index")
    assert app.config["UPLOAD_DIR"] == str(tmp_path / "inst" / "uploads")
    assert app.config["KB_AUTO_REINDEX"] is False


def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("PORTAL_KB_AUTO_REINDEX", "false")
    first = create_app().config["SECRET_KEY"]
    assert len(first) == 64
    assert create_app().config["SECRET_KEY"] == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    monkeypatch.setenv("PORTAL_SECRET_KEY", "from-the-environment")
    assert create_app().config["SECRET_KEY"] == "from-the-environment"


def test_instance_config_then_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("PORTAL_KB_AUTO_REINDEX", "false")
    (tmp_path / "config.py").write_text("SEARCH_PAGE_SIZE = 7\nKB_DIR = '/srv/kb-from-file'\n")
    app = create_app()
    assert app.config["SEARCH_PAGE_SIZE"] == 7 and app.config["KB_DIR"] == "/srv/kb-from-file"
    monkeypatch.setenv("PORTAL_KB_DIR", "/srv/kb-from-env")
    monkeypatch.setenv("PORTAL_SEARCH_PAGE_SIZE", "12")
    app = create_app()
    assert app.config["KB_DIR"] == "/srv/kb-from-env" and app.config["SEARCH_PAGE_SIZE"] == 12


def test_sqlite_runs_in_wal_mode(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("PORTAL_KB_AUTO_REINDEX", "false")
    app = create_app()
    from portal.extensions import db

    with app.app_context():
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        db.engine.dispose()
    assert sqlite3.connect(tmp_path / "portal.db").execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_missing_index_is_built_at_start_up(tmp_path, monkeypatch, small_kb_dir):
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / "inst"))
    monkeypatch.setenv("PORTAL_KB_DIR", str(small_kb_dir))
    monkeypatch.delenv("PORTAL_KB_AUTO_REINDEX", raising=False)
    create_app()
    assert (tmp_path / "inst" / "index" / "CURRENT").is_file()


def test_cookies_are_secure_when_the_base_url_is_https(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("PORTAL_KB_AUTO_REINDEX", "false")
    names = ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE")
    plain = create_app({"BASE_URL": "http://127.0.0.1:5000"}).config
    assert [plain[n] for n in names] == [False, False]
    https = create_app({"BASE_URL": "HTTPS://support.example.com"}).config
    assert [https[n] for n in names] == [True, True]
    monkeypatch.setenv("PORTAL_SESSION_COOKIE_SECURE", "false")  # set explicitly: kept
    assert create_app({"BASE_URL": "https://support.example.com"}).config["SESSION_COOKIE_SECURE"] is False


def test_remember_me_lasts_as_long_as_a_sign_in(tmp_path, monkeypatch):
    from datetime import timedelta

    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("PORTAL_KB_AUTO_REINDEX", "false")
    assert create_app().config["REMEMBER_COOKIE_DURATION"] == timedelta(days=30)
    monkeypatch.setenv("PORTAL_SESSION_MAX_DAYS", "14")
    assert create_app().config["REMEMBER_COOKIE_DURATION"] == timedelta(days=14)
