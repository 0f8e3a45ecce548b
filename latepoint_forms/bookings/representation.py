"""How a booking looks outside (SPEC section 10: ``POST /bookings``' ``data.booking`` and the
booking webhook events): its code, status, local start and end with the zone, what, where and
with whom, and whose (the customer's id and code only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..models import Agent, Booking, Location, Service


def local_iso(moment: datetime, zone: str) -> str:
    """ISO 8601 in the location's time, with its offset: ``2026-12-03T10:15:00+01:00``."""
    return moment.astimezone(ZoneInfo(zone)).isoformat(timespec="seconds")


def _ref(item: Service | Location | Agent) -> dict[str, Any]:
    return {"id": item.id, "key": item.key, "name": item.name}


def _booking_fields(booking: Booking) -> dict[str, Any]:
    zone = booking.location.timezone
    return {
        "code": booking.booking_code,
        "status": booking.status,
        "start": local_iso(booking.start_at, zone),
        "end": local_iso(booking.end_at, zone),
        "timezone": zone,
        "service": _ref(booking.service),
        "location": _ref(booking.location),
        "agent": _ref(booking.agent),
    }


def _customer_ref(booking: Booking) -> dict[str, Any]:
    return {"id": booking.customer_id, "customer_code": booking.customer.customer_code}


def booking_as_json(booking: Booking) -> dict[str, Any]:
    """A booking with whose it is (the webhook events' ``data``)."""
    return {**_booking_fields(booking), "customer": _customer_ref(booking)}


def booking_made_as_json(booking: Booking, *, with_customer: bool = True) -> dict[str, Any]:
    """``data`` of ``POST /bookings``: the booking, and the customer it was made for (not
    to a publishable key: see api/bookings.py)."""
    made: dict[str, Any] = {"booking": _booking_fields(booking)}
    if with_customer:
        made["customer"] = _customer_ref(booking)
    return made
