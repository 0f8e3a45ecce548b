"""How times, places and phone numbers read in a message (no database; dates in the request's
language, latepoint_forms/dates.py)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import phonenumbers

from .. import dates
from ..i18n import _, current_language


def local_time(moment: datetime, timezone: str) -> str:
    """ "Tuesday 2 March 2027, 10:00 GMT (Europe/London)": the location's wall-clock time, the
    zone named, so nobody reads it in their own."""
    local = moment.astimezone(ZoneInfo(timezone))
    language = current_language()
    if language != dates.SOURCE_LANGUAGE:
        return _(
            "%(when)s %(abbreviation)s (%(zone)s)",
            when=dates.date_and_time(local, language),
            abbreviation=local.tzname() or "",
            zone=timezone,
        )
    weekday, month, time = local.strftime("%A"), local.strftime("%B"), local.strftime("%H:%M")
    return _(
        "%(weekday)s %(day)d %(month)s %(year)d, %(time)s %(abbreviation)s (%(zone)s)",
        weekday=weekday,
        day=local.day,
        month=month,
        year=local.year,
        time=time,
        abbreviation=local.tzname() or "",
        zone=timezone,
    )


def phone_text(e164: str | None) -> str:
    """ "+442079460321" -> "+44 20 7946 0321"."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
