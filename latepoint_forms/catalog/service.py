"""Catalog queries: what can be booked, where, and with whom.

Read-only: nothing here writes or commits (the loader in loader.py owns catalog writes).
"Offered" always means every part is active: the agent, the service, the location.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..ids import is_valid_id
from ..models import Agent, AgentOffer, Location, Service
from ..problems import N_, PLAIN, Problem
from . import hours


@dataclass(frozen=True)
class References:
    """A service and location (and perhaps an agent) that were checked together."""

    service: Service
    location: Location
    agent: Agent | None = None


def _active_offer_query() -> Any:
    return (
        select(AgentOffer)
        .join(Agent, Agent.id == AgentOffer.agent_id)
        .join(Service, Service.id == AgentOffer.service_id)
        .join(Location, Location.id == AgentOffer.location_id)
        .where(Agent.active.is_(True), Service.active.is_(True), Location.active.is_(True))
    )


@dataclass(frozen=True)
class PublicCatalog:
    """What can be booked now: the active offers, and the services, locations and agents they
    join (each only if some active offer names it), by name."""

    services: list[Service]
    locations: list[Location]
    agents: list[Agent]
    offers: list[tuple[int, int, int]]  # (agent_id, service_id, location_id)


def public_catalog() -> PublicCatalog:
    """The bookable catalog in two reads: the active offers, then their rows."""
    offers = sorted(
        (row.agent_id, row.service_id, row.location_id)
        for row in db.session.execute(
            _active_offer_query().with_only_columns(
                AgentOffer.agent_id, AgentOffer.service_id, AgentOffer.location_id
            )
        )
    )

    def rows(model: Any, ids: set[int]) -> list[Any]:
        if not ids:
            return []
        query = select(model).where(model.id.in_(ids)).order_by(model.name, model.id)
        return list(db.session.execute(query).scalars())

    return PublicCatalog(
        services=rows(Service, {o[1] for o in offers}),
        locations=rows(Location, {o[2] for o in offers}),
        agents=rows(Agent, {o[0] for o in offers}),
        offers=offers,
    )


def active_services() -> list[Service]:
    """Active services that at least one active agent offers at an active location."""
    offered = _active_offer_query().with_only_columns(AgentOffer.service_id)
    query = select(Service).where(Service.id.in_(offered)).order_by(Service.name, Service.id)
    return list(db.session.execute(query).scalars())


def locations_for_service(service_id: int) -> list[Location]:
    offered = (
        _active_offer_query()
        .with_only_columns(AgentOffer.location_id)
        .where(AgentOffer.service_id == service_id)
    )
    query = select(Location).where(Location.id.in_(offered)).order_by(Location.name, Location.id)
    return list(db.session.execute(query).scalars())


def agents_for(service_id: int, location_id: int) -> list[Agent]:
    """Active agents offering the service at the location, by name."""
    offered = (
        _active_offer_query()
        .with_only_columns(AgentOffer.agent_id)
        .where(AgentOffer.service_id == service_id, AgentOffer.location_id == location_id)
    )
    query = select(Agent).where(Agent.id.in_(offered)).order_by(Agent.name, Agent.id)
    return list(db.session.execute(query).scalars())


def _offered(service_id: int | None, location_id: int | None, agent_id: int | None) -> bool:
    """Does some active offer match every part given (None: any)?"""
    query = _active_offer_query()
    if service_id is not None:
        query = query.where(AgentOffer.service_id == service_id)
    if location_id is not None:
        query = query.where(AgentOffer.location_id == location_id)
    if agent_id is not None:
        query = query.where(AgentOffer.agent_id == agent_id)
    return db.session.execute(query.limit(1)).first() is not None


def offers(agent_id: int, service_id: int, location_id: int) -> bool:
    """Does the (active) agent offer the (active) service at the (active) location?"""
    return _offered(service_id, location_id, agent_id)


# Whole sentences for each kind of reference (translators get sentences, not a noun).
_NO_SUCH = {
    "service": N_("There is no service with this id"),
    "location": N_("There is no location with this id"),
    "agent": N_("There is no agent with this id"),
}
_UNAVAILABLE = {
    "service": N_("This service is not available"),
    "location": N_("This location is not available"),
    "agent": N_("This agent is not available"),
}


def _reference(model: Any, item_id: int | None, noun: str, errors: dict[str, str], key: str) -> Any:
    if item_id is None:
        return None
    item = db.session.get(model, item_id) if is_valid_id(item_id) else None
    if item is None:
        errors[key] = _NO_SUCH[noun]
        return None
    if not item.active:
        errors[key] = _UNAVAILABLE[noun]
        return None
    return item


def check_references(
    service_id: int, location_id: int, agent_id: int | None = None
) -> tuple[References | None, dict[str, str]]:
    """Each id exists and is active, and the agent (or, without one, some agent) offers the
    service at the location. Errors are keyed ``service_id``, ``location_id``, ``agent_id``."""
    choice, errors = check_choice(service_id, location_id, agent_id)
    if choice is None:
        return None, errors
    assert choice.service is not None
    assert choice.location is not None
    return References(choice.service, choice.location, choice.agent), {}


@dataclass(frozen=True)
class Choice:
    """Whichever of a service, a location and an agent were chosen, each checked."""

    service: Service | None
    location: Location | None
    agent: Agent | None


def check_choice(
    service_id: int | None, location_id: int | None, agent_id: int | None
) -> tuple[Choice | None, dict[str, str]]:
    """A partial choice (a customer's preferences): each id given exists and is active, and
    those given go together (the agent offers the service, works at the location, or offers
    the service there; some agent offers the service at the location). Every id is checked
    in one pass; errors are keyed ``service_id``, ``location_id``, ``agent_id``."""
    errors: dict[str, str] = {}
    service = _reference(Service, service_id, "service", errors, "service_id")
    location = _reference(Location, location_id, "location", errors, "location_id")
    agent = _reference(Agent, agent_id, "agent", errors, "agent_id")
    if errors:
        return None, errors
    given = [part for part in (service, location, agent) if part is not None]
    if len(given) > 1 and not _offered(service_id, location_id, agent_id):
        if agent is None:
            errors["location_id"] = N_("This service is not offered at this location")
        elif location is None:
            errors["agent_id"] = N_("This agent does not offer this service")
        elif service is None:
            errors["agent_id"] = N_("This agent does not work at this location")
        else:
            errors["agent_id"] = N_("This agent does not offer this service at this location")
        return None, errors
    return Choice(service, location, agent), {}


def slot_problem(
    service: Service, location: Location, local: datetime, *, now: datetime
) -> Problem | None:
    """Why a local start time cannot be booked for the service at the location, or None.

    The one rule for a start time, shared by preferences and bookings: it exists on the local
    clock, is in the future, is on the service's grid and fits the opening hours.
    """
    tz = hours.zone(location.timezone)
    try:
        start_utc = hours.local_to_utc(local, tz)
    except hours.LocalTimeError as exc:
        return exc.problem
    if start_utc <= now:
        return Problem.plain(N_("This time is in the past"))
    try:
        hours.check_horizon(local.date(), now.date())
    except hours.LocalTimeError as exc:
        return exc.problem
    interval = service.slot_interval_minutes
    if not hours.on_grid(local, interval):
        example = (datetime(2000, 1, 1, 9) + timedelta(minutes=interval)).strftime("%H:%M")
        return Problem(
            PLAIN,
            N_("%(service)s starts every %(interval)d minutes, such as 09:00 or %(example)s"),
            {"service": service.name, "interval": interval, "example": example},
        )
    if not hours.fits_opening_hours(
        location.opening_hours, tz, local, start_utc, service.duration_minutes
    ):
        return Problem(
            PLAIN,
            N_("%(location)s is not open for the whole %(minutes)d minutes from this time"),
            {"location": location.name, "minutes": service.duration_minutes},
        )
    return None
