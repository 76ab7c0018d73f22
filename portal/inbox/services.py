"""A received email becomes a ticket, a reply or an agent's note, by the same rules as the web;
or it waits in "Unmatched email" for an agent. Nothing is dropped silently: every message gets a
row in ``mail_inbound`` with what became of it and why, and its original for agents to download.

One message is one transaction: its row, the ticket or reply, and the mails that announce them
are saved together. A message the database refuses to take now (a crash, a restart) is left for
the next run (``Result.retry``), and the same Message-ID taken twice (two servers fetching the
same mailbox, a retry after a crash) is recognised by the row's unique key."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.parser import BytesHeaderParser
from email import policy
from email.utils import parseaddr, parsedate_to_datetime

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from .. import audit, mail
from ..auth import services as accounts
from ..auth.models import Role, User, utcnow
from ..errors import DomainError, lazy_gettext as _l, text
from ..extensions import db
from ..mail.compose import one_line
from ..mail.models import OutboxMessage
from ..mail.parse import MessageTooLarge, ParsedMail, parse
from ..plans import services as plan_services
from ..tickets import services as tickets
from ..tickets.attachments import Upload, inspect, limits
from ..tickets.models import Channel, Status, Ticket
from . import notify
from .models import (ASSIGNED, BOUNCE, DISCARDED, DRAFT, FAILING, FOLLOW_UP, IGNORED, NOTE, RATE_LIMITED, REFUSED,
                     REPLY, TICKET, UNMATCHED, InboundMessage)

log = logging.getLogger(__name__)

REFERENCE_IN_SUBJECT = re.compile(r"\[(\d{4}-\d{5,})\]")
# "Re:", "RE:", "Fwd:", "RV:" (Spanish Outlook), "AW:"/"WG:" (German), "TR:" (French), repeated.
REPLY_PREFIXES = re.compile(r"^\s*(?:(?:re|fw|fwd|rv|aw|wg|tr|sv|vs)\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)
PRIORITY_LINE = re.compile(r"^[ \t]*(?:priority|prioridad)[ \t]*:[ \t]*(P[1-4])\b", re.IGNORECASE | re.MULTILINE)
SHORTENED = _l("(Shortened: the whole message is in the original email.)")


@dataclass
class Result:
    outcome: str  # a constant of models, "duplicate", or "error"
    inbound_id: int | None = None
    reference: str | None = None  # the ticket it went to
    retry: bool = False  # not taken: leave it in the mailbox (or exit 75) and try again later


def receive(raw: bytes, source: str = "pipe", now: datetime | None = None) -> Result:
    """Take one message. Never raises: what cannot be done now comes back with ``retry``."""
    now = now or utcnow()
    try:
        return _receive(raw, source, now)
    except Exception as exc:  # the database went away, or a bug: the message stays where it is
        log.exception("could not take a message from %s; it is left for the next run", source)
        db.session.rollback()
        _count_failure(raw, source, now, exc)
        return Result("error", retry=True)


def _parsed(raw: bytes) -> tuple[ParsedMail | None, str]:
    """The message parsed (None when too large to), and its key: its Message-ID, or a digest."""
    digest = f"<sha256-{hashlib.sha256(raw).hexdigest()}@portal.invalid>"
    try:
        parsed = parse(raw, max_bytes=current_app.config["MAIL_MAX_MESSAGE_MB"] * 2**20)
    except MessageTooLarge:
        headers = BytesHeaderParser(policy=policy.default).parsebytes(raw[:65536])
        return None, (" ".join(str(headers.get("Message-ID", "")).split()) or digest)[:255]
    return parsed, (parsed.message_id or digest)[:255]


def _count_failure(raw: bytes, source: str, now: datetime, exc: Exception) -> None:
    """Remember that taking this message failed (when the database still answers), so that it
    stops coming back after MAIL_MAX_FAILURES and waits for an agent instead."""
    try:
        parsed, key = _parsed(raw)
        row = db.session.scalar(select(InboundMessage).where(InboundMessage.message_id == key))
        if row is None:
            row = InboundMessage(message_id=key, source=source[:80], received_at=now, size=len(raw), raw=raw,
                                 failures=0,
                                 from_address=parsed.from_address if parsed else None,
                                 from_name=parsed.from_name if parsed else "",
                                 subject=(parsed.subject if parsed else "")[:400], outcome=FAILING)
            db.session.add(row)
        if row.outcome == FAILING:
            row.failures += 1
            row.processed_at = now
            row.reason = f"{type(exc).__name__}: {exc}"[:2000]
        db.session.commit()
    except Exception:  # the database itself is away: nothing to remember it in
        db.session.rollback()


def _receive(raw: bytes, source: str, now: datetime) -> Result:
    parsed, key = _parsed(raw)
    if parsed is None:
        return _too_large(raw, source, now, key)
    row = InboundMessage(message_id=key, source=source[:80], received_at=arrival(raw, now), processed_at=now,
                         from_address=parsed.from_address, from_name=parsed.from_name[:200],
                         subject=parsed.subject[:400], size=len(raw), raw=raw, outcome="pending")
    duplicate = _claim(row)
    if duplicate is not None:
        return duplicate
    outcome = _route(row, parsed, now)
    db.session.commit()
    log.info("mail %s from %s: %s%s", row.message_id, row.from_address, outcome,
             f" ({row.reason})" if row.reason else "")
    return Result(outcome, row.id, row.ticket.reference if row.ticket else None)


def _claim(row: InboundMessage) -> Result | None:
    """Insert the message's row; if the Message-ID is known, it was taken before: say so."""
    known = db.session.scalar(select(InboundMessage).where(InboundMessage.message_id == row.message_id))
    if known is not None and known.outcome == FAILING:
        if known.failures >= current_app.config["MAIL_MAX_FAILURES"]:
            known.outcome = UNMATCHED
            known.reason = f"could not be taken after {known.failures} tries: {known.reason}"[:2000]
            db.session.commit()
            log.error("mail %s failed %d times; it waits in Unmatched email", known.message_id, known.failures)
            return Result(UNMATCHED, known.id)
        row.failures = known.failures  # this try replaces the record of the failed ones
        db.session.delete(known)
        db.session.flush()
        known = None
    if known is None:
        db.session.add(row)
        try:
            db.session.flush()
            return None
        except IntegrityError:  # another server took the same message at this very moment
            db.session.rollback()
            known = db.session.scalar(select(InboundMessage).where(InboundMessage.message_id == row.message_id))
    result = Result("duplicate", known.id if known else None,
                    known.ticket.reference if known is not None and known.ticket else None)
    db.session.rollback()
    return result


