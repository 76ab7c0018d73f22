from pathlib import Path

from flask import current_app, jsonify, redirect, url_for
from sqlalchemy import text

from ..extensions import db
from ..kb.search import index_state
from . import bp


@bp.get("/")
def home():
    return redirect(url_for("kb.index"))


@bp.get("/healthz")
def healthz():
    """For load balancers and monitoring: the database and the search index."""
    database = {"ok": True}
    try:
        database["revision"] = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception as exc:  # report, never raise: this page exists to tell what is broken
        db.session.rollback()
        database = {"ok": False, "error": type(exc).__name__}
    state = index_state(Path(current_app.config["KB_DIR"]), Path(current_app.config["INDEX_DIR"]), check_files=False)
    index = {"ok": state.status == "ok", "status": state.status, "documents": state.documents,
             "built_at": state.built_at}
    ok = database["ok"] and index["ok"]
    return jsonify(status="ok" if ok else "degraded", database=database, index=index), 200 if ok else 503
