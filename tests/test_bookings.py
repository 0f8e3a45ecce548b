"""Availability, booking and cancelling, on SQLite and PostgreSQL; double bookings refused by
the database even when two requests race."""

from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import func, select

from latepoint_forms.bookings import service as booking_service
from latepoint_forms.bookings.availability import available_starts
from latepoint_forms.bookings.errors import BookingNotCancellable, BookingNotFound, SlotTaken
from latepoint_forms.bookings.service import (
    book,
    bookings_for_customer,
    cancel_booking,
    reserve_booking,
)
from latepoint_forms.customers.errors import ValidationFailed
from latepoint_forms.customers.input import CustomerInput, RuleSettings
from latepoint_forms.customers.service import create_customer
from latepoint_forms.extensions import db
from latepoint_forms.models import Booking, BookingSlotClaim, Customer
from latepoint_forms.unit_of_work import unit_of_work

from .catalog_fixtures import NOW, Catalog, build_catalog
from .conftest import ApiClient

TUESDAY = date(2027, 3, 2)
LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def catalog(app: Flask) -> Catalog:
    return build_catalog(app)


@pytest.fixture
def ctx(app_context: None, catalog: Catalog) -> Catalog:
    return catalog


SETTINGS = RuleSettings()


def new_customer(name: str = "Ann") -> int:
    with unit_of_work():
        customer = create_customer(
            CustomerInput(first_name=name, last_name="Lee", is_guest=True),
            source="quick_booking",
            settings=SETTINGS,
        )
    return customer.id


def at(day: date, hhmm: str, tz: ZoneInfo = LONDON) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz).astimezone(UTC)


def local_times(slots: list[Any]) -> list[str]:
    return [slot.local_start.strftime("%H:%M") for slot in slots]


# --- availability ------------------------------------------------------------------------------


def test_a_day_of_haircuts_in_london(ctx: Catalog) -> None:
    slots = available_starts(ctx.haircut, ctx.london, TUESDAY, now=NOW)
    assert local_times(slots)[:3] == ["09:00", "09:15", "09:30"]
    assert local_times(slots)[-1] == "16:30"  # 30 minutes before closing
    assert len(slots) == 31
    assert slots[0].start == datetime(2027, 3, 2, 9, 0, tzinfo=UTC)
    assert slots[0].local_text == "2027-03-02T09:00"
    # Alice and Bob offer haircuts there; Carol is inactive.
    assert {slot.agent_ids for slot in slots} == {(ctx.alice, ctx.bob)}


def test_availability_respects_agent_grid_closing_and_now(ctx: Catalog) -> None:
    bob = available_starts(ctx.haircut, ctx.london, TUESDAY, agent_id=ctx.bob, now=NOW)
    assert {slot.agent_ids for slot in bob} == {(ctx.bob,)}
    colour = available_starts(ctx.colour, ctx.london, TUESDAY, now=NOW)
    assert local_times(colour) == [f"{h:02d}:{m:02d}" for h in range(9, 16) for m in (0, 30)]
    assert available_starts(ctx.haircut, ctx.london, date(2027, 3, 7), now=NOW) == []  # Sunday
    midday = datetime(2027, 3, 2, 12, 5, tzinfo=UTC)
    assert local_times(available_starts(ctx.haircut, ctx.london, TUESDAY, now=midday))[0] == "12:15"
    assert available_starts(ctx.haircut, ctx.london, date(2027, 2, 23), now=NOW) == []  # past


@pytest.mark.parametrize(
    ("agent", "key", "message"),
    [
        ("dave", "agent_id", "This agent does not offer this service at this location"),
        ("carol", "agent_id", "This agent is not available"),
    ],
)
def test_availability_refuses_bad_references(
    ctx: Catalog, agent: str, key: str, message: str
) -> None:
    with pytest.raises(ValidationFailed) as info:
        available_starts(ctx.haircut, ctx.london, TUESDAY, agent_id=getattr(ctx, agent), now=NOW)
    assert info.value.details == {key: message}
    with pytest.raises(ValidationFailed) as info:
        available_starts(ctx.retired_service, ctx.london, TUESDAY, now=NOW)
    assert info.value.details == {"service_id": "This service is not available"}


def test_opening_hours_follow_daylight_saving(ctx: Catalog) -> None:
    def first_utc(location: int, day: date) -> datetime:
        return available_starts(ctx.haircut, location, day, now=NOW)[0].start

    assert first_utc(ctx.london, date(2027, 3, 26)) == datetime(2027, 3, 26, 9, tzinfo=UTC)
    assert first_utc(ctx.london, date(2027, 3, 29)) == datetime(2027, 3, 29, 8, tzinfo=UTC)
    assert first_utc(ctx.new_york, date(2027, 3, 12)) == datetime(2027, 3, 12, 14, tzinfo=UTC)
    assert first_utc(ctx.new_york, date(2027, 3, 15)) == datetime(2027, 3, 15, 13, tzinfo=UTC)


