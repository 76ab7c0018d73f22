"""The email channel: mail to the support address becomes tickets and replies (``services``),
read from IMAP mailboxes or piped in by the mail server (``cli``); what matches nobody waits in
"Unmatched email" for the agents (``routes``)."""

from flask import Blueprint

bp = Blueprint("inbox", __name__, url_prefix="/agent/email")

from . import models, routes  # noqa: E402,F401
