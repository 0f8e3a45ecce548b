"""Booking a time, moving it, and cancelling it.

Transactions: this layer adds and flushes; the caller's unit of work commits (so quick
booking writes the guest customer and the booking in one transaction: ``create_customer``,
then ``reserve_booking``).

Double bookings are refused by the database, not by the availability check: every booking
claims its agent's 5-minute granules under a unique index (models/booking.py), and a refused
claim becomes ``SlotTaken``.

Moving a booking (``reschedule_booking``) swaps its claims inside one savepoint: the old
granules are released and the new ones claimed together, so a refused claim rolls back to the
old time as it was — the customer never loses the old time without getting the new one. A
change first locks the booking's row (``_lock_for_change``), so two changes of one booking
(a double click, two tabs) run one after the other and the second sees the first.

Fair use (SPEC section 9): one customer cannot hold two bookings that overlap in time (with
any agents), nor more than ``MAX_BOOKINGS_PER_DAY`` confirmed bookings on one day. "A day" is
the calendar day, in the location's time zone, of the booking's start: the bookings counted
are the customer's confirmed ones (at any location) starting between that local midnight and
the next. Cancelled bookings do not count, and a move does not count the booking being
moved. Both rules hold under concurrency: a booking made or moved first locks the customer
(``lock_customer``: their row on PostgreSQL, the write lock on SQLite), so
two requests of one customer check and write one after the other; and every booking claims
the customer's granules as it claims the agent's, under ``UNIQUE (customer_id, slot_start)``
(models/booking.py), the database's own refusal of an overlap.

Messages: a booking made queues its confirmation (and reminder), a move its "moved" notice (and
moves the reminder), a cancellation its notice (and withdraws the reminder), in the same
transaction (messages/service.py): whichever door made the change, the customer hears of it,
and of nothing that was rolled back.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..catalog import hours
from ..catalog.service import agents_for, slot_problem
from ..codes import BOOKING_CODE
from ..customers.errors import ValidationFailed
from ..customers.service import get_customer
from ..db_errors import violated_unique_column
from ..extensions import db
from ..ids import is_valid_id
from ..messages.service import (
    queue_booking_cancelled,
    queue_booking_confirmation,
    queue_booking_rescheduled,
)
from ..models import (
    GRANULE_MINUTES,
    Agent,
    Booking,
    BookingSlotClaim,
    Customer,
    CustomerSlotClaim,
    Location,
    Service,
)
from ..models.types import utcnow
from ..problems import N_, Problem
from ..unit_of_work import ensure_transaction
from ..webhooks import events as webhook_events
from .availability import busy_intervals, checked_references

if TYPE_CHECKING:
    from ..customers.returning import ProposedChanges
from .errors import (
    BookingChanged,
    BookingChangesClosed,
    BookingNotCancellable,
    BookingNotFound,
    BookingOverlaps,
    DailyLimitReached,
    SlotTaken,
)

_CODE_ATTEMPTS = 5
DEFAULT_MAX_BOOKINGS_PER_DAY = 3
_GRANULE = timedelta(minutes=GRANULE_MINUTES)


def new_booking_code() -> str:
    return BOOKING_CODE.new()


def _unused_booking_code() -> str:
    # A pre-check keeps the transaction clean in the (1 in 10^11) case of a collision; the
    # unique index stays the backstop.
    for _ in range(_CODE_ATTEMPTS):
        code = new_booking_code()
        taken = db.session.execute(select(Booking.id).where(Booking.booking_code == code)).first()
        if taken is None:
            return code
    raise RuntimeError("could not draw a unique booking code")


def granules(start: datetime, end: datetime) -> list[datetime]:
    """The 5-minute UTC granules [start, end) covers, each as its starting instant."""
    offset = (start - datetime(1970, 1, 1, tzinfo=start.tzinfo)) % _GRANULE
    moment = start - offset
    result = []
    while moment < end:
        result.append(moment)
        moment += _GRANULE
    return result


def _least_busy(agents: list[Agent], start: datetime) -> list[Agent]:
    """Agents ordered by their confirmed bookings within 12 hours either side: spread the work."""
    day_start = start - timedelta(hours=12)
    counts = Counter(
        dict(
            db.session.execute(
                select(Booking.agent_id, func.count())
                .where(
                    Booking.agent_id.in_([a.id for a in agents]),
                    Booking.status == "confirmed",
                    Booking.start_at >= day_start,
                    Booking.start_at < start + timedelta(hours=12),
                )
                .group_by(Booking.agent_id)
            ).all()
        )
    )
    return sorted(agents, key=lambda a: (counts[a.id], a.id))


def reserve_booking(
    customer: Customer,
    service_id: int,
    location_id: int,
    agent_id: int | None,
    start: datetime,
    *,
    now: datetime | None = None,
    max_per_day: int | None = None,
    proposed_changes: ProposedChanges | None = None,
) -> Booking:
    """Add a confirmed booking and flush, without committing (see the module docstring).

    Every rule is checked again: references active and offered, the start on the grid, inside
    the opening hours and in the future (errors: ``ValidationFailed`` keyed ``service_id``,
    ``location_id``, ``agent_id``, ``start``). With ``agent_id`` None a free agent is chosen.
    ``SlotTaken`` when no chosen agent is free, or another booking claimed the time first.
    Fair use (module docstring): ``BookingOverlaps`` when the customer holds a booking at an
    overlapping time, ``DailyLimitReached`` when they hold ``max_per_day`` (None: the app's
    ``MAX_BOOKINGS_PER_DAY``) on that day already.
    """
    if start.tzinfo is None:
        raise ValueError("start must be an aware datetime")
    now = now or utcnow()
    refs = checked_references(service_id, location_id, agent_id)
    service, location = refs.service, refs.location
    _check_start(service, location, start, now)

    end = start + timedelta(minutes=service.duration_minutes)
    lock_customer(customer.id)
    _check_fair_use(customer.id, location, start, end, max_per_day=max_per_day)
    candidates = [refs.agent] if refs.agent is not None else agents_for(service.id, location.id)
    busy = busy_intervals((a.id for a in candidates), start, end)
    free = [a for a in candidates if not busy[a.id]]
    if not free:
        raise SlotTaken()
    for agent in _least_busy(free, start):
        booking = _claim(agent, customer, service.id, location.id, start, end)
        if booking is not None:
            queue_booking_confirmation(booking, now=now, proposed_changes=proposed_changes)
            webhook_events.booking_created(booking, now=now)
            return booking
    raise SlotTaken()


def _check_start(service: Service, location: Location, start: datetime, now: datetime) -> None:
    """``ValidationFailed`` keyed ``start`` unless ``start`` is offered: on the grid, inside
    the opening hours, in the future."""
    tz = hours.zone(location.timezone)
    local = hours.local_of(start, tz)
    problem = slot_problem(service, location, local, now=now)
    if problem is None and hours.local_to_utc(local, tz) != start:
        # The second pass of a fall-back hour: the grid offers only the first (hours.py).
        problem = Problem.plain(N_("This time is not offered; choose one of the listed times"))
    if problem is not None:
        raise ValidationFailed({"start": problem})


def max_bookings_per_day() -> int:
    """The running app's ``MAX_BOOKINGS_PER_DAY`` (SPEC section 9)."""
    limit: int = current_app.config.get("MAX_BOOKINGS_PER_DAY", DEFAULT_MAX_BOOKINGS_PER_DAY)
    return limit


