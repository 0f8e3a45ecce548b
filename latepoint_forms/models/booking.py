"""Bookings, and the claims that make a double booking impossible.

How overlaps are refused, on SQLite and PostgreSQL alike, under concurrency: a confirmed
booking inserts one ``BookingSlotClaim`` per 5-minute granule it covers (a 30-minute haircut at
09:00 claims 09:00, 09:05, … 09:25 for its agent), and ``UNIQUE (agent_id, slot_start)`` refuses
a second claim on any granule. Two overlapping bookings always share at least one granule,
because every start, duration and interval is a multiple of 5 minutes (the catalog loader and
the services' check constraints make sure of it). Whatever two concurrent requests saw when
they checked availability, the database lets only one of them commit its claims; the other gets
an ``IntegrityError`` that bookings/service.py turns into ``SlotTaken``.

Why not a PostgreSQL exclusion constraint (``btree_gist``, ``tstzrange &&``)? It would be
PostgreSQL-only, and SQLite has nothing like it; a plain unique index works the same way on
both, and the number of rows is small (a 90-minute booking claims 18). Cancelling a booking
deletes its claims explicitly (SQLite does not enforce ``ON DELETE CASCADE`` unless foreign keys
are switched on per connection, so the cascade is only the PostgreSQL backstop).

Fair use (SPEC section 9) works the same way for the customer: a confirmed booking also
inserts one ``CustomerSlotClaim`` per granule, under ``UNIQUE (customer_id, slot_start)``, so
one customer cannot hold two overlapping bookings (with two agents at one instant, say), even
when both requests are checked at the same moment. The per-day limit is a count, which no
index can hold: bookings/service.py locks the customer's row before counting.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Model
from .catalog import Agent, Location, Service
from .customer import Customer
from .types import BigIntPK, UTCDateTime, one_of, utcnow

BOOKING_STATUSES = ("confirmed", "cancelled")


class Booking(Model):
    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint(one_of("status", BOOKING_STATUSES), name="status"),
        CheckConstraint("end_at > start_at", name="ends_after_start"),
        Index("ix_bookings_agent_id_start_at", "agent_id", "start_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    # "BK-7KQ2-M9XD": read out on the phone and typed from a confirmation e-mail.
    booking_code: Mapped[str] = mapped_column(String(16), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="confirmed")
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The iCalendar SEQUENCE of the booking's event (messages/ics.py): 0 when made, one more
    # for each reschedule, so a calendar replaces the event it has instead of adding one.
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    customer: Mapped[Customer] = relationship()
    service: Mapped[Service] = relationship()
    agent: Mapped[Agent] = relationship()
    location: Mapped[Location] = relationship()
    claims: Mapped[list[BookingSlotClaim]] = relationship(
        back_populates="booking", cascade="all, delete-orphan"
    )
    customer_claims: Mapped[list[CustomerSlotClaim]] = relationship(
        back_populates="booking", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Booking {self.id} {self.booking_code} {self.status}>"


class BookingSlotClaim(Model):
    """One 5-minute granule of an agent's time, held by a confirmed booking."""

    __tablename__ = "booking_slot_claims"
    __table_args__ = (UniqueConstraint("agent_id", "slot_start"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    slot_start: Mapped[datetime] = mapped_column(UTCDateTime)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), index=True
    )

    booking: Mapped[Booking] = relationship(back_populates="claims")


class CustomerSlotClaim(Model):
    """One 5-minute granule of a customer's time, held by one of their confirmed bookings."""

    __tablename__ = "customer_slot_claims"
    __table_args__ = (UniqueConstraint("customer_id", "slot_start"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    slot_start: Mapped[datetime] = mapped_column(UTCDateTime)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), index=True
    )

    booking: Mapped[Booking] = relationship(back_populates="customer_claims")
