"""Delivering the outbox: claim due messages, hand them to the server, record every attempt.

Several workers on several servers share the table. A claim is a conditional UPDATE of rows that
are due (queued and due, or claimed by a worker whose lease ran out); on PostgreSQL the candidate
rows are first locked with ``FOR UPDATE SKIP LOCKED`` so that workers take different rows instead
of queueing behind each other; on SQLite, which has one writer at a time, the UPDATE alone decides.
A worker that dies after the server took a message but before it recorded that sends it again
when its lease ends: the same Message-ID, which mail clients show once."""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select, update

from ..auth.models import utcnow
from ..extensions import db
from .models import DISCARDED, FAILED, QUEUED, SENDING, SENT, DeliveryAttempt, OutboxMessage
from .transport import DeliveryError, for_config

log = logging.getLogger(__name__)


@dataclass
class Report:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def __add__(self, other: Report) -> Report:
        return Report(self.sent + other.sent, self.retrying + other.retrying, self.failed + other.failed)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _due(now: datetime):
    return or_(and_(OutboxMessage.status == QUEUED, OutboxMessage.next_attempt_at <= now),
               and_(OutboxMessage.status == SENDING, OutboxMessage.claimed_until < now))


def claim(worker: str, now: datetime, limit: int) -> list[int]:
    """Take up to ``limit`` due messages for this worker; committed, so others skip them."""
    return _claim(worker, now, limit)[0]


def _claim(worker: str, now: datetime, limit: int) -> tuple[list[int], bool]:
    """(what this worker took, whether anything was due): on SQLite another worker may take every
    candidate between this one's look and its claim, which is no reason to stop."""
    candidates = db.session.scalars(
        select(OutboxMessage.id).where(_due(now)).order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit).with_for_update(skip_locked=True)).all()
    if not candidates:
        db.session.commit()
        return [], False
    lease = timedelta(seconds=current_app.config["MAIL_LEASE_SECONDS"])
    claimed = db.session.scalars(
        update(OutboxMessage).where(OutboxMessage.id.in_(candidates), _due(now))
        .values(status=SENDING, claimed_by=worker, claimed_until=now + lease)
        .returning(OutboxMessage.id).execution_options(synchronize_session=False)).all()
    db.session.commit()
    return sorted(claimed), True


def retry_delay(attempts: int) -> timedelta:
    """After the n-th failed attempt: the base wait doubled n-1 times, at most the maximum."""
    config = current_app.config
    seconds = config["MAIL_RETRY_SECONDS"] * 2 ** min(max(attempts - 1, 0), 30)
    return timedelta(seconds=min(seconds, config["MAIL_RETRY_MAX_SECONDS"]))


def _record(message: OutboxMessage, worker: str, now: datetime, error: DeliveryError | None) -> str | None:
    """Write the attempt's outcome, if this worker still holds the claim; returns the new status
    (None: another worker took the message over meanwhile, and its outcome is theirs to write)."""
    attempts = message.attempts + 1
    if error is None:
        values = dict(status=SENT, sent_at=now, last_error=None)
    elif error.permanent or attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
        values = dict(status=FAILED, last_error=str(error))
        log.warning("gave up on mail %s to %s after %d attempt(s): %s", message.message_id, message.recipient,
                    attempts, error)
    else:
        values = dict(status=QUEUED, last_error=str(error), next_attempt_at=now + retry_delay(attempts))
    won = db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message.id, OutboxMessage.status == SENDING,
                                    OutboxMessage.claimed_by == worker)
        .values(attempts=attempts, claimed_by=None, claimed_until=None, **values)
        .execution_options(synchronize_session=False)).rowcount
    if not won:
        return None
    # Added by its key: appending to message.delivery_attempts would load the whole history first.
    db.session.add(DeliveryAttempt(outbox_id=message.id, attempted_at=now, worker=worker, ok=error is None,
                                   error=str(error) if error else None))
    return values["status"]


def deliver_due(now: datetime | None = None, worker: str | None = None, limit: int | None = None) -> Report:
    """Deliver every message that is due now, batch after batch; returns what happened."""
    worker = worker or worker_name()
    batch = current_app.config["MAIL_BATCH"]
    report = Report()
    while limit is None or report.sent + report.retrying + report.failed < limit:
        size = batch if limit is None else min(batch, limit - (report.sent + report.retrying + report.failed))
        claimed_at = now or utcnow()
        ids, due = _claim(worker, claimed_at, size)
        if not due:
            break
        if not ids:
            continue  # another worker was quicker with these: look again
        report += _deliver(ids, worker, now, claimed_at)
    return report


def _renew(message_id: int, worker: str, now: datetime) -> bool:
    """Extend this worker's claim on one message, right before sending or recording it; False when
    the lease ran out and another worker took the message (then this one leaves it alone)."""
    lease = timedelta(seconds=current_app.config["MAIL_LEASE_SECONDS"])
    renewed = db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.status == SENDING,
                                    OutboxMessage.claimed_by == worker)
        .values(claimed_until=now + lease).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return bool(renewed)


def _deliver(ids: list[int], worker: str, now: datetime | None, claimed_at: datetime) -> Report:
    """``now`` fixed by the caller (tests), or None: each message's own moment. A batch that has
    taken a third of the lease (a slow relay) renews each claim before sending: a claim that ran
    out belongs to another worker by now, and this one leaves that message alone."""
    report = Report()
    unreachable: DeliveryError | None = None
    renew_after = timedelta(seconds=current_app.config["MAIL_LEASE_SECONDS"] / 3)
    with for_config(current_app.config) as transport:
        for message_id in ids:
            moment = now or utcnow()
            if moment - claimed_at > renew_after and not _renew(message_id, worker, moment):
                log.warning("the claim on mail %d ran out before it was sent; another worker has it", message_id)
                continue
            message = db.session.get(OutboxMessage, message_id)
            error = unreachable
            if error is None:
                try:
                    transport.send(message.recipient, message.raw)
                except DeliveryError as exc:
                    error = exc
                    if exc.connection:
                        unreachable = exc  # no point knocking again for each message of the batch
                except Exception as exc:  # a bug or a full disk: this message waits, the worker goes on
                    log.exception("could not hand over mail %s", message.message_id)
                    error = DeliveryError(f"{type(exc).__name__}: {exc}")
            status = _record(message, worker, now or utcnow(), error)
            db.session.commit()  # each outcome at once: a crash later does not resend this one
            if status is None:
                log.warning("mail %d was taken over by another worker while this one sent it", message_id)
                continue
            if status == SENT:
                report.sent += 1
            elif status == FAILED:
                report.failed += 1
            else:
                report.retrying += 1
    return report


def failed(limit: int = 200) -> list[OutboxMessage]:
    """What admins see: messages given up on, newest first."""
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.status == FAILED)
                                   .order_by(OutboxMessage.id.desc()).limit(limit)))


def counts() -> dict[str, int]:
    rows = db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
    return {status: n for status, n in rows}


def retry(message_id: int, now: datetime | None = None) -> bool:
    """An admin sends a failed message again: a fresh round of attempts, its history kept."""
    changed = db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.status == FAILED)
        .values(status=QUEUED, attempts=0, next_attempt_at=now or utcnow())
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return bool(changed)


def discard(message_id: int) -> bool:
    changed = db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.status == FAILED)
        .values(status=DISCARDED).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return bool(changed)
