"""What the ticket page shows of priority requests: the open request, the choices and the forms.
Both the ticket page (routes.py) and the request's routes (priority_routes.py) render it."""

from ..plans import services as plan_services
from . import priorities, services
from .forms import DeclineForm, PriorityRequestForm


def priority_request_context(ticket, forms=None, errors=None) -> dict:
    """What _priority_request.html needs: the open request, the choices, the forms (with what was typed)."""
    forms = forms or {}
    scheme = services.priority_scheme(plan_services.get_plan(ticket.plan))
    return dict(priority_scheme=scheme, priority_request=priorities.open_request(ticket),
                priority_choices=priorities.requestable(ticket),
                priority_form=forms.get("request") or PriorityRequestForm(formdata=None),
                decline_form=forms.get("decline") or DeclineForm(formdata=None), priority_errors=errors or {})
