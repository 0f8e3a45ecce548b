"""Domain errors of booking."""

from __future__ import annotations

from ..customers.errors import ValidationFailed
from ..errors import AppError
from ..problems import N_, NP_, PLAIN, Problem


class SlotTaken(AppError):
    """Someone else booked the agent (or every agent) for an overlapping time first."""

    status, code = 409, "slot_taken"
    message = N_("This time has just been booked by someone else. Please choose another time.")


class BookingNotFound(AppError):
    status, code, message = 404, "not_found", N_("Booking not found")


class BookingNotCancellable(AppError):
    status, code = 409, "booking_not_cancellable"
    message = N_("This booking has already started or taken place, so it cannot be cancelled")


class BookingChangesClosed(AppError):
    """Too close to the start to move or cancel online (``CANCEL_CUTOFF_HOURS``)."""

    status, code = 409, "changes_closed"
    message = N_(
        "Online changes to this booking have closed, as it starts soon. Please call us to "
        "change it."
    )

    def __init__(self, cutoff_hours: int) -> None:
        super().__init__(changes_closed_problem(cutoff_hours))


CHANGES_CLOSED = NP_(
    "Online changes close %(num)d hour before the start, so this booking can no longer be "
    "moved or cancelled here. Please call us.",
    "Online changes close %(num)d hours before the start, so this booking can no longer be "
    "moved or cancelled here. Please call us.",
)


def changes_closed_problem(cutoff_hours: int) -> Problem:
    return Problem.counted(PLAIN, CHANGES_CLOSED, cutoff_hours)


def changes_closed_message(cutoff_hours: int) -> str:
    return changes_closed_problem(cutoff_hours).english()


class BookingChanged(AppError):
    """The booking was moved or cancelled after the page asking to confirm was shown."""

    status, code = 409, "booking_changed"
    message = N_(
        "This booking was changed in the meantime, so nothing was done. "
        "Please check the booking below and try again."
    )


class ManageLinkInvalid(AppError):
    """A manage link that was never issued, was altered, or has expired."""

    status, code = 404, "not_found"
    message = N_(
        "This booking link is not valid, or it has expired (links work until 30 days after "
        "the visit). If you need help with a booking, quote its code when you contact us."
    )


class BookingOverlaps(ValidationFailed):
    """Fair use (SPEC section 9): the customer already holds a booking overlapping this time,
    whoever it is with. Keyed ``start``, like any other refusal of the chosen time."""

    status, code = 409, "booking_overlaps"
    message = N_("You already have a booking at this time")

    def __init__(self) -> None:
        problem = Problem(PLAIN, self.message)  # the field's code, as before: "invalid"
        super().__init__({"start": problem}, problem)


class DailyLimitReached(ValidationFailed):
    """Fair use (SPEC section 9): the customer already holds ``MAX_BOOKINGS_PER_DAY``
    confirmed bookings on the location's calendar day of this start. Keyed ``start``."""

    status, code = 409, "daily_limit_reached"
    message = "You can book at most MAX_BOOKINGS_PER_DAY visits on one day"  # (the number)

    def __init__(self, limit: int) -> None:
        problem = daily_limit_problem(limit)
        super().__init__({"start": problem}, problem)


DAILY_LIMIT = NP_(
    "You can book at most %(num)d visit on one day",
    "You can book at most %(num)d visits on one day",
)


def daily_limit_problem(limit: int) -> Problem:
    return Problem.counted(PLAIN, DAILY_LIMIT, limit)


def daily_limit_message(limit: int) -> str:
    return daily_limit_problem(limit).english()
