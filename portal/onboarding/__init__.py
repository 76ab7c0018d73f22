"""Onboarding: weekly sessions booked from experts' availability, materials, feedback."""

from flask import Blueprint

bp = Blueprint("onboarding", __name__, url_prefix="/onboarding")

from . import routes  # noqa: E402,F401


@bp.app_template_global()
def onboarding_summary(organization):
    """(sessions done, booked, included, window end) of the organization's program, or None without
    one: the staff ticket page shows it (tickets does not import onboarding)."""
    from . import services

    try:
        program = services.program(organization)
    except services.NoOnboarding:
        return None
    done = sum(1 for w in program.weeks if w.session is not None and w.session.status == "held")
    return done, program.booked, program.sessions_included, program.ends_at