def arrival(raw: bytes, now: datetime) -> datetime:
    """When the message reached our mail server: the date of its newest Received: header (the SLA clock
    starts there, not when a cron job got round to it), unless that is in the future or days old."""
    try:
        received = BytesHeaderParser(policy=policy.compat32).parsebytes(raw[:65536]).get("Received")
        when = parsedate_to_datetime(str(received).rsplit(";", 1)[-1].strip()) if received else None
    except (TypeError, ValueError, IndexError):
        when = None
    if when is None:
        return now
    when = when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when
    return when if now - timedelta(days=2) <= when <= now else now


# --- what becomes of a message -------------------------------------------------------------

def _untagged(address: str) -> str:
    """support+note@example.com -> support@example.com"""
    local, _, domain = address.lower().rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


def _is_own(address: str) -> bool:
    """Mail from the portal's own addresses (any +tag of them) is our own coming back: a loop."""
    own = {_untagged(a) for a in (mail.sender_address(), mail.reply_address(), mail.note_address())}
    return _untagged(address) in own


def _route(row: InboundMessage, parsed: ParsedMail, now: datetime) -> str:
    sender = parsed.from_address
    if sender and _is_own(sender):
        return _set(row, IGNORED, "sent by the portal's own address (a loop)")
    if parsed.bounce is not None or parsed.auto_reason == "bounce":
        return _bounce(row, parsed, now)
    user = accounts.user_by_email(sender) if sender else None
    if parsed.auto_reason:
        if user is not None:
            # Maybe an out-of-office, maybe a forged header on a real customer's mail: no ticket and no
            # answer (that is how loops start), but an agent sees it and can make it a ticket.
            return _set(row, UNMATCHED, f"marked as automatic mail ({parsed.auto_reason})", user=user)
        return _set(row, IGNORED, f"automatic mail ({parsed.auto_reason})")
    if not sender:
        return _set(row, UNMATCHED, "no sender address")
    if _over_rate_limit(sender, row, now):
        return _set(row, RATE_LIMITED, f"more than {current_app.config['MAIL_SENDER_LIMIT_PER_HOUR']} messages "
                                       "from this address in an hour")
    if user is None:
        user, why_not = _account_for_domain(row, sender, parsed.from_name, now)
        if user is None:
            _set(row, UNMATCHED, why_not)
            notify.unmatched(row, now)
            return UNMATCHED
    elif user.email_bouncing_at is not None:
        user.email_bouncing_at = user.email_bounce_reason = None  # they write: the address works again
    if not user.active:
        return _set(row, UNMATCHED, "the account with this address is deactivated", user=user)
    return take_as(row, parsed, user, now)


