"""The queue: one screen of what is due next, filtered, searched, paged, refreshed live."""

from __future__ import annotations

from pathlib import Path

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import audit
from ..auth.models import Organization, Role, utcnow
from ..errors import DomainError
from ..extensions import db, parse_id
from ..plans import sla
from ..teams import services as team_services
from ..tickets import priorities
from ..tickets.routes import ticket_or_404
from ..web import flash_result, roles_required, wants_fragment
from . import bp, services

REFRESH_LIMIT = 500


def _rows_context(rows, filters, next_cursor, selected=()):
    now = utcnow()
    return dict(rows=[(t, sla.clock(t, now)) for t in rows], filters=filters, next_cursor=next_cursor,
                selected=set(selected), agents=services.agents(), requested=priorities.open_requests(rows),
                lang=str(get_locale() or "en"))


@bp.get("/")
@login_required
@roles_required(Role.AGENT, Role.ADMIN)
def queue():
    filters = services.Filters.from_args(request.args)
    selected = request.args.getlist("ticket")
    errors = {}
    try:
        if request.args.get("upto"):
            # Live refresh: the rows the agent has loaded so far, nothing more, so their place stays put.
            upto = services.parse_cursor(request.args["upto"])
            rows, _next = services.queue(current_user, filters, limit=REFRESH_LIMIT)
            rows = [t for t in rows if upto is None or (t.sla_next_due, t.id) <= upto]
            next_cursor = request.args.get("more") or None
        else:
            rows, next_cursor = services.queue(current_user, filters, services.parse_cursor(request.args.get("after")))
    except DomainError as exc:
        rows, next_cursor, errors = [], None, {exc.field or "form": exc.message}
    context = _rows_context(rows, filters, next_cursor, selected)
    if wants_fragment():
        template = "agent/_rows.html" if request.args.get("after") else "agent/_queue.html"
        return render_template(template, **context, errors=errors)
    organizations = db.session.scalars(db.select(Organization).order_by(Organization.name)).all()
    return render_template("agent/queue.html", **context, errors=errors, organizations=organizations,
                           teams=team_services.all_teams(), my_team_ids=team_services.team_ids_of(current_user)), \
        422 if errors else 200


def _back():
    target = request.form.get("next") or ""
    return redirect(target if target.startswith("/agent/") else url_for("agent.queue"))


@bp.post("/claim/<reference>")
@login_required
@roles_required(Role.AGENT, Role.ADMIN)
def claim(reference):
    ticket = ticket_or_404(reference)
    flash_result(lambda: services.claim(ticket, current_user), _("%(ref)s is yours.", ref=reference))
    if request.form.get("open"):
        return redirect(url_for("tickets.detail", reference=reference))
    return _back()


@bp.post("/bulk")
@login_required
@roles_required(Role.AGENT, Role.ADMIN)
def bulk():
    try:
        changed, refused = services.bulk(current_user, request.form.getlist("ticket"), request.form.get("action", ""),
                                         request.form.get("value", ""))
    except DomainError as exc:
        flash(exc.message, "error")
        return _back()
    if changed:
        flash(_("Updated %(n)d ticket(s): %(refs)s.", n=len(changed), refs=", ".join(changed)), "success")
    for reference, why in refused.items():
        flash(f"{reference}: {why}", "error")
    return _back()


@bp.app_template_filter("queue_cursor")
def queue_cursor(ticket) -> str:
    return services.cursor(ticket)


# --- canned replies and article links for the reply box -----------------------------

@bp.route("/macros", methods=["GET", "POST"])
@bp.route("/macros/<int:macro_id>", methods=["GET", "POST"])
@login_required
@roles_required(Role.AGENT, Role.ADMIN)
def macros(macro_id=None):
    from . import macros as service
    from .models import Macro

    macro = db.session.get(Macro, macro_id) if macro_id else None
    if macro_id and macro is None:
        abort(404)
    typed = {"name": macro.name, "body": macro.body} if macro else {}
    errors = {}
    if request.method == "POST":
        typed = {k: request.form.get(k, "") for k in ("name", "body")}
        try:
            service.save(current_user, typed["name"], typed["body"], macro, audit.from_request())
        except DomainError as exc:
            db.session.rollback()
            errors = {exc.field or "form": exc.message}
        else:
            flash(_("Macro saved."), "success")
            return redirect(url_for("agent.macros"))
    return render_template("agent/macros.html", macros=service.all_macros(), macro=macro, typed=typed, errors=errors,
                           placeholders=service.PLACEHOLDERS), 422 if errors else 200


