"""Booking for a visitor: someone who gives their details with the booking, not signed in.

The one operation behind ``/book`` (web/booking.py) and ``POST /api/v1/bookings``
(api/bookings.py). The visitor's details create a customer and the booking is made for it,
both in the caller's unit of work (``create_customer``, then ``reserve_booking``): a refused
booking keeps no customer.

An email already on file books like a new one (SPEC section 9, "Returning customers"): the
insert of the new customer is refused by the unique index (``EmailExists``) and the booking
is made, in the same unit of work, for the customer holding the address. What the visitor
typed never changes that record; what differs from it is proposed in the confirmation sent to
the stored address, with a "confirm your changes" link (customers/returning.py).

A fair-use refusal of a known address (it already holds a booking at that time, or its day is
full: ``BookingOverlaps``, ``DailyLimitReached``) is not raised: the outcome says so
(``VisitorBooking.refusal``), and, when the caller asks (``tell_owner``), the stored address
is told why in a "booking not made" message (``queue_booking_not_made``), since the visitor
may not be the address's owner. How the visitor hears of it is the door's decision.

Transactions: this layer adds and flushes; the caller's unit of work commits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from ..customers.custom_fields import FieldDefinition
from ..customers.errors import EmailExists
from ..customers.input import RuleSettings
from ..customers.returning import customer_with_email, proposed_changes
from ..customers.service import CheckedCustomer, create_customer
from ..messages.service import NOT_MADE_DAILY_LIMIT, NOT_MADE_OVERLAP, queue_booking_not_made
from ..models import Agent, Booking, Customer, Location, Service
from .errors import BookingOverlaps, DailyLimitReached
from .service import max_bookings_per_day, reserve_booking

FairUseRefusal = BookingOverlaps | DailyLimitReached


@dataclass(frozen=True)
class VisitorBooking:
    """What booking for a visitor did.

    ``booking``: None when a known address was refused by fair use (``refusal`` says why).
    ``guest``: the customer created for a new address, else None. ``customer``: whom the
    booking was made (or refused) for: the guest, or the customer holding the address.
    """

    booking: Booking | None
    guest: Customer | None
    customer: Customer
    refusal: FairUseRefusal | None = None


def settings_at(settings: RuleSettings, location: Location | None) -> RuleSettings:
    """The rules' settings for a visitor booking at ``location``: a national phone number is
    read in the location's country (SPEC section 9), so "07911 123456" is valid at a London
    location and "(415) 555-2671" at a New York one."""
    country = location.country if location is not None else None
    return replace(settings, default_phone_region=country) if country else settings


def book_for_visitor(
    checked: CheckedCustomer,
    *,
    settings: RuleSettings,
    definitions: Sequence[FieldDefinition],
    service: Service,
    location: Location,
    agent: Agent | None,
    start: datetime,
    source: str,
    clock: Callable[[], datetime],
    tell_owner: bool = True,
) -> VisitorBooking:
    """Create the visitor's customer and book ``start`` for it, or book for the customer
    already holding its email (see the module docstring); add and flush, never commit.

    ``agent`` None: any free agent. ``clock`` is read as each step happens (the app's
    ``clock.now``), so the booking's messages and events are timed after the customer's
    ``customer.created``, and delivered after it. Raises what ``create_customer`` and
    ``reserve_booking`` raise (``ValidationFailed``, ``SlotTaken``; a fair-use refusal of a
    *new* customer, which holds nothing yet, only under a daily limit of 0), except a known
    address's fair-use refusal, which is the outcome's ``refusal`` (mailed to its owner when
    ``tell_owner``).
    """
    agent_id = agent.id if agent is not None else None
    try:
        guest = create_customer(checked, source=source, settings=settings)
    except EmailExists:
        # The address is on file: known before, or inserted by a concurrent request a moment
        # ago (the unique index made this insert wait for it, then refused it). Nothing was
        # written; the booking goes to the record that holds the address.
        assert checked.data.email is not None
        known = customer_with_email(checked.data.email)
        if known is None:
            raise  # refused, then gone (deleted in between): nothing kept
        return _book_for_returning(
            checked, definitions, known, service, location, agent_id, start, clock, tell_owner
        )
    booking = reserve_booking(guest, service.id, location.id, agent_id, start, now=clock())
    return VisitorBooking(booking=booking, guest=guest, customer=guest)


def _book_for_returning(
    checked: CheckedCustomer,
    definitions: Sequence[FieldDefinition],
    known: Customer,
    service: Service,
    location: Location,
    agent_id: int | None,
    start: datetime,
    clock: Callable[[], datetime],
    tell_owner: bool,
) -> VisitorBooking:
    """Book for the customer holding the typed address, without changing their record.

    Whatever their status: ``inactive`` only stops signing in (SPEC section 2); refusing it
    here would tell a stranger that the address is on file and deactivated, and protect
    nothing (the same person can book with another address).
    """
    changes = proposed_changes(known, checked.data, definitions)
    try:
        booking = reserve_booking(
            known,
            service.id,
            location.id,
            agent_id,
            start,
            now=clock(),
            proposed_changes=changes,
        )
    except (BookingOverlaps, DailyLimitReached) as refused:
        # Nothing of the booking was written (fair use refuses before the insert, or its
        # savepoint is rolled back); the message is all this unit of work keeps.
        if tell_owner:
            overlap = isinstance(refused, BookingOverlaps)
            queue_booking_not_made(
                known,
                service,
                location,
                start,
                NOT_MADE_OVERLAP if overlap else NOT_MADE_DAILY_LIMIT,
                limit=None if overlap else max_bookings_per_day(),
                now=clock(),
            )
        return VisitorBooking(booking=None, guest=None, customer=known, refusal=refused)
    return VisitorBooking(booking=booking, guest=None, customer=known)