def take_as(row: InboundMessage, parsed: ParsedMail, user: User, now: datetime) -> str:
    """The message is ``user``'s: a reply or note on the ticket it answers, else a new ticket."""
    row.user_id = user.id
    ticket, other = _thread(parsed, user)
    if ticket is None and other:
        return _set(row, UNMATCHED, f"an answer to a mail about {other.split(':')[0]}, not about a ticket", user=user)
    if user.role in (Role.AGENT, Role.ADMIN):
        if ticket is None:
            return _set(row, UNMATCHED, "an agent's mail that answers no ticket (no reference in the subject)",
                        user=user)
        if not _proven(row, parsed, user):
            return _set(row, UNMATCHED, "an agent's address, but neither an answer to a mail we sent them nor "
                                        "authenticated by our mail server (a forged sender?)", user=user)
        internal = mail.note_address().lower() in parsed.recipients
        return _reply(row, parsed, ticket, user, now, internal=internal)
    if not user.role.is_customer:
        return _set(row, UNMATCHED, f"a {user.role.value}'s mail: only customers file tickets and agents answer",
                    user=user)
    if ticket is not None and ticket.status is Status.CLOSED:
        # The follow-up already opened for it takes later answers to the old thread too.
        follow_up = db.session.scalar(tickets.visible_tickets(user).where(
            Ticket.follow_up_of_id == ticket.id, Ticket.status != Status.CLOSED).order_by(Ticket.id.desc()).limit(1))
        if follow_up is not None:
            return _reply(row, parsed, follow_up, user, now)
    if ticket is not None and ticket.status is not Status.CLOSED:
        return _reply(row, parsed, ticket, user, now)
    return _new_ticket(row, parsed, user, now, follow_up_of=ticket)


def _proven(row: InboundMessage, parsed: ParsedMail, user: User) -> bool:
    """A From line is easy to forge, and an agent's mail speaks with the agent's powers: it counts
    only as an answer to a notification we sent to that agent (its Message-ID is a secret only
    their mailbox holds), or when our own mail server vouches for the From address's domain."""
    ids = list(parsed.in_reply_to) + list(parsed.references)
    if ids and db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.message_id.in_(ids), func.lower(OutboxMessage.recipient) == user.email.lower())):
        return True
    return authenticated(row.raw or b"", parsed.from_address or "")


_RESULT = re.compile(r"^\s*(dkim|dmarc|spf)\s*=\s*(\w+)(.*)$", re.IGNORECASE | re.DOTALL)
_PROPERTY = re.compile(r"\b(header\.from|header\.d|header\.i|smtp\.mailfrom)\s*=\s*\"?([^\s;\"]+)", re.IGNORECASE)


