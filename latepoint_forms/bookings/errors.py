"""Domain errors of booking."""

from __future__ import annotations

from ..errors import AppError


class SlotTaken(AppError):
    """Someone else booked the agent (or every agent) for an overlapping time first."""

    status, code = 409, "slot_taken"
    message = "This time has just been booked by someone else. Please choose another time."


class BookingNotFound(AppError):
    status, code, message = 404, "not_found", "Booking not found"


class BookingNotCancellable(AppError):
    status, code = 409, "booking_not_cancellable"
    message = "This booking has already started or taken place, so it cannot be cancelled"
