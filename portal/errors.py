"""DomainError, and the helpers that let its message stay lazy until someone reads it."""

from __future__ import annotations

from babel.numbers import format_decimal
from flask import has_request_context
from markupsafe import Markup, escape
from flask_babel import force_locale, get_locale, gettext
from flask_babel.speaklater import LazyString


def text(message) -> str:
    """A message (a str or a lazy string) as a str: in the reader's language during a
    request; in English elsewhere (the CLI, tests, background jobs), where no one has a locale."""
    if isinstance(message, str) or has_request_context():
        return str(message)
    with force_locale("en"):  # an app context without a request: don't ask the locale selector
        return str(message)


def _number(value, pattern: str | None) -> str:
    locale = get_locale() if has_request_context() else None
    return format_decimal(value, pattern, locale=locale or "en")


def lazy_number(value, pattern: str | None = None) -> LazyString:
    """A number for a message placeholder, written the reader's way when shown (20,000 / 20.000).
    ``pattern`` is a Babel number pattern, e.g. "#,##0.0" for one decimal."""
    return LazyString(_number, value, pattern)


class Message(LazyString):
    """A message translated when shown, and escaped by templates like any other text.

    Flask-Babel's LazyString claims to be safe HTML (its ``__html__`` returns the raw text),
    so Jinja would print a rule's message unescaped, with the file name or the value the
    user typed in it."""

    def __html__(self) -> Markup:
        return escape(str(self))


def lazy_gettext(string: str, **variables) -> Message:
    """``flask_babel.lazy_gettext`` for the services' messages (imported as ``_l``), escaped in pages."""
    return Message(gettext, string, **variables)


def _escaped(message):
    if isinstance(message, LazyString) and not isinstance(message, Message):
        return Message(message._func, *message._args, **message._kwargs)
    return message


class DomainError(Exception):
    """A rule of the portal was not met; the message is meant for the user.

    ``message`` is usually a lazy string (``lazy_gettext``): it is translated when shown,
    in the reader's language. ``str(exc)`` gives it as text (English outside a request)."""

    def __init__(self, message, field: str | None = None):
        message = _escaped(message)
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return text(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"
