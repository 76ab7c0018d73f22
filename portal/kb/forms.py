from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import AnyOf


class VoteForm(FlaskForm):
    helpful = HiddenField(validators=[AnyOf(["yes", "no"])])
