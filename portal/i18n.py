"""Interface language: the user's choice, else the browser's, else English."""

from __future__ import annotations

from contextlib import contextmanager

from flask import current_app, has_request_context, request, session
from flask_babel import format_date, format_datetime, get_locale
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_login import current_user


def select_locale() -> str | None:
    if not has_request_context():
        return None  # the CLI and background jobs: the default (emails force their reader's)
    languages = current_app.config["LANGUAGES"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    if session.get("lang") in languages:
        return session["lang"]
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str | None:
    """Customers read times in their organization's time zone; staff and visitors in the default (UTC)."""
    if not has_request_context():
        return None
    if current_user and current_user.is_authenticated and current_user.organization is not None:
        return current_user.organization.timezone
    return None


@contextmanager
def force_timezone(zone: str | None):
    """Times formatted inside read in this zone: an email in its recipient's zone, not the
    request's. Flask-Babel caches the zone on its context, as force_locale does the locale."""
    from babel.dates import get_timezone as zone_named
    from flask_babel import _get_current_context, get_timezone

    ctx = _get_current_context()
    if ctx is None or not zone:
        yield
        return
    previous = get_timezone()
    ctx.babel_tzinfo = zone_named(zone)
    try:
        yield
    finally:
        ctx.babel_tzinfo = previous


LANGUAGE_NAMES = {"en": "English", "es": "Español"}

TYPE_NAMES = {
    "guide": (_l("Guides"), _l("Guide")),
    "faq": (_l("FAQ"), lazy_pgettext("one article of this type", "FAQ")),
    "tutorial": (_l("Tutorials"), _l("Tutorial")),
    "api": (_l("API docs"), _l("API")),
}

CATEGORY_NAMES = {
    "getting-started": _l("Getting started"),
    "knowledge-base": _l("Knowledge base"),
    "tickets": _l("Tickets"),
    "plans": _l("Plans and SLA"),
    "onboarding": _l("Onboarding"),
    "account": _l("Account and security"),
    "api": _l("API"),
}


def category_name(key: str) -> str:
    return str(CATEGORY_NAMES.get(key) or key.replace("-", " ").capitalize())


def type_name(key: str, plural: bool = True) -> str:
    names = TYPE_NAMES.get(key)
    return str(names[0 if plural else 1]) if names else key


def init_app(app) -> None:
    app.jinja_env.globals.update(
        category_name=category_name, type_name=type_name, LANGUAGE_NAMES=LANGUAGE_NAMES, get_locale=get_locale,
        format_date=format_date, format_datetime=format_datetime,
    )

    @app.context_processor
    def timezone_name():
        from flask_babel import get_timezone

        return {"current_timezone": str(get_timezone())}
