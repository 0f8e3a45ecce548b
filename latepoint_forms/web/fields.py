"""What the forms offer and how their inputs are marked up, derived from the rules' constants.

Choices (countries, genders) and HTML limits (``maxlength``, ``pattern``, date bounds) come
from ``customers/rules.py`` and the config, so the browser checks exactly what the server will.
"""

from __future__ import annotations

import datetime
from typing import Any

import phonenumbers

# types-WTForms describes 3.2; SelectChoice is WTForms 3.3's (installed).
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]

from ..countries import country_names
from ..customers import rules
from ..customers.fields import CustomerField
from ..customers.input import RuleSettings
from ..i18n import _, current_language, lazy_gettext
from ..problems import N_

# Message ids: shown with ``_()`` (display.py) or lazily (the choices, built at import).
GENDER_LABELS = {
    "male": N_("Male"),
    "female": N_("Female"),
    "other": N_("Other"),
    "prefer_not_to_say": N_("Prefer not to say"),
}
GENDER_CHOICES = [
    SelectChoice("", lazy_gettext("Not given")),
    *(SelectChoice(g, lazy_gettext(GENDER_LABELS.get(g, g))) for g in rules.GENDERS),
]


def country_choices() -> list[SelectChoice]:
    return [SelectChoice("", _("Choose a country"))] + [
        SelectChoice(code, name) for code, name in country_names(current_language()).items()
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


def input_attributes(field: CustomerField, settings: RuleSettings) -> dict[str, Any]:
    """The HTML attributes of a customer field's input, from its declaration."""
    attrs: dict[str, Any] = {}
    if field.required or field.required_on_web:
        attrs["required"] = True
    if field.min_length is not None:
        attrs["minlength"] = field.min_length(settings)
    if field.max_length is not None:
        attrs["maxlength"] = field.max_length
    if field.html_pattern is not None:
        attrs["pattern"] = field.html_pattern
    if field.autocomplete is not None:
        attrs["autocomplete"] = field.autocomplete
    attrs.update(field.html_attributes)
    return attrs


def phone_example(region: str | None) -> str | None:
    """A local example number for ``region`` as people there write it (phonenumbers' example
    mobile number, else its general example), for the phone input's placeholder."""
    if not region:
        return None
    example = phonenumbers.example_number_for_type(
        region, phonenumbers.PhoneNumberType.MOBILE
    ) or phonenumbers.example_number(region)
    if example is None:
        return None
    return str(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL))


# The sign-in form's email: the customer email's limits, a password manager's "username".
SIGN_IN_EMAIL_ATTRIBUTES = {
    "maxlength": rules.EMAIL_MAX_LENGTH,
    "autocomplete": "username",
    "spellcheck": "false",
    "autocapitalize": "none",
}