@bp.post("/macros/<int:macro_id>/delete")
@login_required
@roles_required(Role.AGENT, Role.ADMIN)
def delete_macro(macro_id):
    from . import macros as service
    from .models import Macro

    macro = db.session.get(Macro, macro_id) or abort(404)
    service.delete(macro, audit.from_request())
    flash(_("Macro deleted."), "success")
    return redirect(url_for("agent.macros"))


@bp.post("/tickets/<reference>/compose")
@login_required
@roles_required(Role.AGENT, Role.ADMIN)
def compose(reference):
    """The reply box with a canned reply or an article link added after what was typed. For htmx,
    just the box; without JavaScript, the ticket page again with the text, and the articles
    found for the link search. A POST: the typed reply may be longer than a URL can carry."""
    from flask import current_app

    from ..kb import services as kb_services
    from ..tickets.forms import ReplyForm
    from ..tickets.routes import _render_detail
    from . import macros as service
    from .models import Macro

    ticket = ticket_or_404(reference)
    fragment = wants_fragment()
    text, error = request.form.get("body", ""), None
    addition = ""
    # The chosen canned reply is posted along with every tool (the whole form travels): it is
    # added only when choosing it sent the request (htmx) or its Insert button did (no JavaScript).
    macro_id = parse_id(request.form.get("macro"))
    chose_macro = request.headers.get("HX-Trigger-Name") == "macro" if fragment else request.form.get("tool") == "macro"
    if request.form.get("link"):
        try:
            article, _rendered = kb_services.get_article(Path(current_app.config["KB_DIR"]), request.form["link"], False)
        except kb_services.ArticleNotFound:
            error = _("No such article.")
        else:
            # Site-relative, so it works wherever the portal is served; mails make it absolute.
            addition = f"[{article.title}]({url_for('kb.article', slug=article.slug)})"
    elif macro_id is not None and chose_macro:
        macro = db.session.get(Macro, macro_id)
        if macro is not None:
            try:
                addition = service.render(macro.body, service.values(ticket, current_user))
            except DomainError as exc:
                error = exc.message
    if addition:
        text = f"{text.rstrip()}\n\n{addition}" if text.strip() else addition
    if fragment:
        return render_template("agent/_reply_body.html", text=text, error=error)
    q = (request.form.get("kb_q") or "").strip()
    return _render_detail(ticket, reply_form=ReplyForm(formdata=None, body=text),
                          errors={"body": error} if error else None,
                          compose={"found": _link_suggestions(ticket, q), "q": q})


@bp.get("/tickets/<reference>/kb-links")
@login_required
@roles_required(Role.AGENT, Role.ADMIN)
def kb_links(reference):
    """Articles matching the words typed in the reply box's link search (an htmx fragment)."""
    ticket = ticket_or_404(reference)
    q = (request.args.get("kb_q") or "").strip()
    return render_template("agent/_kb_links.html", found=_link_suggestions(ticket, q), ticket=ticket, q=q)


def _link_suggestions(ticket, q: str) -> list:
    """The articles the reply box's link search offers for these words (two letters at least)."""
    from flask import current_app

    from ..kb import search as kb_search

    return kb_search.suggest(Path(current_app.config["INDEX_DIR"]), q, lang=ticket.lang, limit=6) if len(q) >= 2 \
        else []


# --- analytics: agents, writers and admins ------------------------------------------------

