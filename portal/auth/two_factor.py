"""Two-step sign-in (TOTP, RFC 6238): turning it on and off, recovery codes, checking codes.

Plain values in, values or DomainError out; the routes keep the pending sign-in in the session.
Secrets are encrypted with a key derived from SECRET_KEY (so a new SECRET_KEY makes them
unreadable: such users are reset with ``portal user reset-2fa``); recovery codes are hashed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import DomainError, lazy_gettext as _l
from ..extensions import db
from .models import RecoveryCode, Role, TwoFactor, User
from .services import user_by_email
from .. import audit

RECOVERY_CODES = 10
MAX_FAILED_CODES = 5  # wrong codes in a row, then the password is asked again
PENDING_SECONDS = 300  # between the password and the code
CLOCK_SKEW = -timedelta(seconds=30)
VALID_WINDOW = 1  # accept the code of the step before and after: clocks drift, people type slowly
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to confuse


# --- settings -----------------------------------------------------------------------------------

def required_roles(value) -> frozenset[Role]:
    """TWO_FACTOR_REQUIRED_ROLES as roles: a list, or a comma-separated string from the environment.
    An unknown name stops the start rather than silently requiring nothing."""
    names = value.split(",") if isinstance(value, str) else list(value or [])
    roles = set()
    for name in (str(n).strip() for n in names):
        if not name:
            continue
        try:
            roles.add(Role(name))
        except ValueError:
            choices = ", ".join(r.value for r in Role)
            raise ValueError(f"TWO_FACTOR_REQUIRED_ROLES: unknown role {name!r}; choose from {choices}") from None
    return frozenset(roles)


def is_required_for(user: User) -> bool:
    return user.role in required_roles(current_app.config["TWO_FACTOR_REQUIRED_ROLES"])


def issuer() -> str:
    """The name the authenticator app shows: TWO_FACTOR_ISSUER, or the host of BASE_URL."""
    config = current_app.config
    return config.get("TWO_FACTOR_ISSUER") or urlsplit(config["BASE_URL"]).hostname or "Portal"


# --- the secret ---------------------------------------------------------------------------------

def _cipher() -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"portal two-factor secrets").derive(str(current_app.config["SECRET_KEY"]).encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret: str) -> str:
    """The secret encrypted (also for the session while the user sets their app up)."""
    return _cipher().encrypt(secret.encode()).decode()


def unseal(sealed: str) -> str:
    try:
        return _cipher().decrypt(sealed.encode()).decode()
    except (InvalidToken, ValueError):
        raise DomainError(_l("Your two-step sign-in cannot be read any more. Ask support to reset it."),
                          "code") from None


def new_secret() -> str:
    return pyotp.random_base32()


@dataclass(frozen=True)
class Enrolment:
    secret: str
    uri: str  # otpauth://totp/…
    qr_svg_data_uri: str  # the URI as a QR code, made here (no outside service sees the secret)

    @property
    def secret_groups(self) -> str:
        """The secret in groups of four, easier to type into an app."""
        return " ".join(self.secret[i:i + 4] for i in range(0, len(self.secret), 4))


def enrolment(user: User, secret: str) -> Enrolment:
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer())
    qr = segno.make(uri, error="m")
    return Enrolment(secret, uri, qr.svg_data_uri(scale=4, dark="#111", light="#fff", border=2))


def settings_of(user: User) -> TwoFactor | None:
    return db.session.get(TwoFactor, user.id)


def is_enabled(user: User) -> bool:
    return settings_of(user) is not None


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(RecoveryCode)
                             .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)))


def enable(user: User, secret: str, code: str, now: datetime, origin: audit.Origin | None = None) -> list[str]:
    """Turn two-step sign-in on once the app shows a right code; returns the recovery codes, to be
    shown this once."""
    if is_enabled(user):
        raise DomainError(_l("Two-step sign-in is already on."), "code")
    step = _matching_step(secret, code, now)
    if step is None:
        raise DomainError(_l("That code is not right. Check the time on your phone and type the code the app "
                             "shows now."), "code")
    db.session.add(TwoFactor(user_id=user.id, secret_encrypted=seal(secret), enabled_at=now,
                             last_used_step=step, failed_codes=0))
    codes = _new_recovery_codes(user, now)
    _record("auth.2fa_on", user, origin, now)
    try:
        db.session.commit()
    except IntegrityError:  # the same form sent twice at once: the first one won
        db.session.rollback()
        raise DomainError(_l("Two-step sign-in is already on."), "code") from None
    return codes


def disable(user: User, proof: str, now: datetime, origin: audit.Origin | None = None) -> None:
    if is_required_for(user):
        raise DomainError(_l("Your role must use two-step sign-in: it cannot be turned off. You can make new "
                             "recovery codes instead."), "proof")
    check_proof(user, proof, now)
    _remove(user)
    _record("auth.2fa_off", user, origin, now)
    db.session.commit()


def regenerate_recovery_codes(user: User, proof: str, now: datetime, origin: audit.Origin | None = None) -> list[str]:
    """New recovery codes; the old ones stop working."""
    check_proof(user, proof, now)
    codes = _new_recovery_codes(user, now)
    _record("auth.2fa_codes", user, origin, now)
    db.session.commit()
    return codes


def reset(email: str, origin: audit.Origin | None = None, now: datetime | None = None) -> User:
    """Support's way out for a user who lost their phone and codes: two-step sign-in is off."""
    user = user_by_email(email)
    if user is None:
        raise DomainError(_l("No user with the email %(email)s.", email=email.strip()), "email")
    if not is_enabled(user):
        raise DomainError(_l("%(email)s does not use two-step sign-in.", email=user.email), "email")
    _remove(user)
    _record("auth.2fa_reset", user, origin, now)
    db.session.commit()
    return user


def _record(action: str, user: User, origin, now) -> None:
    audit.record(action, origin, now, target=("user", user.id, user.email), organization_id=user.organization_id)


def _remove(user: User) -> None:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.execute(delete(TwoFactor).where(TwoFactor.user_id == user.id))


def check_proof(user: User, proof: str, now: datetime) -> None:
    """The current password, or a code (which is then used up), before a change to two-step sign-in."""
    proof = (proof or "").strip()
    if proof and user.check_password(proof):
        return
    try:
        verify_code(user, proof, now)
    except DomainError:
        raise DomainError(_l("That is neither your password nor a valid code."), "proof") from None


# --- signing in ---------------------------------------------------------------------------------

def start_sign_in(user: User, now: datetime, remember: bool, next_url: str) -> dict:
    """After the right password: the marker the session keeps until the code is typed (plain
    values); the count of wrong codes starts again."""
    db.session.execute(update(TwoFactor).where(TwoFactor.user_id == user.id).values(failed_codes=0))
    db.session.commit()
    return {"user_id": user.id, "at": now.isoformat(), "remember": bool(remember), "next": next_url or ""}


def pending_user(marker, now: datetime) -> User | None:
    """The user whose password was right a moment ago, or None once the marker is stale or odd."""
    try:
        started = datetime.fromisoformat(marker["at"])
        user = db.session.get(User, int(marker["user_id"]))
    except (TypeError, KeyError, ValueError):
        return None
    # (a little before "now" too: the password step may have run on a server whose clock is ahead)
    if user is None or not user.active or not CLOCK_SKEW <= now - started <= timedelta(seconds=PENDING_SECONDS):
        return None
    return user


class TooManyWrongCodes(DomainError):
    """The password must be typed again."""


