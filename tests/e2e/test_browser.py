"""What a person does in a real browser: register, sign out and in, book as a guest, set a
password, cancel; the browser stopping an obvious mistake; the server's own errors shown beside
the fields with everything typed still there. Screenshots are taken along the way."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from latepoint_forms.customers.input import RuleSettings, parse_customer_input
from latepoint_forms.customers.service import create_customer
from latepoint_forms.extensions import db
from latepoint_forms.models import Booking, Customer, OutboxMessage
from latepoint_forms.unit_of_work import unit_of_work

from .conftest import LiveServer

pytestmark = pytest.mark.browser

PASSWORD = "harbour lights at dawn"


def customer_by_email(server: LiveServer, email: str) -> Customer | None:
    with server.app.app_context():
        query = select(Customer).where(Customer.email == email)
        return db.session.execute(query).scalar_one_or_none()


def open_more_details(page: Any) -> None:
    """The optional fields of /register are behind a disclosure: open it as a person would."""
    if page.locator("details.disclosure").get_attribute("open") is None:
        page.click("details.disclosure > summary")


def confirmation_path(server: LiveServer, email: str) -> str:
    """The path of the newest confirmation link queued for ``email`` (the outbox's row)."""
    with server.app.app_context():
        query = (
            select(OutboxMessage.body_text)
            .where(OutboxMessage.recipient == email, OutboxMessage.kind == "email_confirmation")
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        )
        text = db.session.execute(query).scalar_one()
    match = re.search(r"https?://[^/\s]+(/confirm-email/\S+)", text)
    assert match, text
    return match.group(1)


def fill_registration(page: Any, **values: str) -> None:
    open_more_details(page)
    fields = {
        "first_name": "Zoë",
        "last_name": "O'Brien",
        "email": "zoe@example.com",
        "phone": "020 7946 0958",
        "date_of_birth": "1990-05-15",
        "address": "10 Harbour Street",
        "city": "London",
        "zipcode": "sw1a 2aa",
        "password": PASSWORD,
        "confirm_password": PASSWORD,
        **values,
    }
    for name, value in fields.items():
        page.fill(f"#{name}", value)
    page.select_option("#gender", "female")
    page.select_option("#country", "GB")


def test_register_sign_out_and_sign_in(page: Any, live_server: LiveServer, snap: Any) -> None:
    page.goto("/register")
    assert page.locator("h1").inner_text() == "Tell us about yourself"
    assert page.locator("#cf_heard_from option").count() == 4  # the custom field, rendered
    snap(page, "register")

    fill_registration(page)
    page.select_option("#cf_heard_from", "friend")
    page.click("button:has-text('Create account')")

    page.wait_for_url("**/account")
    assert page.locator("h1").inner_text() == "Hello, Zoë"
    assert "please use it to confirm your address" in page.locator(".notice").inner_text()
    customer = customer_by_email(live_server, "zoe@example.com")
    assert customer is not None
    assert customer.is_guest is False
    assert customer.status == "pending"  # until the address is confirmed
    assert customer.zipcode == "SW1A 2AA"
    assert customer.custom_fields == {"heard_from": "friend"}
    assert customer.customer_code in page.content()

    page.click("button:has-text('Sign out')")
    page.wait_for_url(live_server.url + "/")
    assert "You are signed out" in page.locator(".notice").inner_text()
    page.goto("/account")
    page.wait_for_url("**/sign-in?next=/account")

    # Not confirmed yet: the password alone does not sign in; a fresh link is sent.
    page.fill("#email", "ZOE@example.com")
    page.fill("#password", PASSWORD)
    page.click("form.form button:has-text('Sign in')")
    page.wait_for_url("**/confirm-email/sent")
    assert "confirm your email address first" in page.locator(".notice").inner_text()
    # Signed out, the confirmation asks for the password: only the registrant confirms.
    page.goto(confirmation_path(live_server, "zoe@example.com"))
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Confirm my email address')")
    page.wait_for_url("**/account")
    assert page.locator("h1").inner_text() == "Hello, Zoë"
    page.click("button:has-text('Sign out')")
    page.wait_for_url(live_server.url + "/")

    page.goto("/account")
    page.wait_for_url("**/sign-in?next=/account")
    page.fill("#email", "ZOE@example.com")
    page.fill("#password", PASSWORD)
    page.click("form.form button:has-text('Sign in')")
    page.wait_for_url("**/account")
    assert page.locator("h1").inner_text() == "Hello, Zoë"


def test_the_browser_stops_an_obviously_bad_value(page: Any, live_server: LiveServer) -> None:
    page.goto("/register")
    fill_registration(page, first_name="J0hn", email="jo@example.com")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.method))

    page.click("button:has-text('Create account')")

    assert page.evaluate("document.querySelector('#first_name').validity.patternMismatch")
    assert page.evaluate("document.activeElement.id") == "first_name"
    assert "POST" not in requests
    assert customer_by_email(live_server, "jo@example.com") is None
    # The same pattern lets through what the server accepts.
    for name in ("Zoë", "José María", "O'Brien", "Anne-Marie", "Łukasz", "Nguyễn", "王小明"):
        page.fill("#first_name", name)
        assert page.evaluate("document.querySelector('#first_name').validity.valid"), name
    page.fill("#email", "not-an-email")
    assert page.evaluate("document.querySelector('#email').validity.typeMismatch")
    page.fill("#date_of_birth", "2099-01-01")
    assert page.evaluate("document.querySelector('#date_of_birth').validity.rangeOverflow")


