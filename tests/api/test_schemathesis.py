"""Schemathesis against the OpenAPI document, in process (WSGI, no server, no network):
no server errors, and every answer conforms to the document."""

import contextvars

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from portal.auth.models import Role
from portal.teams import services as teams
from tests.api.conftest import token_for
from tests.factories import gen_ticket, gen_user

EXAMPLES_PER_OPERATION = 40


def _each_request_alone(app):
    """Each call in a fresh context with its own app context and session, as in production
    (the test itself holds an app context, which Flask would otherwise reuse)."""
    def wsgi(environ, start_response):
        return contextvars.Context().run(app, environ, start_response)

    return wsgi


def test_schemathesis_finds_nothing(app):
    customer = gen_user(Role.CUSTOMER)
    ticket = gen_ticket(customer)
    headers = {"Authorization": f"Bearer {token_for(customer)}"}
    # The organizations' endpoints are the admins', the agent's side the agents': explored with their tokens.
    admin_headers = {"Authorization": f"Bearer {token_for(gen_user(Role.ADMIN))}"}
    agent = gen_user(Role.AGENT)
    agent_headers = {"Authorization": f"Bearer {token_for(agent)}"}
    team = teams.create_team("accounting", "Accounting")
    teams.add_member(team, agent)
    # Half the time the body's ids are real ones too: a team that exists, one of its agents, the customer.
    real_ids = {"team": team.id, "assignee": agent.id, "requester": customer.id}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", _each_request_alone(app))
    operations, seen = 0, {}
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        # Valid requests, and requests that break the document (they must get a 4xx problem, never a 500).
        caller = admin_headers if operation.path.startswith("/api/v1/organizations/") else \
            agent_headers if operation.path.startswith("/api/v1/agent/") else headers
        cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE, headers=caller),
                          operation.as_strategy(GenerationMode.NEGATIVE, headers=caller))

        @given(case=cases, real_ticket=st.booleans())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def conforms(case, real_ticket):
            # Half the time on a ticket that exists, so the happy paths are explored too.
            if real_ticket and "reference" in (case.path_parameters or {}):
                case.path_parameters["reference"] = ticket.reference
            if real_ticket and "org_id" in (case.path_parameters or {}):
                case.path_parameters["org_id"] = ticket.organization_id
            if real_ticket and isinstance(case.body, dict):
                case.body.update({k: v for k, v in real_ids.items() if isinstance(case.body.get(k), int)})
            response = case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])
            seen.setdefault(f"{case.method} {case.path}", set()).add(response.status_code)

        conforms()
    assert operations == 25
    # The happy paths were reached, not only the refusals.
    assert 200 in seen["GET /api/v1/tickets/{reference}"] and 201 in seen["POST /api/v1/tickets/{reference}/replies"]
    assert 201 in seen["POST /api/v1/tickets/{reference}/priority-request"]
    assert 200 in seen["GET /api/v1/kb/search"] and 200 in seen["GET /api/v1/org"]
    assert 200 in seen["GET /api/v1/organizations/{org_id}/plans"]  # (a made-up plan key is a 422: no 201 here)
    for operation in ("GET /api/v1/agent/tickets", "GET /api/v1/agent/tickets/{reference}",
                      "PATCH /api/v1/agent/tickets/{reference}", "GET /api/v1/agent/organizations",
                      "GET /api/v1/agent/organizations/{org_id}"):
        assert 200 in seen[operation], (operation, seen[operation])
    assert 201 in seen["POST /api/v1/agent/tickets/{reference}/messages"]
    assert 200 in seen["GET /api/v1/agent/teams"] and 201 in seen["POST /api/v1/agent/organizations/{org_id}/time"]