def authenticated(raw: bytes, sender: str) -> bool:
    """True when the topmost Authentication-Results header (RFC 8601), the one our own mail server
    (MAIL_AUTHSERV_ID) added on top of whatever the message carried, says the From address's
    domain passed DMARC, or DKIM or SPF for that very domain. A pass for some other domain (the
    sender's own throwaway one) proves nothing about the From line."""
    trusted = current_app.config.get("MAIL_AUTHSERV_ID")
    domain = sender.rsplit("@", 1)[-1].lower() if "@" in sender else ""
    if not trusted or not domain:
        return False
    value = BytesHeaderParser(policy=policy.compat32).parsebytes(raw[:65536]).get("Authentication-Results")
    if value is None:
        return False
    serv_id, *results = " ".join(str(value).split()).split(";")
    if (serv_id.split() or [""])[0].lower() != trusted.lower():  # "mx.example.com" or "mx.example.com 1"
        return False
    for result in results:
        match = _RESULT.match(result)
        if not match or match.group(2).lower() != "pass":
            continue
        for name, found in _PROPERTY.findall(match.group(3)):
            found = found.lower().rsplit("@", 1)[-1]
            if found == domain and (match.group(1).lower() != "dmarc" or name.lower() == "header.from"):
                return True
    return False


def _thread(parsed: ParsedMail, user: User) -> tuple[Ticket | None, str | None]:
    """The ticket a message answers, if ``user`` may see it: by the Message-IDs it answers (ours, or
    an earlier mail of the thread), then by the reference in the subject. A reference to a ticket the
    sender may not see (another organization's) matches nothing. The second value names what else
    it answers when that is one of our mails about something other than a ticket (onboarding)."""
    references: list[str] = []
    other = None
    ids = list(parsed.in_reply_to) + list(reversed(parsed.references))
    if ids:
        found = dict(tuple(r) for r in db.session.execute(
            select(OutboxMessage.message_id, OutboxMessage.thread)
            .where(OutboxMessage.message_id.in_(ids), OutboxMessage.thread.is_not(None))).all())
        other = next((found[i] for i in ids if i in found and ":" in found[i]), None)
        found = {k: v for k, v in found.items() if ":" not in v}
        found.update(tuple(r) for r in db.session.execute(
            select(InboundMessage.message_id, Ticket.reference).join(Ticket, InboundMessage.ticket_id == Ticket.id)
            .where(InboundMessage.message_id.in_(ids))).all())
        references += [found[i] for i in ids if i in found]
    references += REFERENCE_IN_SUBJECT.findall(parsed.subject)
    for reference in dict.fromkeys(references):
        try:
            return tickets.get_ticket(user, reference), None
        except tickets.TicketNotFound:
            continue
    return None, other


def _reply(row, parsed, ticket, user, now, internal=False) -> str:
    accepted, refused = _attachments(parsed)
    body = _body(parsed.new_text, tickets.REPLY_MAX) or (
        ", ".join(f.filename for f in accepted) if accepted else "")
    if not body:
        return _set(row, IGNORED, "an empty answer", user=user, ticket=ticket)
    if ticket.status is Status.CLOSED:  # an agent's answer to a closed ticket
        return _set(row, UNMATCHED, f"{ticket.reference} is closed", user=user, ticket=ticket)
    message = tickets.reply(ticket, user, body, internal=internal, files=accepted, now=row.received_at,
                            channel=Channel.EMAIL.value, commit=False)
    row.ticket_message_id = message.id
    if refused:
        notify.files_refused(row, user, ticket, refused)
    return _set(row, NOTE if internal else REPLY, None, user=user, ticket=ticket)


