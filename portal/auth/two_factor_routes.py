"""Two-step sign-in pages: the code after the password, setting the app up, recovery codes,
turning it off; and the guard that keeps users of a required role on the set-up page."""

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import audit
from ..errors import DomainError
from ..extensions import db
from ..web import safe_next
from . import bp, services, sessions, throttle, two_factor
from .forms import CodeForm, EnrolForm, TwoFactorProofForm
from .models import utcnow
from .routes import PENDING_SIGN_IN, account_page, finish_sign_in

SETUP_SECRET = "two_factor_setup"  # {user_id, the sealed secret} while the app is being set up
# What a user who must turn two-step sign-in on can still reach.
OPEN_WHILE_ENROLLING = {"auth.two_factor_setup", "auth.logout", "auth.language", "static"}


@bp.record_once
def _check_settings(state):
    two_factor.required_roles(state.app.config["TWO_FACTOR_REQUIRED_ROLES"])  # a typo stops the start


@bp.before_app_request
def require_two_factor():
    """A user of a role in TWO_FACTOR_REQUIRED_ROLES without two-step sign-in sees only the set-up
    page. API tokens are not sessions: the API is left alone."""
    if request.blueprint == "api" or request.endpoint in OPEN_WHILE_ENROLLING or request.endpoint is None:
        return None
    if not current_user.is_authenticated or not two_factor.is_required_for(current_user):
        return None
    if two_factor.is_enabled(current_user):
        return None
    target = url_for("auth.two_factor_setup", next=request.full_path.rstrip("?") if request.method == "GET" else None)
    if request.headers.get("HX-Request") == "true":
        response = current_app.make_response(("", 204))
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, 303)


@bp.app_template_global()
def two_factor_status(user):
    settings = two_factor.settings_of(user)
    return {"enabled": settings is not None, "enabled_at": settings and settings.enabled_at,
            "codes_left": two_factor.recovery_codes_left(user) if settings else 0,
            "required": two_factor.is_required_for(user)}


@bp.app_template_global()
def two_factor_proof_form(prefix: str):
    return TwoFactorProofForm(formdata=None, prefix=prefix)


# --- the second step of signing in ---------------------------------------------------------------

@bp.route("/login/code", methods=["GET", "POST"])
def sign_in_code():
    marker = session.get(PENDING_SIGN_IN) or {}
    user = two_factor.pending_user(marker, utcnow())
    if user is None:
        session.pop(PENDING_SIGN_IN, None)
        flash(_("Please sign in again: the code must follow the password within five minutes."), "info")
        return redirect(url_for("auth.login", next=marker.get("next") or None))
    form = CodeForm()
    if form.validate_on_submit():
        # Wrong codes count with wrong passwords (per account and address): whoever has the
        # password gets no more guesses at the code by typing it again.
        wait = throttle.wait_seconds(user.email)
        if wait:
            form.code.errors.append(throttle.message(wait))
            return render_template("auth/login_code.html", form=form), 429, {"Retry-After": str(wait)}
        try:
            kind = two_factor.sign_in_with_code(user, form.code.data, utcnow())
        except two_factor.TooManyWrongCodes as exc:
            _wrong_code(user)
            session.pop(PENDING_SIGN_IN, None)
            flash(exc.message, "error")
            return redirect(url_for("auth.login", next=marker.get("next") or None))
        except DomainError as exc:
            db.session.rollback()
            _wrong_code(user)
            form.code.errors.append(exc.message)
        else:
            throttle.succeeded(user.email)
            session.pop(PENDING_SIGN_IN, None)
            if kind == "recovery":
                flash(_("You signed in with a recovery code; it cannot be used again. %(left)s left.",
                        left=two_factor.recovery_codes_left(user)), "info")
            return finish_sign_in(user, marker.get("remember", False), marker.get("next"))
    status = 422 if form.errors else 200
    return render_template("auth/login_code.html", form=form), status


def _wrong_code(user) -> None:
    throttle.failed(user.email)
    audit.record_request("auth.2fa_failed", target=("user", user.id, user.email),
                         organization_id=user.organization_id)


