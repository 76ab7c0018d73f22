"""The admins' forms on the organization page. The rules (known plan, dates in order, no
overlap) live in portal.plans.history; the forms read the dates and carry the CSRF token."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField
from wtforms.validators import InputRequired, Length

from ..plans.history import NOTE_LENGTH


class DayField(DateField):
    """A day as the browser's date picker sends it (YYYY-MM-DD); empty is no day, not an error."""

    def process_formdata(self, valuelist):
        if not valuelist or not " ".join(valuelist).strip():
            self.data = None
            return
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(_l("Enter a date like 2026-11-22.")) from None


class PlanChangeForm(FlaskForm):
    plan = SelectField(_l("Plan"), validate_choice=False)
    starts_on = DayField(_l("From"), validators=[InputRequired(_l("Enter the first day of the plan."))])
    ends_on = DayField(_l("Until (included, optional)"))
    trial = BooleanField(_l("Trial"))
    note = StringField(_l("Note"), validators=[Length(max=NOTE_LENGTH)], render_kw={"maxlength": NOTE_LENGTH})


class GoLiveForm(FlaskForm):
    go_live = DayField(_l("Go-live date"), validators=[InputRequired(_l("Enter the go-live date."))])


class DomainForm(FlaskForm):
    """A mail domain to register; portal.auth.services.add_domain checks and normalizes it."""

    domain = StringField(_l("Mail domain"), validators=[InputRequired(_l("Enter a mail domain, like example.com."))],
                         render_kw={"maxlength": 253, "autocomplete": "off", "spellcheck": "false"})


# What the ledger and the "Log time" form call each kind of time (portal.plans.catalog.TIME_KINDS).
TIME_KIND_LABELS = {
    "ticket": _l("Ticket"),
    "call": _l("Phone call"),
    "video_call": _l("Video call"),
    "visit": _l("On-site visit"),
    "onboarding": _l("Onboarding session"),
    "guided_setup": _l("Guided setup session"),
}
