from pathlib import Path

import pytest

from portal.extensions import db
from tests.conftest import IsolatedClient

SCHEMES_FILE = Path(__file__).with_name("priority-schemes.toml")


@pytest.fixture
def app(make_app, request):
    """The app on the plans file a test module names in ``PLANS_FILE`` (default: the shipped one)."""
    plans = getattr(request.module, "PLANS_FILE", None)
    app = make_app(**({"PLANS_FILE": str(plans)} if plans else {}))
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.remove()
