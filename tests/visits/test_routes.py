"""The Visits section of the organization page: staff schedule, move, cancel and record visits (a
refusal comes back beside its field with the typed text kept), customers of the organization read
them, another organization's visit is a 404 and every form needs its CSRF token."""

from datetime import date, datetime

from sqlalchemy import func, select

from portal.auth.models import Role
from portal.extensions import db
from portal.plans.models import TimeEntry
from portal.visits import services as visits
from portal.visits.models import Visit
from tests.conftest import csrf_token
from tests.factories import gen_org, gen_user

NOW = datetime(2026, 12, 2, 10, 0)


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(Visit))


def test_an_agent_schedules_a_visit_and_a_refusal_keeps_what_was_typed(app, client, auth, org, agent, consultant):
    auth.login(agent.email)
    url = f"/org/{org.id}"
    page = client.get(url).get_data(as_text=True)
    assert "On-site visits" in page and "Schedule a visit" in page and "Eva Consultant" in page
    token = csrf_token(client, url)
    typed = {"csrf_token": token, "consultant": str(consultant.id), "address": "Calle <Mayor> 1, Madrid",
             "agenda": "Stock count with Marta"}
    for day, field, message in (("2026-12-08", "visit-consultant", "Public holiday"),
                                ("8/12/2026", "visit-day", "Enter a date like"),
                                ("2026-11-30", "visit-day", "has gone by"), ("", "visit-day", "Choose the day")):
        response = client.post(f"{url}/visits", data={**typed, "day": day})
        text = response.get_data(as_text=True)
        assert response.status_code == 422, day
        assert f'id="{field}-error">' in text and message in text
        assert "Calle &lt;Mayor&gt; 1, Madrid" in text and "Stock count with Marta" in text
        assert f'<option value="{consultant.id}" selected>' in text
    response = client.post(f"{url}/visits", data={**typed, "day": "2026-12-03", "address": ""})
    assert 'id="visit-address-error">' in response.get_data(as_text=True)
    assert client.post(f"{url}/visits", data={**typed, "consultant": "99999999999999", "day": "2026-12-03"}
                       ).status_code == 422
    assert client.post(f"{url}/visits", data={**typed, "csrf_token": "", "day": "2026-12-03"}).status_code == 400
    assert _count() == 0
    response = client.post(f"{url}/visits", data={**typed, "day": "2026-12-03"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"{url}#visits")
    page = client.get(url).get_data(as_text=True)
    assert "Visit scheduled: Eva Consultant on 2026-12-03." in page and "Thursday, December 3, 2026" in page
    assert _count() == 1


def test_move_cancel_and_held_on_the_page(app, client, auth, org, agent, consultant):
    today = visits.schedule_visit(org, agent, NOW.date(), consultant, "Calle Mayor 1", "Stock", NOW)
    later = visits.schedule_visit(org, agent, date(2026, 12, 3), gen_user(Role.AGENT, name="Leo"), "Gran Vía 2",
                                  None, NOW)
    auth.login(agent.email)
    url = f"/org/{org.id}"
    token = csrf_token(client, url)
    response = client.post(f"{url}/visits/{later.id}/move", data={"csrf_token": token, "day": "2026-12-02",
                                                                  "consultant": str(consultant.id)})
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and f'id="visit-{later.id}-consultant-error">' in text
    assert "already has a visit on 2026-12-02" in text
    assert client.post(f"{url}/visits/{later.id}/move", data={"csrf_token": token, "day": "2026-12-04",
                                                              "consultant": str(consultant.id)}).status_code == 302
    response = client.post(f"{url}/visits/{today.id}/held", data={"csrf_token": token, "minutes": "lots",
                                                                  "report": "Counted the warehouse"})
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and f'id="visit-{today.id}-minutes-error">' in text
    assert 'value="Counted the warehouse"' in text
    assert client.post(f"{url}/visits/{today.id}/held", data={"csrf_token": token, "minutes": "90",
                                                              "report": "Counted the warehouse"}).status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "On-site visit · " in page and "Counted the warehouse" in page  # the ledger line and the visit
    again = client.post(f"{url}/visits/{today.id}/held", data={"csrf_token": token, "minutes": "90"})
    assert again.status_code == 422 and "already held" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(TimeEntry)) == 1
    assert client.post(f"{url}/visits/{later.id}/cancel", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Visit, later.id).status == "cancelled"


def test_customers_read_their_visits_and_nobody_reaches_another_organizations(app, client, auth, org, agent,
                                                                              consultant):
    visit = visits.schedule_visit(org, agent, date(2026, 12, 3), consultant, "Calle Mayor 1", "Stock count", NOW)
    other = gen_org(plan="onsite")
    auth.login(gen_user(Role.CUSTOMER, org=org).email)
    page = client.get("/org").get_data(as_text=True)
    assert "On-site visits" in page and "Stock count" in page and "Eva Consultant" in page
    assert "Schedule a visit" not in page and "Cancel the visit" not in page and "Mark held" not in page
    token = csrf_token(client, "/org")
    for path in (f"/org/{org.id}/visits", f"/org/{org.id}/visits/{visit.id}/cancel"):
        assert client.post(path, data={"csrf_token": token, "day": "2026-12-04"}).status_code == 404
    auth.logout()
    auth.login(gen_user(Role.CUSTOMER, org=other).email)
    assert "Stock count" not in client.get("/org").get_data(as_text=True)
    auth.logout()
    auth.login(agent.email)
    token = csrf_token(client, f"/org/{other.id}")
    for action in ("cancel", "held", "move"):  # the visit through the other organization's page
        assert client.post(f"/org/{other.id}/visits/{visit.id}/{action}",
                           data={"csrf_token": token, "minutes": "30"}).status_code == 404
    assert client.post(f"/org/{org.id}/visits/{visit.id}/cancel", data={}).status_code == 400  # no CSRF token
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).status == "scheduled"


def test_no_section_where_no_plan_has_visit_days(app, client, auth, agent):
    org = gen_org(plan="standard")
    auth.login(agent.email)
    assert "On-site visits" not in client.get(f"/org/{org.id}").get_data(as_text=True)
    assert client.post(f"/org/{org.id}/visits", data={"csrf_token": csrf_token(client, f"/org/{org.id}"),
                                                      "day": "2026-12-03"}).status_code == 422
