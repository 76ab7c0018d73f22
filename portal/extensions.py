"""Extension objects, created unbound; ``create_app`` calls their ``init_app``."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Limits are set where they apply (the API blueprint); storage comes from RATELIMIT_STORAGE_URI.
limiter = Limiter(get_remote_address)


# Ids are 32-bit integers in both databases: a larger number cannot name a row (and
# PostgreSQL refuses it as a parameter), so it is "no such id", never an error.
MAX_ID = 2**31 - 1


def parse_id(value) -> int | None:
    """An id typed in a form or a query string, or None when it cannot be one."""
    text = (value or "").strip() if isinstance(value, str) else ""
    if not (text.isascii() and text.isdigit()):  # "²".isdigit() is true, and int() refuses it
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def insert_for_dialect(model):
    """An INSERT that knows ON CONFLICT (PostgreSQL's or SQLite's), for the session's database."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(model)
