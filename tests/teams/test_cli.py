"""``portal team …``: add, list, members, add-member, remove-member, check; errors are messages."""

from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.auth.models import Role
from portal.extensions import db
from portal.teams import services
from portal.teams.models import Team
from tests.factories import gen_org, gen_user


def test_add_list_and_members(runner, app):
    agent = gen_user(Role.AGENT, email="sam@example.com", name="Sam")
    result = runner.invoke(args=["team", "add", "accounting", "Accounting", "--name-es", "Contabilidad"])
    assert result.exit_code == 0 and "Created team accounting (Accounting)." in result.output
    assert runner.invoke(args=["team", "members", "accounting"]).output.startswith("accounting has no members")
    result = runner.invoke(args=["team", "add-member", "accounting", "SAM@example.com"])
    assert result.exit_code == 0 and "sam@example.com is in accounting now." in result.output
    assert runner.invoke(args=["team", "members", "accounting"]).output == "sam@example.com  Sam (agent)\n"
    assert runner.invoke(args=["team", "list"]).output == "accounting: Accounting, 1 member\n"
    result = runner.invoke(args=["team", "remove-member", "accounting", "sam@example.com"])
    assert result.exit_code == 0 and "no longer in accounting" in result.output
    assert services.teams_of(agent) == []
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.action, e.detail.get("via")) for e in entries] == [
        ("user.create", None), ("team.create", "cli"), ("team.member_add", "cli"), ("team.member_remove", "cli")]


def test_errors_are_messages_and_nothing_changes(runner, app):
    gen_user(Role.CUSTOMER, email="ana@example.com")
    runner.invoke(args=["team", "add", "accounting", "Accounting"])
    for args, message in (
            (["team", "add", "accounting", "Again"], "A team with the key accounting already exists."),
            (["team", "add", "Not A Key", "X"], "lowercase letters, digits"),
            (["team", "members", "ghost"], "No team 'ghost'."),
            (["team", "add-member", "ghost", "ana@example.com"], "No team 'ghost'."),
            (["team", "add-member", "accounting", "nobody@example.com"], "No user with the email 'nobody@example.com'."),
            (["team", "add-member", "accounting", "ana@example.com"], "Only agents and admins can be in a team"),
            (["team", "remove-member", "accounting", "ana@example.com"], "is not in Accounting.")):
        result = runner.invoke(args=args)
        assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output, args
    assert db.session.scalar(select(func.count()).select_from(Team)) == 1


def test_check_names_what_the_routing_file_lacks(make_app, routing_file):
    app = make_app(TEAMS_ROUTING_FILE=str(routing_file))
    with app.app_context():
        runner = app.test_cli_runner()
        result = runner.invoke(args=["team", "check"])
        assert result.exit_code == 1
        assert "areas.accounting.team: no team 'accounting' (create it: portal team add accounting NAME)" in result.output
        assert "rules[1].organization: no organization named 'Acme'" in result.output
        assert "default: no team 'support'" in result.output
        for key in ("accounting", "integrations", "inventory", "product", "support"):
            services.create_team(key, key.title())
        services.set_active(services.team_by_key("product"), False)
        gen_org("ACME")
        result = runner.invoke(args=["team", "check"])
        assert result.exit_code == 1 and result.output.count("\n  ") == 1
        assert "rules[2].team: team 'product' is inactive, so it takes no new tickets" in result.output
        services.set_active(services.team_by_key("product"), True)
        result = runner.invoke(args=["team", "check"])
        assert result.exit_code == 0, result.output
        assert "3 product area(s), 3 rule(s), default support: every team it names exists." in result.output
        db.session.remove()


def test_check_reports_unknown_plans(make_app, tmp_path):
    path = tmp_path / "routing.toml"
    path.write_text('[areas.a]\nname = "A"\nteam = "a"\nplans = ["gold"]\n[[rules]]\nplan = "silver"\nteam = "a"\n')
    app = make_app(TEAMS_ROUTING_FILE=str(path))
    with app.app_context():
        services.create_team("a", "A")
        result = app.test_cli_runner().invoke(args=["team", "check"])
        assert result.exit_code == 1
        assert "areas.a.plans: no plan 'gold' in the plans file" in result.output
        assert "rules[1].plan: no plan 'silver' in the plans file" in result.output
        db.session.remove()
