"""A booking as an iCalendar object (RFC 5545 / iTIP RFC 5546), built with ``icalendar``.

One event per booking, with a ``UID`` that never changes (made from the booking code and the
host of ``PUBLIC_URL``), so a calendar that received the confirmation replaces that event when
a reschedule (``SEQUENCE`` one higher) or a cancellation (``METHOD:CANCEL``) arrives. Times
are the location's wall-clock times with its ``TZID`` and a ``VTIMEZONE`` that defines it.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import parseaddr
from typing import Literal
from urllib.parse import urlsplit

from flask import current_app
from icalendar import Calendar, Event, vCalAddress, vText

from ..bookings.manage_links import manage_url
from ..catalog.hours import zone
from ..models import Booking
from ..models.types import utcnow

Method = Literal["REQUEST", "CANCEL", "PUBLISH"]
PRODID = "-//latepoint_forms//bookings//EN"


def booking_uid(booking: Booking) -> str:
    """The event's UID: stable for the booking's whole life (confirmation, moves, cancel)."""
    host = urlsplit(current_app.config["PUBLIC_URL"]).hostname or "localhost"
    return f"{booking.booking_code.lower()}@{host}"


def location_text(booking: Booking) -> str:
    """ "London Soho, 12 Greek Street, London W1D 4DT" (the name alone without an address)."""
    location = booking.location
    return ", ".join(part for part in (location.name, location.address) if part)


def booking_calendar(
    booking: Booking, *, method: Method = "REQUEST", now: datetime | None = None
) -> bytes:
    """The booking's iCalendar file: ``REQUEST`` for a confirmation or a move, ``CANCEL`` for a
    cancellation (``STATUS:CANCELLED``), ``PUBLISH`` for a plain "add to calendar" download.

    ``now`` is the DTSTAMP (when this object was made); the current time by default.
    """
    tz = zone(booking.location.timezone)
    link = manage_url(booking)
    sender = current_app.config.get("MAIL_DEFAULT_SENDER") or "bookings@localhost"

    event = Event()
    event.add("uid", booking_uid(booking))
    event.add("sequence", booking.sequence)
    event.add("dtstamp", now or utcnow())
    event.add("dtstart", booking.start_at.astimezone(tz))
    event.add("dtend", booking.end_at.astimezone(tz))
    event.add("summary", f"{booking.service.name} ({booking.booking_code})")
    event.add("location", vText(location_text(booking)))
    event.add("description", f"{booking.service.name} with {booking.agent.name}.\n{link}")
    event.add("url", link)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    if method != "PUBLISH":
        # iTIP: a REQUEST or CANCEL names who sends it and to whom it is addressed.
        # MAIL_DEFAULT_SENDER may carry a display name ("Hair Studio <bookings@…>"): the
        # CAL-ADDRESS is the address alone, the name its CN.
        sender_name, sender_address = parseaddr(sender)
        organizer = vCalAddress(f"mailto:{sender_address or sender}")
        organizer.params["cn"] = vText(sender_name or booking.location.name)
        event.add("organizer", organizer)
        if booking.customer.email:
            attendee = vCalAddress(f"mailto:{booking.customer.email}")
            attendee.params["cn"] = vText(booking.customer.full_name)
            attendee.params["role"] = "REQ-PARTICIPANT"
            event.add("attendee", attendee)

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())
