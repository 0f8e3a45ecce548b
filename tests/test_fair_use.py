"""Fair use of the calendar (SPEC section 9), in the booking service, on SQLite and PostgreSQL:
one customer holds no two overlapping bookings (whoever they are with) and no more than
``MAX_BOOKINGS_PER_DAY`` on one local day; the database refuses an overlap even when the
service's own check is skipped. Races through real gunicorn workers: test_fair_use_race.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from latepoint_forms import create_app
from latepoint_forms.bookings import service as booking_service
from latepoint_forms.bookings.errors import BookingOverlaps, DailyLimitReached
from latepoint_forms.bookings.service import (
    book,
    cancel_booking,
    local_day_bounds,
    reschedule_booking,
)
from latepoint_forms.config import load_config
from latepoint_forms.customers.input import CustomerInput, RuleSettings
from latepoint_forms.customers.service import create_customer
from latepoint_forms.extensions import db
from latepoint_forms.models import Booking, CustomerSlotClaim, Location
from latepoint_forms.unit_of_work import unit_of_work

from .catalog_fixtures import NOW, Catalog, build_catalog
from .conftest import base_config

TUESDAY = date(2027, 3, 2)
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def ctx(app: Flask, app_context: None) -> Catalog:
    return build_catalog(app)


def new_customer(name: str = "Ann") -> int:
    with unit_of_work():
        customer = create_customer(
            CustomerInput(first_name=name, last_name="Lee", is_guest=True),
            source="quick_booking",
            settings=RuleSettings(),
        )
    return customer.id


def at(hhmm: str, day: date = TUESDAY, tz: ZoneInfo = LONDON) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz).astimezone(UTC)


def booked(
    customer: int, ctx: Catalog, hhmm: str, agent: int | None, day: date = TUESDAY
) -> Booking:
    with unit_of_work():
        return book(customer, ctx.haircut, ctx.london, agent, at(hhmm, day), now=NOW)


def confirmed(customer: int) -> list[datetime]:
    db.session.expire_all()
    return list(
        db.session.execute(
            select(Booking.start_at)
            .where(Booking.customer_id == customer, Booking.status == "confirmed")
            .order_by(Booking.start_at)
        ).scalars()
    )


def customer_granules(booking_id: int) -> list[datetime]:
    return list(
        db.session.execute(
            select(CustomerSlotClaim.slot_start)
            .where(CustomerSlotClaim.booking_id == booking_id)
            .order_by(CustomerSlotClaim.slot_start)
        ).scalars()
    )


# --- overlaps ----------------------------------------------------------------------------------


def test_one_customer_cannot_book_two_agents_at_one_instant(ctx: Catalog) -> None:
    ann = new_customer()
    first = booked(ann, ctx, "10:00", ctx.alice)

    with pytest.raises(BookingOverlaps) as refused:
        booked(ann, ctx, "10:00", ctx.bob)
    assert refused.value.status == 409
    assert refused.value.details == {"start": "You already have a booking at this time"}
    with pytest.raises(BookingOverlaps):  # "any agent" finds Bob free, but not Ann
        booked(ann, ctx, "10:15", None)
    with pytest.raises(BookingOverlaps), unit_of_work():  # a longer visit reaching into it
        book(ann, ctx.colour, ctx.london, ctx.alice, at("09:00"), now=NOW)

    assert confirmed(ann) == [first.start_at]
    # Another customer takes Bob at that time; Ann's next visit may start as hers ends.
    booked(new_customer("Bea"), ctx, "10:00", ctx.bob)
    assert booked(ann, ctx, "10:30", ctx.bob).start_at == at("10:30")
    assert customer_granules(first.id) == [
        at("10:00") + timedelta(minutes=m) for m in range(0, 30, 5)
    ]


def test_a_cancelled_booking_frees_the_customers_time(ctx: Catalog) -> None:
    ann = new_customer()
    first = booked(ann, ctx, "10:00", ctx.alice)
    with unit_of_work():
        cancel_booking(first.id, ann, now=NOW)
    assert customer_granules(first.id) == []

    assert booked(ann, ctx, "10:00", ctx.bob).agent_id == ctx.bob


def test_the_database_refuses_an_overlap_the_check_did_not_see(
    ctx: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As if two requests had both counted before either wrote: the customer's claims under
    UNIQUE (customer_id, slot_start) decide, and nothing of the refused booking is kept."""
    ann = new_customer()
    first = booked(ann, ctx, "10:00", ctx.alice)
    monkeypatch.setattr(booking_service, "_check_fair_use", lambda *args, **kwargs: None)

    with pytest.raises(BookingOverlaps):
        booked(ann, ctx, "10:15", ctx.bob)

    assert confirmed(ann) == [first.start_at]
    db.session.add(CustomerSlotClaim(customer_id=ann, slot_start=at("10:05"), booking_id=first.id))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_move_onto_another_own_booking_is_refused_and_keeps_the_old_time(
    ctx: Catalog,
) -> None:
    ann = new_customer()
    morning = booked(ann, ctx, "10:00", ctx.alice)
    noon = booked(ann, ctx, "12:00", ctx.alice)

    with pytest.raises(BookingOverlaps), unit_of_work():
        reschedule_booking(noon.id, at("10:15"), ctx.bob, expected_sequence=0, now=NOW)

    assert confirmed(ann) == [morning.start_at, noon.start_at]
    assert customer_granules(noon.id)[0] == at("12:00")
    # A move a little over its own old time does not count the booking against itself.
    with unit_of_work():
        moved = reschedule_booking(noon.id, at("12:15"), None, expected_sequence=0, now=NOW)
    assert customer_granules(moved.id)[0] == at("12:15")


