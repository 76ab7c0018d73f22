"""The agents' side of the API (/api/v1/agent/…): only for agents and admins, the queue as /agent/
shows it, any ticket with its notes, changes all-or-nothing, replies, time, organizations."""

import dataclasses
from datetime import timedelta

import pytest
from flask import url_for
from sqlalchemy import func, select

from portal.agent import services as queue_services
from portal.api.agent_schemas import QueueQuery
from portal.audit.models import AuditEntry
from portal.auth.models import Role
from portal.extensions import db
from portal.plans.models import TimeEntry
from portal.tickets import services as tickets
from portal.tickets.models import Message, Priority, Status
from tests.api.conftest import assert_problem
from tests.factories import answer, gen_org, gen_ticket, gen_user

AGENT_API = "/api/v1/agent/"


def _agent_paths(app, reference: str, org_id: int) -> list[tuple[str, str]]:
    """(method, path) of every endpoint under /api/v1/agent/, from the app's url_map: a new one is covered too."""
    values = {"reference": reference, "org_id": org_id}
    with app.test_request_context():
        return sorted((method, url_for(rule.endpoint, **{k: values[k] for k in rule.arguments}))
                      for rule in app.url_map.iter_rules() if rule.rule.startswith(AGENT_API)
                      for method in rule.methods - {"HEAD", "OPTIONS"})


class Caller:
    """The test client with an Authorization header, for every method the agents' API uses."""

    def __init__(self, client, secret):
        self.client, self.headers = client, {"Authorization": f"Bearer {secret}"}

    def __getattr__(self, method):
        def call(path, headers=None, **kwargs):
            return self.client.open(path, method=method.upper(), headers={**self.headers, **(headers or {})}, **kwargs)
        return call


@pytest.fixture
def caller(client):
    from tests.api.conftest import token_for

    return lambda user: Caller(client, token_for(user))


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.CUSTOMER_ADMIN, Role.WRITER])
def test_the_agent_endpoints_do_not_exist_for_customers_and_writers(app, caller, role):
    customer = gen_user(Role.CUSTOMER)
    ticket = gen_ticket(customer)
    user = customer if role is Role.CUSTOMER else gen_user(role, org=customer.organization if role.is_customer else None)
    api = caller(user)
    paths = _agent_paths(app, ticket.reference, ticket.organization_id)
    assert len(paths) >= 7, paths
    body = {"body": "Done.", "status": "open", "minutes": 5, "priority": "P1", "reason": "Because."}
    for method, path in paths:
        assert_problem(getattr(api, method.lower())(path, json=body), 404, "not-found")
    db.session.refresh(ticket)
    assert ticket.status is Status.NEW and ticket.priority is Priority.P3 and len(ticket.messages) == 0
    assert db.session.scalar(select(func.count(TimeEntry.id))) == 0


def test_agents_and_admins_use_them_and_no_token_is_a_401(app, caller, client):
    ticket = gen_ticket()
    for role in (Role.AGENT, Role.ADMIN):
        response = caller(gen_user(role)).get(f"{AGENT_API}tickets/{ticket.reference}")
        assert response.status_code == 200, response.get_json()
        assert response.headers["X-RateLimit-Limit"]  # the API's one budget per token
    assert_problem(client.get(f"{AGENT_API}tickets"), 401, "invalid-token")


def test_the_query_has_every_filter_of_the_queue_page():
    missing = {f.name for f in dataclasses.fields(queue_services.Filters)} - set(QueueQuery.model_fields)
    assert missing == set(), f"add {missing} to portal.api.agent_schemas.QueueQuery"


# --- the queue --------------------------------------------------------------------------------

