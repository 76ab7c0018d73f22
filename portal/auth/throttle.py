"""Sign-in throttling: failed sign-ins counted per client address and per email typed.

Only failures count, so someone who types their password right is never locked out by their
own sign-ins. The counts live in Flask-Limiter's storage (RATELIMIT_STORAGE_URI: memory per
process, or redis shared by several servers). A throttled attempt checks no password at all,
and the answer is the same whether the email has an account or not.
"""

from __future__ import annotations

import math
import time

from flask import current_app, request
from flask_babel import ngettext
from limits import RateLimitItem, parse

from ..errors import DomainError
from .. import audit
from ..extensions import limiter
from . import services


def _account(email: str) -> str:
    try:
        return services.normalize_email(email or "")
    except DomainError:  # the form refuses those first; still one key per spelling
        return (email or "").strip().lower()


def _counters(email: str) -> list[tuple[RateLimitItem, tuple[str, str]]]:
    config = current_app.config
    return [
        (parse(config["LOGIN_RATE_LIMIT_ADDRESS"]), ("login-address", request.remote_addr or "unknown")),
        (parse(config["LOGIN_RATE_LIMIT_ACCOUNT"]), ("login-account", _account(email))),
    ]


def wait_seconds(email: str) -> int:
    """0 when a sign-in with this email from this address may be tried now; else how long until it may."""
    if not limiter.enabled:
        return 0
    wait = 0
    try:
        for item, keys in _counters(email):
            if not limiter.limiter.test(item, *keys):
                reset_at = limiter.limiter.get_window_stats(item, *keys).reset_time
                wait = max(wait, math.ceil(reset_at - time.time()), 1)
    except Exception:  # the shared storage is away: let people sign in rather than lock everyone out
        current_app.logger.exception("Sign-in throttling is off: its storage did not answer")
        return 0
    if wait:
        throttled(email, wait)
    return wait


def throttled(email: str, wait: int) -> None:
    """An attempt refused unchecked: logged (with failed(), where an audit record hooks in)."""
    current_app.logger.warning("Sign-in throttled for %r from %r (%s s to wait)", _account(email),
                               request.remote_addr, wait)
    audit.record_request("auth.sign_in_throttled", target=("email", None, _account(email)), detail={"wait": wait})


def failed(email: str) -> None:
    """A wrong email or password: counted, and logged (the one place to hook an audit record in)."""
    current_app.logger.warning("Failed sign-in for %r from %r", _account(email), request.remote_addr)
    if not limiter.enabled:
        return
    try:
        for item, keys in _counters(email):
            limiter.limiter.hit(item, *keys)
    except Exception:
        current_app.logger.exception("A failed sign-in was not counted: the throttling storage did not answer")


def succeeded(email: str) -> None:
    """The account's own count starts again (the address's does not: one account known to an
    attacker must not reset their guesses at the others)."""
    if not limiter.enabled:
        return
    try:
        item, keys = _counters(email)[1]
        limiter.limiter.clear(item, *keys)
    except Exception:
        current_app.logger.exception("The throttling storage did not answer")


def message(wait: int) -> str:
    minutes = max(1, math.ceil(wait / 60))
    return ngettext("Too many attempts. Try again in %(num)d minute: until then even the right password "
                    "is refused.",
                    "Too many attempts. Try again in %(num)d minutes: until then even the right password "
                    "is refused.", minutes)
