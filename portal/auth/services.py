"""Organizations and users: plain values in, rows or DomainError out."""

from __future__ import annotations

import re
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select

from ..errors import DomainError
from ..extensions import db
from .models import Organization, Role, User

MIN_PASSWORD_LENGTH = 10
PLAN_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")


def normalize_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise DomainError(f"{email!r} is not a valid email address: {exc}", "email") from None


def parse_role(value: str | Role) -> Role:
    try:
        return Role(value)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise DomainError(f"Unknown role {value!r}; choose one of: {choices}.", "role") from None


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError(f"Unknown time zone {name!r}; use an IANA name such as Europe/Madrid.", "timezone") from None
    if name not in available_timezones() and name != "UTC":
        raise DomainError(f"Unknown time zone {name!r}; use an IANA name such as Europe/Madrid.", "timezone")
    return name


def organization_by_name(name: str) -> Organization | None:
    return db.session.scalar(select(Organization).where(func.lower(Organization.name) == name.strip().lower()))


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def create_organization(name: str, plan: str, started_on: date | None = None, timezone: str = "UTC") -> Organization:
    name = name.strip()
    if not name:
        raise DomainError("An organization needs a name.", "name")
    if not PLAN_NAME.match(plan or ""):
        raise DomainError(f"Plan names are lowercase letters, digits, '-' and '_'; got {plan!r}.", "plan")
    if organization_by_name(name):
        raise DomainError(f"An organization named {name!r} already exists.", "name")
    org = Organization(name=name, plan=plan, started_on=started_on or date.today(), timezone=check_timezone(timezone))
    db.session.add(org)
    db.session.commit()
    return org


def create_user(
    email: str,
    password: str,
    role: str | Role = Role.CUSTOMER,
    name: str | None = None,
    organization: Organization | str | None = None,
) -> User:
    email = normalize_email(email)
    role = parse_role(role)
    if user_by_email(email):
        raise DomainError(f"A user with the email {email} already exists.", "email")
    _check_password(password)
    if isinstance(organization, str):
        found = organization_by_name(organization)
        if found is None:
            raise DomainError(f"No organization named {organization!r}.", "org")
        organization = found
    if role.is_customer and organization is None:
        raise DomainError("Customers belong to an organization: give one with --org.", "org")
    if role.is_staff and organization is not None:
        raise DomainError("Staff (agents, writers, admins) do not belong to a customer organization.", "org")
    user = User(email=email, name=(name or email.split("@")[0]).strip(), role=role, organization=organization)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise DomainError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.", "password")


def reset_password(email: str, password: str) -> User:
    user = user_by_email(email)
    if user is None:
        raise DomainError(f"No user with the email {email.strip()}.", "email")
    _check_password(password)
    user.set_password(password)
    db.session.commit()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The user with these credentials, or None; the same answer for every kind of failure."""
    user = user_by_email(email or "")
    if user is None:
        # Hash anyway so a missing account takes as long as a wrong password.
        User(password_hash="").set_password(password or "")
        return None
    if not user.active or not user.check_password(password or ""):
        return None
    return user


def set_locale(user: User, locale: str | None, allowed: list[str]) -> None:
    if locale not in (None, "", *allowed):
        raise DomainError(f"Unsupported language {locale!r}.", "locale")
    user.locale = locale or None
    db.session.commit()
