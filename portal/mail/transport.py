"""Handing messages over: one SMTP connection for a batch, or .eml files in development."""

from __future__ import annotations

import smtplib
import ssl
import time
from email.utils import parseaddr
from pathlib import Path


class DeliveryError(Exception):
    """The server did not take the message. ``permanent``: trying again cannot help (a 5xx answer)."""

    def __init__(self, text: str, permanent: bool = False, connection: bool = False):
        super().__init__(text)
        self.permanent = permanent
        self.connection = connection  # the server could not be reached: the batch's other messages wait too


class FileTransport:
    def __init__(self, folder: Path):
        self.folder = folder

    def __enter__(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exc):
        return False

    def send(self, recipient: str, raw: bytes) -> None:
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{time.monotonic_ns() % 10**9:09d}.eml"
        (self.folder / name).write_bytes(raw)


class SMTPTransport:
    """One connection, opened on the first message and reused for the batch."""

    def __init__(self, config):
        self.config = config
        self.smtp: smtplib.SMTP | None = None
        self.envelope_from = parseaddr(config["MAIL_SENDER"])[1]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
            self.smtp = None
        return False

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        host, port, timeout = config["MAIL_SERVER"], int(config["MAIL_PORT"]), float(config["MAIL_TIMEOUT"])
        try:
            if config["MAIL_USE_SSL"]:
                smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(host, port, timeout=timeout)
            try:
                if config["MAIL_USE_TLS"] and not config["MAIL_USE_SSL"]:
                    smtp.starttls(context=ssl.create_default_context())
                if config["MAIL_USERNAME"]:
                    smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
            except BaseException:
                smtp.close()
                raise
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"{host}:{port} refused the login: {exc.smtp_code} {_text(exc.smtp_error)}",
                                connection=True) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"cannot reach {host}:{port}: {exc}", connection=True) from exc
        return smtp

    def send(self, recipient: str, raw: bytes) -> None:
        if self.smtp is None:
            self.smtp = self._connect()
        try:
            self.smtp.sendmail(self.envelope_from, [recipient], raw)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise DeliveryError(f"{code} {_text(text)}", permanent=code >= 500) from exc
        except smtplib.SMTPResponseException as exc:  # sendmail has reset the session: it stays usable
            raise DeliveryError(f"{exc.smtp_code} {_text(exc.smtp_error)}", permanent=exc.smtp_code >= 500) from exc
        except (OSError, smtplib.SMTPException) as exc:  # disconnected, timed out
            self._drop()
            raise DeliveryError(f"the connection failed: {exc}", connection=True) from exc

    def _drop(self):
        if self.smtp is not None:
            self.smtp.close()
            self.smtp = None


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def for_config(config):
    if config["MAIL_BACKEND"] == "smtp":
        return SMTPTransport(config)
    return FileTransport(Path(config["MAIL_DIR"]))
