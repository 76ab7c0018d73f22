"""Request-level plumbing shared by every blueprint: htmx, headers, errors, roles."""

from __future__ import annotations

import re
import sqlite3
from functools import wraps
from urllib.parse import urlsplit

from flask import Request, abort, current_app, flash, g, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from sqlalchemy import exc as sa_exc
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.exceptions import BadRequest, ServiceUnavailable
from werkzeug.routing import IntegerConverter

from .extensions import MAX_ID


# No inline scripts or styles anywhere: every asset is a file under static/.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; media-src 'self' https:; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


def wants_fragment() -> bool:
    """An htmx request for part of a page (not a boosted link or a history restore)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-Boosted") != "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render_page_or_fragment(page: str, fragment: str, **context):
    """One URL, two answers: the whole page, or for htmx just the fragment it includes."""
    response = current_app.make_response(render_template(fragment if wants_fragment() else page, **context))
    response.vary.add("HX-Request")
    return response


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths: an open redirect would turn sign-in into a phishing tool."""
    if not target or not target.isprintable():  # a line break in a Location header is an error
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def flash_result(action, success: str) -> bool:
    """Run a service call behind a form that redirects afterwards: a broken rule
    (DomainError) becomes an error flash and rolls back; success flashes ``success``."""
    from .errors import DomainError
    from .extensions import db

    try:
        action()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return False
    flash(success, "success")
    return True


def roles_required(*roles):
    """Only signed-in users with one of these roles (``auth.models.Role``); others get 403."""
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def answer_errors_under(app, prefix: str, handler) -> None:
    """Errors under ``prefix`` (even those raised before routing) are answered by ``handler(exc)``:
    the JSON API registers its problem documents here, so this shared module never imports it."""
    app.extensions.setdefault("portal.error_handlers", {})[prefix] = handler


def _error_page(code: int, title: str, message: str, exc=None):
    for prefix, handler in current_app.extensions.get("portal.error_handlers", {}).items():
        if request.path == prefix or request.path.startswith(prefix + "/"):
            from werkzeug.exceptions import default_exceptions

            return handler(exc or default_exceptions[code]())
    template = "_error.html" if wants_fragment() else "error.html"
    return render_template(template, code=code, title=title, message=message), code


# Seconds a client is asked to wait when the database is not answering.
DATABASE_RETRY_AFTER = 5
# SQLite's operational errors that pass: the others ("no such table") are bugs.
_SQLITE_TRANSIENT = ("database is locked", "database table is locked", "unable to open database file",
                     "disk i/o error")


def database_unavailable(exc: Exception) -> bool:
    """Whether a database error means "not answering right now" (a restart, a lost connection,
    a refused one, a locked SQLite file, a full pool) rather than a mistake in a statement."""
    if isinstance(exc, sa_exc.TimeoutError):  # no pooled connection came free in time
        return True
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if not isinstance(exc, sa_exc.OperationalError):
        return False
    if isinstance(exc.orig, sqlite3.Error):
        return any(text in str(exc.orig).lower() for text in _SQLITE_TRANSIENT)
    # PostgreSQL's operational errors: connection lost or refused, server shutting down, out of resources.
    return True


