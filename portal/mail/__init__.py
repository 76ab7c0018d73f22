"""Outgoing mail: SMTP in production, files in the instance folder in development.

Sending never raises: a mail server that is down must not lose the ticket
whose change the mail announces. Failures are logged and counted as False.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from flask import current_app

log = logging.getLogger(__name__)


def build(to: str, subject: str, text: str, html: str | None = None, attachments=()) -> EmailMessage:
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=config["MAIL_SENDER"].rsplit("@", 1)[-1].strip(">"))
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    for filename, mimetype, data in attachments:  # e.g. ("session.ics", "text/calendar", b"...")
        maintype, subtype = mimetype.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message


def send(to: str, subject: str, text: str, html: str | None = None, attachments=()) -> bool:
    config = current_app.config
    message = build(to, subject, text, html, attachments)
    try:
        if config["MAIL_BACKEND"] == "smtp":
            _smtp(message, config)
        else:
            _to_file(message, Path(config["MAIL_DIR"]))
        return True
    except Exception:  # any failure: logged, and the caller's work stands
        log.exception("could not send mail %r to %s", subject, to)
        return False


def _smtp(message: EmailMessage, config) -> None:
    host, port, timeout = config["MAIL_SERVER"], int(config["MAIL_PORT"]), float(config["MAIL_TIMEOUT"])
    if config["MAIL_USE_SSL"]:
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    with smtp:
        if config["MAIL_USE_TLS"] and not config["MAIL_USE_SSL"]:
            smtp.starttls(context=ssl.create_default_context())
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(message)


def _to_file(message: EmailMessage, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{time.strftime('%Y%m%d-%H%M%S')}-{time.monotonic_ns() % 10**9:09d}.eml"
    (folder / name).write_bytes(bytes(message))
