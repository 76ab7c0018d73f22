import re

from sqlalchemy import func, select

from portal.auth.models import Role
from portal.extensions import db
from portal.kb.models import ArticleView, ArticleVote, SearchClick, SearchEvent
from tests.conftest import csrf_token
from tests.factories import gen_user

DRAFT = "upcoming-ticket-templates"


def _draft_slug():
    from tests.conftest import KB_DIR
    from portal.kb.content import article_paths, load_article

    return next(a.slug for a in map(load_article, article_paths(KB_DIR)) if a.draft)


def test_home_lists_articles_by_type_and_category(client):
    page = client.get("/kb/").get_data(as_text=True)
    for heading in ("Guides", "FAQ", "Tutorials", "API docs"):
        assert heading in page
    assert 'href="/kb/priorities-explained"' in page
    assert 'href="/kb/search?type=faq&amp;category=tickets"' in page


def test_root_goes_to_the_help_center(client):
    assert client.get("/").headers["Location"] == "/kb/"


def test_article_page_has_toc_breadcrumbs_related_and_vote(client):
    response = client.get("/kb/how-to-write-a-good-ticket")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'class="breadcrumbs"' in page and 'href="/kb/search?type=guide"' in page
    assert "On this page" in page and re.search(r'<a href="#[a-z0-9-]+">', page)
    assert "Related articles" in page
    assert "Was this article helpful?" in page and 'hx-post="/kb/how-to-write-a-good-ticket/vote"' in page


def test_unknown_article_is_a_404_page(client):
    response = client.get("/kb/no-such-article")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_drafts_are_hidden_from_customers_and_visitors(client, auth):
    slug = _draft_slug()
    assert client.get(f"/kb/{slug}").status_code == 404
    assert f'href="/kb/{slug}"' not in client.get("/kb/").get_data(as_text=True)
    gen_user(Role.CUSTOMER, email="c@example.com")
    auth.login("c@example.com")
    assert client.get(f"/kb/{slug}").status_code == 404


def test_writers_see_drafts_with_a_banner(client, auth):
    slug = _draft_slug()
    gen_user(Role.WRITER, email="w@example.com")
    auth.login("w@example.com")
    page = client.get(f"/kb/{slug}").get_data(as_text=True)
    assert "banner-draft" in page and "Only writers and admins can see this article" in page
    assert f'href="/kb/{slug}"' in client.get("/kb/").get_data(as_text=True)