def test_the_spring_forward_gap_is_never_offered(ctx: Catalog) -> None:
    slots = available_starts(ctx.haircut, ctx.night, date(2027, 3, 28), now=NOW)
    times = local_times(slots)
    assert not [t for t in times if t.startswith("01:")]
    assert times[3:5] == ["00:45", "02:00"]
    assert slots[4].start == datetime(2027, 3, 28, 1, 0, tzinfo=UTC)  # 02:00 BST
    assert len(slots) == 4 + 87  # a 23-hour day; 23:45 would end after midnight


def test_the_fall_back_hour_is_offered_once(ctx: Catalog) -> None:
    slots = available_starts(ctx.haircut, ctx.night, date(2027, 10, 31), now=NOW)
    times = local_times(slots)
    assert len(times) == len(set(times)) == 95
    one_thirty = slots[times.index("01:30")]
    assert one_thirty.start == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)  # the first, BST
    starts = [slot.start for slot in slots]
    assert starts == sorted(starts)


# --- booking ----------------------------------------------------------------------------------


def test_a_booking_takes_the_agent_out_of_every_overlapping_start(ctx: Catalog) -> None:
    customer = new_customer()
    booking = book(customer, ctx.colour, ctx.london, ctx.alice, at(TUESDAY, "10:00"), now=NOW)
    assert re.fullmatch(r"BK-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}", booking.booking_code)
    assert (booking.start_at, booking.end_at) == (
        datetime(2027, 3, 2, 10, tzinfo=UTC),
        datetime(2027, 3, 2, 11, 30, tzinfo=UTC),
    )
    assert booking.status == "confirmed"
    claims = db.session.execute(select(func.count()).select_from(BookingSlotClaim)).scalar_one()
    assert claims == 18  # 90 minutes in 5-minute granules

    haircuts = {s.local_start.strftime("%H:%M"): s.agent_ids for s in
                available_starts(ctx.haircut, ctx.london, TUESDAY, now=NOW)}  # fmt: skip
    assert haircuts["09:30"] == (ctx.alice, ctx.bob)  # ends 10:00 sharp
    assert haircuts["09:45"] == (ctx.bob,)
    assert haircuts["11:15"] == (ctx.bob,)
    assert haircuts["11:30"] == (ctx.alice, ctx.bob)
    # Alice is the only colourist in London: the overlapping colour starts are gone.
    colour = local_times(available_starts(ctx.colour, ctx.london, TUESDAY, now=NOW))
    assert "09:00" not in colour
    assert "11:30" in colour
    # An agent cannot be in two places: her London booking blocks the night location too.
    night = {s.local_start.strftime("%H:%M") for s in
             available_starts(ctx.haircut, ctx.night, TUESDAY, now=NOW)}  # fmt: skip
    assert "10:00" not in night
    assert "09:30" in night


def test_overlapping_bookings_are_refused(ctx: Catalog) -> None:
    first, second = new_customer("Ann"), new_customer("Bea")
    book(first, ctx.colour, ctx.london, ctx.alice, at(TUESDAY, "10:00"), now=NOW)
    with pytest.raises(SlotTaken):
        book(second, ctx.haircut, ctx.london, ctx.alice, at(TUESDAY, "11:15"), now=NOW)
    # Without a chosen agent, a free one is picked.
    booking = book(second, ctx.haircut, ctx.london, None, at(TUESDAY, "11:15"), now=NOW)
    assert booking.agent_id == ctx.bob
    # (A third customer: the second one's own 11:15 would refuse 11:00 for them by fair use.)
    with pytest.raises(SlotTaken):
        book(new_customer("Cy"), ctx.haircut, ctx.london, None, at(TUESDAY, "11:00"), now=NOW)
    assert db.session.execute(select(func.count()).select_from(Booking)).scalar_one() == 2


def test_any_agent_means_the_least_busy_one(ctx: Catalog) -> None:
    customer = new_customer()
    first = book(customer, ctx.haircut, ctx.london, None, at(TUESDAY, "09:00"), now=NOW)
    second = book(customer, ctx.haircut, ctx.london, None, at(TUESDAY, "14:00"), now=NOW)
    assert {first.agent_id, second.agent_id} == {ctx.alice, ctx.bob}


