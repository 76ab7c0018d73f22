"""Email: every message the portal sends is queued in the outbox, in the transaction of the
change it announces, and delivered by a worker with retries (``outbox``); SMTP or, in
development, .eml files in the instance folder (``transport``)."""

from __future__ import annotations

# The one way to send: ``mail.queue(...)``, before the commit.
from .compose import absolute_links, note_address, queue, reply_address, sender_address  # noqa: F401
