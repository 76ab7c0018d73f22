"""Browser tests: Playwright drives Debian's Chromium against a live server on 127.0.0.1."""

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from portal import create_app
from portal.extensions import db
from tests.conftest import _config

CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)")
    # Playwright's own browser download cannot work here: use the system's.
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    }


@pytest.fixture
def live_settings() -> dict:
    """Settings the live app runs with on top of the tests' own: a test module overrides this
    fixture to serve, e.g., its own plans file ({"PLANS_FILE": ...})."""
    return {}


@pytest.fixture
def live_app(sqlite_template, kb_index, tmp_path, monkeypatch, live_settings):
    path = tmp_path / "live.db"
    shutil.copy(sqlite_template, path)
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(_config(f"sqlite:///{path}", kb_index, **live_settings))
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def live_server(live_app):
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture
def page_errors(page):
    """Console errors and failed requests (a CSP violation shows up here)."""
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


@pytest.fixture
def demo_phone(browser, live_app, page_errors, now):
    """A phone (390×844, touch) on the demo data; its page's errors go to page_errors."""
    from portal.demo import seed_demo

    with live_app.app_context():
        seed_demo(now)
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = phone.new_page()
    page.on("pageerror", lambda exc: page_errors.append(str(exc)))
    yield page
    phone.close()


def sign_in(page, live_server, email, password="portal-demo"):
    """Sign in on the live server's page (the demo's password by default)."""
    from playwright.sync_api import expect

    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".flash")).to_contain_text("Welcome back")
