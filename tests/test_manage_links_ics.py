"""The manage link's token and a booking's .ics file (SPEC sections 8 and 9), on SQLite and
PostgreSQL: tokens are signed, scoped and expire 30 days after the booking ends; the .ics parses
with icalendar, keeps one UID, carries SEQUENCE, the location's TZID, address and the link."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from flask import Flask
from itsdangerous import URLSafeSerializer

from latepoint_forms.bookings.manage_links import (
    MANAGE_LINK_SALT,
    booking_id_from_token,
    manage_token,
    manage_url,
)
from latepoint_forms.bookings.service import book
from latepoint_forms.customers.input import CustomerInput, RuleSettings
from latepoint_forms.customers.service import create_customer
from latepoint_forms.extensions import db
from latepoint_forms.messages.ics import booking_calendar, booking_uid
from latepoint_forms.models import Booking

from .catalog_fixtures import NOW, Catalog, build_catalog

TUESDAY = date(2027, 3, 2)
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def app_config() -> dict[str, object]:
    return {"PUBLIC_URL": "https://book.example.com"}


@pytest.fixture
def catalog(app: Flask) -> Catalog:
    return build_catalog(app)


def make_booking(catalog: Catalog, location: int, start: datetime) -> Booking:
    customer = create_customer(
        CustomerInput(first_name="Zoë", last_name="Brown", email="zoe@example.com"),
        source="web_form",
        settings=RuleSettings(),
    )
    agent = catalog.alice if location == catalog.london else catalog.bob
    booking = book(customer.id, catalog.haircut, location, agent, start, now=NOW)
    db.session.commit()
    return booking


@pytest.fixture
def london_booking(app_context: None, catalog: Catalog) -> Booking:
    start = datetime(2027, 3, 2, 10, 0, tzinfo=LONDON).astimezone(UTC)
    return make_booking(catalog, catalog.london, start)


# --- manage links -----------------------------------------------------------------------------


def test_the_manage_url_is_public_url_plus_a_signed_token(london_booking: Booking) -> None:
    url = manage_url(london_booking)
    assert url.startswith("https://book.example.com/bookings/")
    token = url.rsplit("/", 1)[1]
    assert token == manage_token(london_booking)
    assert booking_id_from_token(token, NOW) == london_booking.id


def test_a_token_is_valid_until_30_days_after_the_end(london_booking: Booking) -> None:
    token = manage_token(london_booking)
    last_moment = london_booking.end_at + timedelta(days=30) - timedelta(seconds=1)
    assert booking_id_from_token(token, last_moment) == london_booking.id
    assert booking_id_from_token(token, london_booking.end_at + timedelta(days=30)) is None


def test_forged_altered_and_foreign_tokens_are_refused(app: Flask, london_booking: Booking) -> None:
    token = manage_token(london_booking)
    assert booking_id_from_token(token[:-2] + ("AA" if token[-2:] != "AA" else "BB"), NOW) is None
    assert booking_id_from_token("", NOW) is None
    assert booking_id_from_token(str(london_booking.id), NOW) is None
    far = int((NOW + timedelta(days=3650)).timestamp())
    other_key = URLSafeSerializer("not-the-secret", salt=MANAGE_LINK_SALT)
    assert booking_id_from_token(other_key.dumps([london_booking.id + 1, far]), NOW) is None
    # Signed with the right key for another purpose (another salt): not a manage link.
    other_salt = URLSafeSerializer(app.config["SECRET_KEY"], salt="something-else")
    assert booking_id_from_token(other_salt.dumps([london_booking.id, far]), NOW) is None
    # The right key and salt but not the shape this module makes.
    right = URLSafeSerializer(app.config["SECRET_KEY"], salt=MANAGE_LINK_SALT)
    assert booking_id_from_token(right.dumps({"id": london_booking.id}), NOW) is None
    assert booking_id_from_token(right.dumps([True, far]), NOW) is None


def test_two_bookings_have_different_tokens(app_context: None, catalog: Catalog) -> None:
    start = datetime(2027, 3, 2, 10, 0, tzinfo=LONDON).astimezone(UTC)
    first = make_booking(catalog, catalog.london, start)
    customer = first.customer
    second = book(
        customer.id,
        catalog.haircut,
        catalog.london,
        catalog.alice,
        start + timedelta(hours=2),
        now=NOW,
    )
    db.session.commit()
    assert manage_token(first) != manage_token(second)
    assert booking_id_from_token(manage_token(second), NOW) == second.id


# --- .ics -------------------------------------------------------------------------------------


def event_of(data: bytes) -> tuple[icalendar.Calendar, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(data)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return calendar, events[0]


def test_a_confirmation_calendar(london_booking: Booking) -> None:
    calendar, event = event_of(booking_calendar(london_booking, now=NOW))
    assert calendar["METHOD"] == "REQUEST"
    assert calendar["VERSION"] == "2.0"
    assert event["UID"] == booking_uid(london_booking)
    assert event["UID"].endswith("@book.example.com")
    assert event["SEQUENCE"] == 0
    start = event.decoded("DTSTART")
    assert start == datetime(2027, 3, 2, 10, 0, tzinfo=LONDON)
    assert event["DTSTART"].params["TZID"] == "Europe/London"
    assert str(start.tzinfo) == "Europe/London"
    assert event.decoded("DTEND") - start == timedelta(minutes=30)
    assert event.decoded("DTSTAMP") == NOW
    assert str(event["LOCATION"]) == "London Soho, 12 Greek Street, London W1D 4DT"
    assert manage_url(london_booking) in str(event["DESCRIPTION"])
    assert str(event["URL"]) == manage_url(london_booking)
    assert event["STATUS"] == "CONFIRMED"
    assert str(event["ORGANIZER"]).startswith("mailto:")
    assert str(event["ATTENDEE"]) == "mailto:zoe@example.com"
    # The zone is defined in the file itself, so any calendar can place the time.
    zones = calendar.walk("VTIMEZONE")
    assert [str(z["TZID"]) for z in zones] == ["Europe/London"]


def test_a_new_york_booking_is_in_new_york_time(app_context: None, catalog: Catalog) -> None:
    start = datetime(2027, 3, 2, 9, 0, tzinfo=NEW_YORK).astimezone(UTC)
    booking = make_booking(catalog, catalog.new_york, start)
    _, event = event_of(booking_calendar(booking, now=NOW))
    assert event["DTSTART"].params["TZID"] == "America/New_York"
    assert event.decoded("DTSTART").replace(tzinfo=None) == datetime(2027, 3, 2, 9, 0)
    assert "250 West 54th Street" in str(event["LOCATION"])


def test_a_reschedule_keeps_the_uid_and_raises_the_sequence(london_booking: Booking) -> None:
    _, first = event_of(booking_calendar(london_booking, now=NOW))
    london_booking.sequence += 1
    _, moved = event_of(booking_calendar(london_booking, now=NOW))
    assert moved["UID"] == first["UID"]
    assert moved["SEQUENCE"] == 1


def test_a_cancellation_calendar(london_booking: Booking) -> None:
    calendar, event = event_of(booking_calendar(london_booking, method="CANCEL", now=NOW))
    assert calendar["METHOD"] == "CANCEL"
    assert event["STATUS"] == "CANCELLED"
    assert event["UID"] == booking_uid(london_booking)


def test_a_download_calendar_is_published_without_attendees(london_booking: Booking) -> None:
    calendar, event = event_of(booking_calendar(london_booking, method="PUBLISH", now=NOW))
    assert calendar["METHOD"] == "PUBLISH"
    assert "ATTENDEE" not in event
    assert "ORGANIZER" not in event
