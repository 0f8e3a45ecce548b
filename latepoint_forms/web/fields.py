"""What the forms offer and how their inputs are marked up, derived from the rules' constants.

Choices (countries, genders) and HTML limits (``maxlength``, ``pattern``, date bounds) come
from ``customers/rules.py`` and the config, so the browser checks exactly what the server will.
"""

from __future__ import annotations

import datetime
import functools
from typing import Any

import pycountry

# types-WTForms describes 3.2; SelectChoice is WTForms 3.3's (installed).
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]

from ..customers import rules
from ..folding import fold

GENDER_LABELS = {
    "male": "Male",
    "female": "Female",
    "other": "Other",
    "prefer_not_to_say": "Prefer not to say",
}
GENDER_CHOICES = [
    SelectChoice("", "Not given"),
    *(SelectChoice(g, GENDER_LABELS.get(g, g)) for g in rules.GENDERS),
]


@functools.cache
def country_names() -> dict[str, str]:
    """ISO alpha-2 code -> the name people use (pycountry's common name where it has one)."""
    names = {
        country.alpha_2: getattr(country, "common_name", None) or country.name
        for country in pycountry.countries
    }
    return dict(sorted(names.items(), key=lambda item: fold(item[1])))


def country_choices() -> list[SelectChoice]:
    return [SelectChoice("", "Choose a country")] + [
        SelectChoice(code, name) for code, name in country_names().items()
    ]


def _years_before(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def date_of_birth_bounds(today: datetime.date, min_age: int) -> tuple[str, str]:
    """(min, max) for the date-of-birth input, matching ``rules.normalise_date_of_birth``."""
    latest = _years_before(today, min_age)
    earliest = _years_before(today, rules.MAX_AGE_YEARS + 1) + datetime.timedelta(days=1)
    return earliest.isoformat(), latest.isoformat()


def name_attributes(min_length: int, autocomplete: str) -> dict[str, Any]:
    return {
        "minlength": min_length,
        "maxlength": rules.NAME_MAX_LENGTH,
        "pattern": rules.NAME_HTML_PATTERN,
        "autocomplete": autocomplete,
        "spellcheck": "false",
    }


EMAIL_ATTRIBUTES = {
    "maxlength": rules.EMAIL_MAX_LENGTH,
    "autocomplete": "email",
    "spellcheck": "false",
    "autocapitalize": "none",
}
PHONE_ATTRIBUTES = {"maxlength": rules.PHONE_MAX_LENGTH, "autocomplete": "tel"}
