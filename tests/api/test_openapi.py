"""The OpenAPI document is generated from the code's schemas, and the knowledge base's
API reference is written from it."""

from portal.api.reference import reference_markdown
from portal.kb.check import check_kb
from tests.conftest import KB_DIR

REFERENCE = KB_DIR / "api" / "api-reference.md"


def test_the_document_is_openapi_3_1_and_public(app, api):
    response = api().get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": "A personal API token (pat_…) from your account page."}
    operations = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
    assert ("POST", "/api/v1/tickets") in operations and ("GET", "/api/v1/org") in operations
    create = document["paths"]["/api/v1/tickets"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/TicketIn"}
    assert {p["name"] for p in create["parameters"]} == {"Idempotency-Key"}
    assert set(create["responses"]["409"]["content"]) == {"application/problem+json"}
    # Only the API is described, not the HTML pages.
    assert all(path.startswith("/api/v1/") for path in document["paths"])


def test_the_reference_article_is_up_to_date(app):
    with app.test_request_context():
        expected = reference_markdown()
    assert REFERENCE.read_text(encoding="utf-8") == expected, \
        "kb/api/api-reference.md is out of date: run `portal api reference` and commit it"


def test_the_cli_writes_the_reference_and_it_passes_the_kb_check(app, runner, tmp_path):
    target = tmp_path / "kb" / "api" / "api-reference.md"
    target.parent.mkdir(parents=True)
    result = runner.invoke(args=["api", "reference", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8") == REFERENCE.read_text(encoding="utf-8")
    problems = [p for p in check_kb(KB_DIR) if "api-reference" in p.path]
    assert problems == []


def test_every_problem_type_points_at_its_explanation():
    """A problem's ``type`` ends in #slug: the errors article has that anchor, in both languages."""
    from pathlib import Path

    from portal.api.problems import TITLES
    from portal.kb.content import load_rendered

    kb = Path(__file__).resolve().parents[2] / "kb"
    for name in ("api-errors-and-rate-limits.md", "api-errores-y-limites.md"):
        _article, rendered = load_rendered(kb / "api" / name, kb)
        missing = [slug for slug in TITLES if f'id="{slug}"' not in rendered.html]
        assert missing == [], (name, missing)
