"""A booking's confirmation message, as a newcomer reads it in the development mailbox: booked
in Chromium, delivered by the outbox worker, opened at /dev/mailbox (and screenshotted)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from latepoint_forms.extensions import db
from latepoint_forms.models import Booking, Customer
from latepoint_forms.outbox.delivery import deliver_due

from .conftest import LiveServer


@pytest.fixture
def mailbox(live_server: LiveServer, tmp_path: Path) -> Iterator[Path]:
    config = live_server.app.config
    saved = {name: config.get(name) for name in ("DEV_MAILBOX_PATH", "PUBLIC_URL")}
    config["DEV_MAILBOX_PATH"] = str(tmp_path / "mailbox")
    config["PUBLIC_URL"] = live_server.url
    try:
        yield tmp_path / "mailbox"
    finally:
        config.update(saved)


def test_a_confirmation_arrives_in_the_dev_mailbox(
    page_without_js: Any, live_server: LiveServer, mailbox: Path, snap: Any
) -> None:
    page = page_without_js
    page.goto("/book")
    page.click("a.choice:has-text('Haircut')")
    page.click("a.choice:has-text('Harbour Street')")
    page.click("a.choice:has-text('Any available')")
    page.locator("a.time").first.click()
    page.fill("#first_name", "Ada")
    page.fill("#last_name", "Lovelace")
    page.fill("#email", "ada.mailbox@example.com")
    page.click("button:has-text('Confirm booking')")
    page.wait_for_url("**/book/confirmation")
    # The code travels by mail (the page shows what was chosen and typed): read it there.
    with live_server.app.app_context():
        code = db.session.execute(
            select(Booking.booking_code)
            .join(Customer, Customer.id == Booking.customer_id)
            .where(Customer.email == "ada.mailbox@example.com")
        ).scalar_one()

    with live_server.app.app_context():
        outcomes = deliver_due()  # other tests' messages too: the server is the session's
    assert outcomes
    assert all(o.sent for o in outcomes)

    page.goto("/dev/mailbox")
    mine = page.locator("li.booking", has_text="ada.mailbox@example.com")
    assert mine.count() == 1  # the confirmation; its reminder is due later
    mine.locator("a:has-text('Booking confirmed: Haircut')").click()
    assert page.locator("dd", has_text="ada.mailbox@example.com").count() == 1
    assert page.locator(f"a:has-text('{code}.ics')").count() == 1
    manage = page.locator("pre.mailbox-text a").first.get_attribute("href")
    assert manage is not None
    assert manage.startswith(f"{live_server.url}/bookings/")

    page.click("a:has-text('Open the HTML version on its own')")
    assert page.locator("h1").inner_text() == "Your booking is confirmed"
    assert page.get_by_text(code, exact=True).count() == 1
    button = page.locator("a:has-text('View or change your booking')")
    assert button.get_attribute("href") == manage
    body = page.locator("body").inner_text()
    assert re.search(r"\(Europe/London\)", body)
    assert "4 Harbour Street, Whitstable CT5 1AG" in body
    assert "+44 1227 946012" in body
    snap(page, "message-confirmation")
