"""portal: a self-hosted customer support portal."""

from __future__ import annotations

import logging
import sqlite3

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from . import config as settings
from .extensions import babel, csrf, db, limiter, login_manager, migrate

__version__ = "0.1.0"


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    # WAL lets readers proceed while one writer commits; busy_timeout makes
    # concurrent writers wait instead of failing with "database is locked".
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def create_app(test_config: dict | None = None) -> Flask:
    templates, static = settings.template_and_static_dirs()
    app = Flask(
        __name__,
        instance_path=settings.default_instance_path(),
        instance_relative_config=True,
        template_folder=str(templates),
        static_folder=str(static),
    )
    settings.read(app.config)
    if test_config:
        app.config.update(test_config)
    settings.finish(app.config, app.instance_path)
    hops = int(app.config["PROXY_HOPS"] or 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    db.init_app(app)
    migrate.init_app(app, db, directory=str(settings.PACKAGE_DIR / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)

    from . import i18n

    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    i18n.init_app(app)

    from . import web

    web.init_app(app)

    from . import plans

    plans.init_app(app)

    from . import audit

    audit.init_app(app)

    from . import teams

    teams.init_app(app)

    from .auth import bp as auth_bp
    from .api import account as _api_tokens  # noqa: F401  (the account page's API tokens, on auth's blueprint)
    from .auth.cli import register as register_auth_cli
    from .kb import bp as kb_bp
    from .kb.cli import kb_cli
    from .main import bp as main_bp
    from .tickets import bp as tickets_bp
    from .tickets.cli import attachments_cli, sla_cli, tickets_cli
    from .plans.cli import plans_cli
    from .org import bp as org_bp
    from .org.cli import register as register_org_cli
    from .onboarding import bp as onboarding_bp
    from .agent import bp as agent_bp
    from .agent.cli import analytics_cli
    from .onboarding.cli import expert_cli
    from .demo import seed_demo_command
    from .mail.cli import mail_cli, worker_command

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(kb_bp)
    app.register_blueprint(tickets_bp)
    app.register_blueprint(org_bp)
    app.register_blueprint(onboarding_bp)
    app.register_blueprint(agent_bp)
    app.register_blueprint(teams.bp)
    from .inbox import bp as inbox_bp
    from .inbox.cli import register as register_inbox_cli

    app.register_blueprint(inbox_bp)
    register_inbox_cli(app)
    from . import api

    api.init_app(app)
    app.cli.add_command(expert_cli)
    app.cli.add_command(plans_cli)
    app.cli.add_command(sla_cli)
    app.cli.add_command(tickets_cli)
    app.cli.add_command(attachments_cli)
    app.cli.add_command(kb_cli)
    from .kb.search import repair_job

    app.extensions.setdefault("portal.worker_jobs", []).append(repair_job)
    app.cli.add_command(analytics_cli)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(mail_cli)
    app.cli.add_command(worker_command)
    register_auth_cli(app.cli)
    register_org_cli(app.cli)

    if app.config["KB_AUTO_REINDEX"]:
        from .kb.search import ensure_index

        try:
            ensure_index(app.config["KB_DIR"], app.config["INDEX_DIR"])
        except Exception:  # the portal still serves pages; /healthz reports the index
            app.logger.exception("could not build the search index at start-up")

    return app
