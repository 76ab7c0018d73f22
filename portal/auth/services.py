"""Organizations and users: plain values in, rows or DomainError out."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select

from .. import audit
from ..errors import DomainError, lazy_gettext as _l
from ..extensions import db
from .models import Organization, OrganizationDomain, Role, User

MIN_PASSWORD_LENGTH = 10


def normalize_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise DomainError(_l("%(email)s is not a valid email address: %(reason)s", email=repr(email), reason=str(exc)),
                          "email") from None


def parse_role(value: str | Role) -> Role:
    try:
        return Role(value)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise DomainError(_l("Unknown role %(role)s; choose one of: %(choices)s.", role=repr(value), choices=choices),
                          "role") from None


def _unknown_timezone(name: str):
    return _l("Unknown time zone %(name)s; use an IANA name such as Europe/Madrid.", name=repr(name))


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError(_unknown_timezone(name), "timezone") from None
    if name not in available_timezones() and name != "UTC":
        raise DomainError(_unknown_timezone(name), "timezone")
    return name


def organization_by_name(name: str) -> Organization | None:
    return db.session.scalar(select(Organization).where(func.lower(Organization.name) == name.strip().lower()))


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def create_organization(name: str, started_on: date, timezone: str = "UTC", commit: bool = True) -> Organization:
    """The organization alone; ``portal.plans.history.create_organization`` adds its go-live plan."""
    name = name.strip()
    if not name:
        raise DomainError(_l("An organization needs a name."), "name")
    if organization_by_name(name):
        raise DomainError(_l("An organization named %(name)s already exists.", name=repr(name)), "name")
    org = Organization(name=name, started_on=started_on, timezone=check_timezone(timezone))
    db.session.add(org)
    if commit:
        db.session.commit()
    return org


def create_user(
    email: str,
    password: str,
    role: str | Role = Role.CUSTOMER,
    name: str | None = None,
    organization: Organization | str | None = None,
    commit: bool = True,
    origin: audit.Origin | None = None,
) -> User:
    """``origin``: who creates the account and from where, for the audit log."""
    email = normalize_email(email)
    role = parse_role(role)
    if user_by_email(email):
        raise DomainError(_l("A user with the email %(email)s already exists.", email=email), "email")
    _check_password(password)
    organization = _organization_for(role, organization)
    user = User(email=email, name=(name or email.split("@")[0]).strip(), role=role, organization=organization)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()  # the id, for the audit entry
    audit.record("user.create", origin, target=("user", user.id, email),
                 organization_id=organization.id if organization else None, detail={"role": role.value})
    if commit:
        db.session.commit()
    return user


# --- the organizations' mail domains (mail from an unknown address there gets an account) ----

def _organization_for(role: Role, organization: Organization | str | None) -> Organization | None:
    """The organization a user of ``role`` belongs to: customers one, staff none."""
    if isinstance(organization, str):
        found = organization_by_name(organization)
        if found is None:
            raise DomainError(_l("No organization named %(name)s.", name=repr(organization)), "org")
        organization = found
    if role.is_customer and organization is None:
        raise DomainError(_l("Customers belong to an organization: give one with --org."), "org")
    if role.is_staff and organization is not None:
        raise DomainError(_l("Staff (agents, writers, admins) do not belong to a customer organization."), "org")
    return organization


def normalize_domain(value: str) -> str:
    domain = (value or "").strip().lower().lstrip("@").rstrip(".")
    try:
        # The domain part of an address: validated (and IDNA-encoded) by the same library as addresses.
        checked = validate_email(f"postmaster@{domain}", check_deliverability=False).ascii_domain
    except EmailNotValidError as exc:
        raise DomainError(_l("%(domain)s is not a valid mail domain: %(reason)s", domain=repr(value), reason=str(exc)),
                          "domain") from None
    return checked.lower()


def organization_for_domain(domain: str) -> Organization | None:
    return db.session.scalar(select(Organization).join(OrganizationDomain)
                             .where(OrganizationDomain.domain == domain.strip().lower()))


def add_domain(organization: Organization, value: str) -> OrganizationDomain:
    """Register a mail domain; one organization per domain."""
    domain = normalize_domain(value)
    owner = organization_for_domain(domain)
    if owner is not None:
        raise DomainError(_l("%(domain)s already belongs to %(org)s.", domain=domain, org=owner.name), "domain")
    row = OrganizationDomain(organization_id=organization.id, domain=domain)
    db.session.add(row)
    db.session.commit()
    return row


def remove_domain(organization: Organization, value: str) -> None:
    domain = (value or "").strip().lower().lstrip("@")
    row = db.session.scalar(select(OrganizationDomain).where(OrganizationDomain.organization_id == organization.id,
                                                             OrganizationDomain.domain == domain))
    if row is None:
        raise DomainError(_l("%(org)s has no mail domain %(domain)s.", org=organization.name, domain=repr(domain)),
                          "domain")
    db.session.delete(row)
    db.session.commit()


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise DomainError(_l("The password must have at least %(min)s characters.", min=MIN_PASSWORD_LENGTH),
                          "password")


def _existing(email: str) -> User:
    user = user_by_email(email)
    if user is None:
        raise DomainError(_l("No user with the email %(email)s.", email=email.strip()), "email")
    return user


def end_sessions(user: User, commit: bool = True) -> None:
    """End every session and remember-me cookie of the user's (portal.auth.sessions): one
    UPDATE that raises the generation, so two at once both count."""
    user.session_epoch = User.session_epoch + 1
    if commit:
        db.session.commit()


def reset_password(email: str, password: str, origin: audit.Origin | None = None) -> User:
    """An operator sets someone's password: every session of theirs ends."""
    user = _existing(email)
    _check_password(password)
    user.set_password(password)
    _password_changed(user, origin)
    end_sessions(user)
    return user


