"""The ``portal`` command: Flask's CLI for this app (``portal run``, ``portal db upgrade``...)."""

from flask.cli import FlaskGroup


def _create_app():
    from . import create_app

    return create_app()


main = FlaskGroup(create_app=_create_app, help="portal: the support portal's command line.")
