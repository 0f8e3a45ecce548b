"""Moving a booking (``reschedule_booking``) and the cut-off for changes, on SQLite and
PostgreSQL: the swap is all or nothing, and the booking's ``sequence`` counts the moves."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select

from latepoint_forms.bookings.availability import available_starts
from latepoint_forms.bookings.errors import (
    BookingChanged,
    BookingChangesClosed,
    BookingNotCancellable,
    SlotTaken,
)
from latepoint_forms.bookings.service import (
    book,
    cancel_booking,
    granules,
    reschedule_booking,
)
from latepoint_forms.customers.errors import ValidationFailed
from latepoint_forms.customers.input import CustomerInput, RuleSettings
from latepoint_forms.customers.service import create_customer
from latepoint_forms.extensions import db
from latepoint_forms.models import Booking, BookingSlotClaim, OutboxMessage
from latepoint_forms.outbox.service import Attachment
from latepoint_forms.unit_of_work import unit_of_work

from .catalog_fixtures import NOW, Catalog, build_catalog

TUESDAY = date(2027, 3, 2)
LONDON = ZoneInfo("Europe/London")
TWO_HOURS = timedelta(hours=2)


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


def at(hhmm: str, day: date = TUESDAY) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON).astimezone(UTC)


def booked(
    ctx: Catalog, hhmm: str, agent: int | None = None, service: int | None = None
) -> Booking:
    with unit_of_work():
        booking = book(
            new_customer(),
            service or ctx.haircut,
            ctx.london,
            agent or ctx.alice,
            at(hhmm),
            now=NOW,
        )
    return booking


def stored(booking_id: int) -> tuple[str, datetime, int, int, list[datetime]]:
    """What the database holds, read afresh: status, start, agent, sequence, claimed granules."""
    db.session.expire_all()
    booking = db.session.get(Booking, booking_id)
    assert booking is not None
    claims = db.session.execute(
        select(BookingSlotClaim.slot_start)
        .where(BookingSlotClaim.booking_id == booking_id)
        .order_by(BookingSlotClaim.slot_start)
    ).scalars()
    return booking.status, booking.start_at, booking.agent_id, booking.sequence, list(claims)


def move(
    booking: Booking, hhmm: str, agent: int | None, sequence: int = 0, now: datetime = NOW
) -> Booking:
    with unit_of_work():
        return reschedule_booking(
            booking.id, at(hhmm), agent, expected_sequence=sequence, now=now, cutoff=TWO_HOURS
        )


def test_a_move_swaps_the_claims_and_counts_the_sequence(ctx: Catalog) -> None:
    booking = booked(ctx, "10:00")
    code = booking.booking_code

    moved = move(booking, "14:30", ctx.alice)

    assert moved.booking_code == code  # the same booking, the same calendar UID
    assert stored(booking.id) == (
        "confirmed",
        at("14:30"),
        ctx.alice,
        1,
        granules(at("14:30"), at("15:00")),
    )
    # The old time is free again; the new one is not.
    free = [s.start for s in available_starts(ctx.haircut, ctx.london, TUESDAY, ctx.alice, NOW)]
    assert at("10:00") in free
    assert at("14:30") not in free
    move(booking, "11:00", ctx.alice, sequence=1)
    assert stored(booking.id)[3] == 2


def test_a_long_visit_moves_a_little_over_its_own_time(ctx: Catalog) -> None:
    """90 minutes at 10:00 moved to 10:30 with the same person: an hour of it overlaps."""
    booking = booked(ctx, "10:00", service=ctx.colour)
    # Its own time does not count against it when the free times are listed...
    free = available_starts(ctx.colour, ctx.london, TUESDAY, ctx.alice, NOW, ignoring=booking.id)
    assert at("10:30") in [s.start for s in free]

    move(booking, "10:30", ctx.alice)  # ...nor when it moves.

    assert stored(booking.id)[1:4] == (at("10:30"), ctx.alice, 1)
    assert stored(booking.id)[4] == granules(at("10:30"), at("12:00"))


def test_a_taken_time_leaves_the_booking_as_it_was(ctx: Catalog) -> None:
    booking = booked(ctx, "10:00")
    booked(ctx, "14:30")  # someone else, with Alice
    before = stored(booking.id)

    with pytest.raises(SlotTaken):
        move(booking, "14:30", ctx.alice)

    assert stored(booking.id) == before


def test_any_agent_keeps_the_booked_person_when_free_else_takes_another(ctx: Catalog) -> None:
    booking = booked(ctx, "10:00")
    move(booking, "11:00", None)
    assert stored(booking.id)[2] == ctx.alice  # Alice is free at 11:00: she stays

    booked(ctx, "15:00")  # Alice busy at 15:00; Bob is free
    move(booking, "15:00", None, sequence=1)
    assert stored(booking.id)[1:4] == (at("15:00"), ctx.bob, 2)


def test_a_claim_lost_to_a_concurrent_booking_keeps_the_old_time(ctx: Catalog) -> None:
    """The availability check passes, then another booking's claim wins in the database."""
    booking = booked(ctx, "10:00")
    before = stored(booking.id)
    rival = booked(ctx, "13:00")
    # The rival's booking row says it is elsewhere (as if read before it committed); its
    # claims, which the unique index judges, still hold 14:30.
    with unit_of_work():
        db.session.get(Booking, rival.id).start_at = at("08:00")  # type: ignore[union-attr]
        db.session.get(Booking, rival.id).end_at = at("08:30")  # type: ignore[union-attr]
        for claim in db.session.execute(
            select(BookingSlotClaim).where(BookingSlotClaim.booking_id == rival.id)
        ).scalars():
            claim.slot_start = claim.slot_start + timedelta(minutes=90)

    with pytest.raises(SlotTaken):
        move(booking, "14:30", ctx.alice)

    assert stored(booking.id) == before


