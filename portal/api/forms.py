"""The account page's API token forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from .services import NAME_MAX


class NewTokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[
        DataRequired(_l("Give the token a name, such as the tool that will use it.")),
        Length(max=NAME_MAX, message=_l("A token name can have at most %(max)d characters.", max=NAME_MAX)),
    ], render_kw={"maxlength": NAME_MAX, "autocomplete": "off"})


class RevokeTokenForm(FlaskForm):
    """Only the CSRF token: which token is in the URL."""