@pytest.mark.parametrize(
    ("when", "message"),
    [
        (datetime(2027, 3, 1, 10, tzinfo=UTC), "This time is in the past"),
        (datetime(2027, 3, 2, 10, 10, tzinfo=UTC), "Haircut starts every 15 minutes"),
        (datetime(2027, 3, 2, 8, 45, tzinfo=UTC), "not open"),
        (datetime(2027, 3, 2, 16, 45, tzinfo=UTC), "not open"),
        (datetime(2027, 3, 7, 10, 0, tzinfo=UTC), "not open"),
    ],
)
def test_every_time_rule_is_checked_again_when_booking(
    ctx: Catalog, when: datetime, message: str
) -> None:
    customer = new_customer()
    with pytest.raises(ValidationFailed) as info:
        book(customer, ctx.haircut, ctx.london, ctx.bob, when, now=NOW)
    assert list(info.value.details) == ["start"]
    assert message in info.value.details["start"]
    assert db.session.execute(select(func.count()).select_from(Booking)).scalar_one() == 0


def test_the_second_pass_of_a_fall_back_hour_is_not_bookable(ctx: Catalog) -> None:
    customer = new_customer()
    second_one_thirty = datetime(2027, 10, 31, 1, 30, tzinfo=UTC)  # 01:30 GMT
    with pytest.raises(ValidationFailed) as info:
        book(customer, ctx.haircut, ctx.night, ctx.alice, second_one_thirty, now=NOW)
    assert "not offered" in info.value.details["start"]
    first_one_thirty = second_one_thirty - timedelta(hours=1)  # 01:30 BST
    first = book(customer, ctx.haircut, ctx.night, ctx.alice, first_one_thirty, now=NOW)
    assert first.start_at == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("service", "location", "agent", "key"),
    [
        ("retired_service", "london", "alice", "service_id"),
        ("haircut", "closed_location", "alice", "location_id"),
        ("haircut", "london", "carol", "agent_id"),
        ("haircut", "london", "dave", "agent_id"),
        ("colour", "night", None, "location_id"),
    ],
)
def test_every_reference_rule_is_checked_again_when_booking(
    ctx: Catalog, service: str, location: str, agent: str | None, key: str
) -> None:
    customer = new_customer()
    agent_id = getattr(ctx, agent) if agent else None
    start = at(TUESDAY, "10:00")
    with pytest.raises(ValidationFailed) as info:
        book(customer, getattr(ctx, service), getattr(ctx, location), agent_id, start, now=NOW)
    assert list(info.value.details) == [key]


def test_cancelling_frees_the_time_and_only_the_owner_may(ctx: Catalog) -> None:
    owner, other = new_customer("Ann"), new_customer("Bea")
    booking = book(owner, ctx.haircut, ctx.london, ctx.alice, at(TUESDAY, "10:00"), now=NOW)
    with pytest.raises(BookingNotFound):
        cancel_booking(booking.id, other, now=NOW)
    with pytest.raises(BookingNotFound):
        cancel_booking(10**30, owner, now=NOW)
    with pytest.raises(BookingNotCancellable):
        cancel_booking(booking.id, owner, now=datetime(2027, 3, 2, 10, 5, tzinfo=UTC))
    cancelled = cancel_booking(booking.id, owner, now=NOW)
    assert (cancelled.status, cancelled.cancelled_at) == ("cancelled", NOW)
    assert cancel_booking(booking.id, owner, now=NOW).status == "cancelled"  # again: no change
    assert db.session.execute(select(func.count()).select_from(BookingSlotClaim)).scalar_one() == 0
    again = book(other, ctx.haircut, ctx.london, ctx.alice, at(TUESDAY, "10:00"), now=NOW)
    assert again.agent_id == ctx.alice
    assert [b.booking_code for b in bookings_for_customer(owner)] == [booking.booking_code]
    assert bookings_for_customer(other)[0].status == "confirmed"


def test_customer_and_booking_are_one_transaction(ctx: Catalog) -> None:
    start = at(TUESDAY, "10:00")

    def book_as_guest(guest: CustomerInput) -> tuple[Customer, Booking]:
        with unit_of_work():
            customer = create_customer(guest, source="quick_booking", settings=SETTINGS)
            return customer, reserve_booking(
                customer, ctx.haircut, ctx.london, ctx.bob, start, now=NOW
            )

    guest = CustomerInput(first_name="Cy", last_name="Lee", email="cy@example.com", is_guest=True)
    customer, booking = book_as_guest(guest)
    assert booking.customer_id == customer.id
    late = CustomerInput(first_name="Di", last_name="Lee", email="di@example.com", is_guest=True)
    with pytest.raises(SlotTaken):
        book_as_guest(late)
    # The refused booking took its customer with it.
    emails = db.session.execute(select(Customer.email).order_by(Customer.id)).scalars().all()
    assert emails == ["cy@example.com"]