def _new_ticket(row, parsed, user, now, follow_up_of: Ticket | None = None) -> str:
    accepted, refused = _attachments(parsed)
    subject = REPLY_PREFIXES.sub("", REFERENCE_IN_SUBJECT.sub("", parsed.subject)).strip() or text(_l("(no subject)"))
    description = _body(parsed.new_text, tickets.DESCRIPTION_MAX) or text(_l("(no text)"))
    asked = PRIORITY_LINE.search((parsed.new_text or "")[:2000])  # a line at the top of the mail
    plan = plan_services.plan_for(user.organization, now) if user.organization else None
    scheme = tickets.priority_scheme(plan)
    priority = asked.group(1).upper() if asked else None
    draft = tickets.TicketDraft(
        category="question", subject=subject[:tickets.SUBJECT_MAX], description=description, impact="", urgency="",
        submission_key=f"mail-{hashlib.sha256(row.message_id.encode()).hexdigest()[:48]}",
        priority_override=priority if scheme.scheme == "matrix" else None,
        severity=priority if scheme.scheme == "severity" and priority in scheme.choices()
        and not scheme.level(priority).not_for else None,
        lang=user.locale or "en", channel=Channel.EMAIL.value, follow_up_of=follow_up_of,
        in_reply_to=None if row.message_id.endswith("@portal.invalid>") else row.message_id)
    remarks = [notify.refused_remark(refused)] if refused else []
    if asked and priority != (draft.priority_override or draft.severity):
        remarks.append(_l("You asked for %(p)s, which your plan does not let you choose this way: the ticket has "
                          "the default priority. You can ask for another one on the ticket's page.", p=priority))
    # Decided before filing, which rolls everything back when it refuses (this row too).
    refusal = tickets.filing_refusal(user, row.received_at, channel=Channel.EMAIL.value)
    if refusal is not None:
        kept = tickets.saved_draft(user) is None  # one draft per account: one being written on the web stays
        if kept:
            tickets.save_draft(user, draft, commit=False)
        notify.kept_as_draft(row, user, refusal, kept)
        return _set(row, DRAFT, text(refusal.message) + ("" if kept else " (the account already had a draft)"),
                    user=user)
    errors = tickets.validate_draft(draft, plan)
    if errors:
        return _set(row, UNMATCHED, "could not file it: " + "; ".join(text(m) for m in errors.values()), user=user)
    ticket = tickets.file_ticket(user, draft, accepted, now=row.received_at, remarks=remarks, commit=False)
    if ticket.submission_key != draft.submission_key or db.session.get(InboundMessage, row.id) is None:
        raise RuntimeError("the filing was refused after its checks (a race): the message is taken again later")
    return _set(row, FOLLOW_UP if follow_up_of is not None else TICKET, None, user=user, ticket=ticket)


def _set(row: InboundMessage, outcome: str, reason: str | None, user: User | None = None,
         ticket: Ticket | None = None) -> str:
    row.outcome, row.reason = outcome, reason
    if user is not None:
        row.user_id = user.id
    if ticket is not None:
        row.ticket = ticket
    return outcome


def _body(value: str, maximum: int) -> str:
    value = (value or "").strip()
    if len(value) > maximum:
        note = f"\n\n{text(SHORTENED)}"
        value = value[:maximum - len(note)].rstrip() + note
    return value


def _attachments(parsed: ParsedMail) -> tuple[list[Upload], list[tuple[str, str]]]:
    """The files the web would accept, and (name, why not) for the others."""
    max_files, _ = limits()
    accepted, refused = [], []
    for item in parsed.attachments:
        upload = Upload(item.filename, item.data)
        try:
            inspect(upload)
        except DomainError as exc:
            refused.append((item.filename, text(exc.message)))
            continue
        if len(accepted) >= max_files:
            refused.append((item.filename, text(_l("only %(max)s files are taken per message", max=max_files))))
            continue
        accepted.append(upload)
    return accepted, refused


def _over_rate_limit(sender: str, row: InboundMessage, now: datetime) -> bool:
    limit = current_app.config["MAIL_SENDER_LIMIT_PER_HOUR"]
    count = db.session.scalar(select(func.count()).select_from(InboundMessage).where(
        InboundMessage.from_address == sender, InboundMessage.received_at > now - timedelta(hours=1),
        InboundMessage.id != row.id))
    return count >= limit