def test_server_only_errors_come_back_beside_the_fields(
    page: Any, live_server: LiveServer, snap: Any
) -> None:
    with live_server.app.app_context(), unit_of_work():
        raw = {"first_name": "Taken", "last_name": "Already", "email": "taken@example.com"}
        settings = RuleSettings.from_config(live_server.app.config)
        create_customer(
            parse_customer_input(raw, settings),
            source="web_form",
            settings=settings,
            password=PASSWORD,
        )
    page.goto("/register")
    fill_registration(page, email="taken@example.com", zipcode="12345", city="Manchester")

    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.click("button:has-text('Create account')")
    assert posted.value.status == 422

    summary = page.locator(".error-summary")
    assert summary.is_visible()
    # app.js is deferred: it moves the focus after the page has parsed, which under load comes
    # a moment after the response. Waits for that (fails after Playwright's timeout if never).
    page.wait_for_function("document.activeElement.classList.contains('error-summary')")
    assert summary.locator("a[href='#email']").count() == 1
    assert summary.locator("a[href='#zipcode']").count() == 1
    email_error = page.locator("#email-error").inner_text()
    assert "This email address is already registered" in email_error
    assert page.locator("#email-error a").get_attribute("href") == "/sign-in?next=/account"
    assert (
        page.locator("#zipcode-error")
        .inner_text()
        .endswith("Enter a valid postal code for the United Kingdom, such as EC1Y 8SY")
    )
    assert page.get_attribute("#zipcode", "aria-invalid") == "true"
    assert page.get_attribute("#zipcode", "aria-describedby") == "zipcode-error"
    # Everything typed is still there, except the passwords.
    assert page.input_value("#first_name") == "Zoë"
    assert page.input_value("#city") == "Manchester"
    assert page.input_value("#zipcode") == "12345"
    assert page.input_value("#phone") == "020 7946 0958"
    assert page.input_value("#country") == "GB"
    assert page.input_value("#gender") == "female"
    assert page.input_value("#password") == ""
    snap(page, "register-errors")

    summary.locator("a[href='#zipcode']").click()
    assert page.evaluate("document.activeElement.id") == "zipcode"


