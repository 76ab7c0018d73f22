"""Knowledge base through the API: search and articles, public without a token."""

from sqlalchemy import select

from portal.auth.models import Role
from portal.extensions import db
from portal.kb.models import ArticleView, SearchEvent
from tests.api.conftest import assert_problem
from tests.factories import gen_user

DRAFT = "merging-duplicate-tickets"  # draft: true in kb/guides


def test_search_needs_no_token_and_says_what_the_page_says(app, api):
    response = api().get("/api/v1/kb/search?q=quota&lang=en&limit=3")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["query"] == "quota" and body["total"] >= 1 and len(body["results"]) <= 3
    hit = body["results"][0]
    assert {"slug", "title", "summary", "type", "lang", "score", "url", "snippet"} <= set(hit)
    assert hit["url"].endswith(f"/kb/{hit['slug']}") and "<mark>" in "".join(r["snippet"] for r in body["results"])
    assert response.headers["X-RateLimit-Limit"]
    event = db.session.scalar(select(SearchEvent).order_by(SearchEvent.id.desc()))
    assert (event.query, event.result_count) == ("quota", body["total"])


def test_filters_paging_and_did_you_mean(app, api):
    client = api()
    faq = client.get("/api/v1/kb/search?q=ticket&type=faq&limit=2").get_json()
    assert faq["results"] and {r["type"] for r in faq["results"]} == {"faq"}
    if faq["next"]:
        second = client.get(faq["next"].replace("http://localhost", "")).get_json()
        assert second["page"] == 2 and not {r["slug"] for r in second["results"]} & {r["slug"] for r in faq["results"]}
    typo = client.get("/api/v1/kb/search?q=pasword").get_json()
    assert typo["did_you_mean"] == "password"
    spanish = client.get("/api/v1/kb/search?q=ticket&lang=es").get_json()
    assert spanish["results"][0]["lang"] == "es"


def test_bad_search_parameters_are_named(app, api):
    client = api()
    for query, field in (("", "q"), ("?q=x&type=video", "type"), ("?q=x&limit=0", "limit"), ("?q=x&lang=fr", "lang")):
        body = assert_problem(client.get(f"/api/v1/kb/search{query}"), 422, "validation-error")
        assert field in {e["field"] for e in body["errors"]}


def test_drafts_only_for_writers(app, api):
    assert DRAFT not in {r["slug"] for r in api().get("/api/v1/kb/search?q=merging duplicate tickets")
                         .get_json()["results"]}
    assert_problem(api().get(f"/api/v1/kb/articles/{DRAFT}"), 404, "not-found")
    assert_problem(api(gen_user(Role.CUSTOMER)).get(f"/api/v1/kb/articles/{DRAFT}"), 404)
    writer = api(gen_user(Role.WRITER))
    assert writer.get(f"/api/v1/kb/articles/{DRAFT}").status_code == 200
    assert DRAFT in {r["slug"] for r in writer.get("/api/v1/kb/search?q=merging duplicate tickets")
                     .get_json()["results"]}


def test_an_article_with_its_html(app, api):
    response = api().get("/api/v1/kb/articles/api-overview")
    assert response.status_code == 200
    body = response.get_json()
    assert body["title"] == "JSON API v1 overview" and body["type"] == "api" and body["lang"] == "en"
    assert "<h2" in body["html"] and "<script" not in body["html"]
    assert db.session.scalar(select(ArticleView.slug).order_by(ArticleView.id.desc())) == "api-overview"
    assert_problem(api().get("/api/v1/kb/articles/no-such-article"), 404)
    assert_problem(api().get("/api/v1/kb/articles/..%2Fsecret"), 404)