def local_day_bounds(start: datetime, location: Location) -> tuple[datetime, datetime]:
    """The UTC instants of the local midnights before and after ``start`` at the location:
    the "day" of the per-day limit (a day of 23 or 25 hours where the clocks change)."""
    tz = hours.zone(location.timezone)
    day = start.astimezone(tz).date()
    first = datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)
    after = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz).astimezone(UTC)
    return first, after


def lock_customer(customer_id: int) -> None:
    """Hold the customer until the unit of work ends, so that two bookings (or moves) of one
    customer check fair use and write one after the other, the second seeing the first.

    PostgreSQL: ``SELECT … FOR NO KEY UPDATE`` on the customer's row (each later statement of
    READ COMMITTED sees what the first committed); NO KEY, so rows that merely refer to the
    customer (another request's outbox message) are not held up. SQLite: ``BEGIN IMMEDIATE``
    takes the database's write lock before anything is counted (as in ``_lock_for_change``);
    a transaction that has written already (quick booking's new guest) holds it.
    """
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        driver_connection = connection.connection.driver_connection
        if driver_connection is not None and not driver_connection.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        return
    db.session.execute(
        select(Customer.id)
        .where(Customer.id == customer_id)
        .with_for_update(of=Customer, key_share=True)
    )


def _check_fair_use(
    customer_id: int,
    location: Location,
    start: datetime,
    end: datetime,
    *,
    max_per_day: int | None,
    ignoring: int | None = None,
) -> None:
    """``BookingOverlaps`` / ``DailyLimitReached`` for a booking of the customer at
    [start, end) at the location; ``ignoring`` is the booking being moved. Called with the
    customer locked (``lock_customer``); the customer's claims are the overlap's backstop."""
    mine = [Booking.customer_id == customer_id, Booking.status == "confirmed"]
    if ignoring is not None:
        mine.append(Booking.id != ignoring)
    overlapping = db.session.execute(
        select(Booking.id).where(*mine, Booking.start_at < end, Booking.end_at > start).limit(1)
    ).first()
    if overlapping is not None:
        raise BookingOverlaps()
    limit = max_bookings_per_day() if max_per_day is None else max_per_day
    first, after = local_day_bounds(start, location)
    that_day = db.session.execute(
        select(func.count())
        .select_from(Booking)
        .where(*mine, Booking.start_at >= first, Booking.start_at < after)
    ).scalar_one()
    if that_day >= limit:
        raise DailyLimitReached(limit)