def test_the_database_refuses_an_overlap_a_stale_check_let_through(
    ctx: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = new_customer("Ann"), new_customer("Bea")
    book(first, ctx.colour, ctx.london, ctx.alice, at(TUESDAY, "10:00"), now=NOW)
    # As if the availability check had run before the first booking committed.
    monkeypatch.setattr(
        booking_service, "busy_intervals", lambda ids, start, end: {i: [] for i in ids}
    )
    with pytest.raises(SlotTaken):
        book(second, ctx.haircut, ctx.london, ctx.alice, at(TUESDAY, "11:15"), now=NOW)
    assert db.session.execute(select(func.count()).select_from(Booking)).scalar_one() == 1
    assert book(second, ctx.haircut, ctx.london, ctx.alice, at(TUESDAY, "11:30"), now=NOW)


def test_any_agent_moves_on_when_its_first_choice_was_taken_meanwhile(
    ctx: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Concurrent "any agent" requests pick the same agent first; the loser of that claim
    must get the next free agent, not "taken" (and in quick booking keep its customer)."""
    start = at(TUESDAY, "10:00")
    book(new_customer("Ann"), ctx.haircut, ctx.london, ctx.alice, start, now=NOW)
    # As if both requests had checked before Ann's booking committed, and ranked Alice first.
    monkeypatch.setattr(
        booking_service, "busy_intervals", lambda ids, start, end: {i: [] for i in ids}
    )
    monkeypatch.setattr(
        booking_service, "_least_busy", lambda agents, start: sorted(agents, key=lambda a: a.id)
    )
    guest = CustomerInput(first_name="Bea", last_name="Lee", email="bea@example.com")
    with unit_of_work():
        customer = create_customer(guest, source="quick_booking", settings=SETTINGS)
        booked = [reserve_booking(customer, ctx.haircut, ctx.london, None, start, now=NOW)]

    assert booked[0].agent_id != ctx.alice
    assert booked[0].customer_id == customer.id
    rows = db.session.execute(select(Booking.agent_id).order_by(Booking.id)).scalars().all()
    assert rows == [ctx.alice, booked[0].agent_id]
    assert db.session.get(Customer, customer.id) is not None
    claims = db.session.execute(select(BookingSlotClaim.booking_id)).scalars().all()
    assert set(claims) == {b.id for b in db.session.execute(select(Booking)).scalars()}


def test_a_reserved_booking_is_not_committed_before_its_caller_commits(
    app: Flask, ctx: Catalog
) -> None:
    """The claim's savepoint must nest inside the caller's transaction on every database
    (on SQLite a SAVEPOINT outside a transaction would commit at its RELEASE)."""
    customer_id = new_customer("Ann")  # committed: what follows is a fresh transaction,
    customer = db.session.get(Customer, customer_id)  # with nothing but SELECTs so far

    reserve_booking(customer, ctx.haircut, ctx.london, None, at(TUESDAY, "10:00"), now=NOW)

    other = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with other.connect() as conn:
            seen = conn.execute(select(func.count()).select_from(Booking)).scalar_one()
        assert seen == 0
        db.session.rollback()
        with other.connect() as conn:
            assert conn.execute(select(func.count()).select_from(Booking)).scalar_one() == 0
    finally:
        other.dispose()


def test_concurrent_bookings_of_one_agent_and_time_make_exactly_one(
    app: Flask, catalog: Catalog
) -> None:
    """Several threads, each with its own app context, session and connection, race to book
    Alice at 10:00 (overlapping services): the database lets exactly one win."""
    with app.app_context():
        customers = [new_customer(name) for name in ("Ann", "Bea", "Cyd", "Dot")]
    requests = [
        (catalog.haircut, at(TUESDAY, "10:00")),
        (catalog.colour, at(TUESDAY, "09:30")),
        (catalog.haircut, at(TUESDAY, "10:15")),
        (catalog.haircut, at(TUESDAY, "10:00")),
    ]
    barrier = threading.Barrier(len(customers))
    outcomes: list[str] = []

    def attempt(customer_id: int, service_id: int, start: datetime) -> None:
        with app.app_context():
            barrier.wait()
            try:
                with unit_of_work():
                    book(customer_id, service_id, catalog.london, catalog.alice, start, now=NOW)
                outcomes.append("booked")
            except SlotTaken:
                outcomes.append("taken")
            finally:
                db.session.remove()

    threads = [
        threading.Thread(target=attempt, args=(customer, *request))
        for customer, request in zip(customers, requests, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["booked", "taken", "taken", "taken"]
    with app.app_context():
        bookings = db.session.execute(select(Booking)).scalars().all()
        assert len(bookings) == 1
        claims = db.session.execute(select(BookingSlotClaim.booking_id)).scalars().all()
        assert set(claims) == {bookings[0].id}


# --- GET /availability ------------------------------------------------------------------------


def next_weekday(weekday: int, *, after_days: int = 30) -> date:
    day = datetime.now(UTC).date() + timedelta(days=after_days)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def test_availability_endpoint(api: ApiClient, catalog: Catalog) -> None:
    tuesday = next_weekday(1)
    query = f"service_id={catalog.haircut}&location_id={catalog.london}&date={tuesday}"
    response = api.get(f"/availability?{query}&agent_id={catalog.bob}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "success"
    data = body["data"]
    assert (data["date"], data["timezone"]) == (tuesday.isoformat(), "Europe/London")
    assert len(data["slots"]) == 31
    first = data["slots"][0]
    assert first["start"] == f"{tuesday}T09:00"
    expected_utc = at(tuesday, "09:00").strftime("%Y-%m-%dT%H:%M:%SZ")
    assert first["start_utc"] == expected_utc
    assert first["agent_ids"] == [catalog.bob]
    # The same routes serve LatePoint widgets.
    wordpress = api.client.get(
        f"/wp-json/latepoint-api/v1/availability?{query}", headers=api.headers()
    )
    assert wordpress.get_json()["data"]["slots"][0]["agent_ids"] == [catalog.alice, catalog.bob]


def test_availability_defaults_to_today_at_the_location(api: ApiClient, catalog: Catalog) -> None:
    before = datetime.now(ZoneInfo("America/New_York")).date()
    response = api.get(f"/availability?service_id={catalog.haircut}&location_id={catalog.new_york}")
    after = datetime.now(ZoneInfo("America/New_York")).date()
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert data["date"] in {before.isoformat(), after.isoformat()}
    assert data["timezone"] == "America/New_York"


REQUIRED = "This parameter is required"
POSITIVE = "Must be a positive integer"


@pytest.mark.parametrize(
    ("query", "details"),
    [
        ("", {"service_id": REQUIRED, "location_id": REQUIRED}),
        ("service_id=abc&location_id=1", {"service_id": POSITIVE}),
        ("service_id=1&location_id=0&agent_id=-2", {"location_id": POSITIVE, "agent_id": POSITIVE}),
        ("service_id=1&location_id=1&date=2027-02-30", {"date": "This is not a real date"}),
        ("service_id=1&location_id=1&date=tomorrow", {"date": "Use the form YYYY-MM-DD"}),
        ("service_id=99999999999999999999&location_id=1", {"service_id": POSITIVE}),
    ],
)  # fmt: skip
def test_availability_parameters_are_checked(
    api: ApiClient, query: str, details: dict[str, str]
) -> None:
    response = api.get(f"/availability?{query}")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert error["details"] == details


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1999-06-01"])
def test_availability_dates_outside_the_horizon_are_422(
    api: ApiClient, catalog: Catalog, day: str
) -> None:
    query = f"service_id={catalog.haircut}&location_id={catalog.new_york}&date={day}"
    response = api.get(f"/availability?{query}")
    assert response.status_code == 422
    details = response.get_json()["error"]["details"]
    assert list(details) == ["date"]
    assert details["date"].startswith("Choose a date from today to ")


def test_availability_references_are_checked(api: ApiClient, catalog: Catalog) -> None:
    response = api.get(
        f"/availability?service_id={catalog.colour}&location_id={catalog.london}"
        f"&agent_id={catalog.bob}"
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["details"] == {
        "agent_id": "This agent does not offer this service at this location"
    }
    response = api.get(f"/availability?service_id=999999&location_id={catalog.london}")
    assert response.get_json()["error"]["details"] == {
        "service_id": "There is no service with this id"
    }


def test_availability_needs_the_read_permission(
    api: ApiClient, make_api_key: Any, catalog: Catalog
) -> None:
    path = f"/availability?service_id={catalog.haircut}&location_id={catalog.london}"
    assert api.client.get("/api/v1" + path).status_code == 401
    create_only = make_api_key(permissions=("customers:create",))
    response = api.client.get("/api/v1" + path, headers={"X-API-Key": create_only})
    assert response.status_code == 403
