"""The account page's API tokens: create (the secret shown this once), list, revoke. The routes
live on the auth blueprint's addresses (/account/tokens…); the page's token section reads the
template globals below, so portal.auth never imports portal.api."""

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import audit
from ..auth import bp as auth_bp
from ..auth.routes import account_page
from ..errors import DomainError
from ..extensions import csrf
from . import services
from .forms import NewTokenForm, RevokeTokenForm


@auth_bp.app_template_global()
def api_tokens_of(user):
    return services.tokens_of(user)


@auth_bp.app_template_global()
def new_api_token_form():
    return NewTokenForm(formdata=None)


@auth_bp.app_template_global()
def revoke_api_token_form():
    return RevokeTokenForm()


@auth_bp.post("/account/tokens")
@csrf.exempt  # NewTokenForm checks the token itself, so an expired one keeps the typed name
@login_required
def create_api_token():
    """A new personal API token: its secret is in this answer only, never stored or shown again."""
    token_form = NewTokenForm()
    if token_form.validate_on_submit():
        try:
            _token, secret = services.create_token(current_user, token_form.name.data, audit.from_request())
        except DomainError as exc:
            token_form.name.errors = [str(exc)]
        else:
            return account_page(new_secret=secret)
    elif token_form.csrf_token.errors:
        token_form.name.errors = [*token_form.name.errors,
                                  _("The page was open too long. Please send the form again.")]
    return account_page(token_form=token_form, status=422)


@auth_bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_api_token(token_id):
    """Revoke one of your own tokens (the global CSRF check has already run)."""
    try:
        token = services.revoke_token(current_user, token_id, audit.from_request())
    except DomainError:
        abort(404)
    flash(_("The token “%(name)s” is revoked; programs using it can no longer sign in.", name=token.name),
          "success")
    return redirect(url_for("auth.account", _anchor="api-tokens"))
