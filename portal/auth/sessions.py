"""Sessions that end: what a signed-in browser carries, and the rules that end it.

Flask-Login keeps one string in the session and in the remember-me cookie (both signed with
SECRET_KEY): here "user id:session generation:sign-in time". A browser stays signed in while
the account's generation is still the one it signed in with (raising it, services.end_sessions,
ends every session of the account at once, without a table of sessions), the sign-in is younger
than SESSION_MAX_DAYS and, without remember-me, the browser was seen within SESSION_IDLE_MINUTES.
The times live in the signed cookies, so no request writes to the database to keep them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from flask import Response, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user, login_user, logout_user, user_loaded_from_cookie

from ..extensions import db, parse_id
from ..web import safe_next
from .models import User, utcnow

SEEN_PRECISION = 60  # seconds: the last-seen time is rewritten at most this often (fewer Set-Cookie headers)
OUR_KEYS = ("seen_at", "remember")
# No redirect from these: the sign-in page itself (an ended session just shows the form) and files.
NO_REDIRECT = {"auth.login"}
# Pages for visitors too (the help center): an ended session goes on there signed out.
PUBLIC = {"kb", "main"}
# Sent by the pages' background polls (the queue's refresh, the ticket's viewers): they do not keep a
# session from going idle, or an open tab would never be signed out.
POLL_HEADER = "X-Portal-Poll"


def _stamp(now: datetime) -> int:
    return int(now.replace(tzinfo=UTC).timestamp())


def parse(value) -> tuple[int, int, int] | None:
    """(user id, session generation, sign-in time) from the stored string, or None."""
    parts = str(value or "").split(":")
    if len(parts) != 3:  # also a session from before sessions could end: sign in again, once
        return None
    user_id, epoch, signed_in = parse_id(parts[0]), parts[1], parts[2]
    if user_id is None or not (epoch.isascii() and epoch.isdigit() and signed_in.isascii() and signed_in.isdigit()):
        return None
    return user_id, int(epoch), int(signed_in)


def _max_age() -> timedelta:
    return timedelta(days=int(current_app.config["SESSION_MAX_DAYS"]))


def _idle() -> timedelta:
    return timedelta(minutes=int(current_app.config["SESSION_IDLE_MINUTES"]))


def load_user(value: str) -> User | None:
    """Flask-Login's user loader, for the session and the remember-me cookie alike."""
    parsed = parse(value)
    if parsed is None:
        return None
    user_id, epoch, signed_in = parsed
    if _stamp(utcnow()) - signed_in > _max_age().total_seconds():
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active or user.session_epoch != epoch:
        return None
    return user


def start(user: User, remember: bool, now: datetime) -> None:
    """Sign the user in on this browser (also again after a password change: the new generation)."""
    login_user(user, remember=remember)
    # Flask-Login writes session["_user_id"] into the remember-me cookie too, so both carry the time.
    session["_user_id"] = f"{user.get_id()}:{_stamp(now)}"
    session["seen_at"] = _stamp(now)
    session["remember"] = bool(remember)


def end_here() -> None:
    """Sign this browser out (its session and its remember-me cookie)."""
    logout_user()
    for key in OUR_KEYS:
        session.pop(key, None)


def has_remember_cookie() -> bool:
    return current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies


@user_loaded_from_cookie.connect
def _from_cookie(_app, user=None, **_extra):
    # A browser that kept the remember-me cookie past its session: no idle limit, as chosen at sign-in.
    session["remember"] = True
    session["seen_at"] = _stamp(utcnow())


def _expired(now: datetime) -> str | None:
    """Why this browser's session has ended, or None."""
    parsed = parse(session.get("_user_id"))
    if parsed is None:
        return _("You were signed out. Please sign in again.")
    if _stamp(now) - parsed[2] > _max_age().total_seconds():
        return ngettext("A sign-in lasts %(num)d day. Please sign in again.",
                        "A sign-in lasts %(num)d days. Please sign in again.", _max_age().days)
    seen = session.get("seen_at")
    if not session.get("remember") and isinstance(seen, int) and _stamp(now) - seen > _idle().total_seconds():
        return _("You were signed out after %(time)s without activity. Please sign in again.", time=_idle_text())
    return None


def _idle_text() -> str:
    minutes = int(current_app.config["SESSION_IDLE_MINUTES"])
    if minutes % 60:
        return ngettext("%(num)d minute", "%(num)d minutes", minutes)
    return ngettext("%(num)d hour", "%(num)d hours", minutes // 60)


def _page_path() -> str | None:
    """The page to come back to after signing in again."""
    if request.headers.get("HX-Request"):
        current = request.headers.get("HX-Current-URL", "")
    elif request.method in ("GET", "HEAD"):
        return request.full_path if request.query_string else request.path
    else:
        current = request.referrer or ""
    parts = urlsplit(current)
    if parts.netloc and parts.netloc != request.host:
        return None
    return safe_next(parts.path + (f"?{parts.query}" if parts.query else ""), None) if parts.path else None


def enforce_lifetimes() -> Response | None:
    """Before every request: end a session past its idle or absolute lifetime, and send the
    browser to the sign-in page with why, coming back here afterwards."""
    if "_user_id" not in session or request.blueprint == "api" or request.endpoint == "static":
        return None
    now = utcnow()
    reason = _expired(now)
    if reason is None and not current_user.is_authenticated:
        # Ended elsewhere: signed out, a new password, a new role, the account deactivated.
        reason = _("You were signed out. Please sign in again.")
    if reason is None:
        if request.headers.get(POLL_HEADER):  # a page refreshing itself is not someone at work
            return None
        seen = session.get("seen_at")
        if not isinstance(seen, int) or _stamp(now) - seen >= SEEN_PRECISION:
            session["seen_at"] = _stamp(now)
        return None
    g.session_ended = True  # (the audit log records no "signed out": the session ran out)
    end_here()
    if request.endpoint in NO_REDIRECT:
        return None
    flash(reason, "info")
    if request.method == "GET" and request.blueprint in PUBLIC:
        return None  # an article is for visitors too: read on, signed out, with the reason shown
    target = url_for("auth.login", next=_page_path())
    if request.headers.get("HX-Request"):  # a fragment request: the whole page goes to sign-in
        return Response(status=204, headers={"HX-Redirect": target})
    return redirect(target)