def test_search_page_and_fragment_are_one_url(client):
    full = client.get("/kb/search?q=priority")
    assert full.status_code == 200 and "<html" in full.get_data(as_text=True)
    assert "HX-Request" in full.headers["Vary"]
    fragment = client.get("/kb/search?q=priority", headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and "priorities-explained" in body
    assert "HX-Request" in fragment.headers["Vary"]
    # A boosted or history-restore request gets the whole page.
    restore = client.get("/kb/search?q=priority", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restore.get_data(as_text=True)


def test_search_filters_by_type(client):
    page = client.get("/kb/search?q=ticket&type=faq", headers={"HX-Request": "true"}).get_data(as_text=True)
    types = re.findall(r'class="type-badge type-(\w+)"', page)
    assert types and set(types) == {"faq"}


def test_search_with_no_results_explains_and_is_recorded(client, app):
    page = client.get("/kb/search?q=xylophone+quantum").get_data(as_text=True)
    assert "No articles match" in page
    row = db.session.scalar(select(SearchEvent))
    assert (row.query, row.result_count) == ("xylophone quantum", 0)


def test_did_you_mean_links_to_the_corrected_search(client):
    page = client.get("/kb/search?q=pasword").get_data(as_text=True)
    assert "Did you mean" in page and 'href="/kb/search?q=password"' in page


def test_keystrokes_of_one_search_are_recorded_once(client, app):
    for partial in ("quo", "quota", "quota lim", "quota limit"):
        client.get(f"/kb/search?q={partial}", headers={"HX-Request": "true"})
    client.get("/kb/search?q=password", headers={"HX-Request": "true"})
    rows = db.session.scalars(select(SearchEvent).order_by(SearchEvent.id)).all()
    assert [r.query for r in rows] == ["quota limit", "password"]


def test_result_click_and_view_are_recorded(client, app):
    page = client.get("/kb/search?q=priorities").get_data(as_text=True)
    link = re.search(r'href="(/kb/priorities-explained\?[^"]+)"', page).group(1).replace("&amp;", "&")
    assert "search=" in link and "rank=1" in link
    assert client.get(link).status_code == 200
    click = db.session.scalar(select(SearchClick))
    assert (click.slug, click.rank) == ("priorities-explained", 1)
    assert db.session.scalar(select(func.count()).select_from(ArticleView)) == 1


def test_forged_click_ids_are_ignored(client, app):
    assert client.get("/kb/priorities-explained?search=999999&rank=x").status_code == 200
    assert db.session.scalar(select(func.count()).select_from(SearchClick)) == 0


def test_vote_with_htmx_returns_the_fragment_and_can_change(client, app):
    token = csrf_token(client, "/kb/priorities-explained")
    response = client.post("/kb/priorities-explained/vote", data={"helpful": "yes", "csrf_token": token},
                           headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body and "Thank you" in body
    assert 'aria-pressed="true"' in body
    client.post("/kb/priorities-explained/vote", data={"helpful": "no", "csrf_token": token},
                headers={"HX-Request": "true"})
    votes = db.session.scalars(select(ArticleVote)).all()
    assert [(v.slug, v.helpful) for v in votes] == [("priorities-explained", False)]


def test_vote_without_javascript_redirects_back(client):
    token = csrf_token(client, "/kb/priorities-explained")
    response = client.post("/kb/priorities-explained/vote", data={"helpful": "yes", "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/kb/priorities-explained#helpful")


def test_vote_needs_csrf_and_a_valid_choice(client, app):
    assert client.post("/kb/priorities-explained/vote", data={"helpful": "yes"}).status_code == 400
    token = csrf_token(client, "/kb/priorities-explained")
    assert client.post("/kb/priorities-explained/vote", data={"helpful": "maybe", "csrf_token": token}).status_code == 400
    assert client.post("/kb/nope/vote", data={"helpful": "yes", "csrf_token": token}).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(ArticleVote)) == 0


def test_content_gaps_for_writers_only(client, auth):
    client.get("/kb/search?q=xqzv+wwkk")
    assert client.get("/kb/gaps").status_code == 302  # sign in first
    gen_user(Role.CUSTOMER, email="c@example.com")
    auth.login("c@example.com")
    assert client.get("/kb/gaps").status_code == 403
    auth.logout()
    gen_user(Role.WRITER, email="w@example.com")
    auth.login("w@example.com")
    page = client.get("/kb/gaps").get_data(as_text=True)
    assert "xqzv wwkk" in page


def test_pages_send_a_strict_content_security_policy(client):
    response = client.get("/kb/priorities-explained")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe-inline" not in csp
    page = response.get_data(as_text=True)
    assert "<script>" not in page and " style=" not in page and "<style" not in page


def test_healthz_reports_database_and_index(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    data = response.get_json()
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from tests.conftest import REPO

    config = Config()
    config.set_main_option("script_location", str(REPO / "portal" / "migrations"))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert data["status"] == "ok" and data["database"]["revision"] == head
    assert data["index"]["status"] == "ok" and data["index"]["documents"] >= 32


def test_broken_index_degrades_pages_instead_of_failing(make_app, tmp_path):
    app = make_app(INDEX_DIR=str(tmp_path / "empty-index"))
    client = app.test_client()
    search = client.get("/kb/search?q=ticket")
    assert search.status_code == 200 and "Search is being rebuilt" in search.get_data(as_text=True)
    home = client.get("/kb/")
    assert home.status_code == 200 and 'href="/kb/priorities-explained"' in home.get_data(as_text=True)
    health = client.get("/healthz")
    assert health.status_code == 503 and health.get_json()["index"]["status"] == "missing"


def test_kb_assets_are_served_with_a_sandbox(make_app, tmp_path):
    kb = tmp_path / "kb"
    (kb / "guides" / "images").mkdir(parents=True)
    (kb / "guides" / "images" / "diagram.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (kb / "guides" / "page.md").write_text("---\ntitle: x\nsummary: y\ncategory: tickets\nlang: en\n---\nhi")
    client = make_app(KB_DIR=str(kb)).test_client()
    response = client.get("/kb/assets/guides/images/diagram.svg")
    assert response.status_code == 200 and "sandbox" in response.headers["Content-Security-Policy"]
    response.close()
    assert client.get("/kb/assets/guides/page.md").status_code == 404
    assert client.get("/kb/assets/../secret").status_code == 404
