"""Who gets an email when a ticket changes, in the recipient's language."""

from __future__ import annotations

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from sqlalchemy import select

from .. import mail
from ..auth.models import Role, User
from ..extensions import db
from ..i18n import force_timezone
from ..teams import services as teams
from .models import Message, Ticket


def _link(ticket: Ticket) -> str:
    return f"{current_app.config['BASE_URL'].rstrip('/')}/tickets/{ticket.reference}"


def _reply_hint(user: User) -> str:
    """Answering from the mail client works: say so, and how an agent adds an internal note instead."""
    if user.role.is_customer:
        return _("Reply to this email to answer: your message joins the ticket.")
    return _("Reply to this email to answer the customer; to add an internal note instead, send your reply to "
             "%(note)s.", note=mail.note_address())


def agents_for(ticket: Ticket) -> list[User]:
    """Who of the staff hears about a ticket: its assignee; while nobody has it, its team's active
    members; every active agent when it has no team, or a team with nobody in it."""
    if ticket.assignee is not None and ticket.assignee.active:
        return [ticket.assignee]
    members = teams.active_members(ticket.team) if ticket.team is not None else []
    if members:
        return members
    return list(db.session.scalars(
        select(User).where(User.role.in_([Role.AGENT, Role.ADMIN]), User.active.is_(True)).order_by(User.id)))


def _send(user: User | None, ticket: Ticket, subject, headline, body: str | None = None, note: str | None = None,
          automatic: bool = True, in_reply_to: str | None = None):
    """Queue the mail (the caller's commit sends it). ``automatic``: no person wrote it (not an answer)."""
    if user is None or not user.active:
        return
    # In the recipient's language, and times in their zone: a customer's organization's, staff's UTC.
    zone = user.organization.timezone if user.organization is not None else "UTC"
    with force_locale(user.locale or ticket.lang or "en"), force_timezone(zone):
        context = dict(ticket=ticket, user=user, headline=headline(), body=mail.absolute_links(body), note=note() if note else None,
                       link=_link(ticket), reply_hint=_reply_hint(user))
        mail.queue(user.email, f"[{ticket.reference}] {subject()}",
                   render_template("mail/ticket.txt", **context), render_template("mail/ticket.html", **context),
                   thread=ticket.reference, automatic=automatic, in_reply_to=in_reply_to)


def filed(ticket: Ticket, remarks: list = (), in_reply_to: str | None = None) -> None:
    """The acknowledgement; ``remarks`` (lazy strings) are added, e.g. the attachments refused;
    ``in_reply_to``: the customer's mail it answers, so their mail program threads it."""
    def note():
        lines = [_("Priority %(p)s. We answer within your plan's response time.", p=ticket.priority.value)]
        if ticket.follow_up_of is not None:
            lines.append(_("%(old)s was closed, so your answer opened this new ticket; it links the old one.",
                           old=ticket.follow_up_of.reference))
        return "\n\n".join(lines + [str(r) for r in remarks])

    _send(ticket.requester, ticket, lambda: _("We received your ticket: %(s)s", s=ticket.subject),
          lambda: _("Thank you. Your reference is %(ref)s; quote it whenever you contact us.", ref=ticket.reference),
          note=note, in_reply_to=in_reply_to)


def replied(ticket: Ticket, message: Message) -> None:
    if message.internal:
        return
    if message.author_id == ticket.requester_id or message.author.role.is_customer:
        if ticket.assignee_id and ticket.assignee_id != message.author_id:
            _send(ticket.assignee, ticket, lambda: _("The customer answered: %(s)s", s=ticket.subject),
                  lambda: _("%(name)s wrote:", name=message.author.name), body=message.body, automatic=False)
    else:
        _send(ticket.requester, ticket, lambda: _("New answer on your ticket: %(s)s", s=ticket.subject),
              lambda: _("%(name)s from support wrote:", name=message.author.name), body=message.body,
              automatic=False)


