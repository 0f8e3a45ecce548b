"""Quick registration during booking (``/book``): service, place, person, time, then details.

The choices travel in the query string (``?service=1&location=2&agent=any&date=…&start=…``),
so every step is a plain link or GET form: it works without JavaScript, the back button
behaves, and nothing is held on the server until the last step. That step POSTs the details;
the customer and the booking are written in one transaction (``create_customer`` with
``reserve_booking`` as ``before_commit``).

A visitor who is not signed in can never reach an existing customer's record through this
form: a known email stops the booking and offers to sign in instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from ..accounts.service import email_registered, set_password
from ..bookings.availability import Slot, available_starts
from ..bookings.errors import SlotTaken
from ..bookings.service import book as book_for_customer
from ..bookings.service import reserve_booking
from ..customers.errors import EmailExists, ValidationFailed
from ..customers.input import RuleSettings
from ..customers.service import create_customer
from ..errors import ServiceUnavailable
from ..extensions import db, limiter
from ..models import Booking, Customer
from . import bp
from .auth import TOO_MANY_ATTEMPTS, current_customer, sign_in
from .booking_steps import START_FORMAT, Selection, read_selection
from .forms import GuestDetailsForm, SetPasswordForm
from .responses import DATABASE_UNAVAILABLE, database_unavailable, rollback_quietly

DAYS_SHOWN = 14
BOOKING_LIMIT = "10 per minute"
EMAIL_KNOWN = "This email is already registered. Sign in to book with your account."
SLOT_TAKEN = "Sorry, someone has just booked that time. Please choose another time."
# The session remembers the booking this browser just made, and the guest it created: only
# this browser may see that confirmation or turn that guest into an account.
BOOKED_KEY = "booked_id"
GUEST_KEY = "guest_customer_id"
GUEST_SINCE_KEY = "guest_since"
SET_PASSWORD_WINDOW_SECONDS = 60 * 60


def start_param(slot: Slot) -> str:
    return slot.start.astimezone(UTC).strftime(START_FORMAT)


def _days(selection: Selection) -> list[tuple[date, int]]:
    """The next days at the location, each with its number of free starts."""
    assert selection.location is not None
    today = datetime.now(ZoneInfo(selection.location.timezone)).date()
    return [
        (day, len(_slots(selection, day)))
        for day in (today + timedelta(days=n) for n in range(DAYS_SHOWN))
    ]


def _slots(selection: Selection, day: date) -> list[Slot]:
    assert selection.service is not None
    assert selection.location is not None
    agent_id = selection.agent.id if selection.agent is not None else None
    return available_starts(selection.service.id, selection.location.id, day, agent_id=agent_id)


def _chosen_slot(selection: Selection) -> Slot | None:
    if selection.start is None or selection.day is None:
        return None
    for slot in _slots(selection, selection.day):
        if slot.start == selection.start:
            return slot
    return None


def _render(selection: Selection, status: int = 200, **context: Any) -> ResponseReturnValue:
    context.setdefault("customer", current_customer())
    context.setdefault("action", url_for("web.book", **selection.query()))
    page = render_template(
        "book/book.html", selection=selection, start_param=start_param, **context
    )
    return page, status


@bp.route("/book", methods=["GET", "POST"], endpoint="book")
@limiter.limit(BOOKING_LIMIT, methods=["POST"], error_message=TOO_MANY_ATTEMPTS)
def book() -> ResponseReturnValue:
    try:
        return _book_step()
    except Exception as exc:
        if request.method != "POST" or not database_unavailable(exc):
            raise
        # The catalog could not even be read: give the details form back as it was sent.
        rollback_quietly()
        signed_in = session.get("customer_id") is not None
        settings = RuleSettings.from_config(current_app.config)
        form = None if signed_in else GuestDetailsForm(settings)
        _add_form_error(form, DATABASE_UNAVAILABLE)
        action = request.full_path.rstrip("?")
        return _render(Selection(), 503, step="details", form=form, customer=None, action=action)


def _book_step() -> ResponseReturnValue:
    selection = read_selection(request.args)
    step = selection.next_step()
    if step == "time":
        days = _days(selection)
        if selection.day is None:
            selection.day = next((day for day, count in days if count), days[0][0])
        slots = _slots(selection, selection.day)
        return _render(selection, step="time", days=days, slots=slots)
    if step != "details":
        return _render(selection, step=step)

    slot = _chosen_slot(selection)
    customer = current_customer()
    form = None if customer else GuestDetailsForm(RuleSettings.from_config(current_app.config))
    if slot is None:
        if request.method == "GET":
            flash(SLOT_TAKEN, "warning")
            return redirect(url_for("web.book", **selection.query(start=None)))
        # Taken while the visitor typed: keep what they typed and let them pick another time.
        _add_form_error(form, SLOT_TAKEN)
        return _render(selection, 409, step="details", form=form, slot_taken=True)
    if request.method == "GET":
        return _render(selection, step="details", slot=slot, form=form)
    return _submit(selection, slot, customer, form)


def _submit(
    selection: Selection,
    slot: Slot,
    customer: Customer | None,
    form: GuestDetailsForm | None,
) -> ResponseReturnValue:
    assert selection.service is not None
    assert selection.location is not None
    agent_id = selection.agent.id if selection.agent is not None else None
    where = (selection.service.id, selection.location.id, agent_id, slot.start)
    context: dict[str, Any] = {"step": "details", "slot": slot, "form": form}
    try:
        if form is not None:
            form.validate()
            data = form.customer_input(defaults={"is_guest": True})
            # Said beside the other mistakes at once; the unique index still decides on create.
            if not form.email.errors and email_registered(form.email.data or ""):
                raise EmailExists(form.email.data or "")
            if data is None:
                return _render(selection, 422, **context)
        if customer is not None:
            booking = book_for_customer(customer.id, *where)
        else:
            assert form is not None
            assert data is not None
            reserved: list[Booking] = []
            guest = create_customer(
                data, source="quick_booking", before_commit=_reserve_into(reserved, where)
            )
            booking = reserved[0]
    except EmailExists:
        assert form is not None
        form.email.errors = [EMAIL_KNOWN]
        return _render(selection, 422, email_known=True, **context)
    except ValidationFailed as failed:
        # Customer fields (custom fields included), or the time no longer bookable ("start").
        if form is not None:
            form.apply_errors(failed.details or {})
        else:
            for message in (failed.details or {}).values():
                flash(message, "error")
        return _render(selection, 422, **context)
    except SlotTaken:
        _add_form_error(form, SLOT_TAKEN)
        return _render(selection, 409, slot_taken=True, **context)
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        rollback_quietly()
        _add_form_error(form, DATABASE_UNAVAILABLE)
        return _render(selection, 503, **context)
    session[BOOKED_KEY] = booking.id
    if customer is None:
        session[GUEST_KEY] = guest.id
        session[GUEST_SINCE_KEY] = int(time.time())
    return redirect(url_for("web.booking_confirmation"))


def _reserve_into(
    reserved: list[Booking], where: tuple[int, int, int | None, datetime]
) -> Callable[[Customer], None]:
    def reserve(customer: Customer) -> None:
        reserved.append(reserve_booking(customer, *where))

    return reserve


def _add_form_error(form: GuestDetailsForm | None, message: str) -> None:
    if form is not None:
        form.form_errors.append(message)
    else:
        flash(message, "error")


def _guest_of_this_browser() -> Customer | None:
    """The guest this browser created while booking, while they are still a guest, and only
    for a while: a shared computer should not offer a later visitor someone else's account."""
    guest_id, since = session.get(GUEST_KEY), session.get(GUEST_SINCE_KEY)
    if not isinstance(guest_id, int) or not isinstance(since, int | float):
        return None
    if time.time() - since > SET_PASSWORD_WINDOW_SECONDS:
        return None
    guest = db.session.get(Customer, guest_id)
    return guest if guest is not None and guest.is_guest else None


