"""Priority schemes and priority-change requests through the API."""

from portal.auth.models import Role
from portal.tickets import priorities
from tests.api.conftest import assert_problem
from tests.factories import answer, gen_org, gen_ticket, gen_user
from tests.tickets.conftest import SCHEMES_FILE

PLANS_FILE = SCHEMES_FILE
GOOD = {"subject": "Nightly export fails", "description": "Since Monday the nightly export stops after 30 minutes.",
        "category": "question"}


def _customer(plan="standard"):
    return gen_user(org=gen_org(plan=plan))


def test_a_customer_asks_for_another_priority(app, api):
    customer = _customer()
    ticket = gen_ticket(customer)
    client = api(customer)
    response = client.post(f"/api/v1/tickets/{ticket.reference}/priority-request",
                           json={"priority": "P1", "reason": "Production is down for everyone."})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["current"], body["requested"], body["decision"]) == ("P3", "P1", None)
    priorities.decide(ticket, gen_user(Role.AGENT), body["id"], accept=False, reason="A workaround exists.")
    detail = client.get(f"/api/v1/tickets/{ticket.reference}").get_json()
    assert detail["priority_requests"][0]["decision"] == "declined"
    assert detail["priority_requests"][0]["decline_reason"] == "A workaround exists."
    assert {"priority_requested", "priority_request_declined"} <= {e["kind"] for e in detail["history"]}


def test_bad_requests_are_clear_problems(app, api):
    customer = _customer()
    ticket = gen_ticket(customer)
    client = api(customer)
    url = f"/api/v1/tickets/{ticket.reference}/priority-request"
    body = assert_problem(client.post(url, json={"priority": "P1", "reason": "  "}), 422, "validation-error")
    assert "reason" in str(body["errors"])
    assert_problem(client.post(url, json={"priority": "P9", "reason": "x"}), 422)
    assert_problem(client.post(url, json={"priority": "P3", "reason": "Same."}), 422)
    assert client.post(url, json={"priority": "P1", "reason": "Down."}).status_code == 201
    assert_problem(client.post(url, json={"priority": "P2", "reason": "Again."}), 409, "ticket-state")
    agent = gen_user(Role.AGENT)
    assert_problem(api(agent).post(url, json={"priority": "P2", "reason": "x"}), 403)
    assert_problem(api(_customer()).post(url, json={"priority": "P2", "reason": "x"}), 404)


def test_no_request_on_a_closed_ticket(app, api):
    customer = _customer()
    ticket = gen_ticket(customer)
    agent = answer(ticket)
    from portal.tickets import services
    services.change_status(ticket, agent, "closed")
    response = api(customer).post(f"/api/v1/tickets/{ticket.reference}/priority-request",
                                  json={"priority": "P1", "reason": "Please."})
    assert_problem(response, 409, "ticket-state")


def test_filing_on_a_severity_plan_and_the_plan_says_how(app, api):
    customer = _customer("dedicated")
    client = api(customer)
    plan = client.get("/api/v1/org").get_json()["plan"]
    assert plan["priority_scheme"] == "severity" and plan["technical_issue_requires"] == []
    assert plan["severity_levels"][0]["name"] == "Severity 1" and len(plan["severity_levels"][0]["not_for"]) == 2
    body = assert_problem(client.post("/api/v1/tickets", json={**GOOD, "severity": "P4"}), 422)
    assert "severity" in str(body["errors"])
    body = assert_problem(client.post("/api/v1/tickets", json={**GOOD, "severity": "P1"}), 422)
    assert "severity_confirmed" in str(body["errors"])
    response = client.post("/api/v1/tickets", json={**GOOD, "severity": "P1", "severity_confirmed": True})
    assert response.status_code == 201, response.get_json()
    ticket = response.get_json()
    assert ticket["priority"] == "P1" and ticket["impact"] is None and ticket["urgency"] is None


def test_matrix_plans_still_need_impact_and_urgency(app, api):
    client = api(_customer())
    body = assert_problem(client.post("/api/v1/tickets", json=GOOD), 422)
    assert "impact" in str(body["errors"]) and "urgency" in str(body["errors"])
    assert client.post("/api/v1/tickets", json={**GOOD, "impact": "high", "urgency": "high"}).status_code == 201
    assert api(_customer()).get("/api/v1/org").get_json()["plan"]["priority_scheme"] == "matrix"
