"""Languages (SPEC section 11): Flask-Babel, gettext catalogs, and which language a request gets.

Strings
    Every customer-facing string is wrapped so that ``pybabel extract`` finds it (babel.cfg,
    ``make messages``): ``_("…")`` / ``ngettext(...)`` in Python, ``lazy_gettext`` for a
    message defined at import time (translated when it is shown), ``{{ _("…") }}`` and
    ``{% trans %}`` in templates. The catalogs live in ``latepoint_forms/translations/<code>/
    LC_MESSAGES/messages.po``; the install step compiles them (``.mo``, not committed).

Which languages
    ``LANGUAGES`` are the ones the product is written for. A request is offered only those
    that have a catalog here (and English, the language of the source): a page must never
    say ``<html lang="de">`` over English text.

Which language a request gets (``select_language``)
    A web page: ``?lang=xx`` (remembered in the ``lang`` cookie for a year), else that cookie,
    else the browser's ``Accept-Language``, else the language of the location the request is
    about (a view sets it with ``prefer_location_language``), else ``DEFAULT_LANGUAGE``.
    The JSON API: its ``Accept-Language`` only, else English (an integration that never asked
    for a language keeps the messages it was written against).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from babel import Locale
from babel.lists import format_list
from flask import Flask, Response, current_app, has_app_context, has_request_context, request
from flask_babel import Babel, get_locale
from flask_babel import gettext as _babel_gettext
from flask_babel import lazy_gettext as _babel_lazy_gettext
from flask_babel import ngettext as _babel_ngettext
from flask_babel.speaklater import LazyString

from .countries import country_name
from .problems import TRANSLATED_PARAMETERS, Problem

log = logging.getLogger(__name__)

# The product's languages, in the switcher's order (SPEC section 11).
LANGUAGES = ("en", "de", "fr", "es", "pl", "ja")
SOURCE_LANGUAGE = "en"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
QUERY = "lang"
_CHOSEN = "latepoint_forms.language_chosen"  # in the environ: a ?lang= to remember
_LOCATION = "latepoint_forms.location_language"  # likewise: the location's language


def _in_source_language() -> bool:
    """Whether this request is answered in English, the language of the message ids (then
    a message is itself: no catalog to look in). True at once when no other language has a
    catalog; otherwise the request's language, chosen once per request."""
    if not has_app_context() or len(available_languages()) == 1:
        return True
    if has_request_context() and "Accept-Language" not in request.headers:
        from .errors import is_api_path

        if is_api_path(request.path):
            return True  # the API without Accept-Language: English, whatever else is set
    return current_language() == SOURCE_LANGUAGE


def _(message: str, **variables: Any) -> str:
    """``message`` in the request's language, ``%(name)s`` filled from ``variables``."""
    if _in_source_language():
        return message % variables if variables else message
    return str(_babel_gettext(message, **variables))


def ngettext(singular: str, plural: str, n: int, **variables: Any) -> str:
    """The plural form for ``n`` in the request's language (``%(num)d`` is ``n``)."""
    if _in_source_language():
        return (singular if n == 1 else plural) % {"num": n, **variables}
    return str(_babel_ngettext(singular, plural, n, **variables))


def lazy_gettext(message: str, **variables: Any) -> LazyString:
    """For a message defined at import time: translated each time it is shown."""
    return _babel_lazy_gettext(message, **variables)


def localise(problem: Problem | str) -> str:
    """A rule's ``Problem`` (or a plain sentence) in the request's language.

    A translation whose placeholders do not match its message id (a translator's slip the
    catalog compiler reports but still writes) gives the English sentence, logged: never a
    500 instead of the field's message."""
    if not isinstance(problem, Problem):
        return _(str(problem))
    params = {
        key: _(value) if key in TRANSLATED_PARAMETERS and isinstance(value, str) else value
        for key, value in problem.params.items()
    }
    if not _in_source_language():
        params.update(_readers_names(problem.params, current_language()))
    try:
        if problem.plural is not None and problem.count is not None:
            return ngettext(problem.template, problem.plural, problem.count, **params)
        return _(problem.template, **params)
    except (KeyError, ValueError, TypeError):
        log.exception("The translation of %r does not fit its parameters", problem.template)
        return problem.english()


# Languages that write a common noun in lower case inside a sentence (a label "Date of
# birth" is "fecha de nacimiento" there; German keeps its capital, Japanese has none).
_LOWER_CASE_NOUNS = frozenset({"fr", "es", "pl"})