# --- the per-day limit ---------------------------------------------------------------------------


def test_no_more_than_three_bookings_on_one_day(ctx: Catalog) -> None:
    ann = new_customer()
    for hhmm in ("09:00", "11:00", "13:00"):
        booked(ann, ctx, hhmm, None)

    with pytest.raises(DailyLimitReached) as refused:
        booked(ann, ctx, "15:00", None)
    assert refused.value.details == {"start": "You can book at most 3 visits on one day"}
    # The next day is another day; another customer is not limited by Ann.
    booked(ann, ctx, "09:00", None, day=TUESDAY + timedelta(days=1))
    booked(new_customer("Bea"), ctx, "15:00", None)
    assert len(confirmed(ann)) == 4


def test_the_limit_is_a_setting_and_cancelled_bookings_do_not_count(
    app: Flask, ctx: Catalog
) -> None:
    app.config["MAX_BOOKINGS_PER_DAY"] = 1
    ann = new_customer()
    first = booked(ann, ctx, "09:00", None)
    with pytest.raises(DailyLimitReached, match="at most 1 visit on one day"):
        booked(ann, ctx, "15:00", None)
    with unit_of_work():
        cancel_booking(first.id, ann, now=NOW)

    assert booked(ann, ctx, "15:00", None).start_at == at("15:00")


def test_a_move_within_a_full_day_is_allowed_but_not_into_one(ctx: Catalog) -> None:
    ann = new_customer()
    day_bookings = [booked(ann, ctx, hhmm, ctx.alice) for hhmm in ("09:00", "11:00", "13:00")]
    wednesday = TUESDAY + timedelta(days=1)
    other_day = booked(ann, ctx, "09:00", ctx.alice, day=wednesday)

    with unit_of_work():  # the day holds three, the one moved among them
        reschedule_booking(day_bookings[2].id, at("15:00"), None, expected_sequence=0, now=NOW)
    with pytest.raises(DailyLimitReached), unit_of_work():
        reschedule_booking(other_day.id, at("16:00"), None, expected_sequence=0, now=NOW)

    assert confirmed(ann) == [at("09:00"), at("11:00"), at("15:00"), at("09:00", wednesday)]


def test_the_day_is_the_locations_local_calendar_day(app: Flask, ctx: Catalog) -> None:
    """New York's Tuesday runs from 05:00 UTC to 05:00 UTC (winter). Ann's visits at the
    round-the-clock London location on Tuesday 10:00 and Wednesday 02:00 (UTC = London time)
    both fall on it: with a limit of 2, a Tuesday 17:00 visit in New York is refused, though
    it is her only other one on that UTC day, and her second on London's Wednesday is not."""
    york = Location(key="x", name="X", timezone="America/New_York", opening_hours={})
    assert local_day_bounds(at("17:00", tz=NEW_YORK), york) == (
        datetime(2027, 3, 2, 5, tzinfo=UTC),
        datetime(2027, 3, 3, 5, tzinfo=UTC),
    )
    # The day the clocks go forward has 23 hours (14 March 2027 in New York).
    first, after = local_day_bounds(at("12:00", date(2027, 3, 14), NEW_YORK), york)
    assert after - first == timedelta(hours=23)

    app.config["MAX_BOOKINGS_PER_DAY"] = 2
    ann = new_customer()
    with unit_of_work():
        book(ann, ctx.haircut, ctx.night, ctx.alice, at("10:00"), now=NOW)
    with unit_of_work():
        book(
            ann,
            ctx.haircut,
            ctx.night,
            ctx.alice,
            at("02:00", TUESDAY + timedelta(days=1)),
            now=NOW,
        )

    with pytest.raises(DailyLimitReached), unit_of_work():
        book(ann, ctx.haircut, ctx.new_york, ctx.bob, at("17:00", tz=NEW_YORK), now=NOW)
    assert len(confirmed(ann)) == 2


