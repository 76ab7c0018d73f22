"""Settings: these defaults, then ``instance/config.py``, then ``PORTAL_*`` variables.

Paths left unset here are derived from the instance folder once the three
sources are read, so moving ``PORTAL_INSTANCE_PATH`` moves everything.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent

DEFAULTS = {
    "DATABASE_URL": None,  # default: SQLite file in the instance folder
    "KB_DIR": None,  # default: the kb/ folder of the checkout
    "INDEX_DIR": None,  # default: <instance>/index
    "UPLOAD_DIR": None,  # default: <instance>/uploads
    "SECRET_KEY": None,  # default: generated once into <instance>/secret_key
    # Rebuild a missing, stale or corrupt search index when the app starts.
    "KB_AUTO_REINDEX": True,
    # Search-as-you-type sends a request per pause; keystrokes that refine the
    # same query within this many seconds are recorded as one search.
    # portal worker checks the index this often and rebuilds one that is missing or damaged.
    "KB_REPAIR_SECONDS": 60,
    "SEARCH_MERGE_SECONDS": 30,
    "SEARCH_PAGE_SIZE": 10,
    "LANGUAGES": ["en", "es"],
    "BABEL_DEFAULT_LOCALE": "en",
    "BABEL_DEFAULT_TIMEZONE": "UTC",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    # Cookies only over HTTPS; None: on when BASE_URL starts with https://.
    "SESSION_COOKIE_SECURE": None,
    "REMEMBER_COOKIE_SECURE": None,
    # Sessions (portal.auth.sessions). Without "keep me signed in", a browser unused this long is
    # signed out: 8 hours, a working day (Zendesk's default session expiry too). Every sign-in,
    # with it or not, ends after SESSION_MAX_DAYS (30: even a trusted device asks for the password
    # monthly); the remember-me cookie lasts as long unless REMEMBER_COOKIE_DURATION says otherwise.
    "SESSION_IDLE_MINUTES": 480,
    "SESSION_MAX_DAYS": 30,
    # Sign-in throttling (portal.auth.throttle, Flask-Limiter notation): failed sign-ins per client
    # address, and per email typed (an account or not); correct ones do not count.
    "LOGIN_RATE_LIMIT_ADDRESS": "20 per 10 minutes",
    "LOGIN_RATE_LIMIT_ACCOUNT": "5 per 5 minutes",
    "WTF_CSRF_TIME_LIMIT": None,  # tied to the session instead of a clock
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,
    # Tickets
    "ONBOARDING_AREAS_FILE": None,  # feature areas for onboarding sessions; default portal/onboarding/areas.toml
    "ONBOARDING_MIN_LEAD_HOURS": 4,  # a session is booked at least this long before it starts
    "ONBOARDING_CHANGE_NOTICE_HOURS": 24,  # rescheduling and cancelling close this long before the start
    "ONBOARDING_FEEDBACK_EDIT_DAYS": 7,  # the program's feedback can be edited this long
    "ONBOARDING_EXTRA_WEEKS": 6,  # how far ahead a training request's extra session can be booked
    "PLANS_FILE": None,  # a TOML file of support plans; default: the shipped portal/plans/default.toml
    # Which team a new ticket goes to (product areas on the form, rules, a default); default: portal/teams/routing.toml
    "TEAMS_ROUTING_FILE": None,
    "TICKET_MAX_FILES": 5,  # per ticket or reply
    "TICKET_MAX_FILE_MB": 10,
    # Pictures with more pixels are refused from their header, never decoded: decoding costs about 4 bytes and
    # 40 ns a pixel (a 50 MP thumbnail: ~200 MB and ~2 s), so a few huge ones would exhaust the workers. 50 MP
    # still takes an 8K screen (7680 × 4320 = 33 MP) and a full-page retina capture (2880 × 16384 = 47 MP).
    "TICKET_MAX_IMAGE_PIXELS": 50_000_000,
    "TICKET_AUTOCLOSE_DAYS": 10,  # waiting on the customer this long without an answer: closed
    "TICKET_SOLVED_AUTOCLOSE_DAYS": 10,  # solved and not confirmed or reopened this long: closed (seed 001)
    "TICKET_SUGGESTIONS": 5,
    "TICKET_AUTOCLOSE_REMIND_DAYS": 2,  # the reminder mail goes out this long before
    # Mail: "file" writes .eml files to MAIL_DIR (default <instance>/mail); "smtp" sends.
    "BASE_URL": "http://127.0.0.1:5000",  # for links in mails
    "MAIL_BACKEND": "file",
    "MAIL_DIR": None,
    "MAIL_SERVER": "localhost",
    "MAIL_PORT": 25,
    "MAIL_USE_TLS": False,
    "MAIL_USE_SSL": False,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_SENDER": "Portal <support@localhost>",
    "MAIL_TIMEOUT": 10,
    # Where answers to notifications go (the mailbox `portal mail fetch` reads); default: the sender's
    # address. An agent writing to MAIL_NOTE_ADDRESS (default: its +note form) adds an internal note.
    "MAIL_REPLY_TO": None,
    "MAIL_NOTE_ADDRESS": None,
    # The outbox (portal worker, portal mail send): tries per message, then it shows as failed to
    # admins; the wait doubles after each failure, from MAIL_RETRY_SECONDS up to MAIL_RETRY_MAX_SECONDS.
    "MAIL_MAX_ATTEMPTS": 10,
    "MAIL_RETRY_SECONDS": 60,
    "MAIL_RETRY_MAX_SECONDS": 3600,
    "MAIL_BATCH": 50,  # messages a worker claims at a time
    "MAIL_LEASE_SECONDS": 300,  # a claim not finished in this time (a crashed worker) is taken again
    # Inbound mail (portal mail fetch / receive): one mailbox from MAIL_IMAP_* (HOST, PORT, SECURITY
    # ssl|starttls|none, USERNAME, PASSWORD, FOLDER, PROCESSED_FOLDER, CAFILE), and/or [[mailboxes]] in
    # the TOML file MAIL_MAILBOXES_FILE.
    "MAIL_IMAP_HOST": None,
    "MAIL_MAILBOXES_FILE": None,
    "MAIL_MAX_MESSAGE_MB": 25,  # larger messages are refused with an answer
    "MAIL_SENDER_LIMIT_PER_HOUR": 30,  # more from one address in an hour: a runaway script, not taken
    "MAIL_MAX_FAILURES": 5,  # a message whose processing failed this often waits for an agent instead
    "MAIL_NEW_ACCOUNTS_PER_DAY": 20,  # accounts made from one registered domain's mail per day, at most
    # An agent's mail acts as the agent when it answers a notification sent to them, or when the
    # Authentication-Results header of this server (its authserv-id, e.g. mx.example.com) says pass.
    "MAIL_AUTHSERV_ID": None,
    # JSON API rate limits (Flask-Limiter notation), per token, or per address without one.
    "API_RATE_LIMIT": "60 per minute",
    "API_RATE_LIMIT_ANONYMOUS": "30 per minute",
    "API_RATE_LIMIT_FILING": "10 per minute",  # POST /api/v1/tickets, on top of the above
    # Where the counts live: memory:// is per process; several servers share redis://host:6379
    # (needs the "redis" extra: pip install 'portal[redis]').
    "RATELIMIT_STORAGE_URI": "memory://",
    # The API writes X-RateLimit-* itself, and Retry-After only on a 429.
    "RATELIMIT_HEADERS_ENABLED": False,
    # Two-step sign-in: roles that must use it (e.g. ["admin", "agent"]; in the environment also
    # "admin,agent"); none by default, so every user chooses. The issuer is the name authenticator
    # apps show; default: the host of BASE_URL.
    "TWO_FACTOR_REQUIRED_ROLES": [],
    "TWO_FACTOR_ISSUER": None,
    # Behind N reverse proxies (nginx, a load balancer): trust N X-Forwarded-For/-Proto/-Host
    # hops, so rate limits and logs see each client's address, not the proxy's. 0: none.
    "PROXY_HOPS": 0,
    # The audit log (sign-ins, tokens, plans, exports…, on /agent/audit) keeps this many days;
    # `portal audit prune` and `portal worker` delete older entries. 0: keep everything.
    "AUDIT_RETENTION_DAYS": 365,
}


def template_and_static_dirs() -> tuple[Path, Path]:
    """Top-level folders in a checkout; copies inside the package in a wheel."""
    for base in (PROJECT_DIR, PACKAGE_DIR):
        templates, static = base / "templates", base / "static"
        if templates.is_dir():
            return templates, static
    return PROJECT_DIR / "templates", PROJECT_DIR / "static"


def default_instance_path() -> str | None:
    return os.environ.get("PORTAL_INSTANCE_PATH") or None


def read(config) -> None:
    """The three sources, in order, into a Flask config (reading only: nothing is created)."""
    config.from_mapping(DEFAULTS)
    config.from_pyfile("config.py", silent=True)
    config.from_prefixed_env("PORTAL")


def default_kb_dir() -> Path:
    checkout_kb = PROJECT_DIR / "kb"
    return checkout_kb if checkout_kb.is_dir() else Path.cwd() / "kb"


def configured_kb_dir() -> Path:
    """KB_DIR as the app would see it, without building the app (which creates the instance
    folder and its secret key, and may rebuild the search index): for read-only commands."""
    from flask import Flask

    bare = Flask("portal", instance_path=default_instance_path(), instance_relative_config=True)
    read(bare.config)
    return Path(bare.config["KB_DIR"] or default_kb_dir())


def finish(config: dict, instance_path: str) -> None:
    """Fill in the settings that derive from the instance folder."""
    instance = Path(instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    if not config.get("DATABASE_URL"):
        config["DATABASE_URL"] = f"sqlite:///{instance / 'portal.db'}"
    if not config.get("KB_DIR"):
        config["KB_DIR"] = str(default_kb_dir())
    config.setdefault("INDEX_DIR", None)
    config["INDEX_DIR"] = str(config["INDEX_DIR"] or instance / "index")
    config["UPLOAD_DIR"] = str(config.get("UPLOAD_DIR") or instance / "uploads")
    config["MAIL_DIR"] = str(config.get("MAIL_DIR") or instance / "mail")
    config["KB_DIR"] = str(config["KB_DIR"])
    config["SQLALCHEMY_DATABASE_URI"] = config["DATABASE_URL"]
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = _stored_secret_key(instance / "secret_key")
    https = str(config.get("BASE_URL") or "").lower().startswith("https://")
    for name in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        if config.get(name) is None:
            config[name] = https
    if not config.get("REMEMBER_COOKIE_DURATION"):
        config["REMEMBER_COOKIE_DURATION"] = timedelta(days=int(config["SESSION_MAX_DAYS"]))


def _stored_secret_key(path: Path) -> str:
    """Generate the key on first start and keep it, so sessions survive restarts."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_hex(32)
    # Written aside, then linked into place: link fails if another process
    # starting at the same moment won, and then both use the winner's key.
    tmp = path.with_name(f".secret_key.{os.getpid()}")
    tmp.write_text(key + "\n")
    tmp.chmod(0o600)
    try:
        os.link(tmp, path)
    except FileExistsError:
        key = path.read_text().strip()
    finally:
        tmp.unlink()
    return key
