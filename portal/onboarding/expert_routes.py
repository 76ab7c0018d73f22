"""The expert's page, and its public holidays: the country and region form, its region list (an
htmx fragment, or the whole page without JavaScript), the coming holidays and the sessions on them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import audit
from ..auth.models import Role, utcnow
from ..errors import DomainError
from ..extensions import db
from ..web import roles_required, wants_fragment
from . import availability, bp, services
from .models import ExpertProfile

FIELDS = ("holiday_country", "holiday_subdivision")


def holiday_context(profile: ExpertProfile | None, typed: dict) -> dict:
    """What the holidays section shows: the typed country and region if any, else the saved ones."""
    if profile is None:
        return {}
    country = typed.get("holiday_country", profile.holiday_country or "").strip().upper()
    return dict(countries=availability.countries(), holiday_country=country,
                holiday_subdivision=typed.get("holiday_subdivision", profile.holiday_subdivision or ""),
                regions=availability.subdivisions(country), upcoming_holidays=services.upcoming_holidays(profile),
                clashes=services.sessions_on_days_off(profile),
                horizon_weeks=current_app.config["ONBOARDING_EXTRA_WEEKS"])


def expert_page(typed=None, errors=None, status: int = 200):
    """The expert's page; after a refused form, with what they typed and the messages."""
    profile = db.session.get(ExpertProfile, current_user.id)
    sessions = []
    if profile is not None:
        zone = ZoneInfo(profile.timezone)
        today = datetime.now(zone).date()
        start = datetime.combine(today, datetime.min.time(), tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
        sessions = services.sessions_between(start - timedelta(days=7), start + timedelta(days=14), current_user.id)
    return render_template("onboarding/expert.html", profile=profile, sessions=sessions, errors=errors or {},
                           typed=typed or {}, areas=services.areas(), lang=str(get_locale() or "en"), now=utcnow(),
                           **holiday_context(profile, typed or {})), status


@bp.post("/expert/holidays")
@login_required
@roles_required(Role.AGENT, Role.ADMIN)
def holidays():
    profile = db.session.get(ExpertProfile, current_user.id)
    if profile is None:
        flash(_("Save your availability first: then you can choose your public holidays."), "error")
        return redirect(url_for("onboarding.expert"))
    typed = {k: request.form.get(k, "") for k in FIELDS}
    shown_for = request.form.get("regions_for", "").strip().upper()
    if typed["holiday_subdivision"] and shown_for != typed["holiday_country"].strip().upper():
        # Without JavaScript the region list is still the previous country's: show the new one's.
        typed["holiday_subdivision"] = ""
        return expert_page(typed, {"holiday_subdivision": _("Choose a region of the country you picked, or the "
                                                            "whole country: the list now shows its regions.")}, 422)
    try:
        services.set_holiday_region(profile, typed["holiday_country"], typed["holiday_subdivision"],
                                    audit.from_request())
    except DomainError as exc:
        db.session.rollback()
        return expert_page(typed, {exc.field or "holiday_country": exc.message}, 422)
    if profile.holiday_region:
        flash(_("No sessions can be booked on the public holidays of %(region)s.", region=profile.holiday_region),
              "success")
    else:
        flash(_("Public holidays no longer close your calendar; your days off still do."), "success")
    return redirect(url_for("onboarding.expert"))


@bp.get("/expert/regions")
@login_required
@roles_required(Role.AGENT, Role.ADMIN)
def holiday_regions():
    """The region list of the country chosen: the fragment for htmx, else the page with that country."""
    typed = {"holiday_country": request.args.get("holiday_country", ""), "holiday_subdivision": ""}
    profile = db.session.get(ExpertProfile, current_user.id)
    if not wants_fragment() or profile is None:
        response = current_app.make_response(expert_page(typed))
    else:
        country = typed["holiday_country"].strip().upper()
        response = current_app.make_response(render_template(
            "onboarding/_holiday_regions.html", errors={}, holiday_country=country, holiday_subdivision="",
            regions=availability.subdivisions(country)))
    response.vary.add("HX-Request")
    return response
