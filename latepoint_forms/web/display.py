"""How dates, times and record values are shown on the pages (template filters)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from flask import Blueprint

from .. import dates
from ..countries import country_names
from ..customers.custom_fields import FieldDefinition
from ..i18n import _, current_language
from .fields import GENDER_LABELS


def in_zone(moment: datetime, timezone: str) -> datetime:
    return moment.astimezone(ZoneInfo(timezone))


def long_date(day: date) -> str:
    """ "Tuesday 1 December 2026", in the page's language (latepoint_forms/dates.py)."""
    return dates.long_date(day, current_language())


def weekday_short(day: date) -> str:
    return dates.weekday_short(day, current_language())


def month_short(day: date) -> str:
    return dates.month_short(day, current_language())


def day_and_month(day: date) -> str:
    return dates.day_and_month(day, current_language())


def clock(moment: datetime) -> str:
    return dates.clock(moment, current_language())


def when(moment: datetime, timezone: str) -> str:
    """A booking's start as the location's wall-clock time: "Tuesday 1 December 2026, 09:00"."""
    return dates.date_and_time(in_zone(moment, timezone), current_language())


def local_clock(moment: datetime, timezone: str) -> str:
    """The wall-clock time of an instant at the location: "09:30"."""
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
    return country_names(current_language()).get(code or "", code or "")


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
