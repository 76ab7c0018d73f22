"""Calendar files for sessions (RFC 5545, built with icalendar)."""

from __future__ import annotations

from datetime import UTC

from flask import current_app
from icalendar import Calendar, Event, vCalAddress, vText

from .models import OnboardingSession


def session_calendar(session: OnboardingSession, title: str, description: str, cancelled: bool = False) -> bytes:
    """One VEVENT with a stable UID and the session's SEQUENCE, so calendar apps
    update (or remove, when cancelled) the event they already have."""
    calendar = Calendar()
    calendar.add("prodid", "-//portal//onboarding//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "PUBLISH")
    event = Event()
    host = current_app.config["BASE_URL"].split("//", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "portal"
    event.add("uid", f"onboarding-session-{session.id}@{host}")
    event.add("sequence", session.sequence)
    event.add("dtstamp", session.updated_at.replace(tzinfo=UTC))
    event.add("dtstart", session.starts_at.replace(tzinfo=UTC))
    event.add("dtend", session.ends_at.replace(tzinfo=UTC))
    event.add("summary", title)
    event.add("description", description)
    event.add("location", session.expert.meeting_url)
    event.add("url", session.expert.meeting_url)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    organizer = vCalAddress(f"mailto:{session.expert.user.email}")
    organizer.params["cn"] = vText(session.expert.user.name)
    event["organizer"] = organizer
    calendar.add_component(event)
    return calendar.to_ical()
