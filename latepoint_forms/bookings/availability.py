"""Free start times of a service at a location on a day: the one function behind the booking
form and ``GET /availability``.

A start is free when it is on the service's grid, the whole service fits the location's opening
hours (catalog/hours.py: local time, daylight saving), it is after ``now``, and at least one
agent offering the service there has no confirmed booking — of any service, at any location —
overlapping it. Read-only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from ..catalog import hours
from ..catalog.service import References, agents_for, check_references
from ..customers.errors import ValidationFailed
from ..extensions import db
from ..models import Booking
from ..models.types import utcnow


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
    agent_ids: Iterable[int], start: datetime, end: datetime
) -> dict[int, list[tuple[datetime, datetime]]]:
    """Confirmed bookings of the agents that overlap [start, end), by agent."""
    ids = list(agent_ids)
    busy: dict[int, list[tuple[datetime, datetime]]] = {agent_id: [] for agent_id in ids}
    if not ids:
        return busy
    query = select(Booking.agent_id, Booking.start_at, Booking.end_at).where(
        Booking.agent_id.in_(ids),
        Booking.status == "confirmed",
        Booking.start_at < end,
        Booking.end_at > start,
    )
    for agent_id, booked_start, booked_end in db.session.execute(query):
        busy[agent_id].append((booked_start, booked_end))
    return busy


def _free(intervals: Sequence[tuple[datetime, datetime]], start: datetime, end: datetime) -> bool:
    return all(
        not (booked_start < end and booked_end > start) for booked_start, booked_end in intervals
    )


def available_starts(
    service_id: int,
    location_id: int,
    on: date,
    agent_id: int | None = None,
    now: datetime | None = None,
) -> list[Slot]:
    """Free starts on the location's local date ``on``, earliest first.

    Unknown or inactive references, or an agent who does not offer the service there, raise
    ``ValidationFailed`` keyed ``service_id`` / ``location_id`` / ``agent_id``.
    """
    now = now or utcnow()
    refs = checked_references(service_id, location_id, agent_id)
    service, location = refs.service, refs.location
    agents = [refs.agent] if refs.agent is not None else agents_for(service.id, location.id)
    tz = hours.zone(location.timezone)
    duration = timedelta(minutes=service.duration_minutes)
    candidates = [
        (local, start)
        for local, start in hours.grid_starts(
            location.opening_hours, tz, on, service.slot_interval_minutes, service.duration_minutes
        )
        if start > now
    ]
    if not candidates:
        return []
    busy = busy_intervals(
        (agent.id for agent in agents), candidates[0][1], candidates[-1][1] + duration
    )
    slots = []
    for local, start in candidates:
        free = tuple(a.id for a in agents if _free(busy[a.id], start, start + duration))
        if free:
            slots.append(Slot(start=start, local_start=local, agent_ids=free))
    return slots
