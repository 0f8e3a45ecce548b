"""``GET /availability``: free start times of a service at a location on a day (SPEC section 3).

Parameters: ``service_id`` and ``location_id`` (required), ``agent_id`` (optional),
``date`` (YYYY-MM-DD; optional, default today in the location's own time zone). Missing or
invalid parameters, and references that do not exist, are not active or do not go together,
are a 422 ``validation_failed`` with one message per parameter.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask import request
from flask.typing import ResponseReturnValue

from ..bookings.availability import Slot, available_starts, checked_references
from ..catalog import hours
from ..customers import rules
from ..customers.errors import ValidationFailed
from ..i18n import _, ngettext
from ..ids import parse_id
from ..problems import N_, Problem
from . import bp
from .auth import require_key
from .envelope import success


def _id_param(name: str, errors: dict[str, str | Problem], *, required: bool) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        if required:
            errors[name] = N_("This parameter is required")
        return None
    value = parse_id(raw)
    if value is None:
        errors[name] = N_("Must be a positive integer")
    return value


def _date_param(errors: dict[str, str | Problem]) -> date | None:
    raw = request.args.get("date", "").strip()
    if not raw:
        return None
    try:
        day = rules.parse_iso_date(raw)
        hours.check_horizon(day, datetime.now(UTC).date())
    except (rules.RuleError, hours.LocalTimeError) as exc:
        errors["date"] = exc.problem
        return None
    return day


def _slot_as_json(slot: Slot) -> dict[str, Any]:
    return {
        "start": slot.local_text,
        "start_utc": slot.start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "agent_ids": list(slot.agent_ids),
    }


@bp.get("/availability")
@require_key("customers:read", publishable=True)
def availability() -> ResponseReturnValue:
    errors: dict[str, str | Problem] = {}
    service_id = _id_param("service_id", errors, required=True)
    location_id = _id_param("location_id", errors, required=True)
    agent_id = _id_param("agent_id", errors, required=False)
    day = _date_param(errors)
    if errors:
        raise ValidationFailed(errors)
    assert service_id is not None
    assert location_id is not None
    location = checked_references(service_id, location_id, agent_id).location
    tz = hours.zone(location.timezone)
    if day is None:
        day = datetime.now(tz).date()
    slots = available_starts(service_id, location_id, day, agent_id=agent_id)
    data = {
        "date": day.isoformat(),
        "timezone": location.timezone,
        "service_id": service_id,
        "location_id": location_id,
        "agent_id": agent_id,
        "slots": [_slot_as_json(slot) for slot in slots],
    }
    message = (
        # The same form for every count, as before; a language with plural forms gets its own.
        ngettext("%(num)d free start times", "%(num)d free start times", len(slots))
        if slots
        else _("No free start times on this day")
    )
    return success(message, data)
