"""Two people on one ticket: changes at the same moment are made one after the other, and a form
filled in from a page older than the ticket shows what changed instead of overwriting it."""

import re
import threading
from datetime import timedelta

from sqlalchemy import select

from portal.agent import services as queue
from portal.auth.models import Role, User
from portal.extensions import db
from portal.tickets import services as tickets
from portal.tickets.models import Status, Ticket, TicketEvent
from tests.conftest import AuthActions, csrf_token, run_in_threads
from tests.factories import answer, gen_ticket, gen_user


def _waiting_ticket(now):
    """A ticket an agent answered and parked with the customer two hours ago: its SLA is paused."""
    ticket = gen_ticket(now=now - timedelta(hours=3))
    agent = answer(ticket, now=now - timedelta(hours=3))
    tickets.change_status(ticket, agent, "waiting_on_customer", now=now - timedelta(hours=2))
    return ticket


def _status_events(ticket) -> list[tuple[str, str]]:
    return [(e.old_value, e.new_value) for e in db.session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "status")
        .order_by(TicketEvent.id))]


def _at_once(app, agents, reference, work):
    """Each agent reads the ticket, waits until all have read it (so all hold the same, soon stale,
    state), then acts: the race of item 12, made certain to happen."""
    all_read = threading.Barrier(len(agents), timeout=20)
    ids = [a.id for a in agents]

    def act(i):
        agent = db.session.get(User, ids[i])
        ticket = tickets.get_ticket(agent, reference)
        assert ticket.status is Status.WAITING_ON_CUSTOMER or ticket.assignee_id is None
        all_read.wait()
        return work(i, ticket, agent)

    return run_in_threads(app, len(agents), act)


def test_two_agents_solving_at_once_record_one_transition(app, now):
    ticket = _waiting_ticket(now)
    agents = [gen_user(Role.AGENT), gen_user(Role.AGENT)]
    _results, failures = _at_once(app, agents, ticket.reference,
                                  lambda i, t, agent: tickets.change_status(t, agent, "solved", now=now))
    assert failures == []
    db.session.refresh(ticket)
    assert ticket.status is Status.SOLVED
    assert _status_events(ticket)[-1:] == [("waiting_on_customer", "solved")]
    assert _status_events(ticket).count(("waiting_on_customer", "solved")) == 1


def test_opposite_changes_at_once_chain_in_the_history_and_pause_the_sla_as_made_one_by_one(app, now):
    ticket = _waiting_ticket(now)
    agents = [gen_user(Role.AGENT), gen_user(Role.AGENT)]
    wanted = ["open", "solved"]
    _results, failures = _at_once(app, agents, ticket.reference,
                                  lambda i, t, agent: tickets.change_status(t, agent, wanted[i], now=now))
    assert failures == []
    db.session.refresh(ticket)
    history = _status_events(ticket)[-2:]
    # Each change starts from the status the one before it left: waiting → X → Y.
    assert history[0][0] == "waiting_on_customer" and history[1][0] == history[0][1]
    assert ticket.status.value == history[1][1]
    # The SLA is what the same two changes give one after the other, on a twin ticket.
    twin = _waiting_ticket(now)
    for _old, new in history:
        tickets.change_status(twin, agents[0], new, now=now)
    columns = ("sla_paused_since", "sla_paused_seconds", "sla_paused_calendar_seconds", "resolution_due",
               "sla_next_due", "solved_at", "waiting_since")
    assert {c: getattr(ticket, c) for c in columns} == {c: getattr(twin, c) for c in columns}
    if ticket.status is Status.SOLVED:
        assert ticket.sla_paused_since == now  # paused again by the solution, from its own moment


def test_a_customer_answer_and_a_solution_at_once_reopen_or_solve_once_each(app, now):
    ticket = _waiting_ticket(now)
    customer = ticket.requester
    people = [customer, gen_user(Role.AGENT)]

    def act(i, t, who):
        if i == 0:
            return tickets.reply(t, who, "It still fails after the update.", now=now)
        return tickets.change_status(t, who, "solved", now=now)

    _results, failures = _at_once(app, people, ticket.reference, act)
    assert failures == []
    db.session.refresh(ticket)
    history = _status_events(ticket)[-2:]
    # Answered, then solved; or solved, then reopened by the answer: never both from "waiting".
    assert history[0][0] == "waiting_on_customer" and history[1][0] == history[0][1]
    assert ticket.status.value == history[1][1] and len(ticket.messages) == 2


def test_two_agents_claiming_at_once_leave_it_with_the_first(app, now):
    ticket = gen_ticket()
    agents = [gen_user(Role.AGENT), gen_user(Role.AGENT)]
    _results, failures = _at_once(app, agents, ticket.reference, lambda i, t, agent: queue.claim(t, agent))
    assert len(failures) == 1 and "is already assigned to" in failures[0]
    events = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                          TicketEvent.kind == "assignee")).all()
    assert len(events) == 1
    db.session.refresh(ticket)
    assert ticket.assignee.name == events[0].new_value


