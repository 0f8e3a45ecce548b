"""The manage link (``/bookings/<token>``): see one booking, move it, cancel it (SPEC section 9).

Whoever holds the link manages that one booking, signed in or not: the signed token is the key
(bookings/manage_links.py; it stops working 30 days after the visit ends). Mail scanners and
link previews open links, so a GET only ever shows. Each change is a POST carrying a CSRF
token, reached through a page that asks to confirm it: "Cancel" leads to "Cancel this
booking?", a chosen new time to "Move your booking to …?".

The reschedule POST names the new time, the agent ("any" or an id) and the booking's
``sequence`` as the confirming page showed it: a booking that moved or was cancelled in the
meantime (another tab, a double click) is refused rather than moved twice
(``reschedule_booking``). Changes close ``CANCEL_CUTOFF_HOURS`` before the start, and every
page says until when they are open.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from wtforms import HiddenField

from ..bookings.availability import Slot, available_days
from ..bookings.errors import (
    BookingChanged,
    BookingChangesClosed,
    BookingNotCancellable,
    BookingNotFound,
    BookingOverlaps,
    DailyLimitReached,
    ManageLinkInvalid,
    SlotTaken,
)
from ..bookings.manage_links import booking_id_from_token, manage_token
from ..bookings.service import cancel_booking, changes_close_at, reschedule_booking
from ..catalog import hours
from ..catalog.hours import BOOKING_HORIZON_DAYS
from ..clock import now
from ..customers.errors import ValidationFailed
from ..customers.rules import RuleError, parse_iso_date
from ..extensions import db
from ..i18n import _, localised_details
from ..ids import is_valid_id, parse_id
from ..messages.ics import Method, booking_calendar
from ..models import Booking
from ..problems import N_
from . import bp, time_picker
from .booking import DAYS_SHOWN, start_param
from .booking_steps import ANY_AGENT, START_FORMAT
from .display import when
from .forms import ActionForm, PageForm
from .responses import private_page, say_on_outage

SEQUENCE_TEXT = re.compile(r"[0-9]{1,9}")
NOT_CHANGED = N_("We could not change the booking just now. It is unchanged — please try again.")
TIME_TAKEN = N_(
    "Sorry, someone has just booked that time, so your booking was not moved: it is still on "
    "%(when)s. Please choose another time."
)
TIME_GONE = N_("That time is no longer free. Please choose another time.")
CANNOT_MOVE = N_(
    "This booking can no longer be moved online (its service is not offered there any more). "
    "Please contact us to change it."
)


def cutoff() -> timedelta:
    return timedelta(hours=current_app.config["CANCEL_CUTOFF_HOURS"])


@dataclass(frozen=True)
class ChangeWindow:
    """Whether the booking may still be moved or cancelled online, and until when."""

    open: bool
    closes_at: datetime
    cutoff_hours: int
    over: bool  # the visit has started or taken place


def change_window(booking: Booking, at: datetime) -> ChangeWindow:
    closes_at = changes_close_at(booking, cutoff())
    confirmed = booking.status == "confirmed"
    return ChangeWindow(
        open=confirmed and at < closes_at,
        closes_at=closes_at,
        cutoff_hours=current_app.config["CANCEL_CUTOFF_HOURS"],
        over=booking.start_at <= at,
    )


class RescheduleForm(PageForm):
    """The confirmed move: the new time, the agent, and the booking as the person saw it."""

    start = HiddenField()
    agent = HiddenField()
    sequence = HiddenField()


def booking_for(token: str) -> Booking:
    """The booking the link names, or ``ManageLinkInvalid`` (never issued, altered, expired)."""
    booking_id = booking_id_from_token(token, now())
    # is_valid_id: a key column's range, whatever number a signed token might carry.
    booking = db.session.get(Booking, booking_id) if is_valid_id(booking_id) else None
    if booking is None:
        raise ManageLinkInvalid()
    return booking


def _show(booking: Booking, token: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    page = render_template(
        "manage/booking.html",
        booking=booking,
        token=token,
        window=change_window(booking, now()),
        **context,
    )
    return page, status


@bp.get("/bookings/<token>", endpoint="manage_booking")
@private_page
def manage(token: str) -> ResponseReturnValue:
    return _show(booking_for(token), token)


# --- cancel ----------------------------------------------------------------------------------


@bp.get("/bookings/<token>/cancel", endpoint="manage_cancel")
@private_page
def confirm_cancel(token: str) -> ResponseReturnValue:
    """The confirmation step: nothing changes until its button is pressed."""
    booking = booking_for(token)
    window = change_window(booking, now())
    if not window.open:
        return _show(booking, token)
    return render_template(
        "manage/cancel.html",
        booking=booking,
        window=window,
        form=ActionForm(),
        action=url_for("web.manage_cancel", token=token),
        keep_url=url_for("web.manage_booking", token=token),
    )


@bp.post("/bookings/<token>/cancel")
@private_page
def cancel(token: str) -> ResponseReturnValue:
    say_on_outage(NOT_CHANGED)
    booking = booking_for(token)
    form = ActionForm()
    if not form.validate():
        return _show(booking, token, 400, error=_("This form has expired. Please try again."))
    try:
        cancel_booking(booking.id, booking.customer_id, now=now(), cutoff=cutoff())
    except (BookingNotCancellable, BookingChangesClosed) as refused:
        return _show(booking, token, refused.status, error=refused.localised_message())
    except BookingNotFound:  # pragma: no cover - the token named it a moment ago
        raise ManageLinkInvalid() from None
    flash(_("Booking %(code)s is cancelled.", code=booking.booking_code), "success")
    return redirect(url_for("web.manage_booking", token=token))


# --- reschedule ------------------------------------------------------------------------------


@dataclass
class TimeChoice:
    """What the reschedule page offers: days, the chosen day's free times, the agent choice."""

    agent_param: str | None  # None: the booked agent; "any": whoever is free
    day: date
    week: time_picker.Week  # the seven days holding ``day``, each open, fully booked or closed
    slots: list[Slot]
    same_agent_offered: bool
    first_day: date
    last_day: date

    def query(self, **overrides: Any) -> dict[str, str]:
        values: dict[str, Any] = {"agent": self.agent_param, "date": self.day.isoformat()}
        values.update(overrides)
        return {key: str(value) for key, value in values.items() if value is not None}

    @property
    def groups(self) -> list[time_picker.TimeGroup]:
        return time_picker.grouped(self.slots)