def _customer_claims(customer_id: int, start: datetime, end: datetime) -> list[CustomerSlotClaim]:
    return [CustomerSlotClaim(customer_id=customer_id, slot_start=g) for g in granules(start, end)]


def _begin_for_real() -> None:
    """A transaction before a SAVEPOINT, on SQLite too (``unit_of_work.ensure_transaction``):
    else the booking's RELEASE would commit it before the caller's own commit."""
    ensure_transaction()


def _claim(
    agent: Agent,
    customer: Customer,
    service_id: int,
    location_id: int,
    start: datetime,
    end: datetime,
) -> Booking | None:
    """Insert the booking and its claims in a savepoint; None if the agent was taken meanwhile.

    Concurrent "any agent" requests see the same free agents in the same order; the savepoint
    lets the loser move on to the next free agent instead of failing the whole request (and,
    in quick booking, the customer inserted before it in the same transaction).
    """
    booking = Booking(
        booking_code=_unused_booking_code(),
        customer_id=customer.id,
        service_id=service_id,
        agent_id=agent.id,
        location_id=location_id,
        start_at=start,
        end_at=end,
        status="confirmed",
        claims=[BookingSlotClaim(agent_id=agent.id, slot_start=g) for g in granules(start, end)],
        customer_claims=_customer_claims(customer.id, start, end),
    )
    _begin_for_real()
    try:
        with db.session.begin_nested():  # flushed on leaving: the claims' unique index decides
            db.session.add(booking)
    except IntegrityError as exc:
        if violated_unique_column(exc, "customer_slot_claims") is not None:
            # The customer holds an overlapping booking (fair use): no other agent helps.
            raise BookingOverlaps() from exc
        # Another booking committed a claim on one of these granules after our check.
        if violated_unique_column(exc, "booking_slot_claims") is None:
            raise
        return None
    return booking