@bp.route("/book/confirmation", methods=["GET", "POST"], endpoint="booking_confirmation")
@limiter.limit(BOOKING_LIMIT, methods=["POST"], error_message=TOO_MANY_ATTEMPTS)
def confirmation() -> ResponseReturnValue:
    try:
        return _confirmation()
    except Exception as exc:
        if request.method != "POST" or not database_unavailable(exc):
            raise
        rollback_quietly()
        raise ServiceUnavailable(DATABASE_UNAVAILABLE) from exc


def _confirmation() -> ResponseReturnValue:
    booked_id = session.get(BOOKED_KEY)
    booking = db.session.get(Booking, booked_id) if isinstance(booked_id, int) else None
    if booking is None:
        return redirect(url_for("web.book"))
    guest = _guest_of_this_browser()
    if guest is not None and guest.id != booking.customer_id:
        guest = None
    form = SetPasswordForm(RuleSettings.from_config(current_app.config)) if guest else None
    status = 200
    if request.method == "POST":
        if form is None or guest is None:
            return redirect(url_for("web.booking_confirmation"))
        if form.validate():
            try:
                customer = set_password(guest.id, form.password.data or "")
            except Exception as exc:
                if not database_unavailable(exc):
                    raise
                rollback_quietly()
                form.form_errors.append(DATABASE_UNAVAILABLE)
                return render_template(
                    "book/confirmation.html", booking=booking, form=form, guest=guest
                ), 503
            sign_in(customer)
            flash(
                f"Your password is set. Next time, sign in with {customer.email} "
                "to see your bookings.",
                "success",
            )
            return redirect(url_for("web.account"))
        status = 422
    return render_template(
        "book/confirmation.html", booking=booking, form=form, guest=guest
    ), status
