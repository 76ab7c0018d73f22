"""Admins: the audit log (``/agent/audit``), filtered by a GET form, paged, and as CSV. The recorder
and the queries are in portal.audit, at the bottom of the packages; the page is up here, beside
the other staff pages, because it names organizations."""

from __future__ import annotations

from flask import Response, request
from flask_login import login_required
from sqlalchemy import select

from .. import audit
from ..audit import services as log
from ..auth.models import Organization, Role, utcnow
from ..extensions import db, parse_id
from ..web import render_page_or_fragment, roles_required
from . import bp


@bp.get("/audit")
@login_required
@roles_required(Role.ADMIN)
def audit_log():
    filters = log.Filters.parse(request.args)
    entries = None if filters.errors else log.page(filters, parse_id(request.args.get("page")) or 1)
    organizations = db.session.scalars(select(Organization).order_by(Organization.name)).all()
    names = {o.id: o.name for o in organizations}
    response = render_page_or_fragment("agent/audit.html", "agent/_audit_rows.html", filters=filters, entries=entries,
                                       organizations=organizations, organization_names=names, actions=log.ACTIONS)
    if filters.errors:
        response.status_code = 422
    return response


@bp.get("/audit.csv")
@login_required
@roles_required(Role.ADMIN)
def audit_csv():
    filters = log.Filters.parse(request.args)
    if filters.errors:
        return audit_log()  # the page, with the messages next to the filters
    body = log.entries_csv(filters)  # read before this export's own entry is added
    name = f"audit-log-{utcnow():%Y-%m-%d}.csv"
    audit.record_request("export.csv", target=("export", None, name), detail={"filters": filters.args()})
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "private, no-store"})