def status_changed(ticket: Ticket, actor: User | None, new_status: str) -> None:
    from flask_babel import lazy_gettext as _l

    labels = {"open": _l("open"), "waiting_on_customer": _l("waiting for your answer"),
              "solved": _l("solved: please confirm or reopen it"), "closed": _l("closed")}
    if actor is None or actor.id != ticket.requester_id:
        _send(ticket.requester, ticket, lambda: _("Your ticket is %(state)s", state=labels.get(new_status, new_status)),
              lambda: _("The status of your ticket changed: %(state)s.", state=labels.get(new_status, new_status)))
    if actor is not None and actor.role.is_customer and ticket.assignee_id and ticket.assignee_id != actor.id:
        _send(ticket.assignee, ticket, lambda: _("The customer changed the ticket: %(state)s", state=new_status),
              lambda: _("%(name)s changed the status to %(state)s.", name=actor.name, state=new_status))


def autoclose_reminder(ticket: Ticket, closes_on) -> None:
    from flask_babel import format_date

    if ticket.status.value == "solved":
        _send(ticket.requester, ticket, lambda: _("Your ticket will close soon: %(s)s", s=ticket.subject),
              lambda: _("We solved this ticket and asked you to confirm. Without an answer, it closes on %(date)s.",
                        date=format_date(closes_on, "long")),
              note=lambda: _("Confirm the solution, or reopen the ticket if the problem is still there."))
        return
    _send(ticket.requester, ticket, lambda: _("Your ticket will close soon: %(s)s", s=ticket.subject),
          lambda: _("We are still waiting for your answer. Without one, the ticket closes on %(date)s.",
                    date=format_date(closes_on, "long")),
          note=lambda: _("Reply to keep it open."))


def sla_alert(ticket: Ticket, agent: User, clock, state: str) -> None:
    """To the assigned agent, or every agent: a clock is at risk or breached."""
    from flask_babel import format_datetime

    from ..plans.calendar import format_duration

    from flask_babel import lazy_gettext as _l

    which = {"first_response": _l("first response"), "resolution": _l("resolution"), "update": _l("update")}
    if state == "breached":
        subject = lambda: _("SLA breached (%(clock)s): %(s)s", clock=which[clock.kind], s=ticket.subject)  # noqa: E731
        headline = lambda: _("The %(clock)s target of this %(p)s ticket was due %(due)s.",  # noqa: E731
                             clock=which[clock.kind], p=ticket.priority.value,
                             due=format_datetime(clock.due, "short") + " UTC")
    else:
        subject = lambda: _("SLA at risk (%(clock)s): %(s)s", clock=which[clock.kind], s=ticket.subject)  # noqa: E731
        headline = lambda: _("%(left)s left for the %(clock)s of this %(p)s ticket "  # noqa: E731
                             "(due %(due)s).", left=format_duration(clock.left), clock=which[clock.kind],
                             p=ticket.priority.value, due=format_datetime(clock.due, "short") + " UTC")
    _send(agent, ticket, subject, headline,
          note=lambda: _("Organization: %(org)s. Assigned to: %(who)s.", org=ticket.organization.name,
                         who=ticket.assignee.name if ticket.assignee else _("nobody")))


def priority_requested(ticket: Ticket, request) -> None:
    """To the agents: the customer asks for another priority, with a reason."""
    old, new = request.current_priority.value, request.requested_priority.value
    for agent in agents_for(ticket):
        _send(agent, ticket, lambda: _("Priority request (%(old)s to %(new)s): %(s)s", old=old, new=new,
                                       s=ticket.subject),
              lambda: _("%(name)s asks for %(new)s instead of %(old)s. Their reason:", name=request.requested_by.name,
                        new=new, old=old),
              body=request.reason, note=lambda: _("Accept or decline it on the ticket page."))


def priority_decided(ticket: Ticket, request) -> None:
    """To the customer who asked: the agent accepted or declined the request."""
    new = request.requested_priority.value
    if request.decision == "accepted":
        _send(request.requested_by, ticket, lambda: _("Your ticket is now %(p)s: %(s)s", p=new, s=ticket.subject),
              lambda: _("We accepted your request: the ticket's priority is now %(p)s, and its response times "
                        "follow it.", p=new))
        return
    _send(request.requested_by, ticket, lambda: _("Your ticket stays %(p)s: %(s)s", p=ticket.priority.value,
                                                  s=ticket.subject),
          lambda: _("We declined your request for %(new)s: the ticket keeps priority %(p)s.", new=new,
                    p=ticket.priority.value),
          body=request.decline_reason)
