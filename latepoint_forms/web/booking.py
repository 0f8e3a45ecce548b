"""Quick registration during booking (``/book``): service, place, person, time, then details.

The choices travel in the query string (``?service=1&location=2&agent=any&date=…&start=…``),
so every step is a plain link or GET form: it works without JavaScript, the back button
behaves, and nothing is held on the server until the last step. That step POSTs the details;
the customer and the booking are written in the request's one unit of work
(``create_customer``, then ``reserve_booking``): a refused booking keeps no guest.

A visitor who is not signed in can never reach an existing customer's record through this
form: a known email stops the booking, offering to sign in when the address has an account,
and saying plainly that it cannot be used here when it belongs to a guest without a password.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from .. import clock
from ..accounts.links import await_confirmation
from ..accounts.service import email_status, set_password
from ..bookings.availability import Slot, available_days
from ..bookings.errors import BookingOverlaps, DailyLimitReached, SlotTaken
from ..bookings.service import reserve_booking
from ..customers.errors import EmailExists, ValidationFailed
from ..customers.input import RuleSettings
from ..customers.service import create_customer
from ..errors import answer_outage_with
from ..extensions import db
from ..models import Booking, Customer
from ..settings import rule_settings
from . import bp
from .abuse import STALE_PAGE_MESSAGE, remember_screened, screened_out, was_screened
from .auth import current_customer, sign_in
from .booking_steps import START_FORMAT, Selection, read_selection
from .custom_fields import load_custom_fields
from .forms import GuestDetailsForm, SetPasswordForm
from .limits import limit_web_door
from .messages import EMAIL_KNOWN, EMAIL_ON_FILE_BOOKING
from .responses import DATABASE_UNAVAILABLE, private_page, say_on_outage

DAYS_SHOWN = 14
SLOT_TAKEN = "Sorry, someone has just booked that time. Please choose another time."
ALREADY_YOURS = "You have booked this time: here is your booking."
# The session remembers the booking this browser just made, and the guest it created: only
# this browser may see that confirmation or turn that guest into an account, and only for a
# while: a shared computer should not show a later visitor someone else's booking or account.
BOOKED_KEY = "booked_id"
BOOKED_SINCE_KEY = "booked_since"
GUEST_KEY = "guest_customer_id"
GUEST_SINCE_KEY = "guest_since"
PRIVATE_WINDOW_SECONDS = 60 * 60


def start_param(slot: Slot) -> str:
    return slot.start.astimezone(UTC).strftime(START_FORMAT)


def _days(selection: Selection, now: datetime) -> list[date]:
    """The days the time step shows: today at the location and the next ones."""
    assert selection.location is not None
    today = now.astimezone(ZoneInfo(selection.location.timezone)).date()
    return [today + timedelta(days=n) for n in range(DAYS_SHOWN)]


def _slots(selection: Selection, days: list[date], now: datetime) -> dict[date, list[Slot]]:
    """The free starts of each day, from one bounded set of queries for all of them."""
    assert selection.service is not None
    assert selection.location is not None
    agent_id = selection.agent.id if selection.agent is not None else None
    service_id, location_id = selection.service.id, selection.location.id
    return available_days(service_id, location_id, days, agent_id=agent_id, now=now)


def _chosen_slot(selection: Selection) -> Slot | None:
    if selection.start is None or selection.day is None:
        return None
    for slot in _slots(selection, [selection.day], datetime.now(UTC))[selection.day]:
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
@limit_web_door
def book() -> ResponseReturnValue:
    outage = _DetailsOnOutage() if request.method == "POST" else None
    selection = read_selection(request.args)
    step = selection.next_step()
    if step == "time":
        now = datetime.now(UTC)
        shown = _days(selection, now)
        # The chosen day may lie beyond the days shown (the date picker reaches the horizon).
        chosen = [selection.day] if selection.day is not None else []
        slots_by_day = _slots(selection, shown + chosen, now)
        days = [(day, len(slots_by_day[day])) for day in shown]
        if selection.day is None:
            selection.day = next((day for day, count in days if count), days[0][0])
        slots = slots_by_day[selection.day]
        return _render(selection, step="time", days=days, slots=slots)
    if step != "details":
        return _render(selection, step=step)

    slot = _chosen_slot(selection)
    customer = current_customer()
    form = None if customer else _guest_form(selection)
    if outage is not None:
        outage.form = form
    if slot is None:
        own = _booked_by_this_browser(selection)
        if own is not None:
            # Back (or a resubmission) after booking: the time is gone because it is theirs.
            flash(ALREADY_YOURS, "success")
            return redirect(url_for("web.booking_confirmation"), 303)
        if request.method == "GET":
            flash(SLOT_TAKEN, "warning")
            return redirect(url_for("web.book", **selection.query(start=None)))
        # Taken while the visitor typed: keep what they typed and let them pick another time.
        _add_form_error(form, SLOT_TAKEN)
        return _render(selection, 409, step="details", form=form, slot_taken=True)
    if request.method == "GET":
        if form is not None:
            form.stamp_start()
        return _render(selection, step="details", slot=slot, form=form)
    if form is not None and screened_out(form):
        # A bot: nothing stored or sent; it is thanked as a booker would be (the
        # confirmation page, which says nothing of a booking it does not have).
        remember_screened()
        return redirect(url_for("web.booking_confirmation"))
    if form is not None and form.restamp_if_stale():
        flash(STALE_PAGE_MESSAGE, "error")
        return _render(selection, 422, step="details", slot=slot, form=form)
    return _submit(selection, slot, customer, form)


class _DetailsOnOutage:
    """If the database goes away during a POST, the details come back as they were sent
    (errors.py renders this): with the custom fields once the form is built, without them
    if the catalog could not even be read."""

    def __init__(self) -> None:
        self.form: GuestDetailsForm | None = None
        self.signed_in = session.get("customer_id") is not None
        answer_outage_with(self.render)

    def render(self) -> ResponseReturnValue:
        form = self.form
        if form is None and not self.signed_in:
            form = GuestDetailsForm(rule_settings())
        _add_form_error(form, DATABASE_UNAVAILABLE)
        action = request.full_path.rstrip("?")
        return _render(Selection(), 503, step="details", form=form, customer=None, action=action)


def guest_settings(selection: Selection) -> RuleSettings:
    """The rules' settings for a guest booking at the chosen place: a national phone number
    is read in the location's country (SPEC section 9), so "07911 123456" is valid at a
    London location and "(415) 555-2671" at a New York one."""
    settings = rule_settings()
    country = selection.location.country if selection.location is not None else None
    return replace(settings, default_phone_region=country) if country else settings


def _guest_form(selection: Selection) -> GuestDetailsForm:
    """Name, email, phone, and the custom fields a customer record cannot be created without
    (the service enforces required definitions on every new customer, guests included)."""
    required = load_custom_fields().required_only()
    return GuestDetailsForm.build(guest_settings(selection), required)


def _submit(
    selection: Selection,
    slot: Slot,
    customer: Customer | None,
    form: GuestDetailsForm | None,
) -> ResponseReturnValue:
    assert selection.service is not None
    assert selection.location is not None
    agent_id = selection.agent.id if selection.agent is not None else None
    context: dict[str, Any] = {"step": "details", "slot": slot, "form": form}
    checked = None
    if form is not None:
        form.validate()  # CSRF; customer_input checks the details
        checked = form.customer_input(defaults={"is_guest": True})
        if checked is None:
            # A known email is said beside the other mistakes at once.
            if not form.email.errors and email_status(form.email.data or "") is not None:
                return _email_known(selection, form, context)
            return _render(selection, 422, **context)
    try:
        if customer is None:
            assert checked is not None
            assert form is not None
            customer = guest = create_customer(
                checked, source="quick_booking", settings=form.settings
            )
        else:
            guest = None
        booking = reserve_booking(
            customer, selection.service.id, selection.location.id, agent_id, slot.start
        )
    except EmailExists:
        assert form is not None
        return _email_known(selection, form, context)
    except (BookingOverlaps, DailyLimitReached) as refused:
        # Fair use (SPEC section 9): this customer may not take this time; what was typed stays,
        # and another time (or day) is one click away. The unit of work keeps no guest.
        if form is not None:
            form.apply_errors(refused.details or {})
        else:
            flash(refused.message, "error")
        return _render(selection, refused.status, slot_taken=True, **context)
    except ValidationFailed as failed:
        # The time is no longer bookable ("start"); the unit of work keeps no guest.
        if form is not None:
            form.apply_errors(failed.details or {})
        else:
            for message in (failed.details or {}).values():
                flash(message, "error")
        return _render(selection, 422, **context)
    except SlotTaken:
        _add_form_error(form, SLOT_TAKEN)
        return _render(selection, 409, slot_taken=True, **context)
    now = int(time.time())
    session[BOOKED_KEY] = booking.id
    session[BOOKED_SINCE_KEY] = now
    if guest is not None:
        session[GUEST_KEY] = guest.id
        session[GUEST_SINCE_KEY] = now
    return redirect(url_for("web.booking_confirmation"))


def _email_known(
    selection: Selection, form: GuestDetailsForm, context: dict[str, Any]
) -> ResponseReturnValue:
    # Also reached when the address was registered while this form was filled in.
    account = email_status(form.email.data or "") != "guest"
    form.email.errors = [EMAIL_KNOWN if account else EMAIL_ON_FILE_BOOKING]
    return _render(selection, 422, email_known=account, **context)


def _add_form_error(form: GuestDetailsForm | None, message: str) -> None:
    if form is not None:
        form.form_errors.append(message)
    else:
        flash(message, "error")


def _remembered_id(key: str, since_key: str) -> int | None:
    """An id this session remembers, while it is fresh (see ``PRIVATE_WINDOW_SECONDS``)."""
    remembered, since = session.get(key), session.get(since_key)
    if not isinstance(remembered, int) or not isinstance(since, int | float):
        return None
    if time.time() - since > PRIVATE_WINDOW_SECONDS:
        return None
    return remembered


def _booked_by_this_browser(selection: Selection) -> Booking | None:
    """The booking this browser has just made (see ``BOOKED_KEY``) for exactly this choice of
    service, place, person and time, while it stands."""
    booked_id = _remembered_id(BOOKED_KEY, BOOKED_SINCE_KEY)
    booking = db.session.get(Booking, booked_id) if booked_id is not None else None
    if booking is None or booking.status != "confirmed":
        return None
    assert selection.service is not None
    assert selection.location is not None
    chosen = (selection.service.id, selection.location.id, selection.start)
    if (booking.service_id, booking.location_id, booking.start_at) != chosen:
        return None
    if selection.agent is not None and booking.agent_id != selection.agent.id:
        return None
    return booking


def _guest_of_this_browser() -> Customer | None:
    """The guest this browser created while booking, while they are still a guest, and only
    for a while: a shared computer should not offer a later visitor someone else's account."""
    guest_id = _remembered_id(GUEST_KEY, GUEST_SINCE_KEY)
    if guest_id is None:
        return None
    guest = db.session.get(Customer, guest_id)
    return guest if guest is not None and guest.is_guest else None


@bp.route("/book/confirmation", methods=["GET", "POST"], endpoint="booking_confirmation")
@limit_web_door
@private_page
def confirmation() -> ResponseReturnValue:
    if request.method == "POST":
        # Not the form again: the confirmation shows the booking, which an outage cannot read.
        say_on_outage(DATABASE_UNAVAILABLE)
    booked_id = _remembered_id(BOOKED_KEY, BOOKED_SINCE_KEY)
    booking = db.session.get(Booking, booked_id) if booked_id is not None else None
    if booking is None:
        for key in (BOOKED_KEY, BOOKED_SINCE_KEY, GUEST_KEY, GUEST_SINCE_KEY):
            session.pop(key, None)  # nothing left worth remembering
        if request.method == "GET" and was_screened():
            return render_template("thank_you.html")
        return redirect(url_for("web.book"))
    guest = _guest_of_this_browser()
    if guest is not None and guest.id != booking.customer_id:
        guest = None
    form = SetPasswordForm(rule_settings()) if guest else None
    status = 200
    if request.method == "POST":
        if form is None or guest is None:
            return redirect(url_for("web.booking_confirmation"))
        if form.validate():
            customer = set_password(guest.id, form.password.data or "", rule_settings())
            # Whoever typed the address at /book may not own it: the password signs in here
            # only, until the link sent to the address is used (SPEC section 9).
            await_confirmation(customer, clock.now())
            sign_in(customer)
            flash(
                f"Your password is set. We have sent a link to {customer.email}: use it to "
                "confirm your address, and then sign in with it anywhere.",
                "success",
            )
            return redirect(url_for("web.account"))
        status = 422
    return render_template(
        "book/confirmation.html", booking=booking, form=form, guest=guest
    ), status