def _asked_day(args: Any, name: str, today: date, last_day: date) -> date | None:
    try:
        day = parse_iso_date(args.get(name) or "")
    except RuleError:
        return None
    return day if today <= day <= last_day else None


def _free_days(
    booking: Booking, agent_id: int | None, days: list[date], at: datetime
) -> dict[date, list[Slot]]:
    found = available_days(
        booking.service_id,
        booking.location_id,
        days,
        agent_id=agent_id,
        now=at,
        ignoring=booking.id,
    )
    # Its own time is no new time, whoever would take it.
    return {
        day: [slot for slot in slots if slot.start != booking.start_at]
        for day, slots in found.items()
    }


def time_choice(booking: Booking, args: Any, at: datetime) -> TimeChoice | None:
    """The times the booking could move to (same service, same place), or None when its
    service is not bookable there any more."""
    tz = hours.zone(booking.location.timezone)
    today = at.astimezone(tz).date()
    last_day = at.astimezone(UTC).date() + timedelta(days=BOOKING_HORIZON_DAYS)
    day = _asked_day(args, "date", today, last_day)
    anchor = day or _asked_day(args, "week", today, last_day)
    # The week asked for (by a day or a week's link), else the first days, for a free one.
    asked = (
        time_picker.week_of(today, anchor)
        if anchor is not None
        else time_picker.first_weeks(today, DAYS_SHOWN)
    )
    agent_param = ANY_AGENT if args.get("agent") == ANY_AGENT else None
    same_agent_offered = True
    try:
        by_day = _free_days(booking, None if agent_param else booking.agent_id, asked, at)
    except ValidationFailed as failed:
        if agent_param is not None or set(failed.details or {}) != {"agent_id"}:
            return None
        # Their agent no longer offers it here: anyone who does.
        agent_param, same_agent_offered = ANY_AGENT, False
        try:
            by_day = _free_days(booking, None, asked, at)
        except ValidationFailed:
            return None
    if day is None:
        day = time_picker.first_free_day(asked, by_day)
    week = time_picker.week(
        booking.service,
        booking.location,
        time_picker.week_of(today, day),
        by_day,
        today=today,
        last_day=last_day,
        now=at,
    )
    return TimeChoice(
        agent_param=agent_param,
        day=day,
        week=week,
        slots=by_day[day],
        same_agent_offered=same_agent_offered,
        first_day=today,
        last_day=last_day,
    )


def _chosen(choice: TimeChoice, start_text: str | None) -> Slot | None:
    if not start_text:
        return None
    return next((slot for slot in choice.slots if start_param(slot) == start_text), None)


