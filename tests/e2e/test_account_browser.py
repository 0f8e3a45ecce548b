"""The account in a real browser, with a real mailbox: an email change confirmed by the link read
from the SMTP server (aiosmtpd on loopback), a profile edit with an error beside its field, and
the shorter registration whose optional part opens by keyboard."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import select

from latepoint_forms.customers.input import RuleSettings, parse_customer_input
from latepoint_forms.customers.service import create_customer
from latepoint_forms.extensions import db
from latepoint_forms.models import Customer
from latepoint_forms.outbox.delivery import deliver_due
from latepoint_forms.unit_of_work import unit_of_work

from ..mail_support import SmtpServer, text_body
from .conftest import DESKTOP, LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "harbour lights at dawn"
CHANGE_LINK = re.compile(r"https?://[^\s<>\"]+/account/email/[A-Za-z0-9_\-]+")


@pytest.fixture(scope="module")
def server(mail_server: LiveServer) -> LiveServer:
    return mail_server


def new_tab(browser: Any, server: LiveServer, errors: list[str]) -> Any:
    context = browser.new_context(viewport=DESKTOP, base_url=server.url)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    return tab


@pytest.fixture
def tabs(browser: Any, server: LiveServer) -> Iterator[Any]:
    """Fresh browser contexts (no cookies) on demand; page errors fail the test."""
    errors: list[str] = []
    opened: list[Any] = []

    def open_tab() -> Any:
        tab = new_tab(browser, server, errors)
        opened.append(tab)
        return tab

    try:
        yield open_tab
    finally:
        for tab in opened:
            tab.context.close()
    assert errors == [], f"browser errors: {errors}"


def add_account_holder(server: LiveServer, email: str, **fields: str) -> None:
    raw = {"first_name": "Mary", "last_name": "Jackson", "email": email, **fields}
    with server.app.app_context(), unit_of_work():
        settings = RuleSettings.from_config(server.app.config)
        create_customer(
            parse_customer_input(raw, settings),
            source="web_form",
            settings=settings,
            password=PASSWORD,
        )


def stored(server: LiveServer, **where: str) -> Customer | None:
    with server.app.app_context():
        query = select(Customer).filter_by(**where)
        row = db.session.execute(query).scalar_one_or_none()
        if row is not None:
            db.session.expunge(row)
        return row


def deliver(server: LiveServer, smtp: SmtpServer, count: int) -> list[EmailMessage]:
    """Run the outbox as `flask outbox deliver` does; the messages the SMTP server got."""
    before = len(smtp.messages)
    with server.app.app_context():
        deliver_due()
    arrived = smtp.messages[before:]
    assert len(arrived) == count, [m["Subject"] for m in arrived]
    return arrived


def sign_in(page: Any, email: str) -> None:
    page.goto("/sign-in")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("form.form button:has-text('Sign in')")
    page.wait_for_url("**/account")


def test_an_email_change_is_confirmed_by_the_link_from_the_mailbox(
    tabs: Any, server: LiveServer, smtp: SmtpServer, snap: Any
) -> None:
    add_account_holder(server, "mary@example.com")
    page = tabs()
    sign_in(page, "mary@example.com")
    page.click("a:has-text('Change email')")
    assert page.locator("h1").inner_text() == "Change your email address"
    page.fill("#email", "mary.jackson@example.org")
    page.fill("#current_password", PASSWORD)
    snap(page, "account-email")
    page.click("button:has-text('Send the link')")
    page.wait_for_url("**/account/email/sent")
    assert page.locator("h1").inner_text() == "Check your inbox"
    assert "mary@example.com" in page.locator("main").inner_text()

    [message] = deliver(server, smtp, 1)
    assert message["To"] == "mary.jackson@example.org"
    match = CHANGE_LINK.search(text_body(message))
    assert match, text_body(message)
    link = match.group(0)
    assert link.startswith(server.url + "/account/email/")
    # Until the link is used, the old address is the one in force.
    assert stored(server, email="mary@example.com") is not None

    # Opened on another device (the phone's mail app), not signed in: a button, nothing more.
    phone = tabs()
    phone.goto(link)
    assert phone.locator("h1").inner_text() == "Use this email address?"
    assert "mary.jackson@example.org" in phone.locator("main").inner_text()
    snap(phone, "account-email-confirm")
    assert stored(server, email="mary@example.com") is not None
    phone.click("button:has-text('Use this email address')")
    phone.wait_for_url("**/sign-in?next=/account")
    assert (
        "Your email address is now mary.jackson@example.org."
        in phone.locator(".notice--success").inner_text()
    )
    assert stored(server, email="mary@example.com") is None
    assert stored(server, email="mary.jackson@example.org") is not None

    # The old address hears of it; the new one signs in, the old one no longer.
    [notice] = deliver(server, smtp, 1)
    assert notice["To"] == "mary@example.com"
    assert "no longer mary@example.com" in text_body(notice)
    phone.fill("#email", "mary.jackson@example.org")
    phone.fill("#password", PASSWORD)
    phone.click("form.form button:has-text('Sign in')")
    phone.wait_for_url("**/account")
    assert "mary.jackson@example.org" in phone.locator("main").inner_text()

    # The link is spent.
    phone.goto(link)
    assert phone.locator("h1").inner_text() == "This link cannot be used"


def test_a_profile_edit(tabs: Any, server: LiveServer, snap: Any) -> None:
    add_account_holder(
        server, "dorothy@example.com", first_name="Dorothy", city="Bath", country="GB"
    )
    page = tabs()
    sign_in(page, "dorothy@example.com")
    page.click("a:has-text('Edit your details')")
    assert page.locator("h1").inner_text() == "Your details"
    assert page.input_value("#first_name") == "Dorothy"
    assert page.input_value("#city") == "Bath"
    assert page.input_value("#country") == "GB"
    assert page.get_attribute("#phone", "placeholder") == "07400 123456"

    page.fill("#last_name", "Vaughan")
    page.fill("#phone", "07911 123456")
    page.fill("#city", "Hampton")
    page.fill("#zipcode", "12345")  # a US ZIP code: the server's rule refuses it for GB
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.click("button:has-text('Save my details')")
    assert posted.value.status == 422
    assert page.locator("#zipcode-error").inner_text().endswith("such as EC1Y 8SY")
    assert page.input_value("#city") == "Hampton"  # what was typed is still there
    snap(page, "account-profile-errors")
    assert stored(server, email="dorothy@example.com").city == "Bath"  # type: ignore[union-attr]

    page.fill("#zipcode", "ba1 1lz")
    page.click("button:has-text('Save my details')")
    page.wait_for_url("**/account")
    assert "Your details are saved." in page.locator(".notice").inner_text()
    assert "Dorothy Vaughan" in page.locator("main").inner_text()
    customer = stored(server, email="dorothy@example.com")
    assert customer is not None
    assert (customer.last_name, customer.city, customer.zipcode, customer.phone) == (
        "Vaughan",
        "Hampton",
        "BA1 1LZ",
        "+447911123456",
    )


def focus_by_tab(page: Any, selector: str, limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement.matches({selector!r})"):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_the_shorter_registration_opens_its_optional_part_by_keyboard(
    tabs: Any, server: LiveServer, snap: Any
) -> None:
    page = tabs()
    page.goto("/register")
    snap(page, "register-short")
    disclosure = page.locator("details.disclosure")
    assert disclosure.get_attribute("open") is None
    assert not page.is_visible("#date_of_birth")
    assert page.is_visible("#phone")
    assert page.get_attribute("#phone", "placeholder") == "07400 123456"
    assert page.input_value("#country") == "GB"

    # By keyboard alone: type the essentials, tab to the disclosure, open it with Enter.
    page.focus("#first_name")
    page.keyboard.type("Katherine")
    page.keyboard.press("Tab")
    page.keyboard.type("Johnson")
    page.keyboard.press("Tab")
    page.keyboard.type("katherine@example.com")
    focus_by_tab(page, "#password")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    focus_by_tab(page, "details.disclosure > summary")
    page.keyboard.press("Enter")
    assert disclosure.get_attribute("open") == ""
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "date_of_birth"
    assert page.is_visible("#notes")
    snap(page, "register-more", scroll_to="details.disclosure")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Space")  # and closed again with Space
    assert disclosure.get_attribute("open") is None

    focus_by_tab(page, "button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url("**/account")
    assert page.locator("h1").inner_text() == "Hello, Katherine"
    assert stored(server, email="katherine@example.com") is not None