def _account_for_domain(row: InboundMessage, sender: str, name: str, now: datetime) -> tuple[User | None, str]:
    """An unknown address at an organization's registered domain: a customer account for it, or
    (None, why not). Forging a From line costs nothing, so: where our mail server authenticates
    senders (MAIL_AUTHSERV_ID), only an authenticated one; and at most MAIL_NEW_ACCOUNTS_PER_DAY
    accounts per domain a day, so that a flood of made-up addresses cannot eat the quota."""
    domain = sender.rsplit("@", 1)[-1]
    organization = accounts.organization_for_domain(domain)
    if organization is None:
        return None, "no account has this address, and its domain belongs to no organization"
    if current_app.config.get("MAIL_AUTHSERV_ID") and not authenticated(row.raw or b"", sender):
        return None, f"{domain} belongs to {organization.name}, but our mail server did not authenticate the sender"
    made_today = db.session.scalar(select(func.count()).select_from(User).where(
        User.organization_id == organization.id, User.created_at > now - timedelta(days=1),
        User.email.like(f"%@{domain}")))
    if made_today >= current_app.config["MAIL_NEW_ACCOUNTS_PER_DAY"]:
        return None, f"already {made_today} new accounts at {domain} today (MAIL_NEW_ACCOUNTS_PER_DAY)"
    try:
        user = accounts.create_user(sender, secrets.token_urlsafe(24), Role.CUSTOMER, name=(name or "")[:200] or None,
                                    organization=organization, commit=False, origin=audit.Origin(via="mail"))
    except DomainError as exc:
        return None, f"no account could be made for it: {text(exc.message)}"
    user.created_at = now
    db.session.flush()
    log.info("created a customer account for %s in %s (its mail domain)", sender, organization.name)
    return user, ""


def _bounce(row: InboundMessage, parsed: ParsedMail, now: datetime) -> str:
    """A delivery failure: the addresses it names are marked as bouncing, for the agents."""
    bounce = parsed.bounce
    recipients = list(bounce.recipients) if bounce else []
    status = bounce.status if bounce else None
    # Only addresses we really sent mail to: a forged report cannot mark anyone it likes.
    mailed = set(db.session.scalars(select(func.lower(OutboxMessage.recipient))
                                    .where(func.lower(OutboxMessage.recipient).in_(recipients)).distinct())) \
        if recipients else set()
    recipients = [r for r in recipients if r in mailed] or recipients
    if mailed and (bounce.permanent if bounce else True):
        db.session.execute(update(User).where(func.lower(User.email).in_(mailed))
                           .values(email_bouncing_at=now, email_bounce_reason=(f"{status} " if status else "")[:20]
                                   + (parsed.subject or "undeliverable")[:170])
                           .execution_options(synchronize_session=False))
    return _set(row, BOUNCE, f"delivery failed for {', '.join(recipients) or 'an unknown address'}"
                             + (f" ({status})" if status else ""))


def _too_large(raw: bytes, source: str, now: datetime, key: str) -> Result:
    """Refused, with an answer; only its headers are kept (the row says why, for the agents)."""
    limit = current_app.config["MAIL_MAX_MESSAGE_MB"] * 2**20
    headers = BytesHeaderParser(policy=policy.default).parsebytes(raw[:65536])
    sender = (parseaddr(" ".join(str(headers.get("From", "")).split()))[1] or "").lower()[:254] or None
    subject = one_line(str(headers.get("Subject", "")))  # no line breaks into the answer's subject
    row = InboundMessage(message_id=key, source=source[:80], received_at=now, processed_at=now, from_address=sender,
                         subject=subject[:400], size=len(raw), raw=None, outcome="pending")
    duplicate = _claim(row)
    if duplicate is not None:
        return duplicate
    _set(row, REFUSED, f"{len(raw) / 2**20:.1f} MB; the limit is {limit // 2**20} MB")
    automatic = headers.get("Auto-Submitted", "no").strip().lower() != "no" or headers.get("Precedence", "").lower() \
        in ("bulk", "list", "junk")
    if sender and not automatic and not _is_own(sender) and not _over_rate_limit(sender, row, now):
        notify.too_large(row, limit)
    db.session.commit()
    return Result(REFUSED, row.id)


# --- the agents' list ---------------------------------------------------------------------

def unmatched(limit: int = 200) -> list[InboundMessage]:
    return list(db.session.scalars(select(InboundMessage).where(InboundMessage.outcome == UNMATCHED)
                                   .order_by(InboundMessage.id.desc()).limit(limit)))