class DatabaseId(IntegerConverter):
    """``<int:…>`` in every route: at most the largest id the databases store (32-bit), so a
    longer number in an address is a 404, not an error from PostgreSQL."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


# Control characters nobody types: NUL (PostgreSQL refuses it in text) and the rest of C0 and DEL,
# but tab and line breaks, which multi-line text needs.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def without_control_characters(value):
    return _CONTROL.sub("", value) if isinstance(value, str) else value


class TypedText(ImmutableMultiDict):
    """Query strings and form fields as a person could have typed them: control characters are
    dropped, the rest of the text kept, so a form re-renders what the user wrote."""

    def __init__(self, mapping=None):
        items = MultiDict(mapping).items(multi=True) if mapping else ()
        super().__init__([(without_control_characters(k), without_control_characters(v)) for k, v in items])


class PortalRequest(Request):
    parameter_storage_class = TypedText  # werkzeug builds request.args and request.form (not files) with it


def init_app(app) -> None:
    from .errors import DomainError
    from .extensions import db

    app.url_map.converters["int"] = DatabaseId  # before any blueprint adds its routes
    app.request_class = PortalRequest

    @app.before_request
    def no_nul_in_the_address():
        if "\x00" in request.path:  # never an address of ours, and PostgreSQL would refuse it in a lookup
            abort(400)
    app.jinja_env.filters["markdown"] = user_markdown

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.headers.get("HX-Boosted") == "true" and request.method == "POST":
            # A boosted form answered with a page (errors to fix) stays at the page's own address:
            # the form's POST URL in the history would answer 405 on reload. After a redirect
            # htmx pushes the address it was sent to, as a browser would.
            response.headers.setdefault("HX-Push-Url", "false")
        return response

    @app.errorhandler(DomainError)
    def broken_rule(exc):
        # A rule no route caught (input of a kind no form sends) is the user's error, said as such: not a 500.
        db.session.rollback()
        return _error_page(400, _("Bad request"), exc.message, BadRequest(description=str(exc)))

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return _error_page(400, _("Your session expired"),
                           _("The form was open too long or cookies are blocked. Reload the page and try again."))

    @app.errorhandler(400)
    def bad_request(exc):
        return _error_page(400, _("Bad request"), _("The request could not be understood."))

    @app.errorhandler(403)
    def forbidden(exc):
        return _error_page(403, _("Not allowed"), _("Your account does not have access to this page."))

    @app.errorhandler(404)
    def not_found(exc):
        return _error_page(404, _("Page not found"), _("The page you asked for does not exist or was moved."))

    @app.errorhandler(405)
    def method_not_allowed(exc):
        return _error_page(405, _("Not allowed"), _("This address does not accept that kind of request."))

    @app.errorhandler(410)
    def gone(exc):
        return _error_page(410, _("File missing"),
                           _("This file is no longer stored on the portal. Ask whoever sent it to attach it again."))

    @app.errorhandler(413)
    def too_large(exc):
        return _error_page(413, _("Too large"), _("What you sent is larger than the portal accepts."))

    @app.errorhandler(sa_exc.DBAPIError)
    @app.errorhandler(sa_exc.TimeoutError)
    def database_error(exc):
        if not database_unavailable(exc):
            raise exc
        from .extensions import db, login_manager

        current_app.logger.warning("database unavailable on %s %s: %s", request.method, request.path,
                                   str(exc).splitlines()[0])
        try:
            db.session.rollback()  # a lost connection was invalidated: the next request checks out a new one
        except Exception:
            db.session.close()
        # The page is drawn as for a visitor: the signed-in user's row cannot be read now.
        g._login_user = login_manager.anonymous_user()
        response = current_app.make_response(_error_page(
            503, _("Temporarily unavailable"),
            _("The portal cannot reach its database right now. Nothing you sent was saved: "
              "go back and send it again in a few seconds."),
            ServiceUnavailable(retry_after=DATABASE_RETRY_AFTER)))
        response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(500)
    def server_error(exc):
        return _error_page(500, _("Something went wrong"),
                           _("We could not finish this request. Please try again in a moment."))


_USER_TAGS = {"a", "b", "blockquote", "br", "code", "del", "em", "h3", "h4", "hr", "i", "li", "ol", "p", "pre",
              "strong", "table", "tbody", "td", "th", "thead", "tr", "ul"}


def user_markdown(text: str | None) -> Markup:
    """Markdown typed by customers and agents, as safe HTML: no script, event
    handler, style or javascript: URL survives."""
    import markdown
    import nh3

    html = markdown.markdown(text or "", extensions=["fenced_code", "tables", "sane_lists", "nl2br"],
                             output_format="html")
    return Markup(nh3.clean(html, tags=_USER_TAGS, attributes={"a": {"href"}},
                            url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow"))
