"""The embedded widget's own words in every language (SPEC sections 10 and 11).

The widget (``static/widget/widget.js``) writes its headings, buttons, steps and status
lines itself: before its first call to the API (its title, "Loading…"), between calls, and
when no call can answer at all (a lost connection). So its text travels with the script:
``/widget.js`` carries these messages in every language that has a catalog here
(``web/widget.py`` writes them in), and the widget picks the language it already sends as
``Accept-Language`` (``data-lang``, else the page's, else the browser's; English when none
is offered). What the server says — field labels, help texts, field errors — comes from the
API in that same language.

The messages are ordinary message ids of the catalogs (``make messages`` extracts them, the
catalog tests hold them to 100 %). A message is sent as its translation's template:
``%(name)s`` placeholders are filled in by the widget. A plural message is sent as its form
for each of the language's CLDR plural categories (``one``, ``few``, ``many``, ``other``…),
which the widget chooses with ``Intl.PluralRules`` — the browser's CLDR, the same rules
Babel wrote into the catalogs' ``Plural-Forms``.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.support import NullTranslations, Translations

from ..i18n import SOURCE_LANGUAGE
from ..problems import N_, NP_

log = logging.getLogger(__name__)

# Key (as widget.js asks for it) -> message id, or a (singular, plural) pair.
MESSAGES: dict[str, str | tuple[str, str]] = {
    "bookingTitle": N_("Book an appointment"),
    "registerTitle": N_("Create your customer account"),
    "close": N_("Close"),
    "loading": N_("Loading…"),
    "retry": N_("Try again"),
    "back": N_("Back"),
    "next": N_("Continue"),
    "book": N_("Book"),
    "register": N_("Register"),
    "optional": N_("(optional)"),
    "more": N_("More about you (optional)"),
    # The booking flow's steps, as its progress list names them.
    "stepService": N_("Service"),
    "stepPlace": N_("Place & person"),
    "stepTime": N_("Day and time"),
    "stepDetails": N_("Your details"),
    "stepDone": N_("Done"),
    "chooseService": N_("Choose a service"),
    "minutes": N_("%(minutes)s min"),
    "place": N_("Where"),
    "person": N_("Person"),
    "anyone": N_("Anyone available"),
    "day": N_("Day"),
    "previousDay": N_("Previous day"),
    "nextDay": N_("Next day"),
    # The times' legend: "Free times, Tuesday 8 December 2026 (Europe/London)".
    "freeTimes": N_("Free times, %(day)s (%(zone)s)"),
    "noTimes": N_("No free times on this day. Please pick another day."),
    "loadingTimes": N_("Loading free times…"),
    "timesShown": NP_("%(num)d free time", "%(num)d free times"),
    # The summary above the customer's details (each a label beside its value).
    "summaryService": N_("Service"),
    "summaryPlace": N_("Place"),
    "summaryPerson": N_("With"),
    "summaryTime": N_("Time"),
    "sending": N_("Sending…"),
    "fixFields": N_("Please correct the fields marked below."),
    "booked": N_("Your booking is confirmed"),
    "bookedCode": N_("Your booking code is %(code)s."),
    "what": N_("%(service)s at %(place)s"),
    "whatWith": N_("%(service)s at %(place)s with %(person)s"),
    "registered": N_("You are registered"),
    "customerCode": N_("Your customer number is %(code)s."),
    # A refused origin cannot be told apart from a lost connection (the browser hides it).
    "network": N_(
        "We could not reach the booking service, or it is not available on this page. "
        "Please check your connection and try again."
    ),
    "refused": N_("This form cannot be used on this page."),
    "tooMany": NP_(
        "Too many attempts. Please wait %(num)d second and try again.",
        "Too many attempts. Please wait %(num)d seconds and try again.",
    ),
    "tooManyNoWait": N_("Too many attempts just now. Please wait a while and try again."),
    "slotTaken": N_("That time has just been taken. Please choose another time."),
    "stillWorking": N_("Still working on your request…"),
    "noServices": N_("Nothing can be booked online right now. Please try again later."),
}

# Enough counts to meet every plural category of the product's languages (CLDR's rules
# for them look at n % 10 and n % 100).
_SAMPLE_COUNTS = range(0, 200)


def plural_forms(
    translations: NullTranslations, locale: Locale, pair: tuple[str, str]
) -> tuple[dict[str, str], list[int]]:
    """Category -> the message's form for it, and the counts whose form differs from the
    one its category already has (a catalog whose ``Plural-Forms`` splits a CLDR category,
    or a plural message left untranslated, which falls back to English's two forms; the
    catalog tests keep this list empty for the product's catalogs)."""
    forms: dict[str, str] = {}
    conflicts = []
    for n in _SAMPLE_COUNTS:
        form = translations.ngettext(pair[0], pair[1], n)
        if forms.setdefault(locale.plural_form(n), form) != form:
            conflicts.append(n)
    # "other" is every language's last resort (Polish uses it for fractions only, which
    # the widget never counts): the form of the counts' last category where it is missing.
    forms.setdefault("other", forms[locale.plural_form(_SAMPLE_COUNTS[-1])])
    return forms, conflicts


def texts_for(translations: NullTranslations, language: str) -> dict[str, str | dict[str, str]]:
    """Every message in one language (templates with their placeholders left in)."""
    locale = Locale.parse(language)
    found: dict[str, str | dict[str, str]] = {}
    for key, message in MESSAGES.items():
        if isinstance(message, tuple):
            found[key], conflicts = plural_forms(translations, locale, message)
            if conflicts:
                log.warning(
                    "widget text %s in %s: the forms for %s do not follow CLDR's plural "
                    "categories; the first form of each category is used",
                    key,
                    language,
                    conflicts[:5],
                )
        else:
            found[key] = translations.gettext(message)
    return found


@lru_cache(maxsize=8)
def _all_texts(
    directory: str, languages: tuple[str, ...], stamps: tuple[tuple[int, int, int], ...]
) -> str:
    del stamps  # part of the cache key only: a recompiled catalog is read again
    texts = {}
    for language in languages:
        translations: NullTranslations
        if language == SOURCE_LANGUAGE:
            translations = NullTranslations()
        else:
            translations = Translations.load(directory, [language])
        texts[language] = texts_for(translations, language)
    # Sorted and compact: the same catalogs give the same bytes (the widget's version).
    found = json.dumps(texts, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    # Line and paragraph separators are valid in JSON but end a line in older JavaScript.
    return found.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def widget_texts_json(directory: Path, languages: tuple[str, ...]) -> str:
    """``{language: {key: template | {category: template}}}`` as JSON, for the script."""
    stamps = tuple(
        _stamp(directory / language / "LC_MESSAGES" / "messages.mo") for language in languages
    )
    return _all_texts(str(directory), languages, stamps)


def _stamp(path: Path) -> tuple[int, int, int]:
    """Time, size and inode: a catalog recompiled within one clock tick, or copied in with
    its old time kept, still differs in size or inode (mostly)."""
    try:
        found = path.stat()
    except FileNotFoundError:  # English has none; a catalog removed since start-up is English
        return (0, 0, 0)
    return (found.st_mtime_ns, found.st_size, found.st_ino)