def change_password(user: User, current: str, new: str, origin: audit.Origin | None = None) -> None:
    """The user changes their own password: sessions elsewhere end (the caller signs this one in again)."""
    if not user.check_password(current or ""):
        raise DomainError(_l("That is not your current password."), "current_password")
    _check_password(new)
    user.set_password(new)
    _password_changed(user, origin)
    end_sessions(user)


def _password_changed(user: User, origin) -> None:
    audit.record("auth.password_change", origin, target=("user", user.id, user.email),
                 organization_id=user.organization_id)


def set_active(email: str, active: bool, origin: audit.Origin | None = None) -> User:
    """Deactivate (no sign-in, sessions and API tokens stop working) or reactivate an account."""
    user = _existing(email)
    if user.active != active:
        audit.record("user.deactivate" if not active else "user.reactivate", origin,
                     target=("user", user.id, user.email), organization_id=user.organization_id)
    user.active = active
    end_sessions(user)
    return user


def set_role(email: str, role: str | Role, organization: Organization | str | None = None,
             origin: audit.Origin | None = None) -> User:
    """Give someone another role; a customer keeps their organization unless given another, staff
    belong to none. Their sessions end, so the new role applies at once; recorded in the audit log."""
    user, role = _existing(email), parse_role(role)
    if role.is_customer and organization is None:
        organization = user.organization
    organization = _organization_for(role, organization)
    before, before_org = user.role, user.organization
    if before is role and before_org == organization:
        return user
    user.role, user.organization = role, organization
    detail = {"from": before.value, "to": role.value}
    if before_org != organization:
        detail["organization"] = {"from": before_org and before_org.name, "to": organization and organization.name}
    audit.record("user.role_change", origin, target=("user", user.id, user.email),
                 organization_id=(organization or before_org).id if (organization or before_org) else None,
                 detail=detail)
    end_sessions(user)
    return user


def authenticate(email: str, password: str) -> User | None:
    """The user with these credentials, or None; the same answer for every kind of failure."""
    user = user_by_email(email or "")
    if user is None:
        # Hash anyway so a missing account takes as long as a wrong password.
        User(password_hash="").set_password(password or "")
        return None
    if not user.check_password(password or "") or not user.active:  # (hashing first: the same time)
        return None
    return user


def set_locale(user: User, locale: str | None, allowed: list[str]) -> None:
    if locale not in (None, "", *allowed):
        raise DomainError(_l("Unsupported language %(locale)s.", locale=repr(locale)), "locale")
    user.locale = locale or None
    db.session.commit()
