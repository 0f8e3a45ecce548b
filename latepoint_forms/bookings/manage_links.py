"""The manage link of a booking (SPEC section 9): ``PUBLIC_URL/bookings/<token>``.

The token is the booking's id and an expiry, signed with ``SECRET_KEY`` under a salt of its
own (itsdangerous), so it cannot be guessed or altered, and a token made for another purpose
(a session cookie, a password-reset link) is never accepted here. It is valid until
``MANAGE_LINK_VALID_AFTER_END`` after the booking ends: the end is written into the token when
the link is made, so a rescheduled booking's new messages carry new links, and old links
expire with the old time. Time is passed in (``now``), never read here.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from ..models import Booking

MANAGE_LINK_SALT = "latepoint_forms.booking-manage-link"
MANAGE_LINK_VALID_AFTER_END = timedelta(days=30)
MANAGE_PATH = "/bookings/"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=MANAGE_LINK_SALT)


def manage_token(booking: Booking) -> str:
    """The signed token of ``booking`` (its id, and when the link stops working)."""
    expires = booking.end_at + MANAGE_LINK_VALID_AFTER_END
    return str(_serializer().dumps([booking.id, int(expires.timestamp())]))


def manage_url(booking: Booking) -> str:
    """The absolute manage link: ``PUBLIC_URL`` (never the request's Host) + /bookings/<token>."""
    return f"{current_app.config['PUBLIC_URL']}{MANAGE_PATH}{manage_token(booking)}"


def booking_id_from_token(token: str, now: datetime) -> int | None:
    """The booking id a token was made for; None when it is forged, altered or expired."""
    try:
        payload = _serializer().loads(token)
    except BadSignature:
        return None
    if (
        not isinstance(payload, list)
        or len(payload) != 2
        or not all(isinstance(part, int) and not isinstance(part, bool) for part in payload)
    ):
        return None
    booking_id, expires = payload
    if now.timestamp() >= expires:
        return None
    return booking_id
