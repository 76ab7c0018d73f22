"""Compile the translation catalogs (.po -> .mo) into the wheel."""

from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version, build_data):
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for po_path in Path(self.root, "portal", "translations").glob("*/LC_MESSAGES/*.po"):
            with po_path.open("rb") as f:
                catalog = read_po(f)
            with po_path.with_suffix(".mo").open("wb") as f:
                write_mo(f, catalog)
            build_data.setdefault("artifacts", []).append(str(po_path.with_suffix(".mo").relative_to(self.root)))
