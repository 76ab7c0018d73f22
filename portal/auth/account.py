"""The account page's password and sessions sections (the page itself is routes.account)."""

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import audit
from ..errors import DomainError
from . import bp, services, sessions, throttle
from .forms import PasswordForm
from .models import utcnow
from .routes import account_page


@bp.post("/account/password")
@login_required
def change_password():
    form = PasswordForm()
    if form.validate_on_submit():
        # A stolen session must not guess the password either: the sign-in's counts apply.
        wait = throttle.wait_seconds(current_user.email)
        if wait:
            form.current_password.errors.append(throttle.message(wait))
            return account_page(password_form=form, status=429)
        try:
            services.change_password(current_user, form.current_password.data, form.new_password.data,
                                     audit.from_request())
        except DomainError as exc:
            if exc.field == "current_password":
                throttle.failed(current_user.email)
                form.current_password.errors.append(exc.message)
            else:
                form.new_password.errors.append(exc.message)
        else:
            # Every other session has ended; this browser signs in again with the new generation.
            sessions.start(current_user._get_current_object(), remember=sessions.has_remember_cookie(), now=utcnow())
            flash(_("Your password is changed. You were signed out on every other device."), "success")
            return redirect(url_for("auth.account"))
    return account_page(password_form=form, status=422)


@bp.post("/account/sign-out-everywhere")
@login_required
def sign_out_everywhere():
    """(CSRFProtect checks the token of every POST.)"""
    services.end_sessions(current_user)
    sessions.end_here()
    flash(_("You are signed out on every device, this one too."), "info")
    return redirect(url_for("auth.login"))
