"""/agent/teams: admins create, rename and deactivate teams and choose their members; agents see them."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import audit
from ..auth.models import Role, User
from ..errors import DomainError
from ..extensions import db, parse_id
from ..web import flash_result, roles_required
from . import bp, services
from .forms import MemberForm, TeamForm
from .models import Team


def _page(errors=None, typed=None, status=200):
    """The page; ``errors`` and ``typed`` are keyed by form ("new", or a team's id), so a refused
    change is shown at its own form with what was typed."""
    staff = db.session.scalars(select(User).where(User.role.in_(services.MEMBER_ROLES), User.active.is_(True))
                               .order_by(User.name)).all()
    return render_template("teams/index.html", teams=services.all_teams(), staff=staff, errors=errors or {},
                           typed=typed or {}, can_manage=current_user.role is Role.ADMIN,
                           my_team_ids=set(services.team_ids_of(current_user))), status


def _team_or_404(team_id: int) -> Team:
    return db.session.get(Team, team_id) or abort(404)


def _change(form_key, typed: dict, action, success):
    """An admin's change (the global CSRF check has run): refused, the page again with the message at
    that form and what was typed; made, back to the team with ``success(team)``."""
    try:
        team = action()
    except DomainError as exc:
        db.session.rollback()
        return _page({form_key: {exc.field or "name": exc.message}}, {form_key: typed}, 422)
    flash(success(team), "success")
    return redirect(url_for("teams.index", _anchor=f"team-{team.id}"))


@bp.get("/")
@login_required
@roles_required(Role.AGENT, Role.ADMIN)
def index():
    return _page()


@bp.post("/")
@login_required
@roles_required(Role.ADMIN)
def create():
    form = TeamForm()
    return _change("new", form.data, lambda: services.create_team(
        form.key.data, form.name.data, form.name_es.data, form.description.data, origin=audit.from_request()),
        lambda team: _("Team %(name)s created: add its members below.", name=team.name))


@bp.post("/<int:team_id>")
@login_required
@roles_required(Role.ADMIN)
def edit(team_id):
    team, form = _team_or_404(team_id), TeamForm()

    def save():
        services.edit_team(team, form.name.data, form.name_es.data, form.description.data,
                           origin=audit.from_request())
        return team

    return _change(team.id, form.data, save, lambda team: _("Team %(name)s saved.", name=team.name))


@bp.post("/<int:team_id>/active")
@login_required
@roles_required(Role.ADMIN)
def set_active(team_id):
    team = _team_or_404(team_id)
    active = request.form.get("active") == "y"
    services.set_active(team, active, origin=audit.from_request())
    flash(_("%(name)s takes new tickets again.", name=team.name) if active else
          _("%(name)s is inactive: it keeps its tickets, and routing sends it no new ones.", name=team.name),
          "success")
    return redirect(url_for("teams.index", _anchor=f"team-{team.id}"))


@bp.post("/<int:team_id>/members")
@login_required
@roles_required(Role.ADMIN)
def add_member(team_id):
    team, form = _team_or_404(team_id), MemberForm()
    user_id = form.user.data or ""
    user = db.session.get(User, number) if (number := parse_id(user_id)) else None

    def add():
        services.add_member(team, user, origin=audit.from_request())
        return team

    return _change(team.id, {"user": user_id}, add,
                   lambda team: _("%(name)s is in %(team)s now.", name=user.name, team=team.name))


@bp.post("/<int:team_id>/members/<int:user_id>/remove")
@login_required
@roles_required(Role.ADMIN)
def remove_member(team_id, user_id):
    team = _team_or_404(team_id)
    user = db.session.get(User, user_id) or abort(404)
    flash_result(lambda: services.remove_member(team, user, origin=audit.from_request()),
                 _("%(name)s is no longer in %(team)s.", name=user.name, team=team.name))
    return redirect(url_for("teams.index", _anchor=f"team-{team.id}"))