def test_bulk_status_changes_take_the_same_lock(app, now):
    ticket = _waiting_ticket(now)
    agents = [gen_user(Role.AGENT), gen_user(Role.AGENT)]

    def act(i, t, agent):
        return queue.bulk(agent, [t.reference], "status", "solved")

    results, failures = _at_once(app, agents, ticket.reference, act)
    assert failures == [] and sorted(len(changed) for changed, _refused in results) == [1, 1]
    db.session.refresh(ticket)
    assert _status_events(ticket).count(("waiting_on_customer", "solved")) == 1


# --- a form filled in from a stale page ----------------------------------------

def _agent_page(client, auth, ticket, agent):
    auth.login(agent.email)
    page = client.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    return {"csrf_token": csrf_token(client, f"/tickets/{ticket.reference}"), **_seen_in(page)}


def _seen_in(page) -> dict:
    return {"seen_event_id": re.search(r'name="seen_event_id" value="(\d+)"', page).group(1),
            "seen_message_id": re.search(r'name="seen_message_id" value="(\d+)"', page).group(1)}


def test_a_stale_status_form_shows_the_other_change_and_keeps_the_choice(client, auth, app, now):
    ticket = gen_ticket()
    answer(ticket)
    agent, sam = gen_user(Role.AGENT, name="Alex Agent"), gen_user(Role.AGENT, name="Sam Second")
    form = _agent_page(client, auth, ticket, agent)
    tickets.change_status(ticket, sam, "solved", now=now)
    response = client.post(f"/tickets/{ticket.reference}/update",
                           data=form | {"field": "status", "value": "waiting_on_customer"})
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "This ticket changed meanwhile, so your change was not saved." in page
    assert "Sam Second changed the status Open → Solved, awaiting your confirmation" in page
    assert '<option value="waiting_on_customer" selected>' in page  # the agent's choice, to save again
    db.session.refresh(ticket)
    assert ticket.status is Status.SOLVED and _status_events(ticket)[-1] == ("open", "solved")
    # Saving again from the page that showed the change applies it.
    again = client.post(f"/tickets/{ticket.reference}/update",
                        data=form | _seen_in(page) | {"field": "status", "value": "waiting_on_customer"})
    assert again.status_code == 302
    db.session.refresh(ticket)
    assert ticket.status is Status.WAITING_ON_CUSTOMER


def test_a_stale_priority_form_keeps_the_reason_and_another_fields_change_does_not_block(client, auth, app, now):
    ticket = gen_ticket()
    agent, sam = gen_user(Role.AGENT), gen_user(Role.AGENT, name="Sam Second")
    form = _agent_page(client, auth, ticket, agent)
    tickets.change_priority(ticket, sam, "P2", "the customer's whole team is blocked", now=now)
    response = client.post(f"/tickets/{ticket.reference}/update",
                           data=form | {"field": "priority", "value": "P1", "reason": "production is down"})
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and "<html" in page
    assert "Sam Second changed the priority P3 → P2" in page and "the customer&#39;s whole team is blocked" in page
    assert 'value="production is down"' in page and '<option value="P1" selected>' in page
    db.session.refresh(ticket)
    assert ticket.priority.value == "P2"
    # Sam's priority change is no news to a category change.
    assert client.post(f"/tickets/{ticket.reference}/update",
                       data=form | {"field": "category", "value": "technical_issue"}).status_code == 302
    db.session.refresh(ticket)
    assert ticket.category.value == "technical_issue" and ticket.priority.value == "P2"


def test_a_stale_assignee_form_shows_who_took_it(client, auth, app, now):
    ticket = gen_ticket()
    agent, sam = gen_user(Role.AGENT, name="Alex Agent"), gen_user(Role.AGENT, name="Sam Second")
    form = _agent_page(client, auth, ticket, agent)
    queue.claim(ticket, sam)
    response = client.post(f"/tickets/{ticket.reference}/update",
                           data=form | {"field": "assignee", "value": str(agent.id)})
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and "Sam Second assigned it to Sam Second" in page
    assert f'<option value="{agent.id}" selected>' in page
    db.session.refresh(ticket)
    assert ticket.assignee_id == sam.id