def book(
    customer_id: int,
    service_id: int,
    location_id: int,
    agent_id: int | None,
    start: datetime,
    *,
    now: datetime | None = None,
    max_per_day: int | None = None,
) -> Booking:
    """Book for an existing customer."""
    customer = get_customer(customer_id)
    return reserve_booking(
        customer, service_id, location_id, agent_id, start, now=now, max_per_day=max_per_day
    )


def customer_booking(booking_id: int, customer_id: int) -> Booking:
    """One of the customer's own bookings; ``BookingNotFound`` for anybody else's."""
    booking = db.session.get(Booking, booking_id) if is_valid_id(booking_id) else None
    # Someone else's booking is "not found" too: its existence is not theirs to learn.
    if booking is None or booking.customer_id != customer_id:
        raise BookingNotFound()
    return booking


def changes_close_at(booking: Booking, cutoff: timedelta) -> datetime:
    """When moving or cancelling the booking online stops: ``cutoff`` before its start."""
    return booking.start_at - cutoff


def _cutoff_hours(cutoff: timedelta) -> int:
    return int(cutoff.total_seconds() // 3600)


def _check_changeable(booking: Booking, cutoff: timedelta, now: datetime) -> None:
    if booking.start_at <= now:
        raise BookingNotCancellable()
    if now >= changes_close_at(booking, cutoff):
        raise BookingChangesClosed(_cutoff_hours(cutoff))


def _lock_for_change(booking_id: int) -> Booking | None:
    """The booking, read afresh under a lock that holds until the unit of work ends.

    PostgreSQL: ``SELECT … FOR UPDATE`` on its row. SQLite: ``BEGIN IMMEDIATE`` takes the
    database's write lock before the booking is read (waiting up to the busy timeout): a
    deferred transaction that read first could not write after another one committed (SQLite
    refuses the stale snapshot with "database is locked" at once).
    """
    if not is_valid_id(booking_id):
        return None
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        driver_connection = connection.connection.driver_connection
        if driver_connection is not None and not driver_connection.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        query = select(Booking).where(Booking.id == booking_id)
    else:
        query = select(Booking).where(Booking.id == booking_id).with_for_update(of=Booking)
    return db.session.execute(query.execution_options(populate_existing=True)).scalar_one_or_none()


def cancel_booking(
    booking_id: int,
    customer_id: int,
    *,
    now: datetime | None = None,
    cutoff: timedelta = timedelta(0),
) -> Booking:
    """Cancel the customer's own future booking and free its time.

    Online changes close ``cutoff`` before the start (``BookingChangesClosed``); a booking
    that has started cannot be cancelled (``BookingNotCancellable``). Cancelling an already
    cancelled booking changes nothing and returns it.
    """
    now = now or utcnow()
    booking = _lock_for_change(booking_id)
    # Someone else's booking is "not found" too: its existence is not theirs to learn.
    if booking is None or booking.customer_id != customer_id:
        raise BookingNotFound()
    if booking.status == "cancelled":
        return booking
    _check_changeable(booking, cutoff, now)
    booking.status = "cancelled"
    booking.cancelled_at = now
    booking.claims.clear()  # delete-orphan: the granules are free again
    booking.customer_claims.clear()
    # A cancellation is a revision of the calendar event (RFC 5546: a higher SEQUENCE), so a
    # calendar that saw the latest move still applies the CANCEL.
    booking.sequence += 1
    db.session.flush()
    queue_booking_cancelled(booking, now=now)
    webhook_events.booking_cancelled(booking, now=now)
    return booking


def reschedule_booking(
    booking_id: int,
    start: datetime,
    agent_id: int | None,
    *,
    expected_sequence: int,
    now: datetime | None = None,
    cutoff: timedelta = timedelta(0),
    max_per_day: int | None = None,
) -> Booking:
    """Move a confirmed booking to ``start`` with ``agent_id`` (None: its own agent if free,
    else any free one), the same service at the same location; flush, never commit.

    ``expected_sequence`` is the booking's ``sequence`` the person saw when they confirmed:
    if it has moved or been cancelled since, ``BookingChanged`` and nothing is done. The new
    time is checked like a new booking's (``ValidationFailed`` keyed ``start`` /
    ``agent_id``); ``SlotTaken`` when no chosen agent is free or another booking claimed the
    time first — the booking then keeps its old time. On success ``sequence`` goes up by one
    (the calendar's ``SEQUENCE``) and the "moved" message is queued with the change.
    Fair use as for a new booking (``BookingOverlaps``, ``DailyLimitReached``), the booking
    being moved not counted against itself.
    """
    if start.tzinfo is None:
        raise ValueError("start must be an aware datetime")
    now = now or utcnow()
    booking = _lock_for_change(booking_id)
    if booking is None:
        raise BookingNotFound()
    if booking.status != "confirmed" or booking.sequence != expected_sequence:
        raise BookingChanged()
    _check_changeable(booking, cutoff, now)
    refs = checked_references(booking.service_id, booking.location_id, agent_id)
    service, location = refs.service, refs.location
    _check_start(service, location, start, now)
    if start == booking.start_at and agent_id in (None, booking.agent_id):
        raise ValidationFailed({"start": N_("This is already the time of your booking")})

    end = start + timedelta(minutes=service.duration_minutes)
    lock_customer(booking.customer_id)
    _check_fair_use(
        booking.customer_id, location, start, end, max_per_day=max_per_day, ignoring=booking.id
    )
    candidates = [refs.agent] if refs.agent is not None else agents_for(service.id, location.id)
    busy = busy_intervals((a.id for a in candidates), start, end, ignoring=booking.id)
    free = [a for a in candidates if not busy[a.id]]
    # The person they booked with first, when free: "any agent" should not change it for nothing.
    ordered = sorted(_least_busy(free, start), key=lambda a: a.id != booking.agent_id)
    previous_start = booking.start_at
    for agent in ordered:
        if _move(booking, agent, start, end):
            queue_booking_rescheduled(booking, previous_start=previous_start, now=now)
            webhook_events.booking_rescheduled(booking, previous_start, now=now)
            return booking
    raise SlotTaken()


def _move(booking: Booking, agent: Agent, start: datetime, end: datetime) -> bool:
    """Swap the booking's claims for the new time's in one savepoint; False (and the booking
    as it was) if another booking holds one of the new granules."""
    _begin_for_real()
    try:
        with db.session.begin_nested():
            booking.claims.clear()
            booking.customer_claims.clear()
            # The old granules go first: the new ones may overlap them (same agent, a long
            # service moved a little), and a flush inserts before it deletes.
            db.session.flush()
            booking.agent_id = agent.id
            booking.start_at, booking.end_at = start, end
            booking.sequence = booking.sequence + 1
            booking.claims.extend(
                BookingSlotClaim(agent_id=agent.id, slot_start=g) for g in granules(start, end)
            )
            booking.customer_claims.extend(_customer_claims(booking.customer_id, start, end))
    except IntegrityError as exc:
        if violated_unique_column(exc, "customer_slot_claims") is not None:
            db.session.expire(booking)
            raise BookingOverlaps() from exc
        if violated_unique_column(exc, "booking_slot_claims") is None:
            raise
        # The savepoint is rolled back: the old claims are in the database again; read the
        # booking afresh rather than trust what the session remembers of the attempt.
        db.session.expire(booking)
        return False
    return True


def bookings_for_customer(customer_id: int) -> list[Booking]:
    """The customer's bookings, cancelled ones included, latest start first."""
    query = (
        select(Booking)
        .where(Booking.customer_id == customer_id)
        .order_by(Booking.start_at.desc(), Booking.id.desc())
    )
    return list(db.session.execute(query).scalars())
