"""The customer area: the profile and the bookings of the signed-in customer, nobody else's."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from ..bookings.errors import BookingNotCancellable, BookingNotFound
from ..bookings.service import bookings_for_customer, cancel_booking
from ..models.types import utcnow
from . import bp
from .auth import current_customer, login_required
from .custom_fields import load_custom_fields
from .display import custom_value
from .forms import ActionForm
from .responses import private_page, say_on_outage

NOT_CANCELLED = "We could not cancel the booking just now. It is unchanged — please try again."


@bp.get("/account", endpoint="account")
@login_required
@private_page
def account() -> ResponseReturnValue:
    customer = current_customer()
    assert customer is not None  # login_required
    now = utcnow()
    bookings = bookings_for_customer(customer.id)
    upcoming = [b for b in bookings if b.status == "confirmed" and b.start_at > now]
    upcoming.sort(key=lambda b: b.start_at)
    past = [b for b in bookings if b not in upcoming]
    past.sort(key=lambda b: b.start_at, reverse=True)
    definitions = {d.key: d for d in load_custom_fields().definitions}
    custom_rows = [
        (
            definitions[key].label if key in definitions else key,
            custom_value(definitions.get(key), value),
        )
        for key, value in (customer.custom_fields or {}).items()
    ]
    return render_template(
        "account.html",
        customer=customer,
        upcoming=upcoming,
        past=past,
        custom_rows=custom_rows,
        action_form=ActionForm(),
    )


@bp.post("/account/bookings/<int:booking_id>/cancel", endpoint="cancel_booking")
@login_required
def cancel(booking_id: int) -> ResponseReturnValue:
    customer = current_customer()
    assert customer is not None
    say_on_outage(NOT_CANCELLED)
    try:
        booking = cancel_booking(booking_id, customer.id)
    except BookingNotFound:
        # Someone else's booking looks exactly like one that does not exist.
        abort(404)
    except BookingNotCancellable as refused:
        flash(refused.message, "error")
        return redirect(url_for("web.account"))
    flash(f"Booking {booking.booking_code} is cancelled.", "success")
    return redirect(url_for("web.account"))
