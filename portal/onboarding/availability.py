"""When an onboarding expert takes no sessions: their days off, and the public holidays of the
country and region they chose (from the ``holidays`` package), on their own local dates.

The slot finder, the booking rules and other areas' conflict checks all ask here. It imports
only the shared modules and onboarding's models, so any package may call ``unavailable()``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from types import MappingProxyType

import holidays as holidays_lib
from babel import Locale
from flask import has_request_context
from flask_babel import get_locale

from ..errors import DomainError, lazy_gettext as _l, text
from ..extensions import db
from .models import ExpertProfile

logger = logging.getLogger(__name__)


# --- the regions the package knows ---------------------------------------------------

@lru_cache(maxsize=1)
def country_codes() -> tuple[str, ...]:
    """ISO 3166 alpha-2 codes of every country the package has holidays for."""
    return tuple(sorted(holidays_lib.list_supported_countries(include_aliases=False)))


@lru_cache(maxsize=512)
def _country(code: str) -> holidays_lib.HolidayBase:
    """An empty table (no years computed) of the country: its names, subdivisions and languages."""
    return holidays_lib.country_holidays(code)


def _reader_language() -> str:
    return str(get_locale() or "en") if has_request_context() else "en"


def countries(language: str | None = None) -> list[tuple[str, str]]:
    """(code, name) of every supported country, named in ``language`` (the reader's) by Babel's
    locale data, sorted by name; a code Babel does not name is shown as itself."""
    return list(_countries(language or _reader_language()))


@lru_cache(maxsize=16)
def _countries(language: str) -> tuple[tuple[str, str], ...]:
    names = Locale.parse(language).territories
    return tuple(sorted(((code, names.get(code, code)) for code in country_codes()), key=lambda c: c[1].casefold()))


def _aliases(table: holidays_lib.HolidayBase) -> dict[str, list[str]]:
    """Subdivision code -> its names, where the package version has them."""
    return table.get_subdivision_aliases() if hasattr(table, "get_subdivision_aliases") else {}


def subdivisions(country: str) -> list[tuple[str, str]]:
    """(code, label) of the country's regions: "Madrid (MD)" where the package has a name, else the code."""
    if country not in country_codes():
        return []
    table = _country(country)
    aliases = _aliases(table)
    return [(code, f"{aliases[code][0]} ({code})" if aliases.get(code) else code) for code in table.subdivisions]


def check_region(country: str | None, subdivision: str | None) -> tuple[str | None, str | None]:
    """The typed country and region as the package's codes ("es", "madrid" -> "ES", "MD"); no
    country means no public holidays. Raises DomainError naming the field that is wrong."""
    country = (country or "").strip().upper()
    subdivision = (subdivision or "").strip()
    if not country:
        if subdivision:
            raise DomainError(_l("Choose the country of that region first."), "holiday_country")
        return None, None
    try:
        table = _country(country)
    except NotImplementedError:
        raise DomainError(_l("No public holidays are known for the country %(code)s: choose one from the list.",
                             code=repr(country)), "holiday_country") from None
    country = table.country  # an alpha-3 code (ESP) becomes the alpha-2 one (ES)
    if not subdivision:
        return country, None
    wanted = subdivision.casefold()
    aliases = _aliases(table)
    for code in table.subdivisions:
        if code.casefold() == wanted or any(name.casefold() == wanted for name in aliases.get(code, ())):
            return country, code
    raise DomainError(_l("%(country)s has no region %(code)s: choose one from the list, or the whole country.",
                         country=country, code=repr(subdivision)), "holiday_subdivision")


# --- holiday tables ------------------------------------------------------------------

def _language(country: str, reader: str | None) -> str:
    """Holiday names in the reader's language when the package has it for the country (``en``
    matches ``en_US``), else in the country's own: deterministic, whatever the server's LANG."""
    table = _country(country)
    supported = table.supported_languages or ()
    reader = reader or _reader_language()
    for language in supported:
        if language == reader or language.split("_")[0] == reader.split("_")[0]:
            return language
    return table.default_language or (supported[0] if supported else "en_US")


@lru_cache(maxsize=1024)
def _year(country: str, subdivision: str | None, year: int, language: str) -> Mapping[date, str]:
    """One year's holidays of a region, computed once per process: listing slots asks for every
    expert and every day. Read-only, so threads can share it."""
    try:
        table = holidays_lib.country_holidays(country, subdiv=subdivision, years=year, language=language)
    except NotImplementedError:  # a region a newer package dropped: its country's holidays still count
        logger.warning("the holidays package no longer knows %s-%s; using %s's national holidays",
                       country, subdivision, country)
        table = holidays_lib.country_holidays(country, years=year, language=language)
    return MappingProxyType(dict(table.items()))


def holidays_between(expert: ExpertProfile, first: date, last: date,
                     language: str | None = None) -> dict[date, str]:
    """The public holidays of the expert's region from ``first`` to ``last`` (local dates, inclusive)."""
    if not expert.holiday_country:
        return {}
    lang = _language(expert.holiday_country, language)
    found = {}
    for year in range(first.year, last.year + 1):
        for day, name in _year(expert.holiday_country, expert.holiday_subdivision, year, lang).items():
            if first <= day <= last:
                found[day] = name
    return dict(sorted(found.items()))


def reason(expert: ExpertProfile, day: date, language: str | None = None) -> str | None:
    """Why the expert takes no sessions on their local ``day``, or None when they may."""
    holiday = holidays_between(expert, day, day, language).get(day)
    if holiday:
        return text(_l("Public holiday: %(name)s (%(region)s)", name=holiday, region=expert.holiday_region))
    for off in expert.days_off:
        if off.starts_on <= day <= off.ends_on:
            return text(_l("Day off: %(note)s", note=off.note) if off.note else _l("Day off"))
    return None


def unavailable(user_id: int, day: date) -> str | None:
    """A human reason ("Public holiday: Inmaculada Concepción (ES-MD)", "Day off: Dentist")
    when the expert with this user id takes no sessions on their local ``day``; None when they
    may, or when the user is not an expert."""
    expert = db.session.get(ExpertProfile, user_id)
    return reason(expert, day) if expert is not None else None
