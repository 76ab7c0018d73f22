"""API rules: personal tokens (created, listed, revoked, checked), and filing a ticket (or an
agent's reply or time) once per Idempotency-Key. Plain values in, rows or DomainError out."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..auth.models import User, utcnow
from ..errors import DomainError, lazy_gettext as _l
from ..extensions import db, insert_for_dialect
from ..tickets import services as tickets
from ..tickets.models import Ticket
from .models import ApiToken, IdempotencyKey

TOKEN_PREFIX = "pat_"
NAME_MAX = 100
TOKENS_PER_USER = 50
SECRET_MAX = 200
LAST_USED_PRECISION = timedelta(minutes=1)  # so that every call is not also a write
IDEMPOTENCY_WINDOW = timedelta(hours=24)
# A claimed key whose request never filed (it died) is given up after this long.
ABANDONED_AFTER = timedelta(minutes=2)


class InvalidToken(DomainError):
    pass


class IdempotencyKeyReused(DomainError):
    pass


class RequestInProgress(DomainError):
    pass


# --- personal tokens ---------------------------------------------------------------

def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(user: User, name: str, origin: audit.Origin | None = None) -> tuple[ApiToken, str]:
    """A new token and its secret: the only time the secret exists outside the caller.
    ``origin`` (default: the user) is who made it and from where, for the audit log."""
    name = " ".join((name or "").split())
    if not name:
        raise DomainError(_l("Give the token a name, such as the tool that will use it."), "name")
    if len(name) > NAME_MAX:
        raise DomainError(_l("A token name can have at most %(max)s characters.", max=NAME_MAX), "name")
    if not user.active:
        raise DomainError(_l("This account is deactivated."), "name")
    active = db.session.scalar(select(db.func.count(ApiToken.id)).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)))
    if active >= TOKENS_PER_USER:
        raise DomainError(_l("You have %(count)s active tokens; revoke one you no longer use first.",
                             count=TOKENS_PER_USER), "name")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, prefix=secret[:12], secret_hash=_digest(secret), created_at=utcnow())
    db.session.add(token)
    db.session.flush()  # the id, for the audit entry
    audit.record("token.create", origin or audit.Origin.of(user), target=("token", token.id, name),
                 organization_id=user.organization_id, detail={"owner": user.email, "prefix": token.prefix})
    db.session.commit()
    return token, secret


def tokens_of(user: User) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                   .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(),
                                             ApiToken.id.desc())))


def revoke_token(user: User, token_id: int, origin: audit.Origin | None = None) -> ApiToken:
    """Revoke one of the user's own tokens; another user's token is "not found"."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise DomainError(_l("No such token."), "token")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record("token.revoke", origin or audit.Origin.of(user), token.revoked_at,
                     target=("token", token.id, token.name), organization_id=user.organization_id,
                     detail={"owner": user.email, "prefix": token.prefix})
        db.session.commit()
    return token


def authenticate(secret: str, now: datetime | None = None) -> ApiToken:
    """The token with this secret, if it is live and its user active; otherwise InvalidToken."""
    if not secret or len(secret) > SECRET_MAX or not secret.startswith(TOKEN_PREFIX):
        raise InvalidToken("This is not a portal API token; they start with pat_.")
    token = db.session.scalar(select(ApiToken).where(ApiToken.secret_hash == _digest(secret)))
    if token is None:
        raise InvalidToken("Unknown token. Create one on your account page.")
    if token.revoked_at is not None:
        raise InvalidToken("This token was revoked. Create a new one on your account page.")
    if not token.user.active:
        raise InvalidToken("The account this token belongs to is deactivated.")
    now = now or utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        db.session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now)
                           .execution_options(synchronize_session=False))
        db.session.commit()
    return token


# --- filing once per Idempotency-Key ------------------------------------------------

def _submission_key() -> str:
    return f"api-{secrets.token_hex(16)}"


