"""Which language a page is in (SPEC section 11; latepoint_forms/i18n.py): ``?lang=``
remembered, the browser's ``Accept-Language``, ``DEFAULT_LANGUAGE``, and only languages that
have a catalog. The catalog here is a real gettext catalog, compiled with Babel into a
directory of the test's own, holding a few of the page's strings in German."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from flask import Flask

from latepoint_forms import create_app
from latepoint_forms.extensions import db
from latepoint_forms.i18n import LANGUAGES

from .conftest import base_config, empty_all_tables

GERMAN = {
    "Skip to the content": "Zum Inhalt springen",
    "Book": "Buchen",
    "Sign in": "Anmelden",
    "Language": "Sprache",
    "The requested resource was not found": "Die angeforderte Ressource wurde nicht gefunden",
}


def compiled_catalog(directory: Path, translations: dict[Any, Any], language: str = "de") -> Path:
    """A real compiled gettext catalog of ``translations`` in ``directory`` (the app's
    TRANSLATIONS_DIRECTORY); a key and value may be (singular, plural) pairs."""
    catalog = Catalog(locale=language, domain="messages")
    for english, translated in translations.items():
        catalog.add(english, translated)
    target = directory / language / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "messages.mo").open("wb") as file:
        write_mo(file, catalog)
    return directory


def german_catalog(directory: Path) -> Path:
    return compiled_catalog(directory, GERMAN)


def make_app(sqlite_url: str, **config: Any) -> Iterator[Flask]:
    app = create_app({**base_config(sqlite_url), **config})
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            empty_all_tables()  # the database is the session's shared SQLite file
            db.engine.dispose()


@pytest.fixture
def app(sqlite_url: str, tmp_path: Path) -> Iterator[Flask]:
    yield from make_app(sqlite_url, TRANSLATIONS_DIRECTORY=str(german_catalog(tmp_path)))


def html_lang(page: str) -> str:
    found = re.search(r'<html lang="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_lang_in_the_query_is_used_and_remembered(app: Flask) -> None:
    client = app.test_client()

    first = client.get("/?lang=de")

    page = first.get_data(as_text=True)
    assert html_lang(page) == "de"
    assert "Zum Inhalt springen" in page
    assert "Skip to the content" not in page
    cookie = first.headers["Set-Cookie"]
    assert cookie.startswith("lang=de;")
    assert "SameSite=Lax" in cookie
    assert "HttpOnly" in cookie
    # The next page, without the query (another link of the site): still German.
    assert html_lang(client.get("/register").get_data(as_text=True)) == "de"
    # The switcher leads back to English, and remembers that too.
    assert html_lang(client.get("/?lang=en").get_data(as_text=True)) == "en"
    assert html_lang(client.get("/").get_data(as_text=True)) == "en"


def test_the_browser_s_language_is_used_when_nothing_was_chosen(app: Flask) -> None:
    client = app.test_client()

    german = client.get("/", headers={"Accept-Language": "de-AT,de;q=0.9,en;q=0.5"})
    japanese = client.get("/", headers={"Accept-Language": "ja,fr;q=0.8"})

    assert html_lang(german.get_data(as_text=True)) == "de"
    assert "Set-Cookie" not in german.headers  # only a choice is remembered
    # No catalog for Japanese or French here: the page stays in its own language.
    assert html_lang(japanese.get_data(as_text=True)) == "en"


def test_a_chosen_language_wins_over_the_browser_s(app: Flask) -> None:
    client = app.test_client()
    client.get("/?lang=en")

    page = client.get("/", headers={"Accept-Language": "de"}).get_data(as_text=True)

    assert html_lang(page) == "en"


def test_a_language_without_a_catalog_or_unknown_is_ignored(app: Flask) -> None:
    client = app.test_client()
    for asked in ("ja", "xx", "../../etc", ""):
        response = client.get(f"/?lang={asked}")
        assert html_lang(response.get_data(as_text=True)) == "en"
        assert "Set-Cookie" not in response.headers


def test_every_page_has_a_switcher_naming_each_language_in_itself(app: Flask) -> None:
    page = app.test_client().get("/register?next=%2Fbook").get_data(as_text=True)

    switcher = re.search(r'<nav class="languages" aria-label="Language">(.*?)</nav>', page, re.S)
    assert switcher is not None
    links = re.findall(r'<a href="([^"]+)" lang="(\w+)"[^>]*>([^<]+)</a>', switcher.group(1))
    assert [(code, name) for _, code, name in links] == [("en", "English"), ("de", "Deutsch")]
    # Each keeps the page and its other parameters.
    assert links[1][0] == "?next=%2Fbook&amp;lang=de"
    assert 'aria-current="true">English' in switcher.group(1)


def test_the_switcher_never_leads_to_another_host(app: Flask) -> None:
    # Browsers read "/\\host" as "//host": a link built from the path would leave the site.
    page = app.test_client().get("/%5Cevil.example/?a=1&a=2").get_data(as_text=True)

    hrefs = re.findall(r'<a href="([^"]+)" lang=', page)
    assert hrefs == ["?a=1&amp;a=2&amp;lang=en", "?a=1&amp;a=2&amp;lang=de"]


def test_the_api_follows_accept_language_only(app: Flask) -> None:
    client = app.test_client()
    client.get("/?lang=de")  # the web's choice, remembered in the cookie

    for path in ("/api/v1/nope?lang=de", "/api/v1/status?lang=de"):
        response = client.get(path)
        assert "Set-Cookie" not in response.headers
        assert response.get_json()["status"] == "error"
        assert "Accept-Language" in response.headers["Vary"]
    english = client.get("/api/v1/nope").get_json()["error"]["message"]
    german = client.get("/api/v1/nope", headers={"Accept-Language": "de"})
    assert english == "The requested resource was not found"
    assert german.get_json()["error"]["message"] == GERMAN[english]


def test_a_translation_that_does_not_fit_its_placeholders_gives_the_english(
    sqlite_url: str, tmp_path: Path
) -> None:
    from latepoint_forms.i18n import localise
    from latepoint_forms.problems import N_, Problem

    # A translator's slip: the placeholder renamed.
    compiled_catalog(tmp_path, {"%(label)s is required": "%(feld)s ist erforderlich"})
    for app in make_app(sqlite_url, TRANSLATIONS_DIRECTORY=str(tmp_path)):
        with app.test_request_context("/?lang=de"):
            problem = Problem("required", N_("%(label)s is required"), {"label": "First name"})
            assert localise(problem) == "First name is required"


def test_without_catalogs_there_is_english_and_no_switcher(sqlite_url: str, tmp_path: Path) -> None:
    for app in make_app(sqlite_url, TRANSLATIONS_DIRECTORY=str(tmp_path)):
        page = app.test_client().get("/?lang=de", headers={"Accept-Language": "de"})
        text = page.get_data(as_text=True)
        assert html_lang(text) == "en"
        assert 'class="languages"' not in text


def test_default_language(sqlite_url: str, tmp_path: Path) -> None:
    directory = str(german_catalog(tmp_path))
    for app in make_app(sqlite_url, TRANSLATIONS_DIRECTORY=directory, DEFAULT_LANGUAGE="de"):
        client = app.test_client()
        assert html_lang(client.get("/").get_data(as_text=True)) == "de"
        english = client.get("/", headers={"Accept-Language": "en-GB"})
        assert html_lang(english.get_data(as_text=True)) == "en"

    with pytest.raises(RuntimeError, match="DEFAULT_LANGUAGE"):
        create_app({**base_config(sqlite_url), "DEFAULT_LANGUAGE": "xx"})


REPOSITORY = Path(__file__).resolve().parents[1]


def test_the_committed_template_catalog_holds_every_wrapped_string(tmp_path: Path) -> None:
    """``make messages`` was run after the last wrapped string changed: what the translators
    get (messages.pot) is what the code and the templates ask for."""
    import subprocess
    import sys

    from babel.messages.pofile import read_po

    fresh = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run(
        [
            str(pybabel),
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "lazy_gettext",
            "-k",
            "N_",
            "-k",
            "NP_:1,2",
            "-o",
            str(fresh),
            ".",
        ],
        cwd=REPOSITORY,
        check=True,
    )

    def ids(path: Path) -> set[Any]:
        with path.open("rb") as file:
            return {message.id for message in read_po(file) if message.id}

    committed = ids(REPOSITORY / "latepoint_forms" / "translations" / "messages.pot")
    extracted = ids(fresh)
    assert extracted - committed == set(), "new strings: run `make messages`"
    assert committed - extracted == set(), "strings gone from the code: run `make messages`"


def test_a_location_s_language_is_the_fallback_of_its_booking_pages(app: Flask) -> None:
    from latepoint_forms.models import Location

    from .web_support import build_web_catalog

    catalog = build_web_catalog(app)
    with app.app_context():
        db.session.get(Location, catalog.location).language = "de"
        db.session.commit()
    path = f"/book?service={catalog.service}&location={catalog.location}&agent=any"
    client = app.test_client()

    assert html_lang(client.get(path).get_data(as_text=True)) == "de"
    # The visitor's browser, and their own choice, come first.
    english = client.get(path, headers={"Accept-Language": "en"})
    assert html_lang(english.get_data(as_text=True)) == "en"
    client.get("/?lang=en")
    assert html_lang(client.get(path).get_data(as_text=True)) == "en"
    # Pages about no location keep the default.
    assert html_lang(app.test_client().get("/register").get_data(as_text=True)) == "en"


def test_the_catalog_loader_checks_a_location_s_language(app: Flask, tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        '[[services]]\nkey = "cut"\nname = "Cut"\nduration_minutes = 30\n\n'
        '[[locations]]\nkey = "berlin"\nname = "Berlin"\ntimezone = "Europe/Berlin"\n'
        'language = "xx"\n'
    )
    result = app.test_cli_runner().invoke(args=["catalog", "load", str(catalog)])

    assert result.exit_code != 0
    assert "locations[0].language" in result.output
    assert "'xx' is not one of en, de, fr, es, pl, ja" in result.output


def test_dates_and_times_read_in_each_language() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from latepoint_forms import dates

    moment = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Europe/London"))
    read = {language: dates.date_and_time(moment, language) for language in LANGUAGES}

    assert read == {
        "en": "Tuesday 1 December 2026, 09:00",
        "de": "Dienstag, 1. Dezember 2026, 09:00",
        "fr": "mardi 1 décembre 2026, 09:00",
        "es": "martes, 1 de diciembre de 2026, 9:00",
        "pl": "wtorek, 1 grudnia 2026 09:00",
        "ja": "2026年12月1日火曜日 9:00",
    }


def test_the_time_picker_s_day_names_read_in_each_language() -> None:
    from datetime import date

    from latepoint_forms import dates

    day = date(2026, 12, 2)
    cells = {
        language: (dates.weekday_short(day, language), dates.month_short(day, language))
        for language in LANGUAGES
    }

    assert cells["en"] == ("Wed", "Dec")
    assert cells["de"] == ("Mi.", "Dez")
    assert cells["ja"] == ("水", "12月")
    assert all(weekday and month for weekday, month in cells.values())
    weeks = {language: dates.day_and_month(day, language) for language in ("en", "de", "ja")}
    assert weeks == {"en": "2 Dec", "de": "2. Dez.", "ja": "12月2日"}


def test_a_message_s_time_follows_the_request_s_language(app: Flask) -> None:
    from datetime import UTC, datetime

    from latepoint_forms.messages.formatting import local_time

    moment = datetime(2027, 3, 2, 10, 0, tzinfo=UTC)
    with app.test_request_context("/?lang=de"):
        german = local_time(moment, "Europe/London")
    with app.test_request_context("/"):
        english = local_time(moment, "Europe/London")

    assert german == "Dienstag, 2. März 2027, 10:00 GMT (Europe/London)"
    assert english == "Tuesday 2 March 2027, 10:00 GMT (Europe/London)"