def sign_in_with_code(user: User, code: str, now: datetime) -> str:
    """Check the second step's code; returns "totp" or "recovery". Each wrong code counts, and
    at MAX_FAILED_CODES the password is needed again (counted in the database, so an old
    session cookie sent again does not give more tries)."""
    settings = settings_of(user)
    if settings is None:  # reset by support meanwhile: the password step alone decides
        return "none"
    # The attempt is taken before the code is checked (one conditional UPDATE), so requests sent
    # in parallel on one password step get no more than MAX_FAILED_CODES guesses between them;
    # a right code gives it back (verify_code sets the count to 0).
    taken = db.session.execute(update(TwoFactor).where(TwoFactor.user_id == user.id,
                                                       TwoFactor.failed_codes < MAX_FAILED_CODES)
                               .values(failed_codes=TwoFactor.failed_codes + 1))
    if taken.rowcount != 1:
        db.session.rollback()
        raise TooManyWrongCodes(_l("Too many wrong codes. Sign in with your password again."), "code")
    db.session.commit()
    try:
        return verify_code(user, code, now)
    except TooManyWrongCodes:
        raise
    except DomainError:
        db.session.rollback()
        if settings_of(user).failed_codes >= MAX_FAILED_CODES:
            raise TooManyWrongCodes(_l("Too many wrong codes. Sign in with your password again."), "code") from None
        raise


def verify_code(user: User, code: str, now: datetime) -> str:
    """A 6-digit code from the app (once per time step: a replayed code is refused) or an unused
    recovery code (spent now). Returns which kind it was."""
    settings = settings_of(user)
    if settings is None:
        raise DomainError(_l("Two-step sign-in is off."), "code")
    typed = "".join((code or "").split()).replace("-", "").lower()
    if not typed:
        raise DomainError(_l("Enter the 6-digit code from your app, or a recovery code."), "code")
    if typed.isdigit() and len(typed) == 6:
        step = _matching_step(unseal(settings.secret_encrypted), typed, now)
        if step is None:
            raise DomainError(_l("That code is not right. Type the code your app shows now."), "code")
        # One conditional UPDATE: of two requests with the same code, only one gets the row.
        used = db.session.execute(
            update(TwoFactor).where(TwoFactor.user_id == user.id,
                                    or_(TwoFactor.last_used_step.is_(None), TwoFactor.last_used_step < step))
            .values(last_used_step=step, failed_codes=0))
        if used.rowcount != 1:
            db.session.rollback()
            raise DomainError(_l("That code was already used. Wait for the next one in your app."), "code")
        db.session.commit()
        return "totp"
    for row in db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id,
                                                             RecoveryCode.used_at.is_(None))):
        if _recovery_matches(row.code_hash, typed):
            spent = db.session.execute(update(RecoveryCode).where(RecoveryCode.id == row.id,
                                                                  RecoveryCode.used_at.is_(None))
                                       .values(used_at=now))
            if spent.rowcount != 1:
                break
            db.session.execute(update(TwoFactor).where(TwoFactor.user_id == user.id).values(failed_codes=0))
            db.session.commit()
            return "recovery"
    db.session.rollback()
    raise DomainError(_l("That recovery code is not right, or it was used already."), "code")


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step (within VALID_WINDOW of now) whose code this is, or None."""
    code = "".join((code or "").split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    moment = now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now
    current = totp.timecode(moment)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


# --- recovery codes -----------------------------------------------------------------------------

def _new_recovery_codes(user: User, now: datetime) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))  # ~49 bits each
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_recovery_hash(raw), created_at=now))
    return codes


def _recovery_hash(raw: str, salt: str | None = None) -> str:
    # High-entropy random codes, not passwords: a salted SHA-256 is enough, and checking ten is instant.
    salt = salt or secrets.token_hex(8)
    return f"{salt}${hashlib.sha256(f'{salt}:{raw}'.encode()).hexdigest()}"


def _recovery_matches(stored: str, raw: str) -> bool:
    salt, _sep, _digest = stored.partition("$")
    return hmac.compare_digest(_recovery_hash(raw, salt), stored)