def _readers_names(params: Mapping[str, Any], language: str) -> dict[str, Any]:
    """The parameters a rule writes in English for an English sentence, in ``language``
    from what the rule passes beside them: a country by its code (CLDR's name), the
    scripts an address mixes by their ISO 15924 codes (CLDR's names, listed the language's
    way), a field named inside a sentence by its label (a message id)."""
    names: dict[str, Any] = {}
    code = params.get("country_code")
    if isinstance(code, str) and "country" in params:
        names["country"] = country_name(code, language)
    scripts = params.get("script_codes")
    if isinstance(scripts, str) and "scripts" in params:
        locale = Locale.parse(language)
        listed = [locale.scripts.get(script, script) for script in scripts.split(",")]
        names["scripts"] = format_list(listed, locale=locale)
    label = params.get("label")
    if isinstance(label, str) and "field" in params:
        field = _(label)
        if language in _LOWER_CASE_NOUNS and not field[:2].isupper():
            field = field[:1].lower() + field[1:]
        names["field"] = field
    return names


def localised_details(problems: Mapping[str, Problem | str]) -> dict[str, str]:
    """Field -> sentence, in the request's language (what forms show beside their fields)."""
    return {key: localise(problem) for key, problem in problems.items()}


def available_languages(app: Flask | None = None) -> tuple[str, ...]:
    """English and the languages of ``LANGUAGES`` that have a compiled catalog here."""
    app = app or current_app
    found = app.extensions.get("latepoint_forms.languages")
    if found is None:
        directory = Path(app.config.get("TRANSLATIONS_DIRECTORY") or TRANSLATIONS)
        found = tuple(
            code
            for code in LANGUAGES
            if code == SOURCE_LANGUAGE
            or (directory / code / "LC_MESSAGES" / "messages.mo").is_file()
        )
        app.extensions["latepoint_forms.languages"] = found
    return tuple(found)


def _supported(code: str | None) -> str | None:
    if not code:
        return None
    code = code.strip().lower().replace("_", "-").split("-")[0]
    return code if code in available_languages() else None


def prefer_location_language(language: str | None) -> None:
    """A view about one location (a booking there) offers its language as the fallback
    after the visitor's own choices (``?lang``, the cookie, ``Accept-Language``)."""
    if has_request_context():
        request.environ[_LOCATION] = language
        from flask_babel import refresh

        refresh()  # the locale may have been looked up already in this request


def _from_browser() -> str | None:
    offered = available_languages()
    return request.accept_languages.best_match(offered) if request.accept_languages else None


def select_language() -> str:
    """The language of this request (see the module's docstring)."""
    if not has_request_context():
        return str(current_app.config.get("DEFAULT_LANGUAGE") or SOURCE_LANGUAGE)
    from .errors import is_api_path  # errors.py imports this module

    if is_api_path(request.path):  # by path: an API 404 has no blueprint
        return _from_browser() or SOURCE_LANGUAGE
    asked = _supported(request.args.get(QUERY))
    if asked is not None:
        request.environ[_CHOSEN] = asked
        return asked
    return (
        _supported(request.cookies.get(COOKIE))
        or _from_browser()
        or _supported(request.environ.get(_LOCATION))
        or _supported(current_app.config.get("DEFAULT_LANGUAGE"))
        or SOURCE_LANGUAGE
    )


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else SOURCE_LANGUAGE


def _remember_choice(response: Response) -> Response:
    """A ``?lang=`` choice kept in its cookie; and, where a page could be in another
    language, caches told that it depends on the browser's."""
    if len(available_languages()) > 1:
        response.vary.add("Accept-Language")
    chosen = request.environ.get(_CHOSEN)
    if chosen is not None and request.cookies.get(COOKIE) != chosen:
        response.set_cookie(
            COOKIE,
            chosen,
            max_age=COOKIE_MAX_AGE,
            samesite="Lax",
            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
            httponly=True,
        )
    return response


def language_links() -> list[dict[str, Any]]:
    """The switcher's entries: this page in each available language, by its own name."""
    current = current_language()
    links = []
    kept = [(key, value) for key, value in request.args.items(multi=True) if key != QUERY]
    for code in available_languages():
        links.append(
            {
                "code": code,
                "name": (Locale.parse(code).get_display_name(code) or code).capitalize(),
                # A query alone: this very page, whatever its path says (never another host).
                "url": "?" + urlencode([*kept, (QUERY, code)]),
                "current": code == current,
            }
        )
    return links


def init_app(app: Flask) -> None:
    """Flask-Babel with this module's language selection; ``{% trans %}``, ``_()`` and the
    switcher's data in templates."""
    default = str(app.config.get("DEFAULT_LANGUAGE") or SOURCE_LANGUAGE)
    if default not in LANGUAGES:
        raise RuntimeError(f"DEFAULT_LANGUAGE: {default!r} is not one of {', '.join(LANGUAGES)}")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    if app.config.get("TRANSLATIONS_DIRECTORY"):
        app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(app.config["TRANSLATIONS_DIRECTORY"])
    app.config.setdefault("BABEL_DEFAULT_LOCALE", SOURCE_LANGUAGE)
    Babel(app, locale_selector=select_language)
    app.after_request(_remember_choice)

    @app.context_processor
    def languages() -> dict[str, Any]:
        return {"current_language": current_language, "language_links": language_links}
