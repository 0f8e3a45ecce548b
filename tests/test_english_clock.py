"""English dates and times follow the visitor's region (SPEC section 11: "12- or 24-hour by
locale"): an English page asked for by an ``en-US`` browser reads "9:00 AM" and "Thursday,
December 3, 2026" (Babel's CLDR English of that region, latepoint_forms/dates.py), every time
on it alike; ``en-GB`` reads "09:00"; plain ``en`` or no header keeps the product's own forms;
other languages are untouched (web/display.py ``date_locale``).

The app's ``CLOCK`` is Wednesday 2 December 2026, 08:10 in London; the catalog's location is
open round the clock (tests/web_support.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient

from latepoint_forms import dates

from .test_i18n import german_catalog, make_app
from .web_support import WebCatalog, build_web_catalog, csrf_token, page

NOW = datetime(2026, 12, 2, 8, 10, tzinfo=UTC)
DAY = date(2026, 12, 3)  # Thursday
START = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)  # 09:00 in London (GMT)
NNBSP = "\u202f"  # CLDR writes a narrow no-break space before "AM"/"PM"
TWENTY_FOUR_HOUR = re.compile(r"(?<![T\d])\d\d:\d\d(?![Z\d])")  # "09:00", not "T09:00Z"
GUEST = {"first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com"}


@pytest.fixture
def app(sqlite_url: str, tmp_path: Path) -> Iterator[Flask]:
    yield from make_app(
        sqlite_url, TRANSLATIONS_DIRECTORY=str(german_catalog(tmp_path)), CLOCK=lambda: NOW
    )


@pytest.fixture
def catalog(app: Flask) -> WebCatalog:
    return build_web_catalog(app)


def browser(app: Flask, accept_language: str | None) -> FlaskClient:
    client = app.test_client()
    if accept_language is not None:
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept_language
    return client


def time_step(client: FlaskClient, catalog: WebCatalog, query: str = "") -> str:
    path = (
        f"/book?service={catalog.service}&location={catalog.location}&agent=any"
        f"&date={DAY.isoformat()}{query}"
    )
    response = client.get(path)
    assert response.status_code == 200
    return page(response)


def shown_times(html: str) -> list[str]:
    return re.findall(r'<a class="time" href="[^"]*">([^<]+)</a>', html)


def confirmation(client: FlaskClient, catalog: WebCatalog) -> str:
    path = catalog.book_path(START)
    details = page(client.get(path))
    response = client.post(path, data={**GUEST, "csrf_token": csrf_token(client, path)})
    assert response.status_code == 302, response.status_code
    assert response.headers["Location"] == "/book/confirmation"
    return details + page(client.get("/book/confirmation"))


# The pages


def test_an_american_browser_reads_a_12_hour_clock_on_the_time_step(
    app: Flask, catalog: WebCatalog
) -> None:
    html = time_step(browser(app, "en-US,en;q=0.9"), catalog)

    assert '<html lang="en">' in html
    times = shown_times(html)
    assert times[:3] == [f"12:00{NNBSP}AM", f"12:30{NNBSP}AM", f"1:00{NNBSP}AM"]
    assert f"9:00{NNBSP}AM" in times
    assert f"12:00{NNBSP}PM" in times
    assert f"5:30{NNBSP}PM" in times
    assert not any(re.fullmatch(r"\d\d:\d\d", shown) for shown in times)
    assert '<h2 class="subhead" id="times" tabindex="-1">Thursday, December 3, 2026</h2>' in html
    assert "Dec 2 – Dec 8" in html  # the week, in the same locale
    # Only the text changes: the links keep the ISO start, the groups the 24-hour hours.
    assert f'start={START:%Y-%m-%dT%H:%MZ}"' in html
    groups = dict(
        re.findall(r'<ul class="times" aria-labelledby="times-(\w+)">(.*?)</ul>', html, re.S)
    )
    assert shown_times(groups["morning"])[-1] == f"11:30{NNBSP}AM"
    assert shown_times(groups["afternoon"])[0] == f"12:00{NNBSP}PM"
    assert shown_times(groups["evening"])[0] == f"5:00{NNBSP}PM"


def test_an_american_browser_s_details_and_confirmation_read_alike(
    app: Flask, catalog: WebCatalog
) -> None:
    html = confirmation(browser(app, "en-US"), catalog)

    when = f"Thursday, December 3, 2026, 9:00{NNBSP}AM"
    assert f"<dd>{when}</dd>" in html  # the details step
    assert f"{when}–9:30{NNBSP}AM" in html  # the confirmation, start and end
    assert not TWENTY_FOUR_HOUR.search(html)  # none shown; the ISO values stay as they were
    assert f'action="{catalog.book_path(START)}"'.replace("&", "&amp;") in html


@pytest.mark.parametrize(
    ("accept_language", "when"),
    [
        ("en-GB,en;q=0.9", "Thursday, 3 December 2026, 09:00"),  # CLDR's en_GB: a comma
        ("en-IE", "Thursday 3 December 2026, 09:00"),
        ("en", "Thursday 3 December 2026, 09:00"),  # the product's own English
        (None, "Thursday 3 December 2026, 09:00"),
        ("en-XX", "Thursday 3 December 2026, 09:00"),  # no such region: the product's
        ("en-US;q=0, en", "Thursday 3 December 2026, 09:00"),  # refused, not asked for
    ],
)
def test_a_24_hour_english_keeps_09_00(
    app: Flask, catalog: WebCatalog, accept_language: str | None, when: str
) -> None:
    client = browser(app, accept_language)

    times = shown_times(time_step(client, catalog))
    html = confirmation(client, catalog)

    assert times[:3] == ["00:00", "00:30", "01:00"]
    assert "09:00" in times
    assert "17:30" in times
    assert f"<dd>{when}</dd>" in html
    assert f"{when}–09:30" in html
    assert "AM" not in html


def test_the_region_is_the_best_english_tag_s_even_when_english_was_chosen(
    app: Flask, catalog: WebCatalog
) -> None:
    # English by the page's own switcher (?lang=en, then its cookie): the browser's region.
    client = browser(app, "de, en-US;q=0.5")
    assert f"9:00{NNBSP}AM" in shown_times(time_step(client, catalog, "&lang=en"))
    assert f"9:00{NNBSP}AM" in shown_times(time_step(client, catalog))
    # The highest-quality English tag with a region wins; plain "en" names none.
    for header in ("en, en-US;q=0.8, en-GB;q=0.7", "fr, en-GB;q=0.4, en-US;q=0.3"):
        times = shown_times(time_step(browser(app, header), catalog, "&lang=en"))
        assert ("09:00" in times) is header.startswith("fr"), header


def test_german_is_unaffected_by_an_american_second_choice(app: Flask, catalog: WebCatalog) -> None:
    html = time_step(browser(app, "de, en-US;q=0.5"), catalog)

    assert '<html lang="de">' in html
    times = shown_times(html)
    assert "09:00" in times
    assert "17:30" in times
    assert not any("AM" in shown or "PM" in shown for shown in times)
    assert "Donnerstag, 3. Dezember 2026" in html


def test_an_english_only_install_still_tells_caches_it_varies(
    sqlite_url: str, tmp_path: Path
) -> None:
    for app in make_app(sqlite_url, TRANSLATIONS_DIRECTORY=str(tmp_path), CLOCK=lambda: NOW):
        catalog = build_web_catalog(app)
        client = browser(app, "en-US")
        response = client.get(
            f"/book?service={catalog.service}&location={catalog.location}&agent=any"
            f"&date={DAY.isoformat()}"
        )
        assert f"9:00{NNBSP}AM" in shown_times(page(response))
        assert "Accept-Language" in response.headers["Vary"]


# dates.py, without Flask

MOMENT = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Europe/London"))
AFTERNOON = datetime(2026, 12, 1, 14, 30, tzinfo=ZoneInfo("Europe/London"))


def test_dates_in_american_english() -> None:
    assert dates.date_and_time(MOMENT, "en_US") == f"Tuesday, December 1, 2026, 9:00{NNBSP}AM"
    assert dates.clock(AFTERNOON, "en_US") == f"2:30{NNBSP}PM"
    assert dates.clock(time(0, 30), "en_US") == f"12:30{NNBSP}AM"
    assert dates.long_date(MOMENT.date(), "en_US") == "Tuesday, December 1, 2026"
    assert dates.day_and_month(date(2026, 12, 2), "en_US") == "Dec 2"
    assert dates.weekday_short(date(2026, 12, 2), "en_US") == "Wed"
    assert dates.month_short(date(2026, 12, 2), "en_US") == "Dec"
    assert dates.clock(MOMENT, "en-US") == f"9:00{NNBSP}AM"  # a language tag reads the same


def test_dates_in_british_english() -> None:
    assert dates.date_and_time(MOMENT, "en_GB") == "Tuesday, 1 December 2026, 09:00"
    assert dates.clock(AFTERNOON, "en_GB") == "14:30"
    assert dates.day_and_month(date(2026, 12, 2), "en_GB") == "2 Dec"


def test_dates_in_the_product_s_english() -> None:
    assert dates.date_and_time(MOMENT, "en") == "Tuesday 1 December 2026, 09:00"
    assert dates.date_and_time(MOMENT) == "Tuesday 1 December 2026, 09:00"
    assert dates.clock(AFTERNOON, "en") == "14:30"
    assert dates.long_date(MOMENT.date(), "en") == "Tuesday 1 December 2026"
    assert dates.day_and_month(date(2026, 12, 2), "en") == "2 Dec"


def test_other_english_regions_follow_cldr() -> None:
    clocks = {
        locale: dates.clock(AFTERNOON, locale)
        for locale in ("en_IE", "en_NZ", "en_AU", "en_CA", "en_IN", "en_PH")
    }
    assert clocks == {
        "en_IE": "14:30",
        "en_NZ": f"2:30{NNBSP}pm",
        "en_AU": f"2:30{NNBSP}pm",
        "en_CA": f"2:30{NNBSP}p.m.",
        "en_IN": f"2:30{NNBSP}PM",
        "en_PH": f"2:30{NNBSP}PM",
    }


@pytest.mark.parametrize(
    ("tag", "locale"),
    [
        ("en-US", "en_US"),
        ("en-us", "en_US"),
        ("en_GB", "en_GB"),
        ("en-Latn-IN", "en_IN"),
        ("en-150", "en_150"),
        ("en", None),
        ("en-XX", None),
        ("en-ZZ", None),
        ("de-DE", None),
        ("*", None),
        ("", None),
        ("english", None),
    ],
)
def test_which_english_a_language_tag_names(tag: str, locale: str | None) -> None:
    assert dates.english_locale(tag) == locale