def test_a_stale_or_cancelled_booking_is_not_moved(ctx: Catalog) -> None:
    booking = booked(ctx, "10:00")
    move(booking, "11:00", ctx.alice)
    with pytest.raises(BookingChanged):
        move(booking, "12:00", ctx.alice, sequence=0)  # the page showed it before the move
    assert stored(booking.id)[1] == at("11:00")

    with unit_of_work():
        cancel_booking(booking.id, booking.customer_id, now=NOW)
    with pytest.raises(BookingChanged):
        move(booking, "12:00", ctx.alice, sequence=1)
    assert stored(booking.id)[0] == "cancelled"
    assert stored(booking.id)[4] == []


@pytest.mark.parametrize(
    ("hhmm", "agent", "key"),
    [
        ("10:10", "alice", "start"),  # off the 15-minute grid
        ("17:00", "alice", "start"),  # after closing
        ("10:00", "alice", "start"),  # its own time
        ("10:00", None, "start"),
        ("11:00", "dave", "agent_id"),  # does not cut hair in London
    ],
)
def test_the_new_time_is_checked_like_a_new_booking(
    ctx: Catalog, hhmm: str, agent: str | None, key: str
) -> None:
    booking = booked(ctx, "10:00")
    before = stored(booking.id)
    with pytest.raises(ValidationFailed) as info:
        move(booking, hhmm, getattr(ctx, agent) if agent else None)
    assert list(info.value.details or {}) == [key]
    assert stored(booking.id) == before


def test_changes_close_the_cutoff_before_the_start(ctx: Catalog) -> None:
    booking = booked(ctx, "10:00")
    closing = at("10:00") - TWO_HOURS
    before = stored(booking.id)

    with pytest.raises(BookingChangesClosed) as closed:
        move(booking, "14:00", ctx.alice, now=closing)
    assert "2 hours before the start" in closed.value.message
    with pytest.raises(BookingChangesClosed), unit_of_work():
        cancel_booking(booking.id, booking.customer_id, now=closing, cutoff=TWO_HOURS)
    with pytest.raises(BookingNotCancellable), unit_of_work():
        cancel_booking(booking.id, booking.customer_id, now=at("10:00"), cutoff=TWO_HOURS)
    assert stored(booking.id) == before

    # A minute earlier both are still open.
    move(booking, "14:00", ctx.alice, now=closing - timedelta(minutes=1))
    with unit_of_work():
        cancel_booking(
            booking.id,
            booking.customer_id,
            now=at("14:00") - TWO_HOURS - timedelta(minutes=1),
            cutoff=TWO_HOURS,
        )
    assert stored(booking.id)[0] == "cancelled"


# --- the "moved" message joins the move's transaction ------------------------------------


def kinds(booking_id: int) -> list[tuple[str, str]]:
    db.session.expire_all()
    query = (
        select(OutboxMessage.kind, OutboxMessage.state)
        .where(OutboxMessage.booking_id == booking_id)
        .order_by(OutboxMessage.id)
    )
    return [(kind, state) for kind, state in db.session.execute(query)]


def test_a_move_queues_the_moved_message_and_a_refused_one_nothing(ctx: Catalog) -> None:
    with unit_of_work():
        customer = create_customer(
            CustomerInput(first_name="Ann", last_name="Lee", email="ann@example.com"),
            source="quick_booking",
            settings=RuleSettings(),
        )
    with unit_of_work():
        booking = book(customer.id, ctx.haircut, ctx.london, ctx.alice, at("10:00"), now=NOW)
    booked(ctx, "14:30")  # Alice is busy then
    before = kinds(booking.id)
    assert ("booking_confirmation", "pending") in before

    with pytest.raises(SlotTaken):
        move(booking, "14:30", ctx.alice)
    assert kinds(booking.id) == before  # nothing said about a move that did not happen

    move(booking, "11:00", ctx.alice)
    [moved] = db.session.execute(
        select(OutboxMessage).where(
            OutboxMessage.booking_id == booking.id, OutboxMessage.kind == "booking_rescheduled"
        )
    ).scalars()
    assert moved.recipient == "ann@example.com"
    [calendar] = [Attachment.from_json(a) for a in moved.attachments]
    text = calendar.content.decode().replace("\r\n ", "")
    assert "SEQUENCE:1" in text
    assert f"UID:{booking.booking_code.lower()}@" in text
    assert "DTSTART;TZID=Europe/London:20270302T110000" in text
