"""Quick registration during booking (``/book``): service, place, person, time, then details.

The choices travel in the query string (``?service=1&location=2&agent=any&date=…&start=…``),
so every step is a plain link or GET form: it works without JavaScript, the back button
behaves, and nothing is held on the server until the last step. That step POSTs the details;
the customer and the booking are written in the request's one unit of work by the service the
API's ``POST /bookings`` uses too (bookings/visitors.py, ``book_for_visitor``: the guest, then
the booking): a refused booking keeps no guest.

An email already on file books like a new one (SPEC section 9, "Returning customers"): the
booking is made, in the same unit of work, for the customer holding the address. What the
visitor typed never changes that record; what differs from it is proposed in the confirmation
sent to the stored address, with a "confirm your changes" link (web/changes.py).

Nobody learns through this form whether an address is on file. The answer to the details and
the confirmation page are built from what the visitor chose and typed (``BookedRequest``),
never from the stored record, for a new and a known address alike (web/booked_request.py);
the booking code, calendar file and manage link travel by mail. A fair-use refusal of a
known address (it already holds a booking at that time, or its day is full) is answered like
a booking made: nothing is booked, and the stored address is told why
(``queue_booking_not_made``). A signed-in customer books as themselves and sees their booking,
refusals included, as before.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from .. import clock
from ..accounts.links import await_confirmation
from ..accounts.service import set_password
from ..bookings.availability import Slot, available_days
from ..bookings.errors import BookingOverlaps, DailyLimitReached, SlotTaken
from ..bookings.service import reserve_booking
from ..bookings.visitors import book_for_visitor, settings_at
from ..customers.errors import ValidationFailed
from ..customers.input import RuleSettings
from ..customers.service import CheckedCustomer
from ..errors import answer_outage_with
from ..extensions import db
from ..i18n import _, localised_details, prefer_location_language
from ..models import Booking, Customer
from ..problems import N_
from ..settings import rule_settings
from . import bp, time_picker
from .abuse import STALE_PAGE_MESSAGE, remember_screened, screened_out, was_screened
from .account_pending import CONFIRM_FIRST
from .auth import current_customer, sign_in
from .booked_request import (
    PRIVATE_WINDOW_SECONDS,
    booked_request,
    forget_request,
    guest_of_this_browser,
    password_offer_for_known_address,
    remember_request,
    requested_email,
)
from .booking_steps import START_FORMAT, Selection, read_selection
from .custom_fields import load_custom_fields
from .forms import GuestDetailsForm, SetPasswordForm
from .limits import limit_web_door, limit_web_door_for
from .responses import DATABASE_UNAVAILABLE, private_page, say_on_outage

DAYS_SHOWN = 14
SLOT_TAKEN = N_("Sorry, someone has just booked that time. Please choose another time.")
ALREADY_YOURS = N_("You have booked this time: here is your booking.")
# The same for whoever sent the details (a new or a known address, booked or quietly refused).
ALREADY_SENT = N_("You have sent this booking already: here it is again.")
# The session remembers what this browser just booked: only this browser may see that
# confirmation or turn the guest it created into an account, and only for a while
# (``PRIVATE_WINDOW_SECONDS``): a shared computer should not show a later visitor someone
# else's booking or account. A signed-in customer's booking, by id:
BOOKED_KEY = "booked_id"
BOOKED_SINCE_KEY = "booked_since"


def start_param(slot: Slot) -> str:
    return slot.start.astimezone(UTC).strftime(START_FORMAT)


def _days(selection: Selection, now: datetime) -> list[date]:
    """The days searched for a first free one when no day or week is asked for: today at the
    location and the next ones."""
    assert selection.location is not None
    today = now.astimezone(ZoneInfo(selection.location.timezone)).date()
    return time_picker.first_weeks(today, DAYS_SHOWN)


def _time_step(selection: Selection) -> ResponseReturnValue:
    """The week holding the chosen day (or the asked week's, or the first free day), each of
    its days' state, and the day's free times in groups (web/time_picker.py)."""
    assert selection.service is not None
    assert selection.location is not None
    now = clock.now()
    today = selection.local_today()
    anchor = selection.day or selection.week
    # The chosen day may lie beyond the first days (the date picker reaches the horizon).
    asked = time_picker.week_of(today, anchor) if anchor is not None else _days(selection, now)
    slots_by_day = _slots(selection, asked, now)
    if selection.day is None:
        selection.day = time_picker.first_free_day(asked, slots_by_day)
    shown = time_picker.week_of(today, selection.day)
    week = time_picker.week(
        selection.service,
        selection.location,
        shown,
        slots_by_day,
        today=today,
        last_day=selection.last_bookable_day(),
        now=now,
    )
    slots = slots_by_day[selection.day]
    groups = time_picker.grouped(slots)
    return _render(selection, step="time", week=week, slots=slots, groups=groups)


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
    for slot in _slots(selection, [selection.day], clock.now())[selection.day]:
        if slot.start == selection.start:
            return slot
    return None


def _render(selection: Selection, status: int = 200, **context: Any) -> ResponseReturnValue:
    if selection.location is not None:
        # The place's language, when the visitor's own choice and browser say nothing.
        prefer_location_language(selection.location.language)
    context.setdefault("customer", current_customer())
    if context.get("slot_taken") and selection.start is not None and selection.day is not None:
        # The lost time stays in view with the free times around it (web/time_picker.py).
        free = _slots(selection, [selection.day], clock.now())[selection.day]
        context["nearby"] = time_picker.around(free, selection.start)
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
        return _time_step(selection)
    if step != "details":
        return _render(selection, step=step)

    customer = current_customer()
    if customer is not None and customer.status == "pending":
        # A pending registrant has proven nothing; booking would tell them, by its fair-use
        # refusals, when the address's owner has bookings (their anonymous ones attach here).
        flash(_(CONFIRM_FIRST), "warning")
        return redirect(url_for("web.account"), 303)
    slot = _chosen_slot(selection)
    form = None if customer else _guest_form(selection)
    if outage is not None:
        outage.form = form
    if slot is None:
        if customer is not None and _booked_by_this_browser(selection) is not None:
            # Back (or a resubmission) after booking: the time is gone because it is theirs.
            flash(_(ALREADY_YOURS), "success")
            return redirect(url_for("web.booking_confirmation"), 303)
        requested = None if customer is not None else booked_request()
        if requested is not None and requested.matches(selection):
            # The same for an anonymous visitor, told from what they sent (not a booking id).
            flash(_(ALREADY_SENT), "success")
            return redirect(url_for("web.booking_confirmation"), 303)
        if request.method == "GET":
            flash(_(SLOT_TAKEN), "warning")
            return redirect(url_for("web.book", **selection.query(start=None)))
        # Taken while the visitor typed: keep what they typed and let them pick another time.
        _add_form_error(form, _(SLOT_TAKEN))
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
        flash(_(STALE_PAGE_MESSAGE), "error")
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
    """The rules' settings for a guest booking at the chosen place (``settings_at``: a
    national phone number is read in the location's country, SPEC section 9)."""
    return settings_at(rule_settings(), selection.location)


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
            return _render(selection, 422, **context)
        if _sent_already(selection, checked):
            # The form sent again (history, a double click) after it was answered: the same
            # answer, whether the time was booked (and is gone) or quietly refused (and free).
            flash(_(ALREADY_SENT), "success")
            return redirect(url_for("web.booking_confirmation"), 303)
    guest = None
    try:
        if customer is None:
            assert checked is not None
            assert form is not None
            booking, guest = _book_anonymously(selection, slot, form, checked)
        else:
            booking = reserve_booking(
                customer,
                selection.service.id,
                selection.location.id,
                agent_id,
                slot.start,
                now=clock.now(),
            )
    except (BookingOverlaps, DailyLimitReached) as refused:
        # Fair use (SPEC section 9): a signed-in customer may not take this time (an anonymous
        # visitor never meets this: see ``book_for_visitor``); another time is one click
        # away.
        if form is not None:
            form.apply_errors(localised_details(refused.problems))
        else:
            flash(refused.localised_message(), "error")
        return _render(selection, refused.status, slot_taken=True, **context)
    except ValidationFailed as failed:
        # The time is no longer bookable ("start"); the unit of work keeps no guest.
        if form is not None:
            form.apply_errors(localised_details(failed.problems))
        else:
            for message in localised_details(failed.problems).values():
                flash(message, "error")
        return _render(selection, 422, **context)
    except SlotTaken:
        _add_form_error(form, _(SLOT_TAKEN))
        return _render(selection, 409, slot_taken=True, **context)
    _remember(booking, guest, selection, checked)
    return redirect(url_for("web.booking_confirmation"))


def _book_anonymously(
    selection: Selection, slot: Slot, form: GuestDetailsForm, checked: CheckedCustomer
) -> tuple[Booking | None, Customer | None]:
    """(the booking, or None when quietly refused; the guest created, if one was).

    A known address books for its customer, whatever their status (bookings/visitors.py); a
    fair-use refusal of it is quiet: the page says what a booking made says, and the stored
    address is told why (``tell_owner``)."""
    assert selection.service is not None
    assert selection.location is not None
    outcome = book_for_visitor(
        checked,
        settings=form.settings,
        definitions=form.custom_fields.definitions,
        service=selection.service,
        location=selection.location,
        agent=selection.agent,
        start=slot.start,
        source="quick_booking",
        clock=clock.now,
        tell_owner=True,
    )
    return outcome.booking, outcome.guest


def _remember(
    booking: Booking | None,
    guest: Customer | None,
    selection: Selection,
    checked: CheckedCustomer | None,
) -> None:
    """What the confirmation and the Back button need (see ``BOOKED_KEY``, booked_request.py)."""
    for key in (BOOKED_KEY, BOOKED_SINCE_KEY):
        session.pop(key, None)
    forget_request()
    if checked is None:  # signed in: their own booking, by id
        assert booking is not None
        session[BOOKED_KEY] = booking.id
        session[BOOKED_SINCE_KEY] = int(time.time())
        return
    remember_request(selection, checked, guest)


def _sent_already(selection: Selection, checked: CheckedCustomer) -> bool:
    requested = booked_request()
    return requested is not None and requested.matches(selection, checked.data.email)


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


KNOWN_ADDRESS_LINK_SENT = N_(
    "We have sent a link to %(email)s: use it to choose your password and sign in."
)


def _link_sent(email: str) -> str:
    return _(
        "Your password is set. We have sent a link to %(email)s: use it to confirm your "
        "address, and then sign in with it anywhere.",
        email=email,
    )


@bp.route("/book/confirmation", methods=["GET", "POST"], endpoint="booking_confirmation")
@limit_web_door_for(requested_email)  # the offer has no email field: the request's address
@private_page
def confirmation() -> ResponseReturnValue:
    if request.method == "POST":
        # Not the form again: the confirmation shows the booking, which an outage cannot read.
        say_on_outage(DATABASE_UNAVAILABLE)
    booked_id = _remembered_id(BOOKED_KEY, BOOKED_SINCE_KEY)
    booked = db.session.get(Booking, booked_id) if booked_id is not None else None
    # An anonymous visitor is shown what they asked for, never the booking's record (see
    # ``BookedRequest``): the same page for a new address, a known one, a quiet refusal.
    # The booking's own page is for the signed-in customer it belongs to (not for whoever
    # signs in after typing someone else's address here).
    signed_in = current_customer()
    requested = None if signed_in else booked_request()
    mine = booked is not None and signed_in is not None and booked.customer_id == signed_in.id
    booking = booked if mine else None
    if booking is None and requested is None:
        for key in (BOOKED_KEY, BOOKED_SINCE_KEY):
            session.pop(key, None)  # nothing left worth remembering
        forget_request()
        if request.method == "GET" and was_screened():
            return render_template("thank_you.html")
        return redirect(url_for("web.book"))
    guest = guest_of_this_browser(requested)
    # The offer is made to every anonymous visitor (a known address too: the pages must not
    # differ); for a known one the POST is booked_request.password_offer_for_known_address's.
    form = SetPasswordForm(rule_settings()) if guest or requested else None
    status = 200
    if request.method == "POST":
        if form is None:
            return redirect(url_for("web.booking_confirmation"))
        if guest is None and requested is not None:
            if form.validate():
                # An address that was on file: not the visitor's record to change; its owner
                # gets a reset link (booked_request.py), and the page says so truthfully.
                # The one answer that differs from a new guest's: the registering browser of
                # a new guest is signed in (SPEC section 9) and led to /account; this one is
                # not. Everything before it (the offer, its errors, its per-email budget) is
                # the same; an inactive owner, and an offer sent again, are answered alike
                # (no mail: booked_request.py).
                password_offer_for_known_address(requested)
                flash(_(KNOWN_ADDRESS_LINK_SENT, email=requested.email), "success")
                return redirect(url_for("web.booking_confirmation"))
            return render_template(
                "book/confirmation.html", booking=None, form=form, guest=None, requested=requested
            ), 422
        assert guest is not None
        if form.validate():
            customer = set_password(guest.id, form.password.data or "", rule_settings())
            # Whoever typed the address at /book may not own it: the password signs in here
            # only, until the link sent to the address is used (SPEC section 9).
            await_confirmation(customer, clock.now())
            sign_in(customer)
            flash(_link_sent(customer.email or ""), "success")
            return redirect(url_for("web.account"))
        status = 422
    return render_template(
        "book/confirmation.html", booking=booking, form=form, guest=guest, requested=requested
    ), status
