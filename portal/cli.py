"""The ``portal`` command: Flask's CLI for this app (``portal run``, ``portal db upgrade``...)."""

from flask.cli import FlaskGroup


def _create_app():
    from . import create_app

    return create_app()


main = FlaskGroup(create_app=_create_app, help="portal: the support portal's command line.")

# `portal kb …` is found without building the app, so `kb check` stays read-only; the commands
# that need the app (`kb reindex`) load it themselves through with_appcontext.
from .kb.cli import kb_cli  # noqa: E402

main.add_command(kb_cli)
