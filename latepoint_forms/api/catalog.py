"""``GET /catalog``: what can be booked (SPEC section 10) — the active services, locations
(with address, country and time zone) and agents, and which agent offers what where. Only
what an active offer joins is listed: an agent with nothing bookable, a location nobody works
at, are left out. Permission ``catalog:read``."""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue

from ..catalog.service import public_catalog
from ..i18n import _
from ..models import Agent, Location, Service
from . import bp
from .auth import require_key
from .envelope import success


def service_as_json(service: Service) -> dict[str, Any]:
    return {
        "id": service.id,
        "key": service.key,
        "name": service.name,
        "duration_minutes": service.duration_minutes,
        "slot_interval_minutes": service.slot_interval_minutes,
    }


def location_as_json(location: Location) -> dict[str, Any]:
    return {
        "id": location.id,
        "key": location.key,
        "name": location.name,
        "address": location.address,
        "country": location.country,
        "timezone": location.timezone,
        "phone": location.phone,
        "language": location.language,
    }


def agent_as_json(agent: Agent) -> dict[str, Any]:
    return {"id": agent.id, "key": agent.key, "name": agent.name}


@bp.get("/catalog")
@require_key("catalog:read", publishable=True)
def catalog() -> ResponseReturnValue:
    found = public_catalog()
    return success(
        _("The bookable catalog"),
        {
            "services": [service_as_json(s) for s in found.services],
            "locations": [location_as_json(loc) for loc in found.locations],
            "agents": [agent_as_json(a) for a in found.agents],
            "offers": [
                {"agent_id": agent, "service_id": service, "location_id": location}
                for agent, service, location in found.offers
            ],
        },
    )