def test_a_reply_over_another_agents_answer_is_shown_first_with_the_text_kept(client, auth, app, now):
    ticket = gen_ticket()
    agent, sam = gen_user(Role.AGENT), gen_user(Role.AGENT, name="Sam Second")
    form = _agent_page(client, auth, ticket, agent)
    answer(ticket, sam, body="Restart the export service, please.")
    data = form | {"body": "Please restart the export service."}
    response = client.post(f"/tickets/{ticket.reference}/reply", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "This ticket changed while you were typing" in page
    assert "Sam Second wrote:" in page and "Restart the export service, please." in page
    assert "Please restart the export service.</textarea>" in page
    assert [m.body for m in ticket.messages] == ["Restart the export service, please."]
    # An internal note answers nobody: it is not held back.
    assert client.post(f"/tickets/{ticket.reference}/reply",
                       data=data | {"internal": "y", "body": "Sam got there first."}).status_code == 302
    assert client.post(f"/tickets/{ticket.reference}/reply", data=data | _seen_in(page)).status_code == 302
    db.session.refresh(ticket)
    assert len(ticket.messages) == 3


def test_a_stale_solution_over_the_customers_answer_is_shown_first(client, auth, app, now):
    ticket = gen_ticket()
    answer(ticket)
    agent = gen_user(Role.AGENT)
    tickets.change_status(ticket, agent, "waiting_on_customer", now=now)
    form = _agent_page(client, auth, ticket, agent)
    tickets.reply(ticket, ticket.requester, "It still fails on Safari.", now=now)
    response = client.post(f"/tickets/{ticket.reference}/update", data=form | {"field": "status", "value": "solved"})
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and "It still fails on Safari." in page
    assert "changed the status Waiting on you → Open" in page
    db.session.refresh(ticket)
    assert ticket.status is Status.OPEN


def test_the_pages_poll_tells_what_another_agent_changed(client, auth, app, now):
    ticket = gen_ticket()
    agent, sam = gen_user(Role.AGENT), gen_user(Role.AGENT, name="Sam Second")
    form = _agent_page(client, auth, ticket, agent)
    poll = {k: form[k] for k in ("csrf_token", "seen_event_id", "seen_message_id")}
    quiet = client.post(f"/tickets/{ticket.reference}/viewers", data=poll, headers={"HX-Request": "true"})
    assert quiet.status_code == 200 and "Changed since you opened this page" not in quiet.get_data(as_text=True)
    answer(ticket, sam, body="We are on it.")
    tickets.change_status(ticket, sam, "waiting_on_customer", now=now)
    notice = client.post(f"/tickets/{ticket.reference}/viewers", data=poll,
                         headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in notice and "Changed since you opened this page:" in notice
    assert "Sam Second changed the status Open → Waiting on you" in notice
    assert "Sam Second wrote:" in notice and "We are on it." in notice
    assert f'href="/tickets/{ticket.reference}"' in notice  # Reload: a real link


def test_two_agents_pressing_save_at_once_make_one_change_and_see_it(app, now):
    """Two agents press Save on the same page at the same moment: one change, one "changed meanwhile"."""
    ticket = gen_ticket()
    answer(ticket)
    reference = ticket.reference
    clients = [app.test_client(), app.test_client()]
    forms = [_agent_page(client, AuthActions(client), ticket, gen_user(Role.AGENT)) for client in clients]
    both_ready = threading.Barrier(2, timeout=20)

    def press_save(i):
        both_ready.wait()
        return clients[i].post(f"/tickets/{reference}/update",
                               data=forms[i] | {"field": "status", "value": "solved"}).status_code

    codes, failures = run_in_threads(app, 2, press_save)
    assert failures == [] and sorted(codes) == [302, 409]
    assert _status_events(ticket).count(("open", "solved")) == 1
    assert db.session.get(Ticket, ticket.id).status is Status.SOLVED


def test_changes_without_a_page_are_made_from_the_fresh_state(app, now):
    """The API, the CLI and the queue show no page: no "seen", the lock alone."""
    ticket = gen_ticket()
    answer(ticket)
    agent = gen_user(Role.AGENT)
    stale = tickets.get_ticket(agent, ticket.reference)
    db.session.execute(Ticket.__table__.update().where(Ticket.id == ticket.id).values(status="solved"))
    tickets.change_status(stale, agent, "solved", now=now)  # already solved, seen fresh under the lock
    assert _status_events(ticket)[-1] == ("new", "open")


def test_a_reply_to_a_ticket_closed_meanwhile_keeps_the_text(client, auth, app, now):
    ticket = gen_ticket()
    answer(ticket)
    agent, sam = gen_user(Role.AGENT), gen_user(Role.AGENT, name="Sam Second")
    form = _agent_page(client, auth, ticket, agent)
    tickets.change_status(ticket, sam, "closed", "a duplicate of 2026-00002", now=now)
    response = client.post(f"/tickets/{ticket.reference}/reply", data=form | {"body": "One more idea: <b>retry</b>."})
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and "Your reply was not sent" in page
    assert "Sam Second changed the status Open → Closed" in page and "a duplicate of 2026-00002" in page
    assert "One more idea: &lt;b&gt;retry&lt;/b&gt;.</textarea>" in page
