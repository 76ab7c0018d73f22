"""The organization page's mail domains: admins register and remove them, others read them."""

from sqlalchemy import select

from portal.auth import services as accounts
from portal.auth.models import OrganizationDomain, Role
from portal.extensions import db
from tests.conftest import csrf_token
from tests.factories import gen_org, gen_user

EXPLAINED = "Mail to support from an unknown address at these domains gets a customer account in this organization."


def _domains(org) -> list[str]:
    return list(db.session.scalars(select(OrganizationDomain.domain)
                                   .where(OrganizationDomain.organization_id == org.id)
                                   .order_by(OrganizationDomain.domain)))


def _add(client, org, domain, **headers):
    return client.post(f"/org/{org.id}/domains", headers=headers,
                       data={"domain": domain, "csrf_token": csrf_token(client, f"/org/{org.id}")})


def test_admins_register_a_domain(app, client, auth):
    org = gen_org(name="Acme")
    auth.login(gen_user(Role.ADMIN).email)
    page = client.get(f"/org/{org.id}").get_data(as_text=True)
    assert "Mail domains" in page and EXPLAINED in page and "No mail domains are registered." in page
    assert f'action="/org/{org.id}/domains"' in page
    response = _add(client, org, "  @Acme.Example.COM. ")
    assert response.status_code == 302 and response.location.endswith(f"/org/{org.id}#mail-domains")
    assert _domains(org) == ["acme.example.com"]
    page = client.get(f"/org/{org.id}").get_data(as_text=True)
    assert "Mail domain acme.example.com registered." in page and "<code>acme.example.com</code>" in page
    assert f'action="/org/{org.id}/domains/acme.example.com/remove"' in page
    assert 'aria-label="Remove acme.example.com"' in page
    assert accounts.organization_for_domain("acme.example.com").id == org.id


def test_a_domain_of_another_organization_is_refused_with_its_owner(app, client, auth):
    org, other = gen_org(name="Acme"), gen_org(name="Globex")
    accounts.add_domain(other, "globex.example")
    auth.login(gen_user(Role.ADMIN).email)
    response = _add(client, org, "Globex.example")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "globex.example already belongs to Globex." in page
    assert 'class="field-error" id="domain-error"' in page and 'value="Globex.example"' in page
    assert _domains(org) == [] and _domains(other) == ["globex.example"]


def test_an_invalid_domain_keeps_what_was_typed_and_says_why(app, client, auth):
    org = gen_org()
    auth.login(gen_user(Role.ADMIN).email)
    for typed, message in (("not a domain", "is not a valid mail domain"),
                           ("<b>x</b>", "is not a valid mail domain"),
                           ("", "Enter a mail domain, like example.com.")):
        response = _add(client, org, typed)
        page = response.get_data(as_text=True)
        assert response.status_code == 422 and message in page, (typed, page[-2000:])
        assert 'class="field-error" id="domain-error"' in page and 'aria-invalid="true"' in page
        assert "<b>x</b>" not in page  # what was typed is escaped, in the field and in the message
    assert 'value="&lt;b&gt;x&lt;/b&gt;"' in _add(client, org, "<b>x</b>").get_data(as_text=True)
    assert 'value="not a domain"' in _add(client, org, "not a domain").get_data(as_text=True)
    assert _domains(org) == []


def test_a_boosted_refusal_gets_the_page_back(app, client, auth):
    org = gen_org()
    auth.login(gen_user(Role.ADMIN).email)
    response = _add(client, org, "not a domain", **{"HX-Request": "true", "HX-Boosted": "true"})
    assert response.status_code == 422 and "<html" in response.get_data(as_text=True)  # htmx swaps 422s


def test_admins_remove_a_domain(app, client, auth):
    org = gen_org()
    accounts.add_domain(org, "acme.example")
    accounts.add_domain(org, "acme.example.org")
    auth.login(gen_user(Role.ADMIN).email)
    token = csrf_token(client, f"/org/{org.id}")
    response = client.post(f"/org/{org.id}/domains/acme.example/remove", data={"csrf_token": token})
    assert response.status_code == 302 and response.location.endswith(f"/org/{org.id}#mail-domains")
    assert _domains(org) == ["acme.example.org"]
    assert "Mail domain acme.example removed." in client.get(f"/org/{org.id}").get_data(as_text=True)
    # Gone already (another tab), or another organization's: said, nothing else changes.
    other = gen_org(name="Globex")
    accounts.add_domain(other, "globex.example")
    for domain in ("acme.example", "globex.example"):
        response = client.post(f"/org/{org.id}/domains/{domain}/remove", data={"csrf_token": token},
                               follow_redirects=True)
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and f"has no mail domain &#39;{domain}&#39;" in page
    assert _domains(org) == ["acme.example.org"] and _domains(other) == ["globex.example"]


def test_customer_admins_and_agents_read_the_list_plain_customers_see_nothing(app, client, auth):
    org = gen_org()
    accounts.add_domain(org, "acme.example")
    auth.login(gen_user(Role.CUSTOMER_ADMIN, org=org).email)
    page = client.get("/org").get_data(as_text=True)
    assert "<code>acme.example</code>" in page and EXPLAINED in page
    assert "/domains" not in page and "Register a mail domain" not in page
    auth.logout()
    auth.login(gen_user(Role.AGENT).email)
    page = client.get(f"/org/{org.id}").get_data(as_text=True)
    assert "<code>acme.example</code>" in page and EXPLAINED in page and "/domains" not in page
    auth.logout()
    auth.login(gen_user(Role.CUSTOMER, org=org).email)
    page = client.get("/org").get_data(as_text=True)
    assert "Mail domains" not in page and "acme.example" not in page


def test_only_admins_change_the_domains(app, client, auth):
    org, other = gen_org(name="Acme"), gen_org(name="Globex")
    accounts.add_domain(org, "acme.example")
    auth.login(gen_user(Role.CUSTOMER_ADMIN, org=org).email)
    token = csrf_token(client, "/org")
    assert client.get(f"/org/{other.id}").status_code == 404  # another organization's page, as before
    for target in (org, other):  # as on GET: a 404 to customers, their own organization by id too
        assert client.post(f"/org/{target.id}/domains", data={"domain": "evil.example", "csrf_token": token}
                           ).status_code == 404
        assert client.post(f"/org/{target.id}/domains/acme.example/remove", data={"csrf_token": token}
                           ).status_code == 404
    auth.logout()
    auth.login(gen_user(Role.AGENT).email)
    token = csrf_token(client, f"/org/{org.id}")
    assert client.post(f"/org/{org.id}/domains", data={"domain": "evil.example", "csrf_token": token}
                       ).status_code == 403
    assert client.post(f"/org/{org.id}/domains/acme.example/remove", data={"csrf_token": token}).status_code == 403
    auth.logout()
    auth.login(gen_user(Role.ADMIN).email)
    assert client.post(f"/org/{org.id}/domains", data={"domain": "new.example"}).status_code == 400  # no CSRF token
    assert client.post(f"/org/{org.id}/domains/acme.example/remove").status_code == 400
    assert client.post("/org/2147483647/domains", data={
        "domain": "new.example", "csrf_token": csrf_token(client, f"/org/{org.id}")}).status_code == 404
    assert _domains(org) == ["acme.example"] and _domains(other) == []
