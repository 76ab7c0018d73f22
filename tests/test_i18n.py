"""The Spanish interface is complete: every string in the code has a translation."""

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tests.conftest import REPO

KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2), "_l": None,
            "lazy_gettext": None, "lazy_pgettext": ((1, "c"), 2)}


def _source_messages() -> set[tuple[str | None, str]]:
    found = set()
    for subdir, method in (("portal", [("**.py", "python")]), ("templates", [("**.html", "jinja2")])):
        for _file, _line, message, _comments, context in extract_from_dir(
            REPO / subdir, method_map=method, keywords=KEYWORDS
        ):
            found.add((context, message[0] if isinstance(message, tuple) else message))
    return found


def test_every_interface_string_is_translated_to_spanish():
    with open(REPO / "portal/translations/es/LC_MESSAGES/messages.po", "rb") as f:
        catalog = read_po(f)
    translated = {
        (m.context, m.id[0] if isinstance(m.id, tuple) else m.id)
        for m in catalog
        if m.id and (all(m.string) if isinstance(m.string, tuple) else m.string) and not m.fuzzy
    }
    missing = sorted(_source_messages() - translated, key=str)
    assert not missing, f"run `pybabel extract/update` and translate: {missing}"


def test_spanish_pages_render_in_spanish(client):
    page = client.get("/kb/", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "¿En qué podemos ayudarle?" in page and "Guías" in page and "Iniciar sesión" in page
