"""How dates, times and record values are shown on the pages (template filters).

Dates and times are in the page's language; an English page in the English of the visitor's
region when their browser names one (``date_locale``): "9:00 AM" for en-US, "09:00" for
en-GB. Every date and time filter asks ``date_locale``, so a page's times all read alike
(the time picker's buttons, the confirmation, the manage pages). Only the text shown
changes: links, form values and ``datetime`` attributes keep their ISO forms, and the time
picker still groups morning / afternoon / evening by the location's 24-hour wall clock.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from flask import Blueprint, Response, has_request_context, request

from .. import countries, dates
from ..customers.custom_fields import FieldDefinition
from ..i18n import _, current_language
from .fields import GENDER_LABELS

# In the environ: this request's English date locale, worked out once (a time picker asks per
# button); present only where an English page read the browser's region.
_ENGLISH_LOCALE = "latepoint_forms.english_date_locale"


def date_locale() -> str:
    """The locale of this request's dates and times: the page's language ("de", "en"), or,
    when that is English, the highest-quality English tag with a region in the browser's
    ``Accept-Language`` ("en_US" for "en-US,en;q=0.9"; "en_GB" for "fr, en-GB;q=0.5" on a
    page chosen English). Only the header names the region: ``?lang=en`` or the cookie choose
    English, the browser still its region. Plain "en", no header, or a region CLDR has no
    English of: "en", the product's own forms."""
    language = current_language()
    if language != dates.SOURCE_LANGUAGE or not has_request_context():
        return language
    found = request.environ.get(_ENGLISH_LOCALE)
    if found is None:
        found = request.environ[_ENGLISH_LOCALE] = _english_of_the_browser() or language
    return str(found)


def _english_of_the_browser() -> str | None:
    for tag, quality in request.accept_languages:
        if quality <= 0:
            continue  # "en-US;q=0": not acceptable
        found = dates.english_locale(tag)
        if found is not None:
            return found
    return None


def _vary_on_region(response: Response) -> Response:
    """A page whose English dates followed ``Accept-Language`` says so to caches (i18n.py
    does already when there are catalogs; an English-only install needs it too)."""
    if _ENGLISH_LOCALE in request.environ:
        response.vary.add("Accept-Language")
    return response


def in_zone(moment: datetime, timezone: str) -> datetime:
    return moment.astimezone(ZoneInfo(timezone))


def long_date(day: date) -> str:
    """ "Tuesday 1 December 2026", in the page's language (latepoint_forms/dates.py);
    "Tuesday, December 1, 2026" for an en-US browser."""
    return dates.long_date(day, date_locale())


def weekday_short(day: date) -> str:
    return dates.weekday_short(day, date_locale())


def month_short(day: date) -> str:
    return dates.month_short(day, date_locale())


def day_and_month(day: date) -> str:
    return dates.day_and_month(day, date_locale())


def clock(moment: datetime) -> str:
    return dates.clock(moment, date_locale())


def when(moment: datetime, timezone: str) -> str:
    """A booking's start as the location's wall-clock time: "Tuesday 1 December 2026, 09:00"."""
    return dates.date_and_time(in_zone(moment, timezone), date_locale())


def local_clock(moment: datetime, timezone: str) -> str:
    """The wall-clock time of an instant at the location: "09:30" ("9:30 AM" for en-US)."""
    return clock(in_zone(moment, timezone))


def zone_name(moment: datetime, timezone: str) -> str:
    """The zone a time is in, named: "Europe/London (GMT)", "America/New_York (EST)"."""
    abbreviation = in_zone(moment, timezone).tzname() or ""
    place = timezone.replace("_", " ")
    if not abbreviation or abbreviation.startswith(("+", "-")):
        return place  # a zone without a common abbreviation: "+04" would say nothing more
    return f"{place} ({abbreviation})"


def phone_display(e164: str | None) -> str:
    """ "+447911123456" -> "+44 7911 123456": stored in E.164, shown the way people read it."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def country_name(code: str | None) -> str:
    return countries.country_name(code or "", current_language())


def gender_label(value: str | None) -> str:
    label = GENDER_LABELS.get(value or "")
    return _(label) if label else value or ""


def custom_value(definition: FieldDefinition | None, value: Any) -> str:
    """A stored custom-field value as the form offered it: a select's option label ("Gold",
    not "gold"), Yes/No for a checkbox, a date written out; otherwise the value itself."""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if definition is not None and definition.type == "select":
        labels = {option.value: option.label for option in definition.options}
        return labels.get(value, str(value))
    if definition is not None and definition.type == "date" and isinstance(value, str):
        try:
            return long_date(date.fromisoformat(value))
        except ValueError:
            return value
    if definition is not None and definition.type == "phone" and isinstance(value, str):
        return phone_display(value) or value
    return str(value)


def register_filters(bp: Blueprint) -> None:
    """The filters above, app-wide; and the ``Vary`` of a page whose dates read the browser's
    region."""
    bp.after_app_request(_vary_on_region)
    for function in (
        long_date,
        weekday_short,
        month_short,
        day_and_month,
        clock,
        when,
        local_clock,
        zone_name,
        phone_display,
        country_name,
        gender_label,
    ):
        bp.add_app_template_filter(function)