def _queue_fixture(now):
    acme, other = gen_org(plan="premium", timezone="UTC"), gen_org(plan="standard")
    ana, bob = gen_user(Role.CUSTOMER, org=acme), gen_user(Role.CUSTOMER, org=other)
    agent = gen_user(Role.AGENT)
    made = []
    for n, (who, impact, urgency) in enumerate([(ana, "high", "high"), (bob, "low", "low"), (ana, "medium", "high"),
                                                 (bob, "high", "medium"), (ana, "low", "medium"),
                                                 (bob, "medium", "medium"), (ana, "high", "high")]):
        made.append(gen_ticket(who, impact=impact, urgency=urgency, now=now - timedelta(hours=n),
                               subject=f"Export number {n} fails" if n % 2 else f"Sign-in problem {n}"))
    tickets.assign(made[2], agent, agent)
    answer(made[3], agent)
    tickets.change_status(made[3], agent, "waiting_on_customer")
    answer(made[4], agent)
    tickets.change_status(made[4], agent, "closed")
    return agent, acme, made


def _pages(api, query: str, limit: int) -> list[str]:
    refs, url = [], f"{AGENT_API}tickets?limit={limit}&{query}"
    while url:
        response = api.get(url)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        refs += [item["reference"] for item in body["items"]]
        assert len(body["items"]) <= limit
        url = body["next"]
        assert (url is None) == (body["next_cursor"] is None)
    return refs


@pytest.mark.parametrize("query", ["", "status=all", "status=closed", "priority=P1", "category=question",
                                   "assignee=mine", "assignee=none", "risk=breached", "q=export", "organization=ORG",
                                   "status=all&priority=P3&q=sign"])
def test_the_queue_pages_match_the_agent_page(app, caller, now, query):
    agent, acme, _made = _queue_fixture(now)
    query = query.replace("ORG", str(acme.id))
    api = caller(agent)
    expected, _ = queue_services.queue(agent, queue_services.Filters.from_args(
        dict(part.split("=") for part in query.split("&") if part)), limit=1000)
    refs = _pages(api, query, limit=2)
    assert refs == [t.reference for t in expected]
    assert len(refs) == len(set(refs))  # no ticket twice across the pages


def test_queue_rows_carry_what_the_agent_needs(app, caller, now):
    agent, acme, made = _queue_fixture(now)
    body = caller(agent).get(f"{AGENT_API}tickets?organization={acme.id}&assignee=mine").get_json()
    [row] = body["items"]
    assert row["reference"] == made[2].reference
    assert row["organization"] == {"id": acme.id, "name": acme.name}
    assert row["requester"]["email"] == made[2].requester.email and row["assignee"]["id"] == agent.id
    assert row["sla"]["kind"] == "first_response" and row["sla_next_due"].endswith("Z")
    assert row["channel"] == "web" and row["priority_requested"] is None


@pytest.mark.parametrize("query, field", [("status=pending", "status"), ("priority=P9", "priority"),
                                          ("limit=1000", "limit"), ("limit=0", "limit"), ("cursor=bm9wZQ", "cursor"),
                                          ("cursor=%FF%FE", "cursor"), ("cursor=AA", "cursor"),
                                          ("organization=abc", "organization"),
                                          ("organization=99999999999", "organization"), ("assignee=someone", "assignee"),
                                          ("risk=soon", "risk"), ("q=" + "x" * 201, "q")])
def test_bad_queue_queries_are_422_problems(app, caller, query, field):
    body = assert_problem(caller(gen_user(Role.AGENT)).get(f"{AGENT_API}tickets?{query}"), 422, "validation-error")
    assert field in {e["field"] for e in body["errors"]}, body


def test_nul_anywhere_is_a_400(app, caller):
    api = caller(gen_user(Role.AGENT))
    ticket = gen_ticket()
    assert_problem(api.get(f"{AGENT_API}tickets?q=a%00b"), 400)
    assert_problem(api.post(f"{AGENT_API}tickets/{ticket.reference}/messages", json={"body": "a\u0000b"}), 400)
    assert_problem(api.patch(f"{AGENT_API}tickets/{ticket.reference}", json={"reason": "\u0000", "priority": "P1"}),
                   400)


# --- one ticket ----------------------------------------------------------------------------------