def file_ticket(user: User, draft: tickets.TicketDraft, idempotency_key: str | None = None,
                fingerprint: str = "", filed_by: User | None = None) -> tuple[Ticket, bool]:
    """File through the API: (ticket, replayed). With a key, the first request files and
    a retry with the same ``fingerprint`` (hash of the body) gets that ticket back, with
    no second ticket and no second use of the quota. ``filed_by``: the agent filing for the
    customer ``user``; the key is the agent's, as the token is."""
    owner = filed_by or user
    if not idempotency_key:
        draft.submission_key = _submission_key()
        return tickets.file_ticket(user, draft, filed_by=filed_by), False
    for _attempt in range(2):
        claim = _claim(owner, idempotency_key, fingerprint)
        if isinstance(claim, Ticket):
            return claim, True
        if claim is not None:
            break
    else:
        raise RequestInProgress("A request with this Idempotency-Key is still running; retry in a moment.")
    draft.submission_key = claim
    try:
        ticket = tickets.file_ticket(user, draft, filed_by=filed_by)
    except Exception:
        # Nothing was filed: free the key, so a corrected request may use it.
        db.session.rollback()
        db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.user_id == owner.id,
                                                        IdempotencyKey.submission_key == claim))
        db.session.commit()
        raise
    db.session.execute(update(IdempotencyKey).where(IdempotencyKey.user_id == owner.id,
                                                    IdempotencyKey.submission_key == claim)
                       .values(ticket_id=ticket.id).execution_options(synchronize_session=False))
    db.session.commit()
    return ticket, False


def _claim(user: User, key: str, fingerprint: str) -> str | Ticket | None:
    """Claim the key: our new submission key; or the ticket an earlier identical
    request filed; or None when a claim was given up and may be tried again."""
    now = utcnow()
    db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.user_id == user.id, IdempotencyKey.key == key,
                                                    IdempotencyKey.created_at < now - IDEMPOTENCY_WINDOW))
    submission = _submission_key()
    # RETURNING says whether this INSERT won (rowcount is not reliable for ON CONFLICT on every driver).
    claimed = db.session.execute(
        insert_for_dialect(IdempotencyKey).values(user_id=user.id, key=key, request_hash=fingerprint,
                                                  submission_key=submission, created_at=now)
        .on_conflict_do_nothing(index_elements=["user_id", "key"]).returning(IdempotencyKey.id)
    ).scalar()
    db.session.commit()
    if claimed is not None:
        return submission
    row = db.session.scalar(select(IdempotencyKey).where(IdempotencyKey.user_id == user.id,
                                                         IdempotencyKey.key == key))
    if row is None:
        return None  # the other request failed and freed the key
    if row.request_hash != fingerprint:
        raise IdempotencyKeyReused("This Idempotency-Key was already used with a different request body. "
                                   "Use a new key for a new ticket.")
    ticket = db.session.get(Ticket, row.ticket_id) if row.ticket_id else tickets.ticket_by_submission(
        row.submission_key)
    if ticket is not None:
        return ticket
    if now - row.created_at > ABANDONED_AFTER:
        db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == row.id,
                                                        IdempotencyKey.ticket_id.is_(None)))
        db.session.commit()
        return None
    raise RequestInProgress("A request with this Idempotency-Key is still running; retry in a moment.")


# --- other POSTs once per Idempotency-Key (the agents' replies and time) --------------

def once(user: User, key: str | None, fingerprint: str, kind: str,
         make: Callable[[], tuple[int, int]]) -> tuple[int, bool]:
    """Run ``make`` (it changes the session without committing and returns (ticket id, id of what
    it made)) and commit, once per key: (id, replayed). The key is recorded in the same transaction
    as what it made, as "kind:id", so a retry finds it and nothing is made twice; of two requests
    with the same key at once, the second waits on the key's unique index and then replays."""
    if not key:
        _ticket_id, made = make()
        db.session.commit()
        return made, False
    for _attempt in range(2):
        found = _made_before(user, key, fingerprint, kind)
        if found is not None:
            return found, True
        row = IdempotencyKey(user_id=user.id, key=key, request_hash=fingerprint, submission_key=f"{kind}:",
                             created_at=utcnow())
        db.session.add(row)
        try:
            db.session.flush()
        except IntegrityError:  # the same key, just committed by another request: replay it
            db.session.rollback()
            continue
        ticket_id, made = make()
        row.ticket_id, row.submission_key = ticket_id, f"{kind}:{made}"
        db.session.commit()
        return made, False
    raise RequestInProgress("A request with this Idempotency-Key is still running; retry in a moment.")


def _made_before(user: User, key: str, fingerprint: str, kind: str) -> int | None:
    db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.user_id == user.id, IdempotencyKey.key == key,
                                                    IdempotencyKey.created_at < utcnow() - IDEMPOTENCY_WINDOW))
    row = db.session.scalar(select(IdempotencyKey).where(IdempotencyKey.user_id == user.id,
                                                         IdempotencyKey.key == key))
    if row is None:
        return None
    made_kind, _, made = row.submission_key.partition(":")
    if row.request_hash != fingerprint or made_kind != kind or not made.isdigit():
        raise IdempotencyKeyReused("This Idempotency-Key was already used with a different request. "
                                   "Use a new key for a new request.")
    return int(made)
