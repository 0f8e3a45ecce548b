"""The booking choices carried in the query string, checked against the catalog.

A choice that is unknown, inactive or does not fit the earlier ones is dropped (with the
choices after it), so a stale or edited link lands on the step that needs answering again
rather than on an error page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .. import clock
from ..catalog.hours import BOOKING_HORIZON_DAYS
from ..catalog.service import active_services, agents_for, locations_for_service
from ..customers.rules import RuleError, parse_iso_date
from ..ids import parse_id
from ..models import Agent, Location, Service

START_FORMAT = "%Y-%m-%dT%H:%MZ"
ANY_AGENT = "any"


def _pick(items: list[Any], item_id: int | None) -> Any:
    return next((item for item in items if item.id == item_id), None)


@dataclass
class Selection:
    services: list[Service] = field(default_factory=list)
    locations: list[Location] = field(default_factory=list)
    agents: list[Agent] = field(default_factory=list)
    service: Service | None = None
    location: Location | None = None
    agent: Agent | None = None
    any_agent: bool = False
    day: date | None = None
    start: datetime | None = None
    # The time step's week, when a week's link asked for one and no day was chosen (its first
    # free day is shown then). Links carry it only by override: a day implies its week.
    week: date | None = None

    def next_step(self) -> str:
        if self.service is None:
            return "service"
        if self.location is None:
            return "location"
        if self.agent is None and not self.any_agent:
            return "agent"
        if self.start is None:
            return "time"
        return "details"

    def local_today(self) -> date:
        assert self.location is not None
        return clock.now().astimezone(ZoneInfo(self.location.timezone)).date()

    def last_bookable_day(self) -> date:
        """How far ahead the date picker lets a person look: as far as a booking may be
        (``catalog.hours.check_horizon`` counts from today in UTC, whatever the local date)."""
        return clock.now().astimezone(UTC).date() + timedelta(days=BOOKING_HORIZON_DAYS)

    def query(self, **overrides: Any) -> dict[str, Any]:
        """Query parameters for a link; an override of None drops that choice."""
        values: dict[str, Any] = {
            "service": self.service.id if self.service else None,
            "location": self.location.id if self.location else None,
            "agent": ANY_AGENT if self.any_agent else (self.agent.id if self.agent else None),
            "date": self.day.isoformat() if self.day else None,
            "start": self.start.strftime(START_FORMAT) if self.start else None,
        }
        values.update(overrides)
        return {key: str(value) for key, value in values.items() if value is not None}


def read_selection(args: Mapping[str, str]) -> Selection:
    selection = Selection(services=active_services())
    selection.service = _pick(selection.services, parse_id(args.get("service")))
    if selection.service is None:
        return selection
    selection.locations = locations_for_service(selection.service.id)
    selection.location = _pick(selection.locations, parse_id(args.get("location")))
    if selection.location is None and len(selection.locations) == 1:
        selection.location = selection.locations[0]  # nothing to choose
    if selection.location is None:
        return selection
    selection.agents = agents_for(selection.service.id, selection.location.id)
    agent = args.get("agent")
    if agent == ANY_AGENT and len(selection.agents) > 1:
        selection.any_agent = True
    else:
        selection.agent = _pick(selection.agents, parse_id(agent))
        if selection.agent is None and len(selection.agents) == 1:
            selection.agent = selection.agents[0]
    if selection.agent is None and not selection.any_agent:
        return selection
    selection.day = _day(args.get("date"), selection)
    if selection.day is not None:
        selection.start = _start(args.get("start"), selection)
    else:
        selection.week = _day(args.get("week"), selection)
    return selection


def _day(value: str | None, selection: Selection) -> date | None:
    try:
        day = parse_iso_date(value or "")
    except RuleError:
        return None
    if not selection.local_today() <= day <= selection.last_bookable_day():
        return None
    return day


def _start(value: str | None, selection: Selection) -> datetime | None:
    """A start in UTC whose local date is the chosen day (whether it is free is checked later)."""
    assert selection.location is not None
    assert selection.day is not None
    try:
        start = datetime.strptime(value or "", START_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None
    # Within a day of the chosen day (whatever the zone) before converting: a hand-edited
    # year 1 or 9999 would overflow the conversion.
    if abs(start.date() - selection.day) > timedelta(days=1):
        return None
    if start.astimezone(ZoneInfo(selection.location.timezone)).date() != selection.day:
        return None
    return start