def test_an_agent_reads_any_organizations_ticket_with_its_notes_the_customer_does_not(app, caller, api):
    customer = gen_user(Role.CUSTOMER)
    ticket = gen_ticket(customer)
    agent = gen_user(Role.AGENT)
    unanswered = caller(agent).get(f"{AGENT_API}tickets/{ticket.reference}").get_json()
    assert [c["kind"] for c in unanswered["clocks"]] == ["first_response"] and unanswered["plan"] == "standard"
    tickets.reply(ticket, agent, "Internal: the customer's export job is misconfigured.", internal=True)
    tickets.reply(ticket, agent, "We are looking into it.")
    response = caller(agent).get(f"{AGENT_API}tickets/{ticket.reference.lower()}")
    body = response.get_json()
    assert response.status_code == 200, body
    assert [m["internal"] for m in body["messages"]] == [True, False]
    assert body["organization"]["id"] == customer.organization_id and body["requester"]["id"] == customer.id
    assert body["time"]["logged_minutes"] == 0 and body["time"]["period_billed_minutes"] is None
    last_event = max(e.id for e in ticket.events)
    assert response.headers["ETag"] == f'"{last_event}.{max(m.id for m in ticket.messages)}"'
    seen_by_customer = api(customer).get(f"/api/v1/tickets/{ticket.reference}").get_json()
    assert [m["body"] for m in seen_by_customer["messages"]] == ["We are looking into it."]
    assert_problem(caller(agent).get(f"{AGENT_API}tickets/2026-99999"), 404, "not-found")


def test_several_changes_at_once(app, caller, now):
    ticket = gen_ticket(gen_user(Role.CUSTOMER))
    agent, colleague = gen_user(Role.AGENT), gen_user(Role.AGENT)
    response = caller(agent).patch(f"{AGENT_API}tickets/{ticket.reference}", json={
        "priority": "P1", "reason": "Production is down.", "category": "feature_request", "evaluation": "planned",
        "assignee": colleague.id})
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["changed"] == {"category": ["question", "feature_request"], "priority": ["P3", "P1"],
                               "assignee": [None, str(colleague.id)], "evaluation": [None, "planned"],
                               "status": ["new", "open"]}
    assert body["ticket"]["priority"] == "P1" and body["ticket"]["assignee"]["id"] == colleague.id
    assert response.headers["ETag"]
    db.session.expire_all()
    assert ticket.priority is Priority.P1 and ticket.assignee_id == colleague.id and ticket.status is Status.OPEN
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "ticket.update")).all()
    assert entry.actor_id == agent.id and entry.detail["via"] == "api" and entry.target_label == ticket.reference
    # null unassigns; a field left out stays as it is.
    response = caller(agent).patch(f"{AGENT_API}tickets/{ticket.reference}", json={"assignee": None})
    assert response.get_json()["changed"] == {"assignee": [str(colleague.id), None]}


def test_a_refused_change_refuses_them_all(app, caller):
    ticket = gen_ticket(gen_user(Role.CUSTOMER))
    agent, customer = gen_user(Role.AGENT), gen_user(Role.CUSTOMER)
    events = len(ticket.events)
    api = caller(agent)
    # Nobody answered yet, so it cannot be solved; the priority has no reason: both are told, nothing is made.
    body = assert_problem(api.patch(f"{AGENT_API}tickets/{ticket.reference}", json={
        "status": "solved", "priority": "P1", "category": "technical_issue"}), 422, "validation-error")
    assert {e["field"] for e in body["errors"]} == {"status", "reason"}
    for bad, field in (({"assignee": customer.id}, "assignee"), ({"assignee": 2**31 - 1}, "assignee"),
                       ({"priority": 5}, "priority"), ({"status": "pending"}, "status"), ({"status": "new"}, "status"),
                       ({"evaluation": "planned"}, "evaluation"), ({"colour": "red"}, "colour"), ({}, "body"),
                       ({"status": None}, "body"), ({"priority": "P1", "reason": "   "}, "reason")):
        body = assert_problem(api.patch(f"{AGENT_API}tickets/{ticket.reference}", json=bad), 422)
        assert field in {e["field"] for e in body["errors"]}, (bad, body)
    assert_problem(api.patch(f"{AGENT_API}tickets/{ticket.reference}", data="{oops",
                             content_type="application/json"), 400)
    assert_problem(api.patch(f"{AGENT_API}tickets/{ticket.reference}", data={"status": "open"}), 400)
    db.session.expire_all()
    assert len(ticket.events) == events and ticket.category.value == "question" and ticket.status is Status.NEW
    # The priority it already has needs no reason.
    assert api.patch(f"{AGENT_API}tickets/{ticket.reference}", json={"priority": "P3"}).get_json()["changed"] == {}


