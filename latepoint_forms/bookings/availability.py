"""Free start times of a service at a location on a day, or on many: the one rule behind the
booking form and ``GET /availability``.

A start is free when it is on the service's grid, the whole service fits the location's opening
hours (catalog/hours.py: local time, daylight saving), it is after ``now``, and at least one
agent offering the service there has no confirmed booking — of any service, at any location —
overlapping it. Read-only.

``available_days`` answers for many days at once in a bounded number of queries (the booking
form's time step shows two weeks); ``available_starts`` is its one-day case.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, or_, select

from ..catalog import hours
from ..catalog.service import References, agents_for, check_references
from ..customers.errors import ValidationFailed
from ..extensions import db
from ..models import Agent, Booking, Location, Service
from ..models.types import utcnow

Window = tuple[datetime, datetime]  # [start, end), aware UTC
Busy = Mapping[int, Sequence[Window]]  # by agent id


@dataclass(frozen=True)
class Slot:
    start: datetime  # aware, UTC
    local_start: datetime  # naive wall-clock time at the location
    agent_ids: tuple[int, ...]  # the agents free for the whole service from this start

    @property
    def local_text(self) -> str:
        """ "2026-12-01T09:00", the form ``preferences.time_slots`` uses."""
        return hours.format_local(self.local_start)


def checked_references(service_id: int, location_id: int, agent_id: int | None) -> References:
    """The references, or ``ValidationFailed`` keyed service_id / location_id / agent_id."""
    refs, errors = check_references(service_id, location_id, agent_id)
    if refs is None:
        raise ValidationFailed(errors)
    return refs


def busy_intervals(
    agent_ids: Iterable[int], start: datetime, end: datetime, ignoring: int | None = None
) -> dict[int, list[tuple[datetime, datetime]]]:
    """Confirmed bookings of the agents that overlap [start, end), by agent."""
    return busy_intervals_within(agent_ids, [(start, end)], ignoring=ignoring)


def busy_intervals_within(
    agent_ids: Iterable[int], windows: Sequence[Window], ignoring: int | None = None
) -> dict[int, list[Window]]:
    """Confirmed bookings of the agents that overlap any of the [start, end) windows, by agent:
    one query, whatever the number of agents and windows.

    ``ignoring`` leaves one booking out: a booking being moved does not stand in its own way
    (a 90-minute visit moved half an hour later keeps an hour of its old time).
    """
    ids = list(agent_ids)
    busy: dict[int, list[Window]] = {agent_id: [] for agent_id in ids}
    if not ids or not windows:
        return busy
    overlaps = [and_(Booking.start_at < end, Booking.end_at > start) for start, end in windows]
    conditions = [Booking.agent_id.in_(ids), Booking.status == "confirmed", or_(*overlaps)]
    if ignoring is not None:
        conditions.append(Booking.id != ignoring)
    query = select(Booking.agent_id, Booking.start_at, Booking.end_at).where(*conditions)
    for agent_id, booked_start, booked_end in db.session.execute(query):
        busy[agent_id].append((booked_start, booked_end))
    return busy


def _free(intervals: Sequence[tuple[datetime, datetime]], start: datetime, end: datetime) -> bool:
    return all(
        not (booked_start < end and booked_end > start) for booked_start, booked_end in intervals
    )


def _future_grid_starts(
    service: Service, location: Location, day: date, now: datetime
) -> list[tuple[datetime, datetime]]:
    """The (local, UTC) starts of the day on the service's grid that fit the opening hours and
    are after ``now``, earliest first. Pure: no database, no clock."""
    return [
        (local, start)
        for local, start in hours.grid_starts(
            location.opening_hours,
            hours.zone(location.timezone),
            day,
            service.slot_interval_minutes,
            service.duration_minutes,
        )
        if start > now
    ]


def _span(starts: Sequence[tuple[datetime, datetime]], duration: timedelta) -> Window | None:
    """From a day's first start to its last start's end; None for a day without starts."""
    if not starts:
        return None
    instants = [start for _, start in starts]
    return min(instants), max(instants) + duration


def _windows(spans: Mapping[date, Window | None]) -> list[Window]:
    """One window per run of consecutive days, covering the spans of its days.

    A run rather than a day keeps the busy query short; a day apart from the others (the time
    step's chosen day beyond the days shown) gets a window of its own, so the query does not
    read every booking in between.
    """
    windows: dict[int, Window] = {}
    run, previous = 0, None
    for day in sorted(spans):
        if previous is not None and day - previous > timedelta(days=1):
            run += 1
        previous = day
        span = spans[day]
        if span is not None:
            first, last = windows.get(run, span)
            windows[run] = (min(first, span[0]), max(last, span[1]))
    return list(windows.values())


def _during(busy: Busy, span: Window | None) -> Busy:
    """The busy intervals overlapping a day's span: each start is then checked against that
    day's bookings only, not those of every day asked for."""
    if span is None:
        return {agent_id: [] for agent_id in busy}
    start, end = span
    return {
        agent_id: [(a, b) for a, b in intervals if a < end and b > start]
        for agent_id, intervals in busy.items()
    }


def available_days(
    service_id: int,
    location_id: int,
    days: Iterable[date],
    agent_id: int | None = None,
    now: datetime | None = None,
    ignoring: int | None = None,
) -> dict[date, list[Slot]]:
    """Free starts on each of the location's local ``days`` (earliest first), by day.

    The same few queries however many days and agents: the references, the agents offering
    the service there, and those agents' bookings on all the days at once. Unknown or inactive
    references, or an agent who does not offer the service there, raise ``ValidationFailed``
    keyed ``service_id`` / ``location_id`` / ``agent_id``. ``ignoring``: the id of a booking
    being moved, whose own time counts as free.
    """
    now = now or utcnow()
    refs = checked_references(service_id, location_id, agent_id)
    service, location = refs.service, refs.location
    agents = [refs.agent] if refs.agent is not None else agents_for(service.id, location.id)
    duration = timedelta(minutes=service.duration_minutes)
    starts_by_day = {day: _future_grid_starts(service, location, day, now) for day in set(days)}
    spans = {day: _span(starts, duration) for day, starts in starts_by_day.items()}
    busy = busy_intervals_within((a.id for a in agents), _windows(spans), ignoring=ignoring)
    return {
        day: _free_slots(starts, agents, _during(busy, spans[day]), duration)
        for day, starts in sorted(starts_by_day.items())
    }


def _free_slots(
    starts: Iterable[tuple[datetime, datetime]],
    agents: Sequence[Agent],
    busy: Busy,
    duration: timedelta,
) -> list[Slot]:
    """The (local, UTC) starts at which at least one of the agents is free for ``duration``."""
    slots = []
    for local, start in starts:
        free = tuple(a.id for a in agents if _free(busy[a.id], start, start + duration))
        if free:
            slots.append(Slot(start=start, local_start=local, agent_ids=free))
    return slots


def available_starts(
    service_id: int,
    location_id: int,
    on: date,
    agent_id: int | None = None,
    now: datetime | None = None,
    ignoring: int | None = None,
) -> list[Slot]:
    """Free starts on the location's local date ``on``, earliest first (``available_days``
    for one day: the same checks and errors)."""
    found = available_days(
        service_id, location_id, [on], agent_id=agent_id, now=now, ignoring=ignoring
    )
    return found[on]