def recent_other(limit: int = 50) -> list[InboundMessage]:
    """What was not made a ticket for other reasons (automatic mail, bounces, refused): for a look."""
    return list(db.session.scalars(select(InboundMessage)
                                   .where(InboundMessage.outcome.in_([IGNORED, BOUNCE, REFUSED, RATE_LIMITED, FAILING]))
                                   .order_by(InboundMessage.id.desc()).limit(limit)))


def unmatched_count() -> int:
    return db.session.scalar(select(func.count()).select_from(InboundMessage)
                             .where(InboundMessage.outcome == UNMATCHED)) or 0


class NotWaiting(DomainError):
    pass


def _waiting(inbound_id: int) -> InboundMessage:
    row = db.session.get(InboundMessage, inbound_id)
    if row is None or row.outcome != UNMATCHED:
        raise NotWaiting(_l("This email is no longer waiting: another agent has dealt with it."))
    return row


def assign(inbound_id: int, agent: User, customer_email: str, now: datetime | None = None,
           origin: audit.Origin | None = None) -> InboundMessage:
    """An agent says whose mail it is: it becomes that customer's ticket or reply, as if they had sent it."""
    now = now or utcnow()
    row = _waiting(inbound_id)
    customer = accounts.user_by_email(customer_email or "")
    if customer is None or not customer.role.is_customer or not customer.active:
        raise DomainError(_l("No active customer has the address %(email)s.", email=(customer_email or "").strip()),
                          "customer")
    claimed = db.session.execute(update(InboundMessage).where(InboundMessage.id == row.id,
                                                              InboundMessage.outcome == UNMATCHED)
                                 .values(outcome=ASSIGNED, handled_by_id=agent.id, handled_at=now)
                                 .execution_options(synchronize_session=False)).rowcount
    if not claimed:
        db.session.rollback()
        raise NotWaiting(_l("This email is no longer waiting: another agent has dealt with it."))
    parsed = parse(row.raw or b"")
    try:
        outcome = take_as(row, parsed, customer, now)
    except DomainError:
        raise
    except Exception:  # the failure that sent it here: the agent is told, the mail keeps waiting
        log.exception("could not file mail %s for %s", row.message_id, customer.email)
        outcome = UNMATCHED
    if outcome == UNMATCHED:  # it could not be filed for that customer either: it stays, with the reason
        db.session.rollback()
        raise DomainError(_l("It could not be filed for %(email)s.", email=customer.email), "customer")
    row.reason = f"assigned to {customer.email} by {agent.email}: {outcome}"
    row.outcome, row.handled_by_id, row.handled_at = ASSIGNED, agent.id, now
    audit.record("inbox.assign", origin or audit.Origin.of(agent), now,
                 target=("inbound", row.id, f"{row.from_address or ''}: {row.subject}"),
                 organization_id=customer.organization_id,
                 detail={"customer": customer.email, "ticket": row.ticket.reference if row.ticket else None})
    db.session.commit()
    return row


def discard(inbound_id: int, agent: User, now: datetime | None = None, origin: audit.Origin | None = None) -> None:
    now = now or utcnow()
    changed = db.session.execute(update(InboundMessage).where(InboundMessage.id == inbound_id,
                                                              InboundMessage.outcome == UNMATCHED)
                                 .values(outcome=DISCARDED, handled_by_id=agent.id, handled_at=now)
                                 .execution_options(synchronize_session=False)).rowcount
    if changed:
        row = db.session.get(InboundMessage, inbound_id)
        audit.record("inbox.discard", origin or audit.Origin.of(agent), now,
                     target=("inbound", inbound_id, f"{row.from_address or ''}: {row.subject}" if row else None))
    db.session.commit()
    if not changed:
        raise NotWaiting(_l("This email is no longer waiting: another agent has dealt with it."))


def originals(ticket: Ticket) -> dict[int | None, int]:
    """The ticket's messages that came by email -> their original's id (None: the description)."""
    rows = db.session.execute(select(InboundMessage.ticket_message_id, InboundMessage.id, InboundMessage.outcome)
                              .where(InboundMessage.ticket_id == ticket.id,
                                     InboundMessage.outcome.in_([TICKET, FOLLOW_UP, REPLY, NOTE, ASSIGNED])))
    return {message_id: inbound_id for message_id, inbound_id, _ in rows}
