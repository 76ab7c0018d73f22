"""Support plans: entitlements as data, SLA clocks, ticket quotas, support hours."""


def init_app(app) -> None:
    """Load and validate the plans file once; a bad file stops the start-up with its problems listed."""
    from .catalog import load_plans

    app.extensions["portal.plans"] = load_plans(app.config.get("PLANS_FILE"))