def test_guest_books_without_javascript_sets_a_password_and_cancels(
    page_without_js: Any, live_server: LiveServer, snap: Any
) -> None:
    page = page_without_js
    page.goto("/book")
    snap(page, "book-service")
    page.click("a.choice:has-text('Haircut')")
    page.click("a.choice:has-text('Harbour Street')")
    page.click("a.choice:has-text('Any available')")
    assert page.locator("h1").inner_text() == "Pick a day and time"
    snap(page, "book-time")
    # Tomorrow: today's first time may be closer than CANCEL_CUTOFF_HOURS, and then the
    # account rightly offers no "Cancel" (the test would depend on the hour it runs).
    page.locator("a.day").nth(1).click()
    chosen_time = page.locator("a.time").first.inner_text()
    page.locator("a.time").first.click()

    assert page.locator("h1").inner_text() == "Your details"
    page.fill("#first_name", "Grace")
    page.fill("#last_name", "Hopper")
    page.fill("#email", "grace@example.com")
    page.fill("#phone", "07911 123456")
    snap(page, "book-details")
    page.click("button:has-text('Confirm booking')")

    page.wait_for_url("**/book/confirmation")
    # The page shows what was chosen and typed (the same for an address already on file); the
    # booking code travels by mail, and the account lists it.
    assert page.locator("h1").inner_text() == "Thank you, Grace"
    assert chosen_time in page.locator("main").inner_text()
    assert "grace@example.com" in page.locator("main").inner_text()
    guest = customer_by_email(live_server, "grace@example.com")
    assert guest is not None
    with live_server.app.app_context():
        code = db.session.execute(
            select(Booking.booking_code).where(Booking.customer_id == guest.id)
        ).scalar_one()
    assert re.fullmatch(r"BK-[0-9A-Z]{4}-[0-9A-Z]{4}", code)
    assert guest.is_guest is True
    assert guest.phone == "+447911123456"
    snap(page, "book-confirmation")

    page.fill("#password", PASSWORD)
    page.fill("#confirm_password", PASSWORD)
    page.click("button:has-text('Set password')")
    page.wait_for_url("**/account")
    holder = customer_by_email(live_server, "grace@example.com")
    assert holder is not None
    assert holder.is_guest is False
    # Pending until the address is confirmed: no bookings shown (they might be its owner's).
    assert "Confirm your email address to see your bookings" in page.locator("main").inner_text()
    assert page.locator(".booking", has_text=code).count() == 0
    page.goto(confirmation_path(live_server, "grace@example.com"))
    page.click("button:has-text('Confirm my email address')")  # this browser's own session
    page.wait_for_url("**/account")
    booking = page.locator(".booking", has_text=code)
    assert booking.count() == 1
    snap(page, "account")

    booking.locator("a:has-text('Cancel')").click()
    # One click only asks: the booking stands until the confirmation's button is pressed.
    assert page.locator("h1").inner_text() == "Cancel this booking?"
    snap(page, "account-cancel")
    page.click("button:has-text('Yes, cancel the booking')")
    page.wait_for_url("**/account")
    assert f"Booking {code} is cancelled." in page.locator(".notice").inner_text()
    assert page.locator(".booking-list--past .booking", has_text=code).count() == 1
    with live_server.app.app_context():
        stored = db.session.execute(
            select(Booking).where(Booking.booking_code == code)
        ).scalar_one()
        assert stored.status == "cancelled"


def test_the_honeypot_is_out_of_sight_and_out_of_reach(page: Any, live_server: LiveServer) -> None:
    """People never see, tab into or hear the bot trap (web/abuse.py): it takes no space on
    the page, keyboard focus goes past it, and the accessibility tree leaves it out."""
    page.goto("/register")
    open_more_details(page)
    # Its box is clipped to a single pixel (the site's .visually-hidden).
    box = page.locator("div.visually-hidden:has(#website)").bounding_box()
    assert box is not None
    assert box["width"] <= 1
    assert box["height"] <= 1
    page.focus("#notes")
    for _ in range(6):
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") != "website"
    snapshot = page.locator("form.form").aria_snapshot()
    assert "Leave this field empty" not in snapshot
