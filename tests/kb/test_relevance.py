"""What must rank first for the queries readers really type, on the shipped KB."""

import pytest

from portal.kb.search import search

CASES = [
    # (reader's language, query, the article that must rank first, why)
    ("en", "priorities", "priorities-explained", "plural, stemmed"),
    ("en", "reset password", "how-do-i-reset-my-password", "plain words"),
    ("en", "resetting my pasword", "how-do-i-reset-my-password", "stemmed form and a typo"),
    ("en", "pasword", "how-do-i-reset-my-password", "a typo alone"),
    ("en", "monthly ticket quota", "what-happens-when-we-reach-the-ticket-quota", "several words"),
    ("en", '"closed automatically"', "why-was-my-ticket-closed-automatically", "a phrase"),
    ("en", "bearer token", "api-authentication-tokens", "API docs"),
    ("en", "book onboarding session", "book-an-onboarding-session", "tutorial title"),
    ("en", "sla clock pause", "when-does-the-sla-clock-pause", "faq title"),
    ("en", "write a good ticket", "how-to-write-a-good-ticket", "stop words"),
    ("es", "cuántas horas de soporte quedan", "cuantas-horas-de-soporte-me-quedan", "a Spanish question"),
    ("es", "cuantas horas de soporte", "cuantas-horas-de-soporte-me-quedan", "Spanish without accents"),
    ("es", "escribir un buen ticket", "como-escribir-un-buen-ticket", "Spanish stemming"),
    ("es", "reservar sesión", "reservar-una-sesion-de-formacion", "Spanish tutorial"),
    ("es", "límites de la api", "api-errores-y-limites", "Spanish API docs"),
]


@pytest.mark.parametrize("lang, query, expected, why", CASES, ids=[c[1] for c in CASES])
def test_best_article_ranks_first(kb_index, lang, query, expected, why):
    results = search(kb_index, query, lang=lang)
    assert results.hits, f"nothing found for {query!r} ({why})"
    assert results.hits[0].slug == expected, [h.slug for h in results.hits[:5]]


def test_did_you_mean_uses_whole_words(kb_index):
    assert search(kb_index, "pasword").did_you_mean == "password"
    assert search(kb_index, "onbording").did_you_mean == "onboarding"
    assert search(kb_index, "password").did_you_mean is None


def test_same_topic_in_two_languages_follows_the_reader(kb_index):
    english = [h.slug for h in search(kb_index, "ticket priority P1 P2 P3 P4", lang="en").hits[:2]]
    spanish = [h.slug for h in search(kb_index, "ticket priority P1 P2 P3 P4", lang="es").hits[:2]]
    assert english[0] == "priorities-explained"
    assert "prioridades-de-los-tickets" in spanish
