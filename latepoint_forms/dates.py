"""Dates and times as people read them, in their language (SPEC section 11), free of Flask.

English keeps the product's own forms ("Tuesday 1 December 2026", "09:00": the 24-hour clock
of the business's home); every other language gets its own from Babel's CLDR data: the
order of day, month and year, the month's name and case ("1 grudnia 2026"), the 12- or
24-hour clock ("9:00" in Japanese, "09:00" in German) and how a date and a time join
("2026年12月1日火曜日 9:00"). The time zone is the caller's to name beside the time.

Each function takes a language code ("en", "de") or a CLDR locale identifier ("en_US",
"en-US" read alike). English with a region is CLDR's English of that region ("Tuesday,
December 1, 2026", "9:00 AM" in en_US; "09:00" in en_GB and en_IE; "9:00 am" in en_AU and
en_NZ): ``english_locale`` turns a browser's language tag into one. Plain "en" keeps the
product's forms. Which locale a page uses is the web's to choose (web/display.py).
"""

from __future__ import annotations

import functools
import re
from datetime import date, datetime, time

from babel import Locale, localedata
from babel.dates import format_date, format_skeleton, format_time

SOURCE_LANGUAGE = "en"
_REGION = re.compile(r"[A-Za-z]{2}|[0-9]{3}")  # BCP 47: two letters, or three digits
_SCRIPT = re.compile(r"[A-Za-z]{4}")


def english_locale(tag: str) -> str | None:
    """The CLDR locale of an English language tag with a region: "en-US" -> "en_US",
    "en-Latn-IN" -> "en_IN"; None for plain "en", another language, or a region CLDR has no
    English of (then the product's own English forms are used)."""
    parts = tag.strip().replace("_", "-").split("-")
    if parts[0].lower() != SOURCE_LANGUAGE:
        return None
    rest = parts[1:]
    if rest and _SCRIPT.fullmatch(rest[0]):
        rest = rest[1:]
    if not rest or not _REGION.fullmatch(rest[0]):
        return None
    identifier = f"{SOURCE_LANGUAGE}_{rest[0].upper()}"
    return identifier if localedata.exists(identifier) else None


@functools.lru_cache(maxsize=32)
def _cldr(language: str) -> Locale:
    """Babel's locale of a language code or locale identifier ("de", "en_US", "en-US")."""
    return Locale.parse(language.replace("-", "_"))


@functools.lru_cache(maxsize=32)
def _joiner(language: str) -> str:
    """CLDR's pattern joining a full date ({1}) and a time ({0}), quotes removed."""
    return str(_cldr(language).datetime_formats["full"]).replace("'", "")


def long_date(day: date, language: str = SOURCE_LANGUAGE) -> str:
    """ "Tuesday 1 December 2026"; "Dienstag, 1. Dezember 2026"; "2026年12月1日火曜日";
    "Tuesday, December 1, 2026" (en_US)."""
    if language == SOURCE_LANGUAGE:
        return f"{day:%A} {day.day} {day:%B %Y}"  # no locale-dependent strftime padding
    return format_date(day, "full", locale=_cldr(language))


def clock(moment: datetime | time, language: str = SOURCE_LANGUAGE) -> str:
    """ "09:00"; "9:00" in Japanese and Spanish; "9:00\u202fAM" in en_US (CLDR's narrow
    no-break space before the AM): the locale's 12- or 24-hour clock."""
    if language == SOURCE_LANGUAGE:
        return f"{moment:%H:%M}"
    return format_time(moment, "short", locale=_cldr(language))


def date_and_time(local: datetime, language: str = SOURCE_LANGUAGE) -> str:
    """A wall-clock moment (already in its zone): "Tuesday 1 December 2026, 09:00"."""
    if language == SOURCE_LANGUAGE:
        return f"{long_date(local.date())}, {clock(local)}"
    return _joiner(language).format(clock(local, language), long_date(local.date(), language))


def weekday_short(day: date, language: str = SOURCE_LANGUAGE) -> str:
    """ "Wed"; "Mi."; "水" (the time picker's day cells)."""
    if language == SOURCE_LANGUAGE:
        return day.strftime("%a")
    return format_date(day, "EEE", locale=_cldr(language))


def month_short(day: date, language: str = SOURCE_LANGUAGE) -> str:
    """ "Dec"; "Dez."; "12月" (standalone: a month named beside a day number)."""
    if language == SOURCE_LANGUAGE:
        return day.strftime("%b")
    return format_date(day, "LLL", locale=_cldr(language))


def day_and_month(day: date, language: str = SOURCE_LANGUAGE) -> str:
    """ "2 Dec"; "2. Dez."; "12月2日"; "Dec 2" in en_US (the time picker's week: "2 Dec –
    8 Dec")."""
    if language == SOURCE_LANGUAGE:
        return f"{day.day} {day:%b}"
    return format_skeleton("MMMd", day, locale=_cldr(language))
