"""A routing file of the tests' own: areas (one only on premium), rules by category, organization
and plan, and a default; with the app built on it."""

import pytest

from portal.extensions import db
from tests.conftest import IsolatedClient

ROUTING = """
default = "support"

[areas.accounting]
name = "Accounting and invoicing"
name_es = "Contabilidad y facturación"
team = "accounting"

[areas.integrations]
name = "API and integrations"
team = "integrations"
plans = ["premium"]

[areas.warehouse]
name = "Warehouses"
team = "inventory"

[[rules]]
organization = "Acme"
plan = "premium"
team = "integrations"

[[rules]]
category = "feature_request"
team = "product"

[[rules]]
category = "feature_request"
team = "accounting"
"""


@pytest.fixture
def routing_file(tmp_path):
    path = tmp_path / "routing.toml"
    path.write_text(ROUTING, encoding="utf-8")
    return path


@pytest.fixture
def routed_app(make_app, routing_file):
    """The app on the tests' routing file (the default ``app`` serves the shipped one)."""
    app = make_app(TEAMS_ROUTING_FILE=str(routing_file))
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def teams(routed_app):
    """accounting, integrations, support (the default), inventory (inactive); no "product" team."""
    from portal.teams import services

    made = {key: services.create_team(key, name) for key, name in (
        ("accounting", "Accounting"), ("integrations", "Integrations"), ("support", "Support"),
        ("inventory", "Inventory"))}
    services.set_active(made["inventory"], False)
    return made
