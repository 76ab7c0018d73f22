"""The audit log: who did what, when, from where. At the bottom of the packages (it imports only
the shared modules), so every package records into it: services call ``services.record`` before
their commit, with an ``Origin`` their caller gives them (``from_request()`` in a view, ``CLI`` in
a command). Sign-ins and sign-outs are recorded from Flask-Login's signals."""

from __future__ import annotations

from flask import g, has_request_context, request
from flask_login import current_user, user_logged_in, user_logged_out

from ..extensions import db
from .services import CLI, Origin, record  # noqa: F401  (the recorder's API)


def from_request() -> Origin:
    """The signed-in user (if any) and the client's address (ProxyFix has applied PROXY_HOPS)."""
    if not has_request_context():
        return Origin()
    user = current_user if current_user and current_user.is_authenticated else None
    return Origin.of(user, request.remote_addr)


def record_request(action: str, *, target=None, organization_id: int | None = None, detail=None,
                   commit: bool = True):
    """For a view whose only write is the entry (an export, a sign-in): record with the request's
    user and address, and commit."""
    entry = record(action, from_request(), target=target, organization_id=organization_id, detail=detail)
    if commit:
        db.session.commit()
    return entry


def failed_sign_in(email: str | None) -> None:
    """The sign-in form did not match an account: recorded with the email typed, and committed."""
    from .services import failed_sign_in as _record

    _record(email, from_request())
    db.session.commit()


def _signed_in(_app, user, **_extra) -> None:
    record("auth.sign_in", Origin.of(user, request.remote_addr if has_request_context() else None),
           target=("user", user.id, user.email), organization_id=user.organization_id)
    db.session.commit()


def _signed_out(_app, user, **_extra) -> None:
    if not getattr(user, "is_authenticated", False) or (has_request_context() and g.get("session_ended")):
        return
    record("auth.sign_out", Origin.of(user, request.remote_addr if has_request_context() else None),
           target=("user", user.id, user.email), organization_id=user.organization_id)
    db.session.commit()


def prune_job(app, stop) -> None:
    """The worker's thread: prune the entries past AUDIT_RETENTION_DAYS now and then every hour."""
    from .services import utcnow, prune

    while True:
        with app.app_context():
            try:
                prune(utcnow(), int(app.config["AUDIT_RETENTION_DAYS"] or 0))
            except Exception:  # the database restarting, say: try again at the next round
                app.logger.exception("pruning the audit log failed; trying again later")
                db.session.rollback()
            finally:
                db.session.remove()
        if stop.wait(3600):
            return


def init_app(app) -> None:
    from . import models  # noqa: F401  (the table, for migrations and queries)
    from .cli import audit_cli

    # Module-level receivers: blinker holds them weakly, and connecting again is a no-op.
    user_logged_in.connect(_signed_in)
    user_logged_out.connect(_signed_out)
    app.cli.add_command(audit_cli)
    app.extensions.setdefault("portal.worker_jobs", []).append(prune_job)