def test_the_limit_setting_is_one_or_more() -> None:
    assert load_config({})["MAX_BOOKINGS_PER_DAY"] == 3
    assert load_config({"MAX_BOOKINGS_PER_DAY": "5"})["MAX_BOOKINGS_PER_DAY"] == 5
    with pytest.raises(RuntimeError, match="MAX_BOOKINGS_PER_DAY must be 1 or more"):
        load_config({"MAX_BOOKINGS_PER_DAY": "0"})


_OLD_ROWS = (
    "INSERT INTO customers (uuid, customer_code, first_name, last_name, email, status,"
    " custom_fields, is_guest, source, created_at, updated_at, search_text) VALUES"
    " ('u-1', 'C1', 'Zoë', 'Brown', 'zoe@example.com', 'active', '{}', false, 'api',"
    " '2026-01-01 00:00:00', '2026-01-01 00:00:00', '')",
    "INSERT INTO services (id, key, name, duration_minutes, slot_interval_minutes, active)"
    " VALUES (1, 'haircut', 'Haircut', 30, 15, true)",
    "INSERT INTO locations (id, key, name, timezone, opening_hours, active)"
    " VALUES (1, 'london', 'London', 'Europe/London', '{}', true)",
    "INSERT INTO agents (id, key, name, active) VALUES (1, 'alice', 'Alice', true)",
    "INSERT INTO agents (id, key, name, active) VALUES (2, 'bob', 'Bob', true)",
)


def test_migration_0007_gives_existing_bookings_their_customers_claims(
    unmigrated_url: str,
) -> None:
    """Two bookings of one customer at one instant (made before the rule) upgrade cleanly: the
    earlier one holds the customer's granules; a cancelled booking holds none."""
    app = create_app(base_config(unmigrated_url))
    start = datetime(2030, 1, 7, 10, 0)
    half_hour = [start + timedelta(minutes=m) for m in range(0, 30, 5)]
    with app.app_context():
        upgrade(revision="0008_customer_sessions")
        with db.engine.begin() as conn:
            for statement in _OLD_ROWS:
                conn.execute(sa.text(statement))
            for code, agent, status in (
                ("BK-1", 1, "confirmed"),
                ("BK-2", 2, "confirmed"),
                ("BK-3", 1, "cancelled"),
            ):
                booking = conn.execute(
                    sa.text(
                        "INSERT INTO bookings (booking_code, customer_id, service_id, agent_id,"
                        " location_id, start_at, end_at, status, created_at, sequence) VALUES"
                        " (:code, (SELECT id FROM customers), 1, :agent, 1, :start, :end,"
                        " :status, :start, 0) RETURNING id"
                    ),
                    {
                        "code": code,
                        "agent": agent,
                        "status": status,
                        "start": start,
                        "end": start + timedelta(minutes=30),
                    },
                ).scalar_one()
                if status == "confirmed":
                    for granule in half_hour:
                        conn.execute(
                            sa.text(
                                "INSERT INTO booking_slot_claims (agent_id, slot_start,"
                                " booking_id) VALUES (:agent, :at, :booking)"
                            ),
                            {"agent": agent, "at": granule, "booking": booking},
                        )

        upgrade()

        with db.engine.connect() as conn:
            held = conn.execute(
                sa.text(
                    "SELECT b.booking_code, COUNT(*) FROM customer_slot_claims c"
                    " JOIN bookings b ON b.id = c.booking_id GROUP BY b.booking_code"
                )
            ).all()
        assert [tuple(row) for row in held] == [("BK-1", 6)]
        downgrade(revision="0008_customer_sessions")
        upgrade()
        db.engine.dispose()
