"""Support plans: entitlements as data, SLA clocks, ticket quotas, support hours."""

from datetime import timedelta

from .calendar import format_duration


def target_text(target) -> str:
    """A plan's target as it reads: "2 h of business hours", "48 h around the clock",
    "2 business days", and ranges "24 h to 48 h of business hours"."""
    from flask_babel import gettext as _, ngettext

    from .catalog import BUSINESS_DAYS, CALENDAR

    if target.unit == BUSINESS_DAYS:
        if target.expected:
            return _("%(low)s to %(high)s business days", low=target.expected.days, high=target.days)
        return ngettext("%(num)s business day", "%(num)s business days", target.days)
    if target.expected:
        span = _("%(low)s to %(high)s", low=format_duration(target.expected), high=format_duration(target.due))
    else:
        span = format_duration(target.due)
    if target.unit == CALENDAR:
        return _("%(t)s around the clock", t=span)
    return _("%(t)s of business hours", t=span)


def init_app(app) -> None:
    """Load and validate the plans file once (a bad file stops the start-up with its problems listed);
    the templates' filters for business time."""
    from .catalog import load_plans

    app.extensions["portal.plans"] = load_plans(app.config.get("PLANS_FILE"))
    app.jinja_env.filters["business_duration"] = format_duration
    app.jinja_env.filters["target_text"] = target_text
    app.jinja_env.filters["minutes_duration"] = lambda minutes: format_duration(timedelta(minutes=minutes or 0))
