"""A returning guest, in real Chromium, with a real SMTP server (aiosmtpd on loopback).

A guest books, then books again with the same email from a fresh browser (no cookies: as
from another device) typing a new phone number. Both succeed and read alike; there is one
customer with two bookings; the stored phone stays until the "confirm your changes" link in
the second confirmation mail is used, once.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import select

from latepoint_forms.extensions import db
from latepoint_forms.models import Booking, Customer
from latepoint_forms.outbox.delivery import deliver_due

from ..mail_support import SmtpServer, html_body, text_body
from .conftest import DESKTOP, LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHANGES_LINK = re.compile(r"https?://[^\s<>\"]+/account/changes/[A-Za-z0-9_\-]+")
EMAIL = "returning.guest@example.com"


def fresh_tab(browser: Any, server: LiveServer) -> Any:
    """A new browser context: no cookies, as another device would be."""
    context = browser.new_context(viewport=DESKTOP, base_url=server.url)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.errors = errors
    return tab


def book(tab: Any, *, day: int, phone: str) -> str:
    """Book a haircut as a guest; the confirmation page's text."""
    tab.goto("/book")
    tab.click("a.choice:has-text('Haircut')")
    tab.click("a.choice:has-text('Harbour Street')")
    tab.click("a.choice:has-text('Any available')")
    tab.locator("a.day").nth(day).click()
    tab.locator("a.time").first.click()
    tab.fill("#first_name", "Grace")
    tab.fill("#last_name", "Hopper")
    tab.fill("#email", EMAIL)
    tab.fill("#phone", phone)
    tab.click("button:has-text('Confirm booking')")
    tab.wait_for_url("**/book/confirmation")
    assert tab.locator("h1").inner_text() == "Thank you, Grace"
    return str(tab.locator("main").inner_text())


def deliver(server: LiveServer, smtp: SmtpServer) -> list[EmailMessage]:
    before = len(smtp.messages)
    with server.app.app_context():
        deliver_due()
    return smtp.messages[before:]


def stored(server: LiveServer) -> tuple[list[tuple[int, str | None, str]], list[int]]:
    with server.app.app_context():
        customers = [
            (c.id, c.phone, c.status)
            for c in db.session.execute(select(Customer).where(Customer.email == EMAIL)).scalars()
        ]
        bookings = list(
            db.session.execute(
                select(Booking.customer_id).where(Booking.status == "confirmed")
            ).scalars()
        )
        db.session.remove()
        return customers, bookings


def test_a_guest_books_twice_with_one_email_and_confirms_the_new_phone_by_mail(
    browser: Any, mail_server: LiveServer, smtp: SmtpServer
) -> None:
    first_tab = fresh_tab(browser, mail_server)
    first_page = book(first_tab, day=1, phone="07911 123456")
    [first_mail] = [m for m in deliver(mail_server, smtp) if m["To"] == EMAIL]
    assert "Confirm your changes" not in text_body(first_mail)

    second_tab = fresh_tab(browser, mail_server)
    second_page = book(second_tab, day=2, phone="07400 123456")

    # Both read alike: line for line, only the time differs (a new and a known address are
    # answered the same); nothing of the stored record is shown (its phone, say).
    first_lines, second_lines = first_page.splitlines(), second_page.splitlines()
    assert len(first_lines) == len(second_lines)
    differing = [a for a, b in zip(first_lines, second_lines, strict=True) if a != b]
    assert differing
    # The time as the browser's region writes it: "09:00", or "9:00 AM" for an en-US browser.
    assert all(re.search(r"\d{1,2}:\d{2}", line) for line in differing), differing
    assert "Set a password" in second_page
    assert "7911" not in second_page
    [(customer_id, phone, _)], bookings = stored(mail_server)
    assert phone == "+447911123456"
    assert bookings == [customer_id, customer_id]

    # The second confirmation, to the stored address, proposes the new phone.
    [second_mail] = [m for m in deliver(mail_server, smtp) if m["To"] == EMAIL]
    assert str(second_mail["Subject"]).startswith("Booking confirmed: Haircut")
    body = text_body(second_mail)
    assert "Confirm your changes" in body
    assert "Phone: +44 7400 123456" in body  # as people write it (stored as E.164)
    assert "Confirm my changes" in html_body(second_mail)
    match = CHANGES_LINK.search(body)
    assert match, body
    link = match.group(0)

    # Opened in yet another browser (the mail app's): it shows, and changes nothing yet.
    mail_tab = fresh_tab(browser, mail_server)
    mail_tab.goto(link)
    assert mail_tab.locator("h1").inner_text() == "Confirm your changes"
    row = mail_tab.locator("tr", has_text="Phone")
    assert "+44 7911 123456" in row.inner_text()  # now
    assert "+44 7400 123456" in row.inner_text()  # change to
    assert stored(mail_server)[0][0][1] == "+447911123456"
    mail_tab.click("button:has-text('Yes, update my details')")
    assert mail_tab.locator("h1").inner_text() == "Your details are updated"
    assert stored(mail_server)[0][0][1] == "+447400123456"

    # Once only.
    mail_tab.goto(link)
    assert mail_tab.locator("h1").inner_text() == "This link does not work"
    for tab in (first_tab, second_tab, mail_tab):
        assert tab.errors == []
        tab.context.close()
