"""The audit recorder and the log's queries. Plain values in: callers say who acted and from
where (an ``Origin``), the recorder adds the entry to the session and never commits, so the entry
is written in the same transaction as the change it describes (STYLE.md 13)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import delete, select

from ..errors import lazy_gettext as _l
from ..exports import spreadsheet_safe
from ..extensions import db, parse_id
from .models import AuditEntry

EMAIL_MAX = 254
LABEL_MAX = 200
PAGE_SIZE = 50

# Every action code the portal records, with what the log page calls it.
ACTIONS = {
    "auth.sign_in": _l("Signed in"),
    "auth.sign_in_failed": _l("Sign-in failed"),
    "auth.sign_out": _l("Signed out"),
    "user.create": _l("User created"),
    "user.role_change": _l("Role changed"),
    "user.deactivate": _l("User deactivated"),
    "user.reactivate": _l("User reactivated"),
    "auth.sign_in_throttled": _l("Sign-in refused: too many attempts"),
    "auth.2fa_on": _l("Two-step sign-in turned on"),
    "auth.2fa_off": _l("Two-step sign-in turned off"),
    "auth.2fa_codes": _l("New recovery codes"),
    "auth.2fa_reset": _l("Two-step sign-in reset"),
    "auth.2fa_failed": _l("Wrong two-step sign-in code"),
    "auth.password_change": _l("Password changed"),
    "token.create": _l("API token created"),
    "token.revoke": _l("API token revoked"),
    "plan.change": _l("Plan changed"),
    "hours.buy": _l("Support hours bought"),
    "time.log": _l("Time logged without a ticket"),
    "macro.create": _l("Macro created"),
    "macro.edit": _l("Macro edited"),
    "macro.delete": _l("Macro deleted"),
    "inbox.assign": _l("Unmatched email assigned"),
    "inbox.discard": _l("Unmatched email discarded"),
    "export.csv": _l("CSV exported"),
    "expert.holidays": _l("Expert's public holidays changed"),
    "team.create": _l("Team created"),
    "team.edit": _l("Team renamed or described"),
    "team.deactivate": _l("Team deactivated"),
    "team.reactivate": _l("Team reactivated"),
    "team.member_add": _l("Team member added"),
    "team.member_remove": _l("Team member removed"),
    "ticket.team": _l("Ticket moved to another team"),
    "ticket.file_for": _l("Ticket filed for a customer"),
    "ticket.update": _l("Ticket changed"),
    "time.log": _l("Time logged"),
    "visit.schedule": _l("On-site visit scheduled"),
    "visit.reschedule": _l("On-site visit moved"),
    "visit.cancel": _l("On-site visit cancelled"),
    "visit.held": _l("On-site visit held"),
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True)
class Origin:
    """Who acted and from where: a signed-in user's id and email, the client's address, and for
    actions outside a browser the channel ("cli", "mail", "api")."""

    user_id: int | None = None
    email: str | None = None
    address: str | None = None
    via: str | None = None

    @classmethod
    def of(cls, user, address: str | None = None, via: str | None = None) -> Origin:
        """``user`` is anything with ``id`` and ``email`` (a User), or None."""
        if user is None:
            return cls(address=address, via=via)
        return cls(user.id, user.email, address, via)


CLI = Origin(via="cli")  # `portal …` commands: no one signed in


def _cut(value, limit: int) -> str | None:
    return None if value is None else str(value)[:limit]


def record(action: str, origin: Origin | None = None, now: datetime | None = None, *,
           target: tuple[str, int | None, str | None] | None = None, organization_id: int | None = None,
           detail: Mapping | None = None) -> AuditEntry:
    """Add an entry to the session (the caller's commit writes it with its change).

    ``target`` is (type, id, readable label), e.g. ("token", 7, "monitoring"); ``detail`` a small
    JSON-able mapping, e.g. {"from": "customer", "to": "admin"}. Never put a password or a secret in it."""
    origin = origin or Origin()
    detail = dict(detail or {})
    if origin.via:
        detail.setdefault("via", origin.via)
    kind, target_id, label = target or (None, None, None)
    entry = AuditEntry(at=now or utcnow(), actor_id=origin.user_id, actor_email=_cut(origin.email, EMAIL_MAX),
                       action=action, target_type=kind, target_id=target_id, target_label=_cut(label, LABEL_MAX),
                       organization_id=organization_id, address=_cut(origin.address, 45), detail=detail)
    db.session.add(entry)
    return entry


def failed_sign_in(email: str | None, origin: Origin | None = None, now: datetime | None = None) -> AuditEntry:
    """A sign-in that did not match an account: the email as typed (lower case, trimmed), whether or
    not such an account exists; the password never."""
    typed = " ".join((email or "").split()).lower()[:EMAIL_MAX]
    origin = origin or Origin()
    return record("auth.sign_in_failed", Origin(None, typed or None, origin.address, origin.via), now,
                  target=("email", None, typed or None))


# --- the log page ---------------------------------------------------------------------

@dataclass
class Filters:
    """What the log page shows, from its GET form; ``errors`` holds a message per field that did not parse."""

    action: str = ""
    actor: str = ""
    organization_id: int | None = None
    since: date | None = None
    until: date | None = None
    typed: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, values: Mapping[str, str]) -> Filters:
        # NUL cannot be stored or compared in PostgreSQL text: it never matches anything anyway.
        typed = {key: (values.get(key) or "").replace("\x00", "").strip()[:EMAIL_MAX]
                 for key in ("action", "actor", "org", "since", "until")}
        filters = cls(typed=typed)
        if typed["action"]:
            if typed["action"] in ACTIONS:
                filters.action = typed["action"]
            else:
                filters.errors["action"] = _l("Choose an action from the list.")
        filters.actor = typed["actor"].lower()
        if typed["org"]:
            filters.organization_id = parse_id(typed["org"])
            if filters.organization_id is None:
                filters.errors["org"] = _l("Choose an organization from the list.")
        for key in ("since", "until"):
            if typed[key]:
                try:
                    setattr(filters, key, date.fromisoformat(typed[key]))
                except ValueError:
                    filters.errors[key] = _l("Write the date as YYYY-MM-DD, e.g. 2026-12-01.")
        if filters.since and filters.until and filters.since > filters.until:
            filters.errors["until"] = _l("The end date is before the start date.")
        return filters

    def query(self):
        query = select(AuditEntry)
        if self.action:
            query = query.where(AuditEntry.action == self.action)
        if self.actor:
            pattern = "%" + self.actor.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(db.func.lower(AuditEntry.actor_email).like(pattern, escape="\\"))
        if self.organization_id:
            query = query.where(AuditEntry.organization_id == self.organization_id)
        if self.since:
            query = query.where(AuditEntry.at >= datetime.combine(self.since, time()))
        if self.until and self.until < date.max:  # the whole last day (9999-12-31: no end at all)
            query = query.where(AuditEntry.at < datetime.combine(self.until + timedelta(days=1), time()))
        return query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())

    def args(self) -> dict:
        """The filters as query-string arguments (for the pages' links and the CSV link)."""
        return {key: value for key, value in self.typed.items() if value}


def page(filters: Filters, number: int = 1, per_page: int = PAGE_SIZE):
    """One page of the filtered log, newest first (a Flask-SQLAlchemy Pagination)."""
    return db.paginate(filters.query(), page=max(number, 1), per_page=per_page, error_out=False, count=True)


CSV_COLUMNS = ["at", "action", "actor_id", "actor_email", "target_type", "target_id", "target", "organization_id",
               "address", "detail"]


def entries_csv(filters: Filters) -> str:
    """The filtered log as CSV; text that could be typed by a user is made safe for spreadsheets."""
    import json

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for entry in db.session.scalars(filters.query().execution_options(yield_per=500)):
        writer.writerow([entry.at.isoformat(sep=" ", timespec="seconds"), entry.action, entry.actor_id or "",
                         spreadsheet_safe(entry.actor_email or ""), entry.target_type or "", entry.target_id or "",
                         spreadsheet_safe(entry.target_label or ""), entry.organization_id or "",
                         entry.address or "", spreadsheet_safe(json.dumps(entry.detail or {}, ensure_ascii=False))])
    return out.getvalue()


# --- retention ------------------------------------------------------------------------

def prune(now: datetime, days: int) -> int:
    """Delete the entries older than ``days`` days before ``now``; returns how many went."""
    if days <= 0:
        return 0  # 0 (or less) keeps everything
    result = db.session.execute(delete(AuditEntry).where(AuditEntry.at < now - timedelta(days=days))
                                .execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount
