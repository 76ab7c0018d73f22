"""Ticket forms. Field rules live in services.validate_draft (shared with the API);
the forms carry the CSRF token and the values the customer typed."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, MultipleFileField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice

CATEGORY_CHOICES = [
    SelectChoice("technical_issue", _l("Technical issue")),
    SelectChoice("question", _l("Question about using the product")),
    SelectChoice("feature_request", _l("Feature request")),
    SelectChoice("training_request", _l("Training request")),
]
LEVEL_CHOICES = [SelectChoice("high", _l("High")), SelectChoice("medium", _l("Medium")), SelectChoice("low", _l("Low"))]


class NewTicketForm(FlaskForm):
    draft_key = HiddenField()
    category = SelectField(_l("What is this about?"), choices=CATEGORY_CHOICES, validate_choice=False,
                           default="technical_issue")
    subject = StringField(_l("Subject"), render_kw={"maxlength": 200, "autocomplete": "off"})
    description = TextAreaField(_l("Description"), render_kw={"rows": 7})
    steps_to_reproduce = TextAreaField(_l("Steps to reproduce"), render_kw={"rows": 5})
    affected_account = StringField(_l("Affected user account"), render_kw={"maxlength": 200})
    impact = RadioField(_l("Impact: how much of your business is affected?"), choices=LEVEL_CHOICES,
                        validate_choice=False, default="medium")
    urgency = RadioField(_l("Urgency: how soon does it hurt?"), choices=LEVEL_CHOICES, validate_choice=False,
                         default="medium")
    priority_override = SelectField(_l("Priority"), validate_choice=False, choices=[
        SelectChoice("", _l("Use the computed priority")), SelectChoice("P1", "P1"), SelectChoice("P2", "P2"),
        SelectChoice("P3", "P3"), SelectChoice("P4", "P4"),
    ])
    # Plans with severity levels: the level's priority, and the confirmation of its "not for" cases.
    severity = StringField(_l("Severity"))
    severity_confirmed = BooleanField(_l("I confirm that my problem is none of the cases this level is never for."))
    # The plan's product areas (portal.teams routing file): the ticket goes to that area's team.
    area = SelectField(_l("Product area"), choices=[], validate_choice=False)
    files = MultipleFileField(_l("Attachments"))


# The channels an agent files through for a customer (services.ON_BEHALF_CHANNELS), phone first.
CHANNEL_CHOICES = [
    SelectChoice("phone", _l("Phone call")), SelectChoice("chat", _l("Chat")), SelectChoice("visit", _l("On-site visit")),
    SelectChoice("email", _l("Email")), SelectChoice("web", _l("Web portal (typed for them)")),
]


class OnBehalfForm(NewTicketForm):
    """The customer's form, filed by an agent: who the ticket is for and how they reached us."""
    requester = SelectField(_l("Customer"), choices=[], validate_choice=False)
    channel = SelectField(_l("How they reached you"), choices=CHANNEL_CHOICES, validate_choice=False,
                          default="phone")


class PriorityRequestForm(FlaskForm):
    priority = SelectField(_l("Priority you ask for"), validate_choice=False, choices=[])
    reason = TextAreaField(_l("Why does the ticket need it?"), render_kw={"rows": 3, "maxlength": 2000})


class DeclineForm(FlaskForm):
    reason = StringField(_l("Reason (optional, the customer reads it)"), render_kw={"maxlength": 2000})


class ReplyForm(FlaskForm):
    body = TextAreaField(_l("Your reply"), render_kw={"rows": 5})
    files = MultipleFileField(_l("Attachments"))


class ReopenForm(FlaskForm):
    reason = TextAreaField(_l("What is still not working?"), render_kw={"rows": 3})


class DeflectForm(FlaskForm):
    draft_key = HiddenField()
    slug = HiddenField()
