"""Teams (functional areas, seed 001): groups of agents a ticket is routed to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User, utcnow
from ..extensions import db


class Team(db.Model):
    """A functional area, e.g. Accounting or Integrations; ``key`` is what the routing file names."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    name_es: Mapped[str | None] = mapped_column(String(80))
    description: Mapped[str | None] = mapped_column(Text)
    # An inactive team keeps its tickets and history but takes no new ones.
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    members: Mapped[list[User]] = relationship(secondary="team_members", order_by="User.name", viewonly=True)

    def label(self, lang: str | None = None) -> str:
        return self.name_es if lang == "es" and self.name_es else self.name

    def __repr__(self) -> str:
        return f"<Team {self.key!r}>"


class TeamMember(db.Model):
    """An agent or admin in a team (customers and writers are never members)."""

    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
