"""The customer area: the profile and the bookings of the signed-in customer, nobody else's.

A ``pending`` customer sees no bookings and cannot cancel one (web/account_pending.py): the
address is not proven, and the bookings attached to it may be its real owner's."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from ..bookings.errors import BookingChangesClosed, BookingNotCancellable, BookingNotFound
from ..bookings.service import bookings_for_customer, cancel_booking, customer_booking
from ..clock import now
from ..i18n import _
from ..problems import N_
from . import bp
from .account_pending import CONFIRM_TO_SEE_BOOKINGS
from .auth import current_customer, login_required
from .custom_fields import load_custom_fields
from .display import custom_value
from .forms import ActionForm
from .manage import change_window, cutoff
from .responses import private_page, say_on_outage

NOT_CANCELLED = N_("We could not cancel the booking just now. It is unchanged — please try again.")


@bp.get("/account", endpoint="account")
@login_required
@private_page
def account() -> ResponseReturnValue:
    customer = current_customer()
    assert customer is not None  # login_required
    at = now()
    pending = customer.status == "pending"
    bookings = [] if pending else bookings_for_customer(customer.id)
    upcoming = [b for b in bookings if b.status == "confirmed" and b.start_at > at]
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
        windows={b.id: change_window(b, at) for b in upcoming},
        pending=pending,
        pending_banner=_(CONFIRM_TO_SEE_BOOKINGS),
        resend_form=ActionForm(),
    )


@bp.get("/account/bookings/<int:booking_id>/cancel", endpoint="confirm_cancel_booking")
@login_required
@private_page
def confirm_cancel(booking_id: int) -> ResponseReturnValue:
    """The confirmation step before cancelling: nothing changes until its button is pressed."""
    customer = current_customer()
    assert customer is not None
    if customer.status == "pending":
        abort(404)  # as someone else's booking: the address is not proven
    try:
        booking = customer_booking(booking_id, customer.id)
    except BookingNotFound:
        abort(404)
    window = change_window(booking, now())
    if not window.open:
        return redirect(url_for("web.account"))
    return render_template(
        "manage/cancel.html",
        booking=booking,
        window=window,
        form=ActionForm(),
        action=url_for("web.cancel_booking", booking_id=booking.id),
        keep_url=url_for("web.account"),
    )


@bp.post("/account/bookings/<int:booking_id>/cancel", endpoint="cancel_booking")
@login_required
def cancel(booking_id: int) -> ResponseReturnValue:
    customer = current_customer()
    assert customer is not None
    if customer.status == "pending":
        abort(404)  # as someone else's booking: the address is not proven
    say_on_outage(NOT_CANCELLED)
    try:
        booking = cancel_booking(booking_id, customer.id, now=now(), cutoff=cutoff())
    except BookingNotFound:
        # Someone else's booking looks exactly like one that does not exist.
        abort(404)
    except (BookingNotCancellable, BookingChangesClosed) as refused:
        flash(refused.localised_message(), "error")
        return redirect(url_for("web.account"))
    flash(_("Booking %(code)s is cancelled.", code=booking.booking_code), "success")
    return redirect(url_for("web.account"))
