from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from .. import config as settings
from .check import check_kb
from .search import reindex


@click.group("kb", help="The knowledge base: search index and linting.")
def kb_cli():
    pass


@kb_cli.command("reindex")
@click.option("--full", is_flag=True, help="Rebuild from scratch instead of updating what changed.")
@with_appcontext
def reindex_command(full):
    """Update the search index from the KB folder."""
    kb_dir, index_dir = Path(current_app.config["KB_DIR"]), Path(current_app.config["INDEX_DIR"])
    report = reindex(kb_dir, index_dir, full=full)
    for error in report.errors:
        click.secho(f"skipped: {error}", fg="yellow", err=True)
    if report.full:
        click.echo(f"Rebuilt the index: {report.documents} articles in {report.seconds:.2f}s.")
    elif report.changed:
        click.echo(f"Updated the index: {len(report.added)} added, {len(report.updated)} changed, "
                   f"{len(report.deleted)} removed; {report.documents} articles in {report.seconds:.2f}s.")
    else:
        click.echo(f"The index is up to date ({report.documents} articles).")


@kb_cli.command("check")
@click.option("--dir", "kb_dir", type=click.Path(file_okay=False, path_type=Path),
              help="The KB folder to check (default: the configured KB_DIR).")
def check_command(kb_dir):
    """Lint the articles: front matter, duplicate slugs, broken links, missing images.

    Read-only: it does not build the app (whose start-up may rebuild the search index and
    creates the instance folder), so it is safe against a running instance's folder."""
    if not kb_dir:
        kb_dir = Path(current_app.config["KB_DIR"]) if current_app else settings.configured_kb_dir()
    problems = check_kb(kb_dir)
    for problem in problems:
        click.secho(str(problem), fg="red" if problem.level == "error" else "yellow")
    errors = sum(p.level == "error" for p in problems)
    warnings = len(problems) - errors
    click.echo(f"{kb_dir}: {errors} error(s), {warnings} warning(s).")
    if errors:
        raise SystemExit(1)
