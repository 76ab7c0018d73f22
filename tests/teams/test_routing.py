"""Routing: the chosen product area first, then the rules in order, then the default; a key with
no active team behind it passes to the next; a bad routing file stops the start with its problems."""

import pytest
from sqlalchemy import func, select

from portal.errors import DomainError
from portal.extensions import db
from portal.teams import services
from portal.teams.routing import RoutingError, load_routing
from portal.tickets.models import Ticket
from tests.factories import gen_org, gen_ticket, gen_user


def test_candidates_are_the_area_then_matching_rules_in_order_then_the_default(routing_file):
    routing = load_routing(routing_file)
    assert routing.candidates("accounting", "question", "Other", "standard") == ["accounting", "support"]
    # An area the plan does not offer is not a candidate (the form never offers it).
    assert routing.candidates("integrations", "question", "Other", "standard") == ["support"]
    assert routing.candidates("integrations", "question", "Other", "premium") == ["integrations", "support"]
    # Every condition of a rule must match; organization names match whatever their case.
    assert routing.candidates(None, "question", "ACME", "premium") == ["integrations", "support"]
    assert routing.candidates(None, "question", "Acme", "standard") == ["support"]
    assert routing.candidates(None, "feature_request", None, None) == ["product", "accounting", "support"]
    assert [a.key for a in routing.areas_for("standard")] == ["accounting", "warehouse"]
    assert [a.key for a in routing.areas_for("premium")] == ["accounting", "integrations", "warehouse"]
    assert routing.areas["accounting"].label("es") == "Contabilidad y facturación"
    assert routing.areas["integrations"].label("es") == "API and integrations"  # no Spanish name: the English one


@pytest.mark.parametrize("content, problem", [
    ('[areas.Bad]\nname = "x"\nteam = "a"', "areas.Bad: 'Bad': keys are lowercase letters"),
    ('[areas.a]\nname = "x"\nteam = "Not A Key"', "areas.a.team: 'Not A Key': keys are lowercase letters"),
    ('[areas.a]\nname = "x"', "areas.a.team: is required"),
    ('[areas.a]\nname = "x"\nteam = "a"\ncolour = "red"', "areas.a.colour: unknown setting (a typo?)"),
    ('[[rules]]\nteam = "a"', "rules[1]: a rule needs at least one of category, organization or plan"),
    ('[[rules]]\ncategory = "question"\nteam = "a"\n[[rules]]\ncategory = "bug"\nteam = "a"',
     "rules[2].category: Input should be 'technical_issue', 'feature_request', 'training_request' or 'question'"),
    ('default = "a"\ndefault = "b"', "is not valid TOML"),
])
def test_a_bad_routing_file_names_each_problem(tmp_path, content, problem):
    path = tmp_path / "routing.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RoutingError) as caught:
        load_routing(path)
    assert any(problem in p for p in caught.value.problems), caught.value.problems


def test_the_app_does_not_start_on_a_bad_routing_file(make_app, tmp_path):
    path = tmp_path / "routing.toml"
    path.write_text('[[rules]]\nteam = "a"', encoding="utf-8")
    with pytest.raises(RoutingError, match="rules\\[1\\]: a rule needs"):
        make_app(TEAMS_ROUTING_FILE=str(path))
    with pytest.raises(RoutingError, match="cannot be read"):
        make_app(TEAMS_ROUTING_FILE=str(tmp_path / "missing.toml"))


def test_the_shipped_routing_file_is_valid(app):
    assert {"accounting", "integrations"} <= set(services.routing().spec.areas)


def test_route_skips_keys_without_an_active_team(teams):
    acme = gen_org("Acme", plan="premium")
    other = gen_org("Other", plan="standard")

    def routed(area, category="question", org=other, plan="standard"):
        team = services.route(area, category, org.id, plan)
        return team.key if team else None

    assert routed("accounting") == "accounting"
    assert routed("integrations") == "support"  # not offered on standard: the default
    assert routed(None, org=acme, plan="premium") == "integrations"  # the organization and plan rule
    assert routed(None, "feature_request") == "accounting"  # no team "product": the next matching rule
    assert routed("warehouse") == "support"  # Inventory is inactive
    assert routed("no-such-area") == "support"
    services.set_active(teams["support"], False)
    assert routed(None) is None  # nothing left: no team, every agent's


def test_filing_routes_by_the_chosen_area_and_says_so_to_the_staff(teams):
    customer = gen_user(org=gen_org(plan="standard"))
    ticket = gen_ticket(customer, area="accounting")
    assert (ticket.area, ticket.team.key) == ("accounting", "accounting")
    [routed] = [e for e in ticket.events if e.kind == "team"]
    assert (routed.new_value, routed.internal, routed.actor_id) == ("Accounting", True, None)
    unsure = gen_ticket(customer)  # "Not sure": the rules, then the default
    assert (unsure.area, unsure.team.key) == (None, "support")


def test_an_area_the_plan_does_not_offer_is_refused_and_nothing_is_filed(teams):
    customer = gen_user(org=gen_org(plan="standard"))
    for area in ("integrations", "made-up"):
        with pytest.raises(DomainError) as caught:
            gen_ticket(customer, area=area)
        assert caught.value.field == "area" and "Choose one of the product areas listed" in str(caught.value)
        db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_mail_and_api_tickets_have_no_area_and_follow_the_rules(teams):
    acme = gen_org("Acme", plan="premium")
    customer = gen_user(org=acme)
    by_mail = gen_ticket(customer, channel="email", subject="Help", description="x")
    assert (by_mail.area, by_mail.team.key) == (None, "integrations")
    by_api = gen_ticket(customer, channel="api", category="feature_request")
    assert by_api.team.key == "integrations"  # the organization rule comes before the category rules
