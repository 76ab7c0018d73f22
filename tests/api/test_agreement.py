"""The API says what the pages say: the same ticket's SLA due time, the same quota figures."""

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime

from portal.auth.models import Role
from tests.factories import gen_org, gen_ticket, gen_user

PLANS_FILE = Path(__file__).resolve().parents[2] / "examples" / "plans" / "support-levels.toml"
MADRID = ZoneInfo("Europe/Madrid")


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_the_ticket_page_and_the_api_give_the_same_due_time(app, client, auth, api, now):
    org = gen_org(plan="monthly", timezone="Europe/Madrid", started_on=now.date())
    customer = gen_user(Role.CUSTOMER, org=org)
    ticket = gen_ticket(customer, impact="high", urgency="high")
    detail = api(customer).get(f"/api/v1/tickets/{ticket.reference}").get_json()
    assert detail["sla"]["kind"] == "first_response" and detail["sla"]["due"] == detail["first_response_due"]
    due = _moment(detail["sla"]["due"])
    auth.login(customer.email)
    page = client.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    shown = format_datetime(due, "short", tzinfo=MADRID, locale="en")
    assert f"due {shown}" in page


def test_the_org_page_and_the_api_give_the_same_quota(app, client, auth, api, now):
    org = gen_org(plan="monthly", timezone="Europe/Madrid", started_on=now.date())
    admin = gen_user(Role.CUSTOMER_ADMIN, org=org)
    for _ in range(3):
        gen_ticket(admin)
    quota = api(admin).get("/api/v1/org").get_json()["quota"]
    assert (quota["used"], quota["limit"], quota["left"]) == (3, 40, 37)
    auth.login(admin.email)
    page = client.get("/org").get_data(as_text=True)
    assert f"Tickets this month: {quota['used']} of {quota['limit']} used." in page
    resets = format_date(_moment(quota["resets_at"]).astimezone(MADRID).date(), "long", locale="en")
    assert f"the count starts again on {resets}" in page
