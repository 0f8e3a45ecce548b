"""The manage link as a customer meets it: in a real browser, from a real mailbox.

Book as a guest in Chromium; the confirmation goes through the outbox to an SMTP server on
loopback (aiosmtpd); its manage link is opened (which alone changes nothing), the booking is
moved and then cancelled, each through its confirmation step; the "moved" and "cancelled"
messages arrive with calendar files for the same event.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from latepoint_forms.extensions import db
from latepoint_forms.models import Booking, Location, OutboxMessage
from latepoint_forms.outbox.delivery import deliver_due
from latepoint_forms.unit_of_work import unit_of_work

from ..mail_support import SmtpServer, calendar_of, text_body
from .conftest import LiveServer, start_mail_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LINK = re.compile(r"https?://[^\s<>\"]+/bookings/[A-Za-z0-9_.\-]+")
CODE = re.compile(r"BK-[0-9A-Z]{4}-[0-9A-Z]{4}")


def _located(app: Flask) -> None:
    with app.app_context(), unit_of_work():
        for location in db.session.execute(select(Location)).scalars():
            location.address = "4 Harbour Street, Bristol BS1 4RN"
            location.country = "GB"
            location.phone = "+441179460000"


@pytest.fixture(scope="module")
def mail_server(tmp_path_factory: pytest.TempPathFactory, smtp: SmtpServer) -> Iterator[LiveServer]:
    """Its locations with an address, country and phone, as messages show them."""
    with start_mail_server(tmp_path_factory, smtp, "mail", prepare=_located) as live:
        yield live


def deliver(server: LiveServer, smtp: SmtpServer, count: int) -> list[EmailMessage]:
    """Run the outbox as `flask outbox deliver` does; the messages the SMTP server got."""
    before = len(smtp.messages)
    with server.app.app_context():
        deliver_due()
    arrived = smtp.messages[before:]
    assert len(arrived) == count, [m["Subject"] for m in arrived]
    return arrived


def the_booking(server: LiveServer, code: str) -> tuple[str, str, int]:
    with server.app.app_context():
        booking = db.session.execute(
            select(Booking).where(Booking.booking_code == code)
        ).scalar_one()
        return booking.status, booking.start_at.isoformat(), booking.sequence


def outbox_size(server: LiveServer) -> int:
    with server.app.app_context():
        return int(db.session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one())


def manage_link(message: EmailMessage) -> str:
    match = LINK.search(text_body(message))
    assert match, text_body(message)
    return match.group(0)


def test_book_then_reschedule_and_cancel_from_the_mailed_link(
    tab: Any, mail_server: LiveServer, smtp: SmtpServer, snap: Any
) -> None:
    page = tab
    page.goto("/book")
    page.click("a.choice:has-text('Haircut')")
    page.click("a.choice:has-text('Harbour Street')")
    page.click("a.choice:has-text('Amy Pond')")
    page.locator("a.day").nth(1).click()  # not today: well before the changes close
    page.locator("a.time").first.click()
    page.fill("#first_name", "Katherine")
    page.fill("#last_name", "Johnson")
    page.fill("#email", "katherine@example.com")
    page.click("button:has-text('Confirm booking')")
    page.wait_for_url("**/book/confirmation")
    confirmation_page = page.locator("main").inner_text()
    assert "4 Harbour Street, Bristol BS1 4RN" in confirmation_page
    assert "Europe/London" in confirmation_page
    # The booking's code, calendar file and manage link travel by mail (the page shows only
    # what was chosen and typed: the same for an address already on file).
    assert page.locator("a:has-text('Add to calendar')").count() == 0

    # The confirmation, read from the SMTP server: its code and manage link.
    [confirmation] = deliver(mail_server, smtp, 1)
    assert confirmation["To"] == "katherine@example.com"
    found = CODE.search(text_body(confirmation))
    assert found, text_body(confirmation)
    code = found.group(0)
    link = manage_link(confirmation)
    assert link.startswith(mail_server.url + "/bookings/")
    _, event, _ = calendar_of(confirmation)
    uid = str(event["UID"])
    assert uid.startswith(code.lower() + "@")

    # Opening the link (as a mail scanner would) changes nothing, and sends nothing.
    before, queued = the_booking(mail_server, code), outbox_size(mail_server)
    page.goto(link)
    assert page.locator("h1").inner_text().startswith("Haircut, ")
    assert code in page.locator("main").inner_text()
    snap(page, "manage")
    assert (the_booking(mail_server, code), outbox_size(mail_server)) == (before, queued)

    # Reschedule: a time, then its confirmation step, then the move.
    page.click("a:has-text('Reschedule')")
    assert page.locator("h1").inner_text() == "Choose a new time"
    page.locator("a.day").nth(1).click()
    snap(page, "manage-reschedule")
    page.locator("a.time").first.click()
    assert page.locator("h1").inner_text() == "Move your booking?"
    snap(page, "manage-reschedule-confirm")
    assert the_booking(mail_server, code) == before  # choosing a time changed nothing
    page.click("button:has-text('Yes, move my booking')")
    assert "Your booking is moved to" in page.locator(".notice").inner_text()
    status, start, sequence = the_booking(mail_server, code)
    assert (status, sequence) == ("confirmed", 1)
    assert start != before[1]

    [moved] = deliver(mail_server, smtp, 1)
    _, moved_event, moved_method = calendar_of(moved)
    assert moved_method == "REQUEST"
    assert int(moved_event["SEQUENCE"]) == 1  # the same event, one version on
    assert str(moved_event["UID"]) == uid
    assert code in text_body(moved)

    # Cancel, from the link in the "moved" message: asked first, then done.
    page.goto(manage_link(moved))
    page.click("a:has-text('Cancel booking')")
    assert page.locator("h1").inner_text() == "Cancel this booking?"
    snap(page, "manage-cancel")
    assert the_booking(mail_server, code)[0] == "confirmed"
    page.click("button:has-text('Yes, cancel the booking')")
    assert f"Booking {code} is cancelled." in page.locator(".notice--success").inner_text()
    assert the_booking(mail_server, code)[0] == "cancelled"

    [cancelled] = deliver(mail_server, smtp, 1)
    _, cancelled_event, cancelled_method = calendar_of(cancelled)
    assert cancelled_method == "CANCEL"
    assert str(cancelled_event["STATUS"]) == "CANCELLED"
    assert str(cancelled_event["UID"]) == uid
    assert code in text_body(cancelled)
