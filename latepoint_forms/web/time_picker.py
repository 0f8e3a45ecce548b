"""The time picker of ``/book`` and of the manage link's reschedule page, in one home.

Days are shown a week at a time: seven days counted from today at the location (week 0 is
today and the six days after it), so a row never wraps eight and six, and the week holding
the chosen day is the one shown, with links to the weeks before and after. Each day is open
(it has free times), fully booked (it has opening hours with times still to come, none of
them free) or closed (no start of the service fits its hours, or none is left today). The
chosen day's free times are grouped by the location's wall-clock time: morning (before
12:00), afternoon (12:00 to 17:00) and evening (from 17:00).

Pure: the free times come from the caller (``bookings.availability.available_days``, one
bounded set of queries for every day asked), the opening hours from the catalog's objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from ..bookings.availability import Slot
from ..catalog import hours
from ..models import Location, Service

WEEK_DAYS = 7
NOON = time(12)
EVENING = time(17)
NEARBY_TIMES = 3  # free times shown on each side of a lost one


@dataclass(frozen=True)
class PickerDay:
    day: date
    free: int  # free starts
    closed: bool  # no start fits the day's opening hours (or none is left today)

    @property
    def state(self) -> str:
        """ "open", "full" (hours, but nothing free) or "closed"."""
        if self.free:
            return "open"
        return "closed" if self.closed else "full"


@dataclass(frozen=True)
class TimeGroup:
    key: str  # "morning", "afternoon", "evening": the template names them
    slots: list[Slot]


@dataclass(frozen=True)
class Week:
    days: list[PickerDay]
    previous: date | None  # the first day of the week before, if it is not all past
    next: date | None  # the first day of the week after, if it is within the horizon


def week_of(today: date, day: date) -> list[date]:
    """The seven days, counted in weeks from ``today``, that hold ``day``."""
    first = today + timedelta(days=(day - today).days // WEEK_DAYS * WEEK_DAYS)
    return [first + timedelta(days=n) for n in range(WEEK_DAYS)]


def first_weeks(today: date, days: int) -> list[date]:
    """The whole weeks from ``today`` that cover ``days`` days: where a first free day is
    looked for when none is asked, so the week shown is always among them."""
    weeks = -(-days // WEEK_DAYS)
    return [today + timedelta(days=n) for n in range(weeks * WEEK_DAYS)]


def closed_on(service: Service, location: Location, day: date, now: datetime) -> bool:
    """True when no start of ``service`` on its grid fits ``location``'s hours on ``day``
    after ``now``, booked or not: the place is closed then (for the rest of today, too)."""
    starts = hours.grid_starts(
        location.opening_hours,
        hours.zone(location.timezone),
        day,
        service.slot_interval_minutes,
        service.duration_minutes,
    )
    return not any(start > now for _, start in starts)


def week(
    service: Service,
    location: Location,
    days: Sequence[date],
    free: Mapping[date, Sequence[Slot]],
    *,
    today: date,
    last_day: date,
    now: datetime,
) -> Week:
    """The week of ``days`` (from ``week_of``), each day's state, and the weeks beside it."""
    first, last = days[0], days[-1]
    return Week(
        days=[
            PickerDay(day, len(free[day]), closed_on(service, location, day, now)) for day in days
        ],
        previous=first - timedelta(days=WEEK_DAYS) if first > today else None,
        next=last + timedelta(days=1) if last < last_day else None,
    )


def first_free_day(days: Sequence[date], free: Mapping[date, Sequence[Slot]]) -> date:
    """The first of ``days`` with a free time, else the first of them."""
    return next((day for day in days if free[day]), days[0])


def grouped(slots: Sequence[Slot]) -> list[TimeGroup]:
    """The day's free times in morning, afternoon and evening groups (the empty ones left out)."""
    groups: dict[str, list[Slot]] = {"morning": [], "afternoon": [], "evening": []}
    for slot in slots:
        at = slot.local_start.time()
        key = "morning" if at < NOON else "afternoon" if at < EVENING else "evening"
        groups[key].append(slot)
    return [TimeGroup(key, found) for key, found in groups.items() if found]


def around(slots: Sequence[Slot], lost: datetime) -> tuple[list[Slot], list[Slot]]:
    """The free times just before and just after a lost start (``NEARBY_TIMES`` each)."""
    before = [slot for slot in slots if slot.start < lost][-NEARBY_TIMES:]
    after = [slot for slot in slots if slot.start > lost][:NEARBY_TIMES]
    return before, after