# --- setting it up, recovery codes, turning it off ----------------------------------------------

@bp.route("/account/two-factor", methods=["GET", "POST"])
@login_required
def two_factor_setup():
    if two_factor.is_enabled(current_user):
        return redirect(url_for("auth.account", _anchor="two-factor"))
    pending = session.get(SETUP_SECRET) or {}
    secret = None
    if pending.get("user_id") == current_user.id:
        try:
            secret = two_factor.unseal(pending.get("secret", ""))
        except DomainError:
            secret = None
    if secret is None:  # kept (sealed) in the session only: the database has it once confirmed
        secret = two_factor.new_secret()
        session[SETUP_SECRET] = {"user_id": current_user.id, "secret": two_factor.seal(secret)}
    form = EnrolForm(next=request.args.get("next", ""))
    if form.validate_on_submit() and _password_confirmed(form):
        try:
            codes = two_factor.enable(current_user, secret, form.code.data, utcnow(), audit.from_request())
        except DomainError as exc:
            db.session.rollback()
            form.code.errors.append(exc.message)
        else:
            session.pop(SETUP_SECRET, None)
            # Sessions signed in with the password alone end; this browser stays signed in.
            services.end_sessions(current_user)
            sessions.start(current_user._get_current_object(), remember=sessions.has_remember_cookie(), now=utcnow())
            flash(_("Two-step sign-in is on. Next time you sign in, the portal asks for a code from your app."),
                  "success")
            return recovery_codes_page(codes, safe_next(form.next.data, url_for("auth.account")))
    response = current_app.make_response((render_template(
        "auth/two_factor_setup.html", form=form, enrolment=two_factor.enrolment(current_user, secret),
        required=two_factor.is_required_for(current_user)), 422 if form.errors else 200))
    response.headers["Cache-Control"] = "no-store"  # the secret is on the page
    return response


def recovery_codes_page(codes: list[str], continue_to: str):
    response = current_app.make_response(render_template("auth/two_factor_codes.html", codes=codes,
                                                         continue_to=continue_to))
    response.headers["Cache-Control"] = "no-store"  # shown this once
    return response


@bp.post("/account/two-factor/recovery-codes")
@login_required
def two_factor_regenerate():
    form = TwoFactorProofForm(prefix="regenerate")
    if form.validate() and not _throttled(form):
        try:
            codes = two_factor.regenerate_recovery_codes(current_user, form.proof.data, utcnow(), audit.from_request())
        except DomainError as exc:
            _refused_proof(form, exc)
        else:
            flash(_("New recovery codes are ready; the old ones no longer work."), "success")
            return recovery_codes_page(codes, url_for("auth.account", _anchor="two-factor"))
    return account_page(status=422, two_factor_regenerate_form=form)


@bp.post("/account/two-factor/off")
@login_required
def two_factor_disable():
    form = TwoFactorProofForm(prefix="disable")
    if form.validate() and not _throttled(form):
        try:
            two_factor.disable(current_user, form.proof.data, utcnow(), audit.from_request())
        except DomainError as exc:
            _refused_proof(form, exc)
        else:
            flash(_("Two-step sign-in is off: your password alone signs you in."), "success")
            return redirect(url_for("auth.account", _anchor="two-factor"))
    return account_page(status=422, two_factor_disable_form=form)


def _password_confirmed(form) -> bool:
    wait = throttle.wait_seconds(current_user.email)
    if wait:
        form.password.errors.append(throttle.message(wait))
        return False
    if not current_user.check_password(form.password.data or ""):
        throttle.failed(current_user.email)
        form.password.errors.append(_("That is not your current password."))
        return False
    return True


def _throttled(form) -> bool:
    """A stolen session must not guess the password or the code here either: the sign-in's counts apply."""
    wait = throttle.wait_seconds(current_user.email)
    if wait:
        form.proof.errors.append(throttle.message(wait))
    return bool(wait)


def _refused_proof(form, exc: DomainError) -> None:
    db.session.rollback()
    if exc.field == "proof":  # neither the password nor a code (not "your role must use it")
        throttle.failed(current_user.email)
    form.proof.errors.append(exc.message)
