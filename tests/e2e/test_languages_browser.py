"""Each language in Chromium (SPEC section 11): /register, every step of /book and the
confirmation read in the chosen language with no English sentence of the catalog left, a
German server-side error is German, and a Japanese confirmation shows a Japanese date.

The page's language is chosen as a visitor chooses it: ``?lang=`` once, remembered after.
"""

from __future__ import annotations

from typing import Any

import pytest
from babel.messages.pofile import read_po

from ..test_i18n_catalogs import CATALOGS
from ..test_i18n_pages import english_sentences
from .conftest import DESKTOP, LiveServer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CATALOGS, reason="no catalogs yet"),
]


# README's screenshots of the time picker in other languages (desktop and phone width).
SCREENSHOT_LANGUAGES = ("de", "ja")


def translation(language: str, message_id: str) -> str:
    with CATALOGS[language].open("rb") as file:
        catalog = read_po(file, locale=language)
    message = catalog.get(message_id)
    assert message is not None, message_id
    assert message.string, message_id
    return str(message.string)


def english_left(tab: Any, english: list[str]) -> list[str]:
    text = " ".join(tab.locator("body").inner_text().split())
    return [sentence for sentence in english if sentence in text]


@pytest.fixture
def tab(browser: Any, live_server: LiveServer) -> Any:
    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == []


@pytest.mark.parametrize("language", sorted(CATALOGS))
def test_registration_booking_and_the_account_read_in_the_language(
    tab: Any, language: str, snap: Any
) -> None:
    english = english_sentences(language)
    left: dict[str, list[str]] = {}

    def check(state: str) -> None:
        assert tab.locator("html").get_attribute("lang") == language, state
        found = english_left(tab, english)
        if found:
            left[state] = found

    tab.goto(f"/register?lang={language}")
    check("/register")
    tab.fill("#first_name", "Zoë")
    tab.fill("#last_name", "Okafor")
    tab.fill("#email", f"zoe.{language}@example.com")
    tab.fill("#password", "a long enough passphrase")
    tab.fill("#confirm_password", "a long enough passphrase")
    tab.locator("form button[type=submit]:visible").last.click()
    tab.wait_for_url("**/account")
    check("/account")
    tab.locator("form[action$='/sign-out'] button").click()
    tab.wait_for_url("**/")
    tab.goto("/book")
    check("service")
    tab.click("a.choice:has-text('Haircut')")
    check("place")
    tab.click("a.choice:has-text('Harbour Street')")
    check("person")
    tab.locator("a.choice[href*='agent=any']").click()
    check("day and time")
    if language in SCREENSHOT_LANGUAGES:
        snap(tab, f"book-time-{language}")
    tab.locator("a.day").nth(1).click()
    tab.locator("a.time").first.click()
    check("details")
    tab.fill("#first_name", "Grace")
    tab.fill("#last_name", "Hopper")
    tab.fill("#email", f"grace.{language}@example.com")
    tab.fill("#phone", "07911 123456")
    tab.locator("form#details-form button[type=submit]:visible").last.click()
    tab.wait_for_url("**/book/confirmation")
    check("confirmation")

    assert left == {}


def test_a_german_server_side_error_is_german(tab: Any, live_server: LiveServer) -> None:
    tab.goto("/register?lang=de")
    tab.fill("#first_name", "Grace")
    tab.fill("#last_name", "Hopper")
    # Well-formed to the browser, refused by the server's rule (the domain has no dot part).
    tab.fill("#email", "grace@localhost")
    tab.fill("#password", "a long enough passphrase")
    tab.fill("#confirm_password", "a long enough passphrase")
    tab.locator("form button[type=submit]:visible").last.click()

    error = tab.locator("#email-error").inner_text()
    german = translation("de", "Enter a valid email address. %(reason)s").split("%(reason)s")[0]
    assert german.strip() in error
    assert tab.locator("html").get_attribute("lang") == "de"


def test_a_japanese_confirmation_shows_a_japanese_date(tab: Any) -> None:
    tab.goto("/book?lang=ja")
    tab.click("a.choice:has-text('Haircut')")
    tab.click("a.choice:has-text('Harbour Street')")
    tab.locator("a.choice[href*='agent=any']").click()
    tab.locator("a.day").nth(1).click()
    tab.locator("a.time").first.click()
    tab.fill("#first_name", "Grace")
    tab.fill("#last_name", "Hopper")
    tab.fill("#email", "grace.japan@example.com")
    tab.fill("#phone", "07911 123456")
    tab.locator("form#details-form button[type=submit]:visible").last.click()
    tab.wait_for_url("**/book/confirmation")

    text = tab.locator("main").inner_text()
    assert "年" in text
    assert "月" in text
    assert "日" in text
    assert "曜日" in text  # the weekday, written out in Japanese
    assert "Europe/London" in text  # the zone named
