"""The agents' API, continued: teams (in the queue and the ticket, a change of team, the list),
filing on a customer's behalf, and time logged on an organization without a ticket."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.auth.models import Role
from portal.extensions import db
from portal.plans.models import TimeEntry
from portal.teams import services as teams
from portal.tickets import services as tickets
from portal.tickets.models import Channel, Ticket
from tests.api.conftest import assert_problem
from tests.api.test_agent_api import AGENT_API, caller  # noqa: F401  (the fixture)
from tests.factories import gen_org, gen_ticket, gen_user, queued_mail


@pytest.fixture
def accounting(app):
    """The shipped routing file sends the "accounting" product area to the accounting team."""
    team = teams.create_team("accounting", "Accounting")
    teams.add_member(team, gen_user(Role.AGENT, name="Alba Accounts"))
    return team


def _fields(response, status: int = 422) -> set[str]:
    body = assert_problem(response, status)
    return {e["field"] for e in body.get("errors", [])}


# --- teams in the queue, on the ticket, and changed -----------------------------------------------

def test_queue_rows_and_the_ticket_show_the_team_and_the_area(app, caller, accounting):
    routed = gen_ticket(area="accounting", subject="Invoices do not add up")
    alone = gen_ticket(subject="Where is the logout button")
    api = caller(gen_user(Role.AGENT))
    rows = {r["reference"]: r for r in api.get(f"{AGENT_API}tickets?team=all").get_json()["items"]}
    assert rows[routed.reference]["team"] == {"id": accounting.id, "key": "accounting", "name": "Accounting"}
    assert rows[routed.reference]["area"] == "accounting"
    assert (rows[alone.reference]["team"], rows[alone.reference]["area"]) == (None, None)
    detail = api.get(f"{AGENT_API}tickets/{routed.reference}").get_json()
    assert detail["team"]["key"] == "accounting" and detail["area"] == "accounting"
    # The team filter takes the ids the list gives.
    by_team = api.get(f"{AGENT_API}tickets?team={accounting.id}").get_json()["items"]
    assert [r["reference"] for r in by_team] == [routed.reference]


def test_the_teams_list_with_members(app, caller, accounting):
    inventory = teams.create_team("inventory", "Inventory")
    teams.set_active(inventory, False)
    body = caller(gen_user(Role.ADMIN)).get(f"{AGENT_API}teams").get_json()
    assert [(t["key"], t["active"]) for t in body["items"]] == [("accounting", True), ("inventory", False)]
    assert [m["name"] for m in body["items"][0]["members"]] == ["Alba Accounts"]
    assert body["items"][0]["id"] == accounting.id and body["items"][1]["members"] == []


def test_patch_moves_the_ticket_to_a_team_and_assigns_within_it(app, caller, accounting):
    ticket = gen_ticket()
    agent, outsider = gen_user(Role.AGENT), gen_user(Role.AGENT)
    [member] = accounting.members
    api = caller(agent)
    url = f"{AGENT_API}tickets/{ticket.reference}"
    response = api.patch(url, json={"team": accounting.id, "assignee": member.id})
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["changed"]["team"] == [None, str(accounting.id)]
    assert body["changed"]["assignee"] == [None, str(member.id)]
    assert body["ticket"]["team"]["key"] == "accounting"
    db.session.expire_all()
    assert (ticket.team_id, ticket.assignee_id) == (accounting.id, member.id)
    assert [e.new_value for e in ticket.events if e.kind == "team"] == ["Accounting"]
    # Someone outside the team, a team that does not exist or is inactive: refused, and nothing else is made.
    inactive = teams.create_team("inventory", "Inventory")
    teams.set_active(inactive, False)
    for bad, field in (({"assignee": outsider.id, "priority": "P1", "reason": "Down."}, "assignee"),
                       ({"team": 2**31 - 1, "category": "technical_issue"}, "team"),
                       ({"team": inactive.id}, "team"), ({"team": 0}, "team"), ({"team": "accounting"}, "team")):
        assert field in _fields(api.patch(url, json=bad)), bad
    db.session.expire_all()
    assert (ticket.team_id, ticket.assignee_id, ticket.priority.value, ticket.category.value) == (
        accounting.id, member.id, "P3", "question")
    # null: no team; the assignee stays (every agent's ticket may be anyone's).
    body = api.patch(url, json={"team": None}).get_json()
    assert body["changed"] == {"team": [str(accounting.id), None]} and body["ticket"]["team"] is None
    # Back to a team the assignee is not in: they let go of it, and the answer says so.
    tickets.assign(ticket, agent, outsider)
    body = api.patch(url, json={"team": accounting.id}).get_json()
    assert body["changed"]["assignee"] == [str(outsider.id), None] and body["ticket"]["assignee"] is None


def test_if_match_refuses_a_team_change_over_someone_elses(app, caller, accounting):
    ticket = gen_ticket()
    support = teams.create_team("support", "Support")
    api, colleague = caller(gen_user(Role.AGENT)), gen_user(Role.AGENT)
    url = f"{AGENT_API}tickets/{ticket.reference}"
    tag = api.get(url).headers["ETag"]
    tickets.change_team(ticket, colleague, support)
    body = assert_problem(api.patch(url, json={"team": accounting.id}, headers={"If-Match": tag}), 412,
                          "changed-meanwhile")
    assert [(c["kind"], c["new"]) for c in body["changes"]] == [("team", "Support")]
    db.session.expire_all()
    assert ticket.team_id == support.id
    # The colleague moved the team, not the priority: that goes through.
    assert api.patch(url, json={"priority": "P2", "reason": "Wider."}, headers={"If-Match": tag}).status_code == 200


# --- filing on a customer's behalf ----------------------------------------------------------------

FILED = {"subject": "Cannot print the invoices", "description": "Called in: the print button does nothing.",
         "category": "question", "impact": "medium", "urgency": "medium"}


def test_an_agent_files_by_phone_for_a_customer(app, caller, accounting):
    customer = gen_user(Role.CUSTOMER, org=gen_org("Acme", plan="standard"), name="Ana Customer")
    agent = gen_user(Role.AGENT, name="Sam Agent")
    api = caller(agent)
    mail_before = len(queued_mail())
    body = {**FILED, "requester": customer.id, "channel": "phone", "area": "accounting"}
    response = api.post(f"{AGENT_API}tickets", json=body, headers={"Idempotency-Key": "call-1"})
    filed = response.get_json()
    assert response.status_code == 201, filed
    assert filed["channel"] == "phone" and filed["requester"]["id"] == customer.id
    assert filed["team"]["key"] == "accounting" and filed["area"] == "accounting"
    assert response.headers["Location"].endswith(f"{AGENT_API}tickets/{filed['reference']}")
    assert response.headers["ETag"]
    ticket = db.session.scalar(select(Ticket).where(Ticket.reference == filed["reference"]))
    assert (ticket.requester_id, ticket.filed_by_id, ticket.channel) == (customer.id, agent.id, Channel.PHONE)
    assert any(customer.email in m for m in queued_mail()[mail_before:])  # the usual acknowledgement
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "ticket.file_for")).all()
    assert entry.actor_id == agent.id and entry.detail["channel"] == "phone"
    # A retry with the key files nothing; the same key with another body is refused.
    again = api.post(f"{AGENT_API}tickets", json=body, headers={"Idempotency-Key": "call-1"})
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["reference"] == filed["reference"]
    assert_problem(api.post(f"{AGENT_API}tickets", json={**body, "subject": "Another thing entirely"},
                            headers={"Idempotency-Key": "call-1"}), 422, "idempotency-key-reused")
    assert db.session.scalar(select(func.count(Ticket.id))) == 1
    # The customer sees it in the portal.
    from tests.api.conftest import token_for

    seen = app.test_client().get(f"/api/v1/tickets/{filed['reference']}",
                                 headers={"Authorization": f"Bearer {token_for(customer)}"})
    assert seen.status_code == 200 and seen.get_json()["channel"] == "phone"


def test_refusals_name_the_field_and_file_nothing(app, caller):
    standard = gen_user(Role.CUSTOMER, org=gen_org("Acme", plan="standard"))
    prepaid = gen_user(Role.CUSTOMER, org=gen_org("Flujo", plan="prepaid"))
    inactive = gen_user(Role.CUSTOMER, org=standard.organization)
    inactive.active = False
    db.session.commit()
    api = caller(gen_user(Role.AGENT))
    url = f"{AGENT_API}tickets"
    for bad, field in (
            ({"requester": prepaid.id, "channel": "phone"}, "channel"),  # prepaid takes no phone calls
            ({"requester": standard.id, "channel": "chat"}, "channel"),
            ({"requester": standard.id, "channel": "api"}, "channel"),
            ({"requester": gen_user(Role.AGENT).id, "channel": "phone"}, "requester"),
            ({"requester": inactive.id, "channel": "phone"}, "requester"),
            ({"requester": 2**31 - 1, "channel": "phone"}, "requester"),
            ({"requester": 0, "channel": "phone"}, "requester"),
            ({"channel": "phone"}, "requester"),
            ({"requester": standard.id, "channel": "phone", "subject": "Hi"}, "subject"),
            ({"requester": standard.id, "channel": "phone", "area": "astrology"}, "area"),
            ({"requester": standard.id, "channel": "phone", "impact": None}, "impact")):
        fields = _fields(api.post(url, json={**FILED, **bad}, headers={"Idempotency-Key": f"k-{field}-{len(bad)}"}))
        assert field in fields, (bad, fields)
    assert db.session.scalar(select(func.count(Ticket.id))) == 0
    # A refused request frees its key: the corrected one goes through.
    response = api.post(url, json={**FILED, "requester": standard.id, "channel": "phone"},
                        headers={"Idempotency-Key": "k-subject-3"})
    assert response.status_code == 201, response.get_json()


# --- time without a ticket ------------------------------------------------------------------------

def test_time_on_an_organization_says_what_it_bills(app, caller, now):
    prepaid = gen_org("Flujo", plan="prepaid")
    agent = gen_user(Role.AGENT, name="Sam Agent")
    api = caller(agent)
    url = f"{AGENT_API}organizations/{prepaid.id}/time"
    response = api.post(url, json={"kind": "video_call", "minutes": 20, "note": "Walked through the exports."},
                        headers={"Idempotency-Key": "v1"})
    body = response.get_json()
    assert response.status_code == 201, body
    assert body["entry"]["kind"] == "video_call" and body["entry"]["minutes"] == 20
    assert body["entry"]["agent"] == "Sam Agent" and body["entry"]["note"] == "Walked through the exports."
    assert (body["billable"], body["billed_minutes"], body["hours"]["used_minutes"]) == (True, 30, 30)  # the minimum
    again = api.post(url, json={"kind": "video_call", "minutes": 20, "note": "Walked through the exports."},
                     headers={"Idempotency-Key": "v1"})
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["entry"]["id"] == body["entry"]["id"]
    assert db.session.scalar(select(func.count(TimeEntry.id))) == 1
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "time.log")).all()
    assert entry.actor_id == agent.id and entry.detail["kind"] == "video_call" and entry.detail["via"] == "api"
    # Onboarding is part of the plan: logged, not billed.
    body = api.post(url, json={"kind": "onboarding", "minutes": 45}).get_json()
    assert (body["billable"], body["billed_minutes"], body["hours"]["used_minutes"]) == (False, 0, 30)
    # A plan without an hours ledger: logged, nothing to bill.
    standard = gen_org("Acme", plan="standard")
    body = api.post(f"{AGENT_API}organizations/{standard.id}/time", json={"kind": "call", "minutes": 5}).get_json()
    assert (body["billable"], body["billed_minutes"], body["hours"]) == (None, None, None)
    for bad, field in (({"kind": "ticket", "minutes": 5}, "kind"), ({"kind": "call", "minutes": 0}, "minutes"),
                       ({"kind": "call", "minutes": 961}, "minutes"), ({"minutes": 5}, "kind"),
                       ({"kind": "call", "minutes": 5,
                         "worked_on": (now + timedelta(days=3)).date().isoformat()}, "worked_on"),
                       ({"kind": "call", "minutes": 5, "note": "x" * 1001}, "note")):
        assert field in _fields(api.post(url, json=bad)), bad
    assert db.session.scalar(select(func.count(TimeEntry.id))) == 3
    assert_problem(api.post(f"{AGENT_API}organizations/{2**31 - 1}/time", json={"kind": "call", "minutes": 5}), 404)
