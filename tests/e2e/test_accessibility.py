"""Every page state a customer meets, audited by axe-core in Chromium at desktop (1280×800) and
phone (390×844) width: no serious or critical violation of WCAG 2.0/2.1/2.2 A and AA (issue 13,
SPEC section 11). And the keyboard route to the first free time is a few keys long.

One walk per width, as a customer goes: the front page; registration (empty, refused, its
optional part open, then made: the pending account); the booking flow (each step, the details
refused, the time lost to someone else while typing: the 409 page, a time taken from it, the
confirmation, its password offer refused then accepted); the account (with bookings, its
profile refused, password, email, a booking's cancel confirmation); the manage link from the
mail (the booking, its cancel and reschedule confirmations); signing in (refused), the reset
and sign-in links asked for, answered and opened, a spent link; the 404 page. Every state's
violations are gathered, then the test fails listing them all (rule, help, node targets).

The development mailbox (/dev/mailbox) is not audited: it is a developer's tool, registered
only in development and the tests, never shown to customers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select

from latepoint_forms.bookings.service import reserve_booking
from latepoint_forms.customers.input import RuleSettings, parse_customer_input
from latepoint_forms.customers.service import create_customer
from latepoint_forms.extensions import db
from latepoint_forms.models import Agent, Customer, Location, Service
from latepoint_forms.outbox.delivery import deliver_due
from latepoint_forms.unit_of_work import unit_of_work
from latepoint_forms.web.booking_steps import START_FORMAT

from ..mail_support import SmtpServer, text_body
from ..test_i18n import german_catalog
from .axe import FAILING_IMPACTS, axe_violations, describe
from .conftest import LiveServer, e2e_app, serving

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
PASSWORD = "harbour lights at dawn"
FULL_DAY_AHEAD = 4  # Amy's day that colour bookings fill from opening to closing
# From the top of the time step to its first free time, by keyboard (Tab, and Enter on a
# skip link): the issue measured 25 Tabs before.
MAX_KEYS_TO_FIRST_TIME = 8


class Audit:
    """The states audited, and the serious or critical violations found in each."""

    def __init__(self, width: str) -> None:
        self.width = width
        self.states: list[str] = []
        self.failures: list[str] = []

    def __call__(self, page: Any, state: str) -> None:
        page.wait_for_load_state("load")
        self.states.append(state)
        failing = [v for v in axe_violations(page) if v["impact"] in FAILING_IMPACTS]
        if failing:
            self.failures.append(f"{state} ({page.url}):\n{describe(failing)}")

    def check(self) -> None:
        assert not self.failures, (
            f"{len(self.failures)} of {len(self.states)} page states at {self.width} width:\n"
            + "\n".join(self.failures)
        )


def close_sundays_and_fill_a_day(app: Flask) -> None:
    """Harbour Street closed on Sundays, and Amy booked all day ``FULL_DAY_AHEAD`` days from
    now: the day strip shows a closed day and a fully booked one beside the open ones."""
    with app.app_context(), unit_of_work():
        harbour = db.session.execute(select(Location).where(Location.key == "harbour")).scalar_one()
        harbour.opening_hours = {**harbour.opening_hours, "sun": []}
        colour, amy = (
            db.session.execute(select(model).where(model.key == key)).scalar_one()
            for model, key in ((Service, "colour"), (Agent, "amy"))
        )
        zone = ZoneInfo(harbour.timezone)
        day = datetime.now(zone).date() + timedelta(days=FULL_DAY_AHEAD)
        if day.weekday() == 6:  # a Sunday is closed, not full: the day after
            day += timedelta(days=1)
        settings = RuleSettings.from_config(app.config)
        # 08:00 to 20:00 in eight 90-minute visits, one customer each (fair use).
        for n, name in enumerate(("Ash", "Birch", "Cedar", "Elm", "Fir", "Hazel", "Larch", "Oak")):
            start = datetime.combine(day, time(8), zone) + timedelta(minutes=90 * n)
            raw = {"first_name": name, "last_name": "Colour", "email": f"{name}@example.com"}
            data = parse_customer_input(raw, settings, defaults={"is_guest": True})
            customer = create_customer(data, source="web_form", settings=settings)
            reserve_booking(customer, colour.id, harbour.id, amy.id, start.astimezone(UTC))


@pytest.fixture(scope="module")
def mail_server(tmp_path_factory: pytest.TempPathFactory, smtp: SmtpServer) -> Iterator[LiveServer]:
    """This module's app (as conftest.mail_server's), with a closed day and a full one, and a
    second language (a German catalog, tests/test_i18n.py's): every page has its switcher."""
    path = tmp_path_factory.mktemp("e2e-accessibility") / "accessibility.sqlite3"
    translations = german_catalog(tmp_path_factory.mktemp("translations"))
    app = e2e_app(
        path, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, TRANSLATIONS_DIRECTORY=str(translations)
    )
    close_sundays_and_fill_a_day(app)
    with serving(app, "e2e-accessibility") as live:
        yield live


@pytest.fixture(params=list(VIEWPORTS))
def width(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def tabs(browser: Any, mail_server: LiveServer, width: str) -> Iterator[Any]:
    """Fresh browser contexts at the test's width, on demand; page errors fail the test."""
    errors: list[str] = []
    opened: list[Any] = []

    def open_tab() -> Any:
        context = browser.new_context(viewport=VIEWPORTS[width], base_url=mail_server.url)
        tab = context.new_page()
        tab.set_default_timeout(10_000)
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        opened.append(tab)
        return tab

    try:
        yield open_tab
    finally:
        for tab in opened:
            tab.context.close()
    assert errors == [], f"browser errors: {errors}"


def add_customer(server: LiveServer, email: str, password: str | None = PASSWORD) -> int:
    raw = {"first_name": "Mae", "last_name": "Jemison", "email": email}
    with server.app.app_context(), unit_of_work():
        settings = RuleSettings.from_config(server.app.config)
        data = parse_customer_input(raw, settings, defaults={"is_guest": password is None})
        return create_customer(data, source="web_form", settings=settings, password=password).id


def take_the_time(server: LiveServer, url: str, email: str) -> datetime:
    """Book the start in the details step's ``url`` for somebody else, with its agent."""
    [start_text] = parse_qs(urlsplit(url).query)["start"]
    start = datetime.strptime(start_text, START_FORMAT).replace(tzinfo=UTC)
    customer_id = add_customer(server, email, password=None)
    with server.app.app_context(), unit_of_work():
        ids = {
            model: db.session.execute(select(model.id).where(model.key == key)).scalar_one()
            for model, key in ((Service, "haircut"), (Location, "harbour"), (Agent, "amy"))
        }
        customer = db.session.get(Customer, customer_id)
        assert customer is not None
        reserve_booking(customer, ids[Service], ids[Location], ids[Agent], start)
    return start


def mailed(server: LiveServer, smtp: SmtpServer, to: str, path: str) -> str:
    """Deliver the outbox; the first link to ``path``… in the newest message to ``to``."""
    pattern = rf"{re.escape(server.url)}{re.escape(path)}[^\s<>\"]+"
    with server.app.app_context():
        deliver_due()
    messages: list[EmailMessage] = [m for m in smtp.messages if str(m["To"]) == to]
    assert messages, f"no message to {to}"
    match = re.search(pattern, text_body(messages[-1]))
    assert match, text_body(messages[-1])
    return match.group(0)


def submit(page: Any, label: str, *, past_the_browser: bool = False) -> None:
    """Press the button; ``past_the_browser``: without the browser's own checks (required,
    minlength), so that the server's refusal is what shows."""
    if past_the_browser:
        page.evaluate("document.querySelectorAll('form').forEach(f => { f.noValidate = true; })")
    page.click(f"main button:has-text('{label}')")
    page.wait_for_load_state("load")


def test_every_page_state_has_no_serious_violation(
    tabs: Any, mail_server: LiveServer, smtp: SmtpServer, width: str
) -> None:
    audit = Audit(width)
    email = f"grace-{width}@example.com"

    # --- the front page and registration ---------------------------------------------------
    page = tabs()
    page.goto("/")
    assert page.locator("nav.languages a").count() == 2  # English, Deutsch
    audit(page, "home")
    page.goto("/register")
    audit(page, "register")
    submit(page, "Create account", past_the_browser=True)
    assert page.locator(".error-summary").count() == 1
    audit(page, "register, refused")
    page.click("summary:has-text('More about you')")
    audit(page, "register, refused, optional part open")
    page.fill("#first_name", "Katherine")
    page.fill("#last_name", "Johnson")
    page.fill("#email", f"katherine-{width}@example.com")
    page.fill("#password", PASSWORD)
    page.fill("#confirm_password", PASSWORD)
    submit(page, "Create account")
    page.wait_for_url("**/account")
    audit(page, "account, address not confirmed yet")
    confirm = mailed(mail_server, smtp, f"katherine-{width}@example.com", "/confirm-email/")
    page.goto(confirm)
    audit(page, "confirm email: the link opened")

    # --- the booking flow, as a guest ------------------------------------------------------
    page = tabs()
    page.goto("/book")
    audit(page, "book: service")
    page.click("a.choice:has-text('Haircut')")
    audit(page, "book: place")
    page.click("a.choice:has-text('Harbour Street')")
    audit(page, "book: person")
    page.click("a.choice:has-text('Amy Pond')")
    strip = page.locator(".week").inner_text()
    assert "Closed" in strip
    assert "Fully booked" in strip
    audit(page, "book: day and time (open, closed and fully booked days)")
    page.click("a.week-link[rel='next']")
    audit(page, "book: day and time, the next week")
    page.go_back()
    page.locator("a.day").nth(1).click()
    audit(page, "book: day and time, tomorrow")
    page.locator("a.time").first.click()
    audit(page, "book: details")
    submit(page, "Confirm booking", past_the_browser=True)
    assert page.locator(".error-summary").count() == 1
    audit(page, "book: details, refused")
    page.fill("#first_name", "Grace")
    page.fill("#last_name", "Hopper")
    page.fill("#email", email)
    page.fill("#phone", "07911 123456")
    take_the_time(mail_server, page.url, f"quicker-{width}@example.com")
    submit(page, "Confirm booking", past_the_browser=True)
    assert page.locator(".lost-time").count() == 1
    audit(page, "book: the time taken while typing (409)")
    # Enter in a field books none of the times near the lost one (the form's default button
    # is a disabled one): no submission at all.
    page.evaluate(
        """() => { window.submitted = false; window.record = e => { window.submitted = true;
        e.preventDefault(); }; document.getElementById('details-form')
        .addEventListener('submit', window.record); }"""
    )
    page.press("#first_name", "Enter")
    assert page.evaluate("window.submitted") is False
    page.evaluate(
        "() => document.getElementById('details-form').removeEventListener('submit', window.record)"
    )
    page.locator("button.time").first.click()
    page.wait_for_url("**/book/confirmation")
    audit(page, "book: confirmation, with the password offer")
    page.fill("#password", PASSWORD)
    page.fill("#confirm_password", "not the same at all")
    submit(page, "Set password", past_the_browser=True)
    audit(page, "book: confirmation, password refused")
    page.fill("#password", PASSWORD)
    page.fill("#confirm_password", PASSWORD)
    submit(page, "Set password")
    page.wait_for_url("**/account")
    audit(page, "account, signed in, address not confirmed yet, with a flash")
    # The flash is a status message, announced: repeated into the live region after load.
    page.wait_for_function(
        "() => document.querySelector('[data-announcer]').textContent.includes('password is set')"
    )

    # --- a customer with an account books, then the account --------------------------------
    member = f"mary-{width}@example.com"
    add_customer(mail_server, member)
    page = tabs()
    page.goto("/sign-in")
    audit(page, "sign in")
    page.fill("#email", member)
    page.fill("#password", "not the password")
    submit(page, "Sign in", past_the_browser=True)
    audit(page, "sign in, refused")
    page.fill("#email", member)
    page.fill("#password", PASSWORD)
    submit(page, "Sign in")
    page.wait_for_url("**/account")
    audit(page, "account, signed in, nothing booked")
    page.goto("/book")
    page.click("a.choice:has-text('Haircut')")
    page.click("a.choice:has-text('Harbour Street')")
    page.click("a.choice:has-text('Any available')")
    page.locator("a.day").nth(3).click()
    page.locator("a.time").first.click()
    audit(page, "book: details, signed in")
    submit(page, "Confirm booking")
    page.wait_for_url("**/book/confirmation")
    audit(page, "book: confirmation, signed in")
    page.goto("/account")
    audit(page, "account, signed in, with a booking")
    page.goto("/account/profile")
    audit(page, "account: profile")
    page.fill("#first_name", "")
    page.fill("#phone", "12")
    submit(page, "Save my details", past_the_browser=True)
    audit(page, "account: profile, refused")
    page.goto("/account/password")
    audit(page, "account: password")
    submit(page, "Change password", past_the_browser=True)
    audit(page, "account: password, refused")
    page.goto("/account/email")
    audit(page, "account: email")
    submit(page, "Send the link", past_the_browser=True)
    audit(page, "account: email, refused")
    new_address = f"mary-new-{width}@example.com"
    page.fill("#email", new_address)
    page.fill("#current_password", PASSWORD)
    submit(page, "Send the link")
    page.wait_for_url("**/account/email/sent")
    audit(page, "account: email, link sent")
    change = mailed(mail_server, smtp, new_address, "/account/email/")
    page.goto(change)
    audit(page, "account: email, the change link opened")
    page.goto("/account")
    page.click("a.button--danger:has-text('Cancel')")
    audit(page, "account: cancel a booking, confirmation")

    # --- the manage link from the confirmation mail ---------------------------------------
    link = mailed(mail_server, smtp, member, "/bookings/")
    manage = tabs()
    manage.goto(link)
    audit(manage, "manage link: the booking")
    manage.click("a:has-text('Cancel booking')")
    audit(manage, "manage link: cancel, confirmation")
    manage.click("a:has-text('No, keep it')")
    manage.click("a:has-text('Reschedule')")
    audit(manage, "manage link: reschedule, the times")
    manage.click("a.week-link[rel='next']")
    audit(manage, "manage link: reschedule, the next week")
    manage.click("a.week-link[rel='prev']")
    manage.locator("a.day").nth(2).click()
    manage.locator("a.time").first.click()
    audit(manage, "manage link: reschedule, confirmation")
    submit(manage, "Yes, move my booking")
    audit(manage, "manage link: rescheduled, with a flash")

    # --- getting back in -------------------------------------------------------------------
    page = tabs()
    page.goto("/password/forgot")
    audit(page, "forgot password")
    page.fill("#email", member)
    submit(page, "Send me a reset link")
    audit(page, "forgot password: the link sent")
    reset = mailed(mail_server, smtp, member, "/password/reset/")
    page.goto(reset)
    audit(page, "password reset")
    page.fill("#password", "short")
    submit(page, "Set my new password", past_the_browser=True)
    audit(page, "password reset, refused")
    page.goto("/sign-in/link")
    audit(page, "sign-in link")
    page.fill("#email", member)
    submit(page, "Email me a sign-in link")
    audit(page, "sign-in link: sent")
    by_link = mailed(mail_server, smtp, member, "/sign-in/link/")
    page.goto(by_link)
    audit(page, "sign-in link: opened")
    submit(page, "Sign in")
    page.wait_for_url("**/account")
    page.goto(by_link)
    audit(page, "sign-in link: spent")
    page.goto("/no-such-page")
    audit(page, "404")

    audit.check()


def test_the_first_free_time_is_a_few_keys_from_the_top(tabs: Any, width: str) -> None:
    page = tabs()
    page.goto("/book")
    page.click("a.choice:has-text('Haircut')")
    page.click("a.choice:has-text('Harbour Street')")
    page.click("a.choice:has-text('Any available')")
    page.locator("a.day").nth(1).click()
    first_time = page.locator("a.time").first.get_attribute("href")

    keys: list[str] = []
    page.evaluate("window.scrollTo(0, 0)")
    page.evaluate("document.activeElement && document.activeElement.blur()")
    while len(keys) < MAX_KEYS_TO_FIRST_TIME:
        page.keyboard.press("Tab")
        keys.append("Tab")
        focused = page.evaluate(
            "(el => ({cls: el.className, href: el.getAttribute('href')}))(document.activeElement)"
        )
        if focused["href"] == first_time:
            break
        if "skip-link" in focused["cls"] and focused["href"] == "#times":
            page.keyboard.press("Enter")
            keys.append("Enter")
    else:
        pytest.fail(f"the first time is more than {MAX_KEYS_TO_FIRST_TIME} keys away: {keys}")
    assert keys.count("Tab") <= MAX_KEYS_TO_FIRST_TIME
    # Focused, and in view below the sticky header (not hidden under it).
    box = page.locator(f"a.time[href='{first_time}']").bounding_box()
    header = page.locator(".site-header").bounding_box()
    assert box is not None
    assert header is not None
    assert box["y"] >= header["y"] + header["height"], (box, header)
    assert box["y"] + box["height"] <= VIEWPORTS[width]["height"]


FOCUS_UNDER_HEADER = """() => {
  const el = document.activeElement;
  const header = document.querySelector('.site-header');
  if (!el || el === document.body || header.contains(el)) return null;
  const box = el.getBoundingClientRect();
  const bottom = header.getBoundingClientRect().bottom;
  return {what: el.outerHTML.slice(0, 80), top: box.top, headerBottom: bottom,
          hidden: box.top < bottom};
}"""


@pytest.mark.parametrize("state", ["register", "time step"])
def test_focus_is_never_hidden_under_the_sticky_header(tabs: Any, state: str) -> None:
    """Shift+Tab from the page's end back to its top (each element scrolled into view from
    below the header): no focused element sits under the sticky header (WCAG 2.4.11)."""
    page = tabs()
    if state == "register":
        page.goto("/register")
        page.click("summary:has-text('More about you')")  # the longest state of the page
    else:
        page.goto("/book")
        page.click("a.choice:has-text('Haircut')")
        page.click("a.choice:has-text('Harbour Street')")
        page.click("a.choice:has-text('Any available')")
    page.locator("footer").scroll_into_view_if_needed()
    page.locator("main button[type=submit], main a").last.focus()
    seen = 0
    for _ in range(80):
        page.keyboard.press("Shift+Tab")
        focused = page.evaluate(FOCUS_UNDER_HEADER)
        if focused is None:
            break  # in the header (or back at the top)
        seen += 1
        assert not focused["hidden"], focused
    assert seen > 10  # the walk went through the page
