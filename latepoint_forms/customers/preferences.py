"""Booking preferences (SPEC section 2, ``preferences``), checked against the catalog.

The object has at most these keys::

    {"service_id": 3, "location_id": 1, "agent_id": 7 or null,
     "time_slots": ["2026-12-01T09:00", ...]}

Any of the three ids may be omitted or null, but at least one is given: a preference for a
service alone, a location alone or an agent alone is a preference. Each id given must exist
and be active, and those given must go together (SPEC section 2): the agent offers the service,
works at the location, or offers the service there; without an agent, some agent offers the
service at the location. ``time_slots`` may be omitted (no preferred times); slots need a
service (for its grid and duration) and a location (for its clock and hours).

Slots are wall-clock times at the *location*, so a customer books "9:00 in London" as the
shop's clock shows it. Each slot must be in the future, on the service's grid (counted from
local midnight), and fit — whole duration — inside the location's opening hours that day;
daylight saving is handled as catalog/hours.py documents (a time in the spring-forward gap is
refused, a fall-back time means its first occurrence).

Every failing part is reported in one pass, keyed ``preferences.<key>``. Stored normalised:
all four keys (null for an id not given), slots in "YYYY-MM-DDTHH:MM" form, duplicates dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..catalog import hours
from ..catalog.service import check_choice, slot_problem
from ..ids import is_valid_id
from ..models.types import utcnow
from ..problems import N_, PLAIN, Problem

KEYS = ("service_id", "location_id", "agent_id", "time_slots")
ID_KEYS = KEYS[:3]
MAX_TIME_SLOTS = 20
NOTHING_CHOSEN = N_("Choose a service, a location or an agent")
SLOTS_NEED = {
    "service_id": N_("Time slots need a service"),
    "location_id": N_("Time slots need a location"),
}


def _id(value: Any, key: str, errors: dict[str, str | Problem]) -> int | None:
    name = f"preferences.{key}"
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors[name] = N_("Must be an integer")
        return None
    if not is_valid_id(value):
        errors[name] = N_("Must be a positive integer")
        return None
    return value


def validate_preferences(
    raw: Mapping[str, Any], *, now: datetime | None = None
) -> tuple[dict[str, Any] | None, dict[str, str | Problem]]:
    """(normalised preferences, errors keyed ``preferences.<key>``); see the module docstring."""
    now = now or utcnow()
    errors: dict[str, str | Problem] = {}
    for key in raw:
        if key not in KEYS:
            errors[f"preferences.{key}"[:120]] = N_("Unknown preference")
    ids = {key: _id(raw.get(key), key, errors) for key in ID_KEYS}
    slots_raw = raw.get("time_slots")
    if slots_raw is None:
        slots_raw = []
    elif not isinstance(slots_raw, list):
        errors["preferences.time_slots"] = N_("Must be a list of times")
        slots_raw = []
    elif len(slots_raw) > MAX_TIME_SLOTS:
        errors["preferences.time_slots"] = Problem(
            PLAIN, N_("At most %(max)d time slots"), {"max": MAX_TIME_SLOTS}
        )
        slots_raw = []

    given = {key: value for key, value in ids.items() if value is not None}
    if not given and not any(f"preferences.{key}" in errors for key in ID_KEYS):
        errors["preferences"] = NOTHING_CHOSEN
    if slots_raw:
        for key, needed in SLOTS_NEED.items():
            if raw.get(key) is None:
                errors[f"preferences.{key}"] = needed

    # Every id that could be read is looked up, whatever else failed: one pass, every problem.
    choice = None
    if given:
        choice, ref_errors = check_choice(ids["service_id"], ids["location_id"], ids["agent_id"])
        errors.update({f"preferences.{key}": text for key, text in ref_errors.items()})
    service = choice.service if choice is not None else None
    location = choice.location if choice is not None else None

    slots: list[str] = []
    for index, value in enumerate(slots_raw):
        name = f"preferences.time_slots[{index}]"
        if not isinstance(value, str):
            errors[name] = N_("Must be a string")
            continue
        try:
            local = hours.parse_local_slot(value.strip())
        except hours.LocalTimeError as exc:
            errors[name] = exc.problem
            continue
        if service is None or location is None:
            continue  # the service or location is missing or wrong: nothing to judge it by
        message = slot_problem(service, location, local, now=now)
        if message:
            errors[name] = message
        elif (text := hours.format_local(local)) not in slots:
            slots.append(text)

    if errors:
        return None, errors
    return {**ids, "time_slots": slots}, {}
