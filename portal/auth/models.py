from __future__ import annotations

import enum
from datetime import date, datetime, timezone

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db


def utcnow() -> datetime:
    """Naive UTC: stored the same way on SQLite and PostgreSQL."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Role(str, enum.Enum):
    CUSTOMER = "customer"
    CUSTOMER_ADMIN = "customer_admin"
    AGENT = "agent"
    WRITER = "writer"
    ADMIN = "admin"

    @property
    def is_staff(self) -> bool:
        return self in (Role.AGENT, Role.WRITER, Role.ADMIN)

    @property
    def is_customer(self) -> bool:
        return self in (Role.CUSTOMER, Role.CUSTOMER_ADMIN)


class Organization(db.Model):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # Go-live: the end of the implementation, when support starts. The plans in force
    # over time are the organization's plan history (portal.plans.models.OrganizationPlan).
    started_on: Mapped[date]
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="organization")
    domains: Mapped[list[OrganizationDomain]] = relationship(
        back_populates="organization", order_by="OrganizationDomain.domain", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<Organization {self.name!r}>"


class OrganizationDomain(db.Model):
    """A mail domain of the organization's: mail from an unknown address there gets a customer account."""

    __tablename__ = "organization_domains"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str] = mapped_column(String(253), unique=True)  # lower case, e.g. acme.example.com
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organization: Mapped[Organization] = relationship(back_populates="domains")


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(
        db.Enum(Role, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
    )
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    # The user's own choice of interface language; None follows the browser.
    locale: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(default=True)
    # The generation of the account's sessions: every session and remember-me cookie carries the
    # value it was signed in with, so raising it (portal.auth.sessions.end_all) ends them all.
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Mail to this address came back as undeliverable (a bounce): agents see it next to the name.
    email_bouncing_at: Mapped[datetime | None]
    email_bounce_reason: Mapped[str | None] = mapped_column(String(200))

    organization: Mapped[Organization | None] = relationship(back_populates="users")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        """What Flask-Login keeps for the account: its id and its session generation."""
        return f"{self.id}:{self.session_epoch}"

    def set_password(self, password: str) -> None:
        # Werkzeug's default is scrypt with a random salt.
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles

    @property
    def can_see_drafts(self) -> bool:
        return self.role in (Role.WRITER, Role.ADMIN)

    def __repr__(self) -> str:
        return f"<User {self.email!r} {self.role.value}>"


# --- two-step sign-in (TOTP), portal.auth.two_factor -------------------------------------------

class TwoFactor(db.Model):
    """A user's authenticator app, once confirmed with a code: no row, no second step."""

    __tablename__ = "user_two_factor"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    # The TOTP secret, encrypted with a key derived from SECRET_KEY (Fernet); never shown again.
    secret_encrypted: Mapped[str] = mapped_column(String(255))
    enabled_at: Mapped[datetime]
    # The last 30-second time step a code was accepted for: a code is good once (no replay).
    last_used_step: Mapped[int | None]
    # Wrong codes since the password was last typed; at the limit the password is asked again.
    failed_codes: Mapped[int] = mapped_column(default=0)


class RecoveryCode(db.Model):
    """One of the codes shown once when two-step sign-in is turned on; each signs in once."""

    __tablename__ = "user_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(128))  # "salt$sha256", never the code itself
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
