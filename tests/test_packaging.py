"""A plain `pip install .` must serve the same pages as a checkout."""

import subprocess
import sys
import zipfile

from tests.conftest import REPO


def test_wheel_ships_templates_static_translations_and_migrations(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(REPO)],
        check=True, capture_output=True,
    )
    wheel = next(tmp_path.glob("portal-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "portal/__init__.py",
        "portal/templates/base.html",
        "portal/templates/kb/article.html",
        "portal/static/css/portal.css",
        "portal/static/js/portal.js",
        "portal/static/vendor/htmx.min.js",
        "portal/translations/es/LC_MESSAGES/messages.mo",
        "portal/migrations/env.py",
        "portal/migrations/alembic.ini",
        "portal/migrations/versions/0001_accounts_and_kb_analytics.py",
        "portal/migrations/versions/0005_onboarding.py",
        "portal/plans/default.toml",  # the plans in force when PORTAL_PLANS_FILE is not set
        "portal/onboarding/areas.toml",
        "portal/templates/onboarding/_book.html",
    ):
        assert expected in names, expected


def test_installed_wheel_finds_its_templates(tmp_path):
    """Installed into a fresh target folder (no checkout around it), the app renders pages."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(REPO)],
        check=True, capture_output=True,
    )
    wheel = next(tmp_path.glob("portal-*.whl"))
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    script = (
        "import portal, sys; from portal import create_app; "
        "app = create_app({'TESTING': True, 'KB_AUTO_REINDEX': False}); "
        "assert app.template_folder.startswith(str(sys.argv[1])), app.template_folder; "
        "c = app.test_client(); r = c.get('/login'); assert r.status_code == 200, r.status_code; "
        "assert c.get('/static/vendor/htmx.min.js').status_code == 200; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", script, str(target)], cwd=tmp_path, capture_output=True, text=True,
                         env={"PYTHONPATH": str(target), "PORTAL_INSTANCE_PATH": str(tmp_path / "inst"),
                              "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "ok", out.stderr
