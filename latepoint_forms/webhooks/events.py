"""The four webhook events (SPEC section 10), queued by the services that make the change, in
its unit of work: ``customer.created`` (every door: web, API, /book, import),
``booking.created``, ``booking.cancelled`` and ``booking.rescheduled``. The ``data`` is the
API representation (customers/representation.py, bookings/representation.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row

from ..bookings.representation import booking_as_json, local_iso
from ..customers.representation import customer_as_json
from ..models import Booking, Customer, WebhookDelivery
from .service import ActiveEndpoint, queue_event


def customer_created(
    customer: Customer | Row[Any],
    *,
    now: datetime | None = None,
    endpoints: Sequence[ActiveEndpoint] | None = None,
) -> list[WebhookDelivery]:
    return queue_event(
        "customer.created", lambda: customer_as_json(customer), now=now, endpoints=endpoints
    )


def booking_created(booking: Booking, *, now: datetime | None = None) -> list[WebhookDelivery]:
    return queue_event("booking.created", lambda: booking_as_json(booking), now=now)


def booking_cancelled(booking: Booking, *, now: datetime | None = None) -> list[WebhookDelivery]:
    return queue_event("booking.cancelled", lambda: booking_as_json(booking), now=now)


def booking_rescheduled(
    booking: Booking, previous_start: datetime, *, now: datetime | None = None
) -> list[WebhookDelivery]:
    def data() -> dict[str, object]:
        moved = booking_as_json(booking)
        moved["previous_start"] = local_iso(previous_start, booking.location.timezone)
        return moved

    return queue_event("booking.rescheduled", data, now=now)
