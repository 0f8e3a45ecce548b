"""Countries as people read them: the menu's names, and the name inside a sentence.

One home for both, free of Flask, so the rules' messages ("Enter a valid postal code for the
United Kingdom") name a country exactly as the country menu of the forms does. In another
language both use CLDR's name in it (the rules pass the country's code beside its English
name, and ``i18n.localise`` puts the reader's name in: "für Vereinigtes Königreich").
"""

from __future__ import annotations

import functools

import pycountry
from babel import Locale

from .folding import fold

SOURCE_LANGUAGE = "en"

# English short names said with "the" ("for the Netherlands", "for the Gambia"): the plural
# and descriptive names. Matched on the name the menu shows.
_WITH_THE_WORDS = ("Islands", "Republic", "Kingdom", "States", "Emirates", "Territory")
_WITH_THE_NAMES = frozenset(
    {
        "Bahamas",
        "Comoros",
        "Gambia",
        "Holy See (Vatican City State)",
        "Maldives",
        "Netherlands",
        "Philippines",
        "Seychelles",
    }
)


@functools.cache
def country_names(language: str = SOURCE_LANGUAGE) -> dict[str, str]:
    """ISO alpha-2 code -> the name people use, in ``language``, sorted for a menu.

    English: pycountry's common name where it has one ("Bolivia", not "Bolivia,
    Plurinational State of"). Another language: CLDR's name in it (Babel: "Vereinigtes
    Königreich", "Royaume-Uni", "イギリス"), pycountry's English where CLDR has none."""
    names = {
        country.alpha_2: getattr(country, "common_name", None) or country.name
        for country in pycountry.countries
    }
    if language != SOURCE_LANGUAGE:
        territories = Locale.parse(language).territories
        names = {code: territories.get(code) or name for code, name in names.items()}
    return dict(sorted(names.items(), key=lambda item: fold(item[1])))


def country_name(code: str, language: str = SOURCE_LANGUAGE) -> str:
    """The country's name in ``language``; an unknown code is returned as given."""
    return country_names(language).get(code.upper(), code)


def country_in_sentence(code: str) -> str:
    """ "GB" -> "the United Kingdom", "FR" -> "France"; an unknown code is returned as given."""
    name = country_names().get(code.upper())
    if name is None:
        return code
    if name in _WITH_THE_NAMES or any(word in name.split() for word in _WITH_THE_WORDS):
        return f"the {name}"
    return name