def test_if_match_refuses_only_what_someone_else_changed_since(app, caller):
    ticket = gen_ticket(gen_user(Role.CUSTOMER))
    agent, colleague = gen_user(Role.AGENT), gen_user(Role.AGENT)
    api = caller(agent)
    tag = api.get(f"{AGENT_API}tickets/{ticket.reference}").headers["ETag"]
    tickets.change_status(ticket, colleague, "open", "taking it")
    body = assert_problem(api.patch(f"{AGENT_API}tickets/{ticket.reference}", json={"status": "open"},
                                    headers={"If-Match": tag}), 412, "changed-meanwhile")
    assert [(c["kind"], c["by"], c["new"]) for c in body["changes"]] == [("status", colleague.name, "open")]
    # The colleague changed the status, not the priority: that change goes through.
    response = api.patch(f"{AGENT_API}tickets/{ticket.reference}", json={"priority": "P2", "reason": "Wider impact."},
                         headers={"If-Match": tag})
    assert response.status_code == 200, response.get_json()
    fresh = response.headers["ETag"]
    assert api.patch(f"{AGENT_API}tickets/{ticket.reference}", json={"status": "waiting_on_customer"},
                     headers={"If-Match": "*"}).status_code == 422  # nobody answered; * checks nothing
    assert_problem(api.patch(f"{AGENT_API}tickets/{ticket.reference}", json={"status": "open"},
                             headers={"If-Match": "yesterday"}), 400, "malformed-request")
    # A public reply over the customer's new message is refused; a note never is.
    tickets.reply(ticket, ticket.requester, "Any news?")
    assert_problem(api.post(f"{AGENT_API}tickets/{ticket.reference}/messages", json={"body": "Yes."},
                            headers={"If-Match": fresh}), 412, "changed-meanwhile")
    assert api.post(f"{AGENT_API}tickets/{ticket.reference}/messages", json={"body": "Ask dev.", "internal": True},
                    headers={"If-Match": fresh}).status_code == 201


# --- replies and notes -------------------------------------------------------------------------

def test_reply_and_note_once_per_idempotency_key(app, caller, api):
    customer = gen_user(Role.CUSTOMER)
    ticket = gen_ticket(customer)
    agent = caller(gen_user(Role.AGENT))
    url = f"{AGENT_API}tickets/{ticket.reference}/messages"
    first = agent.post(url, json={"body": "Which browser do you use?"}, headers={"Idempotency-Key": "k1"})
    assert first.status_code == 201, first.get_json()
    again = agent.post(url, json={"body": "Which browser do you use?"}, headers={"Idempotency-Key": "k1"})
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json() and first.get_json()["channel"] == "api"
    assert_problem(agent.post(url, json={"body": "Something else."}, headers={"Idempotency-Key": "k1"}), 422,
                   "idempotency-key-reused")
    note = agent.post(url, json={"body": "Looks like the proxy.", "internal": True}, headers={"Idempotency-Key": "k2"})
    assert note.status_code == 201 and note.get_json()["internal"] is True
    assert db.session.scalar(select(func.count(Message.id))) == 2
    db.session.expire_all()
    assert ticket.status is Status.OPEN and ticket.first_response_at is not None
    assert [m["body"] for m in api(customer).get(f"/api/v1/tickets/{ticket.reference}").get_json()["messages"]] == [
        "Which browser do you use?"]
    for bad in ({"body": ""}, {"body": "   "}, {"body": 7}, {"body": "x" * 20_001}, {"internal": True}):
        assert_problem(agent.post(url, json=bad), 422, "validation-error")
    tickets.change_status(ticket, gen_user(Role.AGENT), "closed")
    assert_problem(agent.post(url, json={"body": "One more thing."}), 422, "validation-error")


