"""Which package may import which (STYLE.md 12): the import-linter contracts in pyproject.toml.

grimp builds the graph from every import statement, those inside functions too, so a lazy
``from ..tickets import billing`` in ``portal/plans/`` breaks this test like a top-level one."""

from pathlib import Path

from importlinter import configuration
from importlinter.application.use_cases import lint_imports

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_the_import_contracts_hold(capsys):
    configuration.configure()  # what the lint-imports command does first
    kept = lint_imports(config_filename=str(PYPROJECT), cache_dir=None, no_logo=True)
    assert kept, capsys.readouterr().out
