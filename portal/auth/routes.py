from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..errors import DomainError
from ..extensions import csrf
from ..web import safe_next
from . import bp, services
from .forms import LanguageForm, LoginForm


@bp.route("/login", methods=["GET", "POST"])
@csrf.exempt  # LoginForm checks the token itself, so an expired one keeps the typed email
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next"), url_for("kb.index")))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append(_("That email and password do not match an account."))
        else:
            login_user(user, remember=form.remember.data)
            session.pop("lang", None)  # the account's own choice wins from now on
            flash(_("Welcome back, %(name)s.", name=user.name), "success")
            return redirect(safe_next(form.next.data, url_for("kb.index")))
    if "csrf_token" in form.errors:  # (no such field when CSRF is switched off, as in bench/)
        form.password.errors.append(_("The page was open too long. Please sign in again."))
    status = 422 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout():
    logout_user()
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
    return _account_page(form=form)


def _account_page(form=None, token_form=None, new_secret=None, status=200):
    from ..api import services as api_services
    from ..api.forms import NewTokenForm, RevokeTokenForm

    response = current_app.make_response((render_template(
        "auth/account.html", form=form or LanguageForm(lang=current_user.locale or ""),
        token_form=token_form or NewTokenForm(formdata=None), revoke_form=RevokeTokenForm(),
        tokens=api_services.tokens_of(current_user), new_secret=new_secret,
    ), status))
    if new_secret:
        response.headers["Cache-Control"] = "no-store"  # the secret is shown this once
    return response


@bp.post("/account/tokens")
@csrf.exempt  # NewTokenForm checks the token itself, so an expired one keeps the typed name
@login_required
def create_api_token():
    """A new personal API token: its secret is in this answer only, never stored or shown again."""
    from ..api import services as api_services
    from ..api.forms import NewTokenForm

    token_form = NewTokenForm()
    if token_form.validate_on_submit():
        try:
            _token, secret = api_services.create_token(current_user, token_form.name.data)
        except DomainError as exc:
            token_form.name.errors = [str(exc)]
        else:
            return _account_page(new_secret=secret)
    elif token_form.csrf_token.errors:
        token_form.name.errors = [*token_form.name.errors,
                                  _("The page was open too long. Please send the form again.")]
    return _account_page(token_form=token_form, status=422)


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_api_token(token_id):
    """Revoke one of your own tokens (the global CSRF check has already run)."""
    from ..api import services as api_services

    try:
        token = api_services.revoke_token(current_user, token_id)
    except DomainError:
        abort(404)
    flash(_("The token “%(name)s” is revoked; programs using it can no longer sign in.", name=token.name),
          "success")
    return redirect(url_for("auth.account", _anchor="api-tokens"))


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