# --- time ---------------------------------------------------------------------------------------

def test_logging_time_says_what_is_billed(app, caller, now):
    prepaid = gen_org(plan="prepaid")
    ticket = gen_ticket(gen_user(Role.CUSTOMER, org=prepaid))
    agent = gen_user(Role.AGENT)
    api = caller(agent)
    url = f"{AGENT_API}tickets/{ticket.reference}/time"
    response = api.post(url, json={"minutes": 10, "note": "Read the logs."}, headers={"Idempotency-Key": "t1"})
    body = response.get_json()
    assert response.status_code == 201, body
    assert body["entry"]["minutes"] == 10 and body["entry"]["agent"] == agent.name
    assert (body["time"]["period_logged_minutes"], body["time"]["period_billed_minutes"]) == (10, 30)  # the minimum
    assert body["hours"]["used_minutes"] == 30
    assert api.post(url, json={"minutes": 10, "note": "Read the logs."},
                    headers={"Idempotency-Key": "t1"}).headers["Idempotent-Replayed"] == "true"
    assert db.session.scalar(select(func.count(TimeEntry.id))) == 1
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "time.log")).all()
    assert entry.detail == {"minutes": 10, "worked_on": body["entry"]["worked_on"], "via": "api"}
    for bad, field in (({"minutes": 0}, "minutes"), ({"minutes": 961}, "minutes"), ({"minutes": "ten"}, "minutes"),
                       ({"minutes": 5, "worked_on": (now + timedelta(days=3)).date().isoformat()}, "worked_on"),
                       ({"minutes": 5, "worked_on": "2026-02-30"}, "worked_on"), ({}, "minutes")):
        body = assert_problem(api.post(url, json=bad), 422, "validation-error")
        assert field in {e["field"] for e in body["errors"]}, (bad, body)
    assert db.session.scalar(select(func.count(TimeEntry.id))) == 1


# --- organizations ------------------------------------------------------------------------------

def test_organizations_by_name_in_pages(app, caller):
    for name in ("Delta", "Alpha", "Charlie", "Bravo", "Echo"):
        gen_org(name)
    prepaid = gen_org("Foxtrot", plan="prepaid")
    gen_ticket(gen_user(Role.CUSTOMER, org=prepaid))
    api = caller(gen_user(Role.AGENT))
    names, url = [], f"{AGENT_API}organizations?limit=2"
    while url:
        body = api.get(url).get_json()
        names += [o["name"] for o in body["items"]]
        url = body["next"]
    assert names == ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"]
    [fox] = api.get(f"{AGENT_API}organizations?q=trot").get_json()["items"]
    assert fox["plan"]["key"] == "prepaid" and fox["hours"]["left_minutes"] > 0 and fox["open_tickets"] == 1
    assert fox["quota"] is not None
    detail = api.get(f"{AGENT_API}organizations/{prepaid.id}").get_json()
    assert detail["id"] == prepaid.id and detail["hours"] is not None and detail["plan"]["key"] == "prepaid"
    assert_problem(api.get(f"{AGENT_API}organizations/{2**31 - 1}"), 404)
    assert_problem(api.get(f"{AGENT_API}organizations?cursor=%%%"), 422)
    assert_problem(api.get(f"{AGENT_API}organizations?cursor=AA"), 422)  # decodes to NUL
    assert api.get(f"{AGENT_API}organizations?q=100%25_").get_json()["items"] == []

