"""Teams and their members, moving a ticket between teams (history, audit), the rule that a ticket
is assigned within its team (assign, claim, bulk), and who hears about a ticket nobody has."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.agent import services as queue
from portal.audit.models import AuditEntry
from portal.auth.models import Role
from portal.errors import DomainError
from portal.extensions import db
from portal.teams import services
from portal.tickets import clocks, notify
from portal.tickets import services as tickets
from tests.factories import gen_org, gen_ticket, gen_user, queued_mail


def _audit(action):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).all()


def test_teams_are_created_edited_and_deactivated_with_clear_refusals(app):
    team = services.create_team(" Accounting ", "  Accounting   team ", "Contabilidad", "Invoices, taxes")
    assert (team.key, team.name, team.name_es, team.active) == ("accounting", "Accounting team", "Contabilidad", True)
    for key, name, field, message in (
            ("accounting", "Again", "key", "A team with the key accounting already exists."),
            ("Not a key!", "X", "key", "lowercase letters, digits"),
            ("ok", " ", "name", "A team needs a name."),
            ("ok", "x" * 81, "name", "at most 80 characters")):
        with pytest.raises(DomainError) as caught:
            services.create_team(key, name)
        assert caught.value.field == field and message in str(caught.value)
    assert [t.key for t in services.all_teams()] == ["accounting"]  # nothing else was made
    services.edit_team(team, "Accounting", None, None)
    assert (team.name, team.name_es, team.description) == ("Accounting", None, None)
    services.set_active(team, False)
    assert services.all_teams(active_only=True) == []
    assert [e.action for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))] == [
        "team.create", "team.edit", "team.deactivate"]
    assert _audit("team.edit")[0].detail["name"] == {"from": "Accounting team", "to": "Accounting"}
    with pytest.raises(DomainError, match="No team 'ghost'"):
        services.team_by_key("ghost")


def test_only_agents_and_admins_are_members(app):
    team = services.create_team("accounting", "Accounting")
    agent, admin = gen_user(Role.AGENT, name="Sam"), gen_user(Role.ADMIN)
    services.add_member(team, agent)
    services.add_member(team, admin)
    for user, message in ((gen_user(Role.CUSTOMER), "Only agents and admins"), (gen_user(Role.WRITER), "Only agents"),
                          (agent, "Sam is already in Accounting.")):
        with pytest.raises(DomainError, match=message):
            services.add_member(team, user)
    assert {u.id for u in team.members} == {agent.id, admin.id}
    services.remove_member(team, agent)
    with pytest.raises(DomainError, match="Sam is not in Accounting."):
        services.remove_member(team, agent)
    assert services.teams_of(admin) == [team] and services.teams_of(agent) == []
    assert [e.detail["user"] for e in _audit("team.member_add")] == [agent.email, admin.email]
    assert [e.detail["user"] for e in _audit("team.member_remove")] == [agent.email]


@pytest.fixture
def two_teams(app):
    accounting, integrations = services.create_team("accounting", "Accounting"), \
        services.create_team("integrations", "Integrations")
    sam, ada, lee = gen_user(Role.AGENT, name="Sam"), gen_user(Role.ADMIN, name="Ada"), gen_user(Role.AGENT, name="Lee")
    services.add_member(accounting, sam)
    services.add_member(accounting, ada)
    services.add_member(integrations, ada)
    return accounting, integrations, sam, ada, lee


def _in(team, **fields):
    ticket = gen_ticket(**fields)
    ticket.team = team
    db.session.commit()
    return ticket


def test_moving_a_ticket_is_in_the_history_and_the_audit_log(two_teams, now):
    accounting, integrations, sam, ada, _lee = two_teams
    ticket = _in(accounting)
    tickets.assign(ticket, sam, sam)
    tickets.change_team(ticket, ada, integrations)
    assert ticket.team == integrations and ticket.assignee is None  # Sam is not in Integrations
    moved, let_go = [e for e in ticket.events if e.kind in ("team", "assignee")][-2:]
    assert (moved.kind, moved.old_value, moved.new_value, moved.internal) == ("team", "Accounting", "Integrations", True)
    assert (let_go.old_value, let_go.new_value, let_go.reason) == ("Sam", None, "not in Integrations")
    [entry] = _audit("ticket.team")
    assert (entry.actor_id, entry.target_label, entry.detail) == (ada.id, ticket.reference,
                                                                  {"from": "accounting", "to": "integrations"})
    tickets.change_team(ticket, ada, None)
    assert ticket.team is None and ticket.events[-1].old_value == "Integrations"
    events = len(ticket.events)
    tickets.change_team(ticket, ada, None)  # no change: no history, no audit entry
    assert len(ticket.events) == events and len(_audit("ticket.team")) == 2
    # The customer's history does not show the internal routing.
    assert all(e.kind != "team" for e in tickets.public_history(ticket, ticket.requester))


def test_a_team_that_does_not_exist_is_refused_and_nothing_changes(two_teams):
    accounting, integrations, _sam, ada, _lee = two_teams
    ticket = _in(accounting)
    services.set_active(integrations, False)
    for value in ("999", "abc", str(integrations.id)):
        with pytest.raises(services.TeamNotFound, match="That team does not exist"):
            tickets.change_team(ticket, ada, services.team_for_choice(value))
    with pytest.raises(DomainError, match="Integrations is inactive"):
        tickets.change_team(ticket, ada, integrations)
    db.session.rollback()
    assert ticket.team == accounting and not [e for e in ticket.events if e.kind == "team"]
    assert services.team_for_choice("") is None


def test_a_ticket_is_assigned_within_its_team_everywhere(two_teams):
    accounting, integrations, sam, ada, lee = two_teams
    ticket = _in(accounting)
    with pytest.raises(DomainError) as caught:
        tickets.assign(ticket, ada, lee)
    assert caught.value.field == "assignee" and str(caught.value) == (
        "Lee is not in the Accounting team, which has this ticket: move the ticket to one of their teams first, "
        "or add them to Accounting.")
    db.session.rollback()
    with pytest.raises(DomainError, match="Lee is not in the Accounting team"):
        queue.claim(ticket, lee)
    db.session.rollback()
    other = _in(integrations)
    free = _in(None)
    changed, refused = queue.bulk(ada, [ticket.reference, other.reference, free.reference], "assign", str(sam.id))
    assert changed == [ticket.reference, free.reference]  # a ticket of no team takes anyone
    assert "Sam is not in the Integrations team" in str(refused[other.reference])
    assert other.assignee is None and ticket.assignee == sam
    queue.claim(other, ada)
    assert other.assignee == ada


def test_nobody_assigned_notifies_the_team_else_every_agent(two_teams, now):
    accounting, integrations, sam, ada, lee = two_teams
    everyone = {sam.id, ada.id, lee.id}
    ticket = _in(accounting)
    assert {u.id for u in notify.agents_for(ticket)} == {sam.id, ada.id}
    sam.active = False
    db.session.commit()
    assert [u.id for u in notify.agents_for(ticket)] == [ada.id]
    ticket.team = services.create_team("empty", "Empty")
    assert {u.id for u in notify.agents_for(ticket)} == everyone - {sam.id}  # a team of nobody: every agent
    ticket.team = None
    assert {u.id for u in notify.agents_for(ticket)} == everyone - {sam.id}
    ticket.team = integrations
    tickets.assign(ticket, ada, ada)
    assert notify.agents_for(ticket) == [ada]


def test_an_sla_alert_of_a_ticket_nobody_has_goes_to_its_team(two_teams, now):
    accounting, _integrations, sam, ada, lee = two_teams
    customer = gen_user(org=gen_org(plan="premium", timezone="UTC"))  # 24x7: P1 due in 15 minutes
    ticket = _in(accounting, user=customer, impact="high", urgency="high", now=now)
    before = len(queued_mail())
    assert ticket.reference in clocks.sweep(now + timedelta(hours=1))["breached"]
    recipients = [m for m in queued_mail()[before:] if "SLA breached" in m]
    assert sorted(r.split("To: ")[1].split("\n")[0].strip() for r in recipients) == sorted([sam.email, ada.email])
    assert not any(lee.email in m for m in recipients)

