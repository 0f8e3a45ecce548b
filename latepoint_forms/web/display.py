"""How dates, times and record values are shown on the pages (template filters)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import phonenumbers
from flask import Blueprint

from .fields import GENDER_LABELS, country_names


def in_zone(moment: datetime, timezone: str) -> datetime:
    return moment.astimezone(ZoneInfo(timezone))


def long_date(day: date) -> str:
    """ "Tuesday 1 December 2026" (no locale-dependent strftime padding)."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def clock(moment: datetime) -> str:
    return f"{moment:%H:%M}"


def when(moment: datetime, timezone: str) -> str:
    """A booking's start as the location's wall-clock time: "Tuesday 1 December 2026, 09:00"."""
    local = in_zone(moment, timezone)
    return f"{long_date(local.date())}, {clock(local)}"


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
    return country_names().get(code or "", code or "")


def gender_label(value: str | None) -> str:
    return GENDER_LABELS.get(value or "", value or "")


def register_filters(bp: Blueprint) -> None:
    for function in (
        long_date,
        clock,
        when,
        local_clock,
        zone_name,
        phone_display,
        country_name,
        gender_label,
    ):
        bp.add_app_template_filter(function)
