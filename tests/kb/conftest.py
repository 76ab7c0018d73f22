import textwrap
from pathlib import Path

import pytest


def write_article(kb: Path, folder: str, slug: str, body: str = "Some text.", **meta) -> Path:
    """A small article file; front matter keys as keyword arguments."""
    front = {"title": slug.replace("-", " ").capitalize(), "summary": f"About {slug}.", "category": "tickets",
             "lang": "en", "tags": "[demo]", **meta}
    lines = ["---", *(f"{k}: {v}" for k, v in front.items() if v is not None), "---", "", textwrap.dedent(body)]
    path = kb / folder / f"{slug}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture
def small_kb(tmp_path) -> Path:
    kb = tmp_path / "kb"
    write_article(kb, "guides", "password-reset", "## Reset\nUse the sign-in page to reset your password.",
                  title="Reset your password", tags="[password, sign-in]", category="account")
    write_article(kb, "faq", "quota-limit", "When you reach the monthly quota, filing waits until the 1st.",
                  title="What happens at the ticket quota?", category="plans")
    write_article(kb, "tutorials", "buscar-articulos", "Escriba palabras en el buscador de la página.",
                  title="Cómo buscar artículos", lang="es", category="knowledge-base")
    return kb
