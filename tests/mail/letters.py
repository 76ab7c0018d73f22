"""Mail as it reaches the support address, built for the tests."""

from __future__ import annotations

import itertools
from email.message import EmailMessage
from email.utils import format_datetime
from datetime import UTC, datetime

_ids = itertools.count(1)
SUPPORT = "support@example.com"


def letter(sender: str | None, subject: str = "The export fails", body: str = "Every export ends with error 500.",
           *, to: str = SUPPORT, received: datetime | None = None, html: str | None = None,
           attachments=(), headers: dict | None = None, message_id: str | None = None) -> bytes:
    message = EmailMessage()
    if received is not None:  # what our mail server wrote when it took the message
        message["Received"] = f"from mx.example.net by mail.example.com; {format_datetime(received.replace(tzinfo=UTC))}"
    if sender:
        message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id or f"<letter-{next(_ids)}@client.example.net>"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    for filename, mimetype, data in attachments:
        maintype, subtype = mimetype.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return bytes(message)
