"""Booking emails, in the recipient's language, with the calendar file attached.

The session's feature area comes in as an argument (``services.area_of``): the services call
the notifier, so the notifier never imports them."""

from __future__ import annotations

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from .. import mail
from ..auth.models import User
from .ics import session_calendar
from .models import OnboardingSession


def _link(session: OnboardingSession) -> str:
    return f"{current_app.config['BASE_URL'].rstrip('/')}/onboarding/sessions/{session.id}"


def title(session: OnboardingSession, area) -> str:
    """The session's name in the current language; ``area`` is its feature area (or None if unknown)."""
    label = area.label(_lang()) if area else session.feature_area
    if session.week:
        return _("Onboarding session %(n)d: %(area)s", n=session.week, area=label)
    return _("Training session: %(area)s", area=label)


def when(session: OnboardingSession, zone: str) -> str:
    """"Tuesday, 1 December 2026, 10:00–11:00" in ``zone`` and the current language."""
    from datetime import UTC
    from zoneinfo import ZoneInfo

    from babel.dates import format_datetime, format_time

    tz = ZoneInfo(zone)
    start = session.starts_at.replace(tzinfo=UTC).astimezone(tz)
    end = session.ends_at.replace(tzinfo=UTC).astimezone(tz)
    lang = _lang()
    return f"{format_datetime(start, 'EEEE d MMMM y, HH:mm', locale=lang)}–{format_time(end, 'HH:mm', locale=lang)}"


def _lang() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "en")


def _send(user: User, session: OnboardingSession, area, subject, headline, cancelled: bool = False, note=None) -> None:
    if user is None or not user.active:
        return
    with force_locale(user.locale or "en"):
        name = title(session, area)
        description = "\n\n".join(filter(None, [
            _("Meeting link: %(url)s", url=session.expert.meeting_url),
            _("Your questions:") + "\n" + session.questions if session.questions else None,
            _link(session),
        ]))
        zone = user.organization.timezone if user.organization else (
            session.expert.timezone if user.id == session.expert_id else "UTC")
        context = dict(session=session, user=user, headline=headline(), note=note() if note else None,
                       link=_link(session), title=name, when=when(session, zone), timezone=zone)
        ics = session_calendar(session, name, description, cancelled=cancelled)
        mail.queue(user.email, subject(), render_template("mail/onboarding.txt", **context),
                   render_template("mail/onboarding.html", **context),
                   attachments=[("session.ics", "text/calendar", ics)], thread=f"onboarding:{session.id}")


def booked(session: OnboardingSession, area) -> None:
    _send(session.booked_by, session, area, lambda: _("Booked: %(title)s", title=title(session, area)),
          lambda: _("Your session with %(expert)s is booked.", expert=session.expert.user.name),
          note=lambda: _("Open the attached calendar file to add it to your calendar."))
    _send(session.expert.user, session, area, lambda: _("New booking: %(title)s", title=title(session, area)),
          lambda: _("%(org)s booked a session with you.", org=session.organization.name))


def rescheduled(session: OnboardingSession, area, old_expert_id: int, old_starts_at) -> None:
    _send(session.booked_by, session, area, lambda: _("Moved: %(title)s", title=title(session, area)),
          lambda: _("Your session was moved. The attached calendar file updates your calendar."))
    _send(session.expert.user, session, area, lambda: _("Moved: %(title)s", title=title(session, area)),
          lambda: _("%(org)s moved a session with you.", org=session.organization.name))
    if old_expert_id != session.expert_id:
        from ..extensions import db
        from .models import ExpertProfile

        previous = db.session.get(ExpertProfile, old_expert_id)
        if previous is not None:
            with force_locale(previous.user.locale or "en"):
                mail.queue(previous.user.email, _("Moved away from you: %(title)s", title=title(session, area)),
                           _("%(org)s moved this session to another expert.", org=session.organization.name),
                           thread=f"onboarding:{session.id}")


def cancelled(session: OnboardingSession, area) -> None:
    _send(session.booked_by, session, area, lambda: _("Cancelled: %(title)s", title=title(session, area)),
          lambda: _("Your session is cancelled. The attached calendar file removes it from your calendar."),
          cancelled=True)
    _send(session.expert.user, session, area, lambda: _("Cancelled: %(title)s", title=title(session, area)),
          lambda: _("%(org)s cancelled a session with you.", org=session.organization.name), cancelled=True)


def ask_feedback(session: OnboardingSession) -> None:
    """After the program's last session: two minutes of feedback, please."""
    user = session.booked_by
    if user is None or not user.active:
        return
    link = f"{current_app.config['BASE_URL'].rstrip('/')}/onboarding/feedback"
    with force_locale(user.locale or "en"):
        text = "\n\n".join([_("Hello %(name)s,", name=user.name),
                             _("Your onboarding program is complete. How was it? A few scores and your comments "
                               "take two minutes and help us improve the program for the next customers."), link])
        mail.queue(user.email, _("How was your onboarding?"), text, thread="onboarding:feedback")
