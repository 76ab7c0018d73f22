from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import audit
from ..errors import DomainError
from ..extensions import csrf
from ..web import safe_next
from . import bp, services, sessions, throttle, two_factor
from .forms import LanguageForm, LoginForm, PasswordForm
from .models import utcnow

PENDING_SIGN_IN = "two_factor_pending"  # user id, time, remember and next between password and code


@bp.route("/login", methods=["GET", "POST"])
@csrf.exempt  # LoginForm checks the token itself, so an expired one keeps the typed email
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next"), url_for("kb.index")))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        wait = throttle.wait_seconds(form.email.data)
        if wait:  # no password is checked: a guess now tells nothing
            form.password.errors.append(throttle.message(wait))
            return render_template("auth/login.html", form=form), 429, {"Retry-After": str(wait)}
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            throttle.failed(form.email.data)
            audit.failed_sign_in(form.email.data)
            form.password.errors.append(_("That email and password do not match an account."))
        elif two_factor.is_enabled(user):  # the password alone is not enough: ask for the code
            session[PENDING_SIGN_IN] = two_factor.start_sign_in(user, utcnow(), form.remember.data, form.next.data)
            return redirect(url_for("auth.sign_in_code"))
        else:
            throttle.succeeded(form.email.data)
            return finish_sign_in(user, form.remember.data, form.next.data)
    if "csrf_token" in form.errors:  # (no such field when CSRF is switched off, as in bench/)
        form.password.errors.append(_("The page was open too long. Please sign in again."))
    status = 422 if form.errors else 200
    return render_template("auth/login.html", form=form), status


def finish_sign_in(user, remember: bool, next_url: str | None):
    sessions.start(user, remember=remember, now=utcnow())
    session.pop("lang", None)  # the account's own choice wins from now on
    flash(_("Welcome back, %(name)s.", name=user.name), "success")
    return redirect(safe_next(next_url, url_for("kb.index")))


@bp.post("/logout")
def logout():
    """Signing out ends every session of the account, on every device (issue 14)."""
    if current_user.is_authenticated:
        services.end_sessions(current_user)
    sessions.end_here()
    session.pop(PENDING_SIGN_IN, None)
    flash(_("You are signed out."), "info")
    return redirect(url_for("kb.index"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    form = LanguageForm(lang=current_user.locale or "")
    if form.validate_on_submit():
        services.set_locale(current_user, form.lang.data, current_app.config["LANGUAGES"])
        flash(_("Your language preference is saved."), "success")
        return redirect(url_for("auth.account"))
    return account_page(form=form)


def account_page(form=None, token_form=None, new_secret=None, status=200, **sections):
    """The account page. Its API-token section comes from portal.api (template globals and
    routes of its own), so auth does not import api; password and sessions are in account.py,
    two-step sign-in in two_factor_routes.py; ``sections`` are those sections' forms."""
    sections.setdefault("password_form", PasswordForm())
    response = current_app.make_response((render_template(
        "auth/account.html", form=form or LanguageForm(lang=current_user.locale or ""),
        token_form=token_form, new_secret=new_secret, min_password_length=services.MIN_PASSWORD_LENGTH,
        **sections,
    ), status))
    if new_secret:
        response.headers["Cache-Control"] = "no-store"  # the secret is shown this once
    return response


@bp.post("/language")
def language():
    """The header's language switch: kept on the account, or in the session for visitors."""
    form = LanguageForm()
    if not form.validate():
        flash(_("That language is not available."), "error")
        return redirect(safe_next(request.form.get("next"), url_for("kb.index")))
    lang = form.lang.data or None
    if current_user.is_authenticated:
        try:
            services.set_locale(current_user, lang, current_app.config["LANGUAGES"])
        except DomainError as exc:
            flash(exc.message, "error")
    elif lang:
        session["lang"] = lang
    else:
        session.pop("lang", None)
    return redirect(safe_next(form.next.data, url_for("kb.index")))