def _reschedule_page(
    booking: Booking,
    token: str,
    at: datetime,
    args: Any,
    status: int = 200,
    **context: Any,
) -> ResponseReturnValue:
    window = change_window(booking, at)
    if not window.open:
        return _show(booking, token, status, **context)
    choice = time_choice(booking, args, at)
    if choice is None:
        return _show(booking, token, status, error=_(CANNOT_MOVE))
    slot = _chosen(choice, args.get("start")) if "error" not in context else None
    if args.get("start") and slot is None and "error" not in context:
        context["warning"] = _(TIME_GONE)
    form = None
    if slot is not None:
        agent = choice.agent_param or str(booking.agent_id)
        form = RescheduleForm(
            formdata=None,
            start=start_param(slot),
            agent=agent,
            sequence=str(booking.sequence),
        )
    page = render_template(
        "manage/reschedule.html",
        booking=booking,
        token=token,
        window=window,
        choice=choice,
        slot=slot,
        form=form,
        start_param=start_param,
        **context,
    )
    return page, status


@bp.get("/bookings/<token>/reschedule", endpoint="manage_reschedule")
@private_page
def choose_time(token: str) -> ResponseReturnValue:
    """Free times to move to; with ``start`` chosen, the confirmation step (no change yet)."""
    booking = booking_for(token)
    return _reschedule_page(booking, token, now(), request.args)


@bp.post("/bookings/<token>/reschedule")
@private_page
def move(token: str) -> ResponseReturnValue:
    say_on_outage(NOT_CHANGED)
    booking = booking_for(token)
    at = now()
    form = RescheduleForm()
    start = _parse_start(form.start.data, at)
    sequence = _parse_sequence(form.sequence.data)
    agent_text = form.agent.data or ""
    agent_id = None if agent_text == ANY_AGENT else parse_id(agent_text)
    back = {"agent": ANY_AGENT if agent_id is None else None}
    if not form.validate():
        return _reschedule_page(
            booking, token, at, back, 400, error=_("This form has expired. Please try again.")
        )
    if start is None or sequence is None or (agent_id is None and agent_text != ANY_AGENT):
        return _reschedule_page(
            booking, token, at, back, 422, error=_("Please choose one of the listed times.")
        )
    back["date"] = start.astimezone(hours.zone(booking.location.timezone)).date().isoformat()
    old_start = booking.start_at
    try:
        moved = reschedule_booking(
            booking.id,
            start,
            agent_id,
            expected_sequence=sequence,
            now=at,
            cutoff=cutoff(),
        )
    except SlotTaken:
        when = _when(booking, old_start)
        taken = _(TIME_TAKEN, when=when)
        return _reschedule_page(booking, token, at, back, 409, error=taken)
    except (BookingOverlaps, DailyLimitReached) as refused:
        # Fair use (SPEC section 9): the booking keeps its time; another may be chosen.
        refusal = refused.localised_message()
        return _reschedule_page(booking, token, at, back, refused.status, error=refusal)
    except ValidationFailed as failed:
        message = next(iter(localised_details(failed.problems).values()), _(TIME_GONE))
        return _reschedule_page(booking, token, at, back, 422, error=message)
    except (BookingChanged, BookingChangesClosed, BookingNotCancellable) as refused:
        db.session.refresh(booking)
        return _show(booking, token, refused.status, error=refused.localised_message())
    flash(_("Your booking is moved to %(when)s.", when=_when(moved, moved.start_at)), "success")
    # A fresh link: the old one expires with the old time (bookings/manage_links.py).
    return redirect(manage_path(moved))


def _parse_start(text: str | None, at: datetime) -> datetime | None:
    """A start the form could have offered: UTC, from yesterday to the booking horizon (a
    hand-made year 1 or 9999 would overflow on the way to local time)."""
    try:
        start = datetime.strptime(text or "", START_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None
    if not at - timedelta(days=1) <= start <= at + timedelta(days=BOOKING_HORIZON_DAYS + 1):
        return None
    return start


def _parse_sequence(text: str | None) -> int | None:
    if text is None or not SEQUENCE_TEXT.fullmatch(text):
        return None
    return int(text)


def _when(booking: Booking, moment: datetime) -> str:
    return when(moment, booking.location.timezone)


# --- links and the calendar file ----------------------------------------------------------


def manage_path(booking: Booking, endpoint: str = "web.manage_booking") -> str:
    """The path of the booking's manage page (or one of its steps) on this site; templates
    call it too (the confirmation page, the account)."""
    return url_for(endpoint, token=manage_token(booking))


bp.add_app_template_global(manage_path)


@bp.get("/bookings/<token>/calendar.ics", endpoint="manage_calendar")
@private_page
def calendar(token: str) -> ResponseReturnValue:
    """The booking as an iCalendar file, for the "add to calendar" buttons (GET: read only)."""
    booking = booking_for(token)
    method: Method = "CANCEL" if booking.status == "cancelled" else "PUBLISH"
    body = booking_calendar(booking, method=method, now=now())
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'attachment; filename="{booking.booking_code}.ics"'
    return response
