"""Support plans: entitlements as data, SLA clocks, ticket quotas, support hours."""

from datetime import timedelta

from .calendar import format_duration


def init_app(app) -> None:
    """Load and validate the plans file once (a bad file stops the start-up with its problems listed);
    the templates' filters for business time."""
    from .catalog import load_plans

    app.extensions["portal.plans"] = load_plans(app.config.get("PLANS_FILE"))
    app.jinja_env.filters["business_duration"] = format_duration
    app.jinja_env.filters["minutes_duration"] = lambda minutes: format_duration(timedelta(minutes=minutes or 0))
