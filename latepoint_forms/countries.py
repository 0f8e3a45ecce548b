"""Countries as people read them: the menu's names, and the name inside a sentence.

One home for both, free of Flask, so the rules' messages ("Enter a valid postal code for the
United Kingdom") name a country exactly as the country menu of the forms does.
"""

from __future__ import annotations

import functools

import pycountry

from .folding import fold

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
def country_names() -> dict[str, str]:
    """ISO alpha-2 code -> the name people use (pycountry's common name where it has one)."""
    names = {
        country.alpha_2: getattr(country, "common_name", None) or country.name
        for country in pycountry.countries
    }
    return dict(sorted(names.items(), key=lambda item: fold(item[1])))


def country_in_sentence(code: str) -> str:
    """ "GB" -> "the United Kingdom", "FR" -> "France"; an unknown code is returned as given."""
    name = country_names().get(code.upper())
    if name is None:
        return code
    if name in _WITH_THE_NAMES or any(word in name.split() for word in _WITH_THE_WORDS):
        return f"the {name}"
    return name
