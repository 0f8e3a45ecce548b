"""Local wall-clock time at a location: opening hours, the slot grid, daylight saving.

Pure functions (no database). Decisions, written down once:

- Slot times are wall-clock times in the location's own IANA zone; stored and compared in UTC.
- The slot grid counts from local midnight: a 15-minute service starts at :00, :15, :30, :45,
  whatever time the location opens (so the grid is the same on every day and in every shift).
- A wall-clock time that does not exist (the spring-forward gap, 01:30 in London on the last
  Sunday of March) is refused.
- A wall-clock time that happens twice (the fall-back hour) means its first occurrence, the
  one still on summer time (``fold=0``): the time a person reading the clock meets first.
  The repeated hour is not offered a second time.
- A booking must fit, start and end, inside one opening interval of its start's local day,
  measured in real elapsed time: a 60-minute service at 01:30 (summer time) on a fall-back
  night ends at 01:30 again, on the clock's *second* pass, not at 02:30.
- Opening intervals do not cross midnight; "24:00" closes at the end of the day.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..models.catalog import WEEKDAYS
from ..problems import N_, PLAIN, Problem, as_problem

LOCAL_SLOT_FORMAT = "%Y-%m-%dT%H:%M"
_HHMM_RE = re.compile(r"([01][0-9]|2[0-4]):([0-5][0-9])")
_SLOT_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}")

WeeklyHours = Mapping[str, Sequence[Sequence[str]]]

# How far ahead a time may be asked for or preferred. A year and a day covers "same time next
# year"; nobody books further out, and dates near year 1 or 9999 overflow in some zones.
BOOKING_HORIZON_DAYS = 366


class LocalTimeError(ValueError):
    """A local time that cannot be used; str(err) is the English message, ``problem`` the
    same as a message id with its parameters (translated where it is shown)."""

    def __init__(self, message: str | Problem) -> None:
        self.problem = as_problem(message)
        super().__init__(self.problem.english())


def _not_hhmm(text: object) -> LocalTimeError:
    template = N_("%(text)s is not a time of day in HH:MM form")
    return LocalTimeError(Problem(PLAIN, template, {"text": repr(text)}))


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise LocalTimeError(f"Unknown time zone {name!r}") from exc


def parse_hhmm(text: str) -> int:
    """Minutes since midnight of "HH:MM" (00:00 to 24:00)."""
    match = _HHMM_RE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise _not_hhmm(text)
    minutes = int(match[1]) * 60 + int(match[2])
    if minutes > 24 * 60:
        raise _not_hhmm(text)
    return minutes


def parse_local_slot(text: str) -> datetime:
    """A naive local datetime from "YYYY-MM-DDTHH:MM" (nothing more, nothing less)."""
    if not _SLOT_RE.fullmatch(text):
        raise LocalTimeError(N_("Use the form YYYY-MM-DDTHH:MM, such as 2026-12-01T09:00"))
    try:
        return datetime.strptime(text, LOCAL_SLOT_FORMAT)
    except ValueError as exc:
        raise LocalTimeError(N_("This is not a real date and time")) from exc


def check_horizon(day: date, today: date) -> None:
    """Refuse a day before yesterday or past the booking horizon (``today`` in UTC).

    Yesterday stays allowed: it is still today somewhere west of UTC.
    """
    last = today + timedelta(days=BOOKING_HORIZON_DAYS)
    if not today - timedelta(days=1) <= day <= last:
        template = N_("Choose a date from today to %(last)s")
        raise LocalTimeError(Problem(PLAIN, template, {"last": last.isoformat()}))


def local_to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant of a naive wall-clock time; refuse a time skipped by a DST change."""
    aware = local.replace(tzinfo=tz, fold=0)
    try:
        instant = aware.astimezone(UTC)
    except OverflowError as exc:  # within hours of year 1 or 9999
        raise LocalTimeError(N_("This date is out of range")) from exc
    if instant.astimezone(tz).replace(tzinfo=None) != local:
        raise LocalTimeError(
            N_("This time does not exist there: the clocks go forward at that moment")
        )
    return instant


def _bound_to_utc(day: date, minutes: int, tz: ZoneInfo) -> datetime:
    # Interval bounds in a DST gap are read with the offset before the change (zoneinfo's
    # fold=0 rule), i.e. the moment the clock would have shown that time.
    local = datetime.combine(day, time()) + timedelta(minutes=minutes)
    try:
        return local.replace(tzinfo=tz).astimezone(UTC)
    except OverflowError as exc:  # within hours of year 1 or 9999
        raise LocalTimeError(N_("This date is out of range")) from exc


def opening_intervals(hours: WeeklyHours, day: date) -> list[tuple[int, int]]:
    """The day's opening intervals as (open, close) minutes since local midnight."""
    return [(parse_hhmm(a), parse_hhmm(b)) for a, b in hours.get(WEEKDAYS[day.weekday()], ())]


def fits_opening_hours(
    hours: WeeklyHours, tz: ZoneInfo, local_start: datetime, start_utc: datetime, minutes: int
) -> bool:
    """Does [start, start + minutes) lie inside one opening interval of the start's local day?"""
    day = local_start.date()
    end_utc = start_utc + timedelta(minutes=minutes)
    for open_at, close_at in opening_intervals(hours, day):
        if _bound_to_utc(day, open_at, tz) <= start_utc and end_utc <= _bound_to_utc(
            day, close_at, tz
        ):
            return True
    return False


def on_grid(local_start: datetime, interval_minutes: int) -> bool:
    return (local_start.hour * 60 + local_start.minute) % interval_minutes == 0 and (
        local_start.second == 0 and local_start.microsecond == 0
    )


def grid_starts(
    hours: WeeklyHours, tz: ZoneInfo, day: date, interval_minutes: int, duration_minutes: int
) -> Iterator[tuple[datetime, datetime]]:
    """Every (local naive, UTC) start on the grid whose whole duration fits the day's hours."""
    seen: set[datetime] = set()
    for open_at, close_at in opening_intervals(hours, day):
        first = -(-open_at // interval_minutes) * interval_minutes  # round up onto the grid
        for minutes in range(first, close_at, interval_minutes):
            local = datetime.combine(day, time()) + timedelta(minutes=minutes)
            try:
                start_utc = local_to_utc(local, tz)
            except LocalTimeError:
                continue  # skipped by the spring-forward change
            if start_utc in seen:
                continue
            if fits_opening_hours(hours, tz, local, start_utc, duration_minutes):
                seen.add(start_utc)
                yield local, start_utc


def format_local(local: datetime) -> str:
    return local.strftime(LOCAL_SLOT_FORMAT)


def local_of(instant: datetime, tz: ZoneInfo) -> datetime:
    """The naive wall-clock time at ``tz`` of an aware instant."""
    return instant.astimezone(tz).replace(tzinfo=None)
