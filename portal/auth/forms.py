from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter your email address.")),
                                                Email(_l("Enter a valid email address.")), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password.")), Length(max=200)])
    remember = BooleanField(_l("Keep me signed in on this device"))
    next = HiddenField()


class LanguageForm(FlaskForm):
    lang = SelectField(_l("Language"), choices=[
        SelectChoice("", _l("Same as my browser")), SelectChoice("en", "English"), SelectChoice("es", "Español"),
    ])
    next = HiddenField()


class PasswordForm(FlaskForm):
    """A new password of one's own; its length rule is the service's (services._check_password)."""
    current_password = PasswordField(_l("Current password"), render_kw={"autocomplete": "current-password"},
                                     validators=[DataRequired(_l("Enter your current password.")), Length(max=200)])
    new_password = PasswordField(_l("New password"), render_kw={"autocomplete": "new-password"},
                                 validators=[DataRequired(_l("Enter a new password.")), Length(max=200)])
    confirm = PasswordField(_l("New password again"), render_kw={"autocomplete": "new-password"}, validators=[
        DataRequired(_l("Enter the new password again.")),
        EqualTo("new_password", _l("The two new passwords are not the same."))])
class CodeForm(FlaskForm):
    """A code from the authenticator app (or, signing in, a recovery code)."""
    code = StringField(_l("Code"), validators=[DataRequired(_l("Enter the code.")), Length(max=40)],
                       render_kw={"autocomplete": "one-time-code", "autocapitalize": "none", "spellcheck": "false",
                                  "size": 12})


class TwoFactorProofForm(FlaskForm):
    """Before regenerating recovery codes or turning two-step sign-in off."""
    proof = PasswordField(_l("Your password or a current code"),
                          validators=[DataRequired(_l("Enter your password or a code.")), Length(max=200)],
                          render_kw={"autocomplete": "current-password"})


class EnrolForm(CodeForm):
    # A session someone else got hold of must not tie the account to their phone.
    password = PasswordField(_l("Your password"), render_kw={"autocomplete": "current-password"},
                             validators=[DataRequired(_l("Enter your password.")), Length(max=200)])
    next = HiddenField()  # where a user made to set it up was going
