"""Booking preferences (SPEC section 2, ``preferences``), checked against the catalog.

The object has at most these keys::

    {"service_id": 3, "location_id": 1, "agent_id": 7 or null,
     "time_slots": ["2026-12-01T09:00", ...]}

``service_id`` and ``location_id`` are required (a preference without a service and a place
says nothing bookable); ``agent_id`` may be omitted or null ("any agent"); ``time_slots`` may
be omitted (no preferred times). Slots are wall-clock times at the *location*, so a customer
books "9:00 in London" as the shop's clock shows it. Each slot must be in the future, on the
service's grid (counted from local midnight), and fit — whole duration — inside the location's
opening hours that day; daylight saving is handled as catalog/hours.py documents (a time in the
spring-forward gap is refused, a fall-back time means its first occurrence).

Stored normalised: all four keys, slots in "YYYY-MM-DDTHH:MM" form, duplicates dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..catalog import hours
from ..catalog.service import check_references, slot_problem
from ..ids import is_valid_id
from ..models.types import utcnow

KEYS = ("service_id", "location_id", "agent_id", "time_slots")
MAX_TIME_SLOTS = 20


def _id(value: Any, key: str, errors: dict[str, str], *, required: bool) -> int | None:
    name = f"preferences.{key}"
    if value is None:
        if required:
            errors[name] = "This is required"
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors[name] = "Must be an integer"
        return None
    if not is_valid_id(value):
        errors[name] = "Must be a positive integer"
        return None
    return value


def validate_preferences(
    raw: Mapping[str, Any], *, now: datetime | None = None
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """(normalised preferences, errors keyed ``preferences.<key>``); see the module docstring."""
    now = now or utcnow()
    errors: dict[str, str] = {}
    for key in raw:
        if key not in KEYS:
            errors[f"preferences.{key}"[:120]] = "Unknown preference"
    service_id = _id(raw.get("service_id"), "service_id", errors, required=True)
    location_id = _id(raw.get("location_id"), "location_id", errors, required=True)
    agent_id = _id(raw.get("agent_id"), "agent_id", errors, required=False)
    slots_raw = raw.get("time_slots")
    if slots_raw is None:
        slots_raw = []
    elif not isinstance(slots_raw, list):
        errors["preferences.time_slots"] = "Must be a list of times"
        slots_raw = []
    elif len(slots_raw) > MAX_TIME_SLOTS:
        errors["preferences.time_slots"] = f"At most {MAX_TIME_SLOTS} time slots"
        slots_raw = []

    refs = None
    if service_id is not None and location_id is not None:
        refs, ref_errors = check_references(service_id, location_id, agent_id)
        errors.update({f"preferences.{key}": message for key, message in ref_errors.items()})

    slots: list[str] = []
    for index, value in enumerate(slots_raw):
        name = f"preferences.time_slots[{index}]"
        if not isinstance(value, str):
            errors[name] = "Must be a string"
            continue
        try:
            local = hours.parse_local_slot(value.strip())
        except hours.LocalTimeError as exc:
            errors[name] = str(exc)
            continue
        if refs is None:
            continue  # the service or location is wrong: nothing to judge the time against
        message = slot_problem(refs.service, refs.location, local, now=now)
        if message:
            errors[name] = message
        elif (text := hours.format_local(local)) not in slots:
            slots.append(text)

    if errors:
        return None, errors
    return {
        "service_id": service_id,
        "location_id": location_id,
        "agent_id": agent_id,
        "time_slots": slots,
    }, {}
