"""Dates and times as people read them, in their language (SPEC section 11), free of Flask.

English keeps the product's own forms ("Tuesday 1 December 2026", "09:00": the 24-hour clock
of the business's home); every other language gets its own from Babel's CLDR data: the
order of day, month and year, the month's name and case ("1 grudnia 2026"), the 12- or
24-hour clock ("9:00" in Japanese, "09:00" in German) and how a date and a time join
("2026年12月1日火曜日 9:00"). The time zone is the caller's to name beside the time.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, time

from babel import Locale
from babel.dates import format_date, format_skeleton, format_time

SOURCE_LANGUAGE = "en"


@functools.lru_cache(maxsize=16)
def _joiner(language: str) -> str:
    """CLDR's pattern joining a full date ({1}) and a time ({0}), quotes removed."""
    return str(Locale.parse(language).datetime_formats["full"]).replace("'", "")


def long_date(day: date, language: str = SOURCE_LANGUAGE) -> str:
    """ "Tuesday 1 December 2026"; "Dienstag, 1. Dezember 2026"; "2026年12月1日火曜日"."""
    if language == SOURCE_LANGUAGE:
        return f"{day:%A} {day.day} {day:%B %Y}"  # no locale-dependent strftime padding
    return format_date(day, "full", locale=language)


def clock(moment: datetime | time, language: str = SOURCE_LANGUAGE) -> str:
    """ "09:00"; "9:00" in Japanese and Spanish; the locale's 12- or 24-hour clock."""
    if language == SOURCE_LANGUAGE:
        return f"{moment:%H:%M}"
    return format_time(moment, "short", locale=language)


def date_and_time(local: datetime, language: str = SOURCE_LANGUAGE) -> str:
    """A wall-clock moment (already in its zone): "Tuesday 1 December 2026, 09:00"."""
    if language == SOURCE_LANGUAGE:
        return f"{long_date(local.date())}, {clock(local)}"
    return _joiner(language).format(clock(local, language), long_date(local.date(), language))


def weekday_short(day: date, language: str = SOURCE_LANGUAGE) -> str:
    """ "Wed"; "Mi."; "水" (the time picker's day cells)."""
    if language == SOURCE_LANGUAGE:
        return day.strftime("%a")
    return format_date(day, "EEE", locale=language)


def month_short(day: date, language: str = SOURCE_LANGUAGE) -> str:
    """ "Dec"; "Dez."; "12月" (standalone: a month named beside a day number)."""
    if language == SOURCE_LANGUAGE:
        return day.strftime("%b")
    return format_date(day, "LLL", locale=language)


def day_and_month(day: date, language: str = SOURCE_LANGUAGE) -> str:
    """ "2 Dec"; "2. Dez."; "12月2日" (the time picker's week: "2 Dec – 8 Dec")."""
    if language == SOURCE_LANGUAGE:
        return f"{day.day} {day:%b}"
    return format_skeleton("MMMd", day, locale=language)
