"""The teams page's forms: the CSRF token and what the admin typed; the rules are in services."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField


class TeamForm(FlaskForm):
    key = StringField(_l("Key"), render_kw={"maxlength": 40, "autocomplete": "off"})
    name = StringField(_l("Name"), render_kw={"maxlength": 80})
    name_es = StringField(_l("Name in Spanish (optional)"), render_kw={"maxlength": 80})
    description = TextAreaField(_l("What the team takes care of (optional)"), render_kw={"rows": 2,
                                                                                        "maxlength": 1000})


class MemberForm(FlaskForm):
    user = SelectField(_l("Add a member"), choices=[], validate_choice=False)