@bp.get("/analytics")
@login_required
@roles_required(Role.AGENT, Role.WRITER, Role.ADMIN)
def analytics():
    from ..onboarding.report import scores_by_month
    from ..onboarding.services import SCORES
    from . import analytics as figures

    days, since = figures.window(request.args.get("days"))
    return render_template(
        "agent/analytics.html", days=days, weeks=figures.deflection_by_week(since), articles=figures.articles(since),
        search=figures.searches(since), sla=figures.sla_compliance(since), backlog=figures.backlog_by_week(since),
        channels=figures.channels_by_week(since), teams=figures.by_team(since), lang=str(get_locale() or "en"),
        onboarding=scores_by_month(since), program_scores=SCORES,
        staff=current_user.role in (Role.AGENT, Role.ADMIN),
    )


@bp.get("/analytics/<section>.csv")
@login_required
@roles_required(Role.AGENT, Role.WRITER, Role.ADMIN)
def analytics_csv(section):
    import csv
    import io

    from flask import Response

    from ..exports import spreadsheet_safe
    from . import analytics as figures

    _days, since = figures.window(request.args.get("days"))
    out = io.StringIO()
    writer = csv.writer(out)
    if section == "deflection":
        writer.writerow(["week", "suggested", "deflected", "filed_after_suggestions", "deflection_rate"])
        writer.writerows([w.week, w.suggested, w.deflected, w.filed, w.rate] for w in figures.deflection_by_week(since))
    elif section == "articles":
        writer.writerow(["slug", "shown", "opened", "rejected", "solved", "deflection_rate", "helpful", "not_helpful",
                         "helpfulness"])
        writer.writerows([a.slug, a.shown, a.opened, a.rejected, a.solved, a.deflection_rate, a.helpful,
                          a.not_helpful, a.helpfulness] for a in figures.articles(since, limit=10_000))
    elif section == "gaps":
        writer.writerow(["query", "times", "last_seen"])
        writer.writerows([spreadsheet_safe(q), n, last.isoformat()]
                         for q, n, last in figures.searches(since, gaps=10_000).gaps)
    elif section == "sla":
        writer.writerow(["plan", "priority", "tickets", "answered", "on_time", "compliance", "median_first_response_min",
                         "with_resolution_target", "resolved", "resolved_on_time", "resolution_compliance",
                         "with_update_promise", "updates_missed", "update_compliance"])
        writer.writerows([r.plan, r.priority, r.tickets, r.answered, r.on_time, r.compliance, r.median_first_response,
                          r.with_resolution_target, r.resolved, r.resolved_on_time, r.resolution_compliance,
                          r.with_update_promise, r.updates_missed, r.update_compliance]
                         for r in figures.sla_compliance(since))
    elif section == "onboarding":
        from ..onboarding.report import scores_by_month
        from ..onboarding.services import SCORES

        writer.writerow(["month", "sessions_rated", "session_rating", "programs_assessed", *SCORES])
        writer.writerows([m.month, m.sessions.count, m.sessions.mean("rating"), m.program.count]
                         + [m.program.mean(name) for name in SCORES] for m in scores_by_month(since))
    elif section == "backlog":
        writer.writerow(["week", "filed", "closed"])
        writer.writerows(figures.backlog_by_week(since))
    elif section == "teams":
        writer.writerow(["team", "name", "filed", "first_responses_due", "first_responses_on_time", "on_time_rate",
                         "backlog"])
        writer.writerows([r.team.key if r.team else "", spreadsheet_safe(r.team.name) if r.team else "No team",
                          r.filed, r.responses_due, r.on_time, r.on_time_rate, r.backlog]
                         for r in figures.by_team(since))
    elif section == "channels":
        writer.writerow(["week", "web", "email", "api", "phone", "chat", "visit"])
        writer.writerows([w.week, w.web, w.email, w.api, w.phone, w.chat, w.visit]
                         for w in figures.channels_by_week(since))
    else:
        abort(404)
    audit.record_request("export.csv", target=("export", None, f"analytics-{section}.csv"),
                         detail={"days": _days})
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="analytics-{section}.csv"',
                             "Cache-Control": "private, no-store"})
