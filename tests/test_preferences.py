"""Booking preferences (SPEC section 2): every reference rule and every time-slot rule."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from latepoint_forms.customers.preferences import (
    MAX_TIME_SLOTS,
    NOTHING_CHOSEN,
    validate_preferences,
)
from latepoint_forms.extensions import db
from latepoint_forms.models import Customer

from .catalog_fixtures import NOW, Catalog, build_catalog
from .conftest import ApiClient


@pytest.fixture
def catalog(app: Flask) -> Catalog:
    return build_catalog(app)


@pytest.fixture
def check(app: Flask, catalog: Catalog) -> Iterator[Any]:
    """validate_preferences with ``now`` frozen at NOW (Monday 1 March 2027, 20:00 UTC), its
    errors in English (a refusal with values is a ``Problem``, translated where it is shown)."""

    def english(raw: dict[str, Any], now: datetime = NOW) -> Any:
        found, errors = validate_preferences(raw, now=now)
        return found, {key: str(problem) for key, problem in errors.items()}

    with app.app_context():
        yield english


def haircut_in_london(catalog: Catalog, **extra: Any) -> dict[str, Any]:
    return {"service_id": catalog.haircut, "location_id": catalog.london, **extra}


def test_valid_preferences_are_normalised(check: Any, catalog: Catalog) -> None:
    raw = haircut_in_london(
        catalog,
        agent_id=catalog.alice,
        time_slots=["2027-03-02T09:00", " 2027-03-02T16:30", "2027-03-02T09:00"],
    )
    assert check(raw) == (
        {
            "service_id": catalog.haircut,
            "location_id": catalog.london,
            "agent_id": catalog.alice,
            "time_slots": ["2027-03-02T09:00", "2027-03-02T16:30"],
        },
        {},
    )


def test_agent_and_time_slots_are_optional(check: Any, catalog: Catalog) -> None:
    assert check(haircut_in_london(catalog)) == (
        {**haircut_in_london(catalog), "agent_id": None, "time_slots": []},
        {},
    )
    assert check(haircut_in_london(catalog, agent_id=None, time_slots=None))[1] == {}


IDS = {"service_id": 1, "location_id": 1}
TOO_MANY = ["2027-03-02T09:00"] * (MAX_TIME_SLOTS + 1)


@pytest.mark.parametrize(
    ("raw", "errors"),
    [
        ({**IDS, "service_id": "1"}, {"service_id": "Must be an integer"}),
        ({**IDS, "service_id": True}, {"service_id": "Must be an integer"}),
        ({**IDS, "service_id": 1.0}, {"service_id": "Must be an integer"}),
        ({**IDS, "location_id": 0}, {"location_id": "Must be a positive integer"}),
        ({**IDS, "agent_id": -3}, {"agent_id": "Must be a positive integer"}),
        ({**IDS, "agent_id": [1]}, {"agent_id": "Must be an integer"}),
        ({**IDS, "time_slots": "2027-03-02T09:00"}, {"time_slots": "Must be a list of times"}),
        ({**IDS, "time_slots": TOO_MANY}, {"time_slots": f"At most {MAX_TIME_SLOTS} time slots"}),
        ({**IDS, "times": []}, {"times": "Unknown preference"}),
    ],
)
def test_json_types_and_keys_are_strict(check: Any, raw: dict[str, Any], errors: Any) -> None:
    # ids that do not exist are fine here: type errors stop before the catalog is asked
    _, found = check(raw)
    expected = {f"preferences.{key}": message for key, message in errors.items()}
    assert {k: v for k, v in found.items() if k in expected} == expected
    assert not set(found) - set(expected) - {"preferences.service_id", "preferences.location_id"}


NOT_OFFERED = "This agent does not offer this service at this location"
# (service, location, agent, failing key, message); "missing" is an id nothing has.
REFERENCE_CASES = [
    ("missing", "london", None, "service_id", "There is no service with this id"),
    ("retired_service", "london", None, "service_id", "This service is not available"),
    ("haircut", "missing", None, "location_id", "There is no location with this id"),
    ("haircut", "closed_location", None, "location_id", "This location is not available"),
    ("haircut", "london", "missing", "agent_id", "There is no agent with this id"),
    ("haircut", "london", "carol", "agent_id", "This agent is not available"),
    ("haircut", "london", "dave", "agent_id", NOT_OFFERED),
    ("colour", "london", "bob", "agent_id", NOT_OFFERED),
    ("haircut", "new_york", "alice", "agent_id", NOT_OFFERED),
    ("colour", "night", None, "location_id", "This service is not offered at this location"),
]


@pytest.mark.parametrize(("service", "location", "agent", "key", "message"), REFERENCE_CASES)
def test_reference_rules(
    check: Any,
    catalog: Catalog,
    service: str,
    location: str,
    agent: str | None,
    key: str,
    message: str,
) -> None:
    def ref(name: str | None) -> int | None:
        return None if name is None else 999_999 if name == "missing" else getattr(catalog, name)

    raw = {"service_id": ref(service), "location_id": ref(location), "agent_id": ref(agent)}
    normalised, errors = check({**raw, "time_slots": ["2027-03-02T09:00"]})
    assert normalised is None
    assert errors == {f"preferences.{key}": message}


# --- partial preferences: each id given must exist and be active, and go with the others ----


@pytest.mark.parametrize(
    "given",
    [
        {"service_id": "haircut"},
        {"location_id": "london"},
        {"agent_id": "alice"},
        {"service_id": "colour", "agent_id": "alice"},  # the agent offers it (somewhere)
        {"location_id": "new_york", "agent_id": "dave"},  # the agent works there
        {"service_id": "colour", "location_id": "london", "agent_id": None},
    ],
)
def test_a_partial_preference_is_valid(
    check: Any, catalog: Catalog, given: dict[str, str | None]
) -> None:
    raw = {key: part and getattr(catalog, part) for key, part in given.items()}
    expected = {"service_id": None, "location_id": None, "agent_id": None, **raw}
    assert check(raw) == ({**expected, "time_slots": []}, {})


# (given parts, failing key, message); "missing" is an id nothing has.
PARTIAL_CASES = [
    ({"service_id": "missing"}, "service_id", "There is no service with this id"),
    ({"service_id": "retired_service"}, "service_id", "This service is not available"),
    ({"location_id": "missing"}, "location_id", "There is no location with this id"),
    ({"location_id": "closed_location"}, "location_id", "This location is not available"),
    ({"agent_id": "missing"}, "agent_id", "There is no agent with this id"),
    ({"agent_id": "carol"}, "agent_id", "This agent is not available"),
    (
        {"service_id": "colour", "agent_id": "bob"},
        "agent_id",
        "This agent does not offer this service",
    ),
    (
        {"service_id": "haircut", "agent_id": "dave"},
        "agent_id",
        "This agent does not offer this service",
    ),
    (
        {"location_id": "new_york", "agent_id": "alice"},
        "agent_id",
        "This agent does not work at this location",
    ),
    (
        {"location_id": "night", "agent_id": "bob"},
        "agent_id",
        "This agent does not work at this location",
    ),
]


@pytest.mark.parametrize(("given", "key", "message"), PARTIAL_CASES)
def test_partial_reference_rules(
    check: Any, catalog: Catalog, given: dict[str, str], key: str, message: str
) -> None:
    raw = {
        name: 999_999 if part == "missing" else getattr(catalog, part)
        for name, part in given.items()
    }
    assert check(raw) == (None, {f"preferences.{key}": message})


@pytest.mark.parametrize("raw", [{}, {"service_id": None, "agent_id": None}, {"time_slots": []}])
def test_a_preference_chooses_something(check: Any, raw: dict[str, Any]) -> None:
    assert check(raw) == (None, {"preferences": NOTHING_CHOSEN})


def test_time_slots_need_a_service_and_a_location(check: Any, catalog: Catalog) -> None:
    slots = ["2027-03-02T09:00", "bad"]
    _, errors = check({"agent_id": catalog.alice, "time_slots": slots})
    assert errors == {
        "preferences.service_id": "Time slots need a service",
        "preferences.location_id": "Time slots need a location",
        "preferences.time_slots[1]": FORMAT,
    }
    _, errors = check({"service_id": catalog.haircut, "time_slots": slots[:1]})
    assert errors == {"preferences.location_id": "Time slots need a location"}


def test_every_failing_part_is_reported_at_once(check: Any, catalog: Catalog) -> None:
    raw = {
        "service_id": 999_999,
        "location_id": "1",
        "agent_id": 999_998,
        "time_slots": ["2027-03-02T09:00", "2027-03-02 09:00"],
        "colour": "red",
    }
    assert check(raw) == (
        None,
        {
            "preferences.service_id": "There is no service with this id",
            "preferences.location_id": "Must be an integer",
            "preferences.agent_id": "There is no agent with this id",
            "preferences.time_slots[1]": FORMAT,
            "preferences.colour": "Unknown preference",
        },
    )


FORMAT = "Use the form YYYY-MM-DDTHH:MM, such as 2026-12-01T09:00"
NOT_OPEN = "London Soho is not open for the whole 30 minutes from this time"


@pytest.mark.parametrize(
    ("slot", "message"),
    [
        (5, "Must be a string"),
        ("2027-03-02 09:00", FORMAT),
        ("2027-03-02T9:00", FORMAT),
        ("2027-03-02T09:00:00", FORMAT),
        ("2027-03-02T09:00Z", FORMAT),
        ("2027-02-30T09:00", "This is not a real date and time"),
        ("2027-03-02T25:00", "This is not a real date and time"),
        ("2027-03-01T10:00", "This time is in the past"),  # NOW is 20:00 that day
        ("2027-03-02T09:10", "Haircut starts every 15 minutes, such as 09:00 or 09:15"),
        ("2027-03-02T08:45", NOT_OPEN),
        ("2027-03-02T16:45", NOT_OPEN),
        ("2027-03-07T10:00", NOT_OPEN),  # Sunday: closed
        ("2027-03-06T14:00", NOT_OPEN),  # Saturday: closes at 14:00
        # Past the booking horizon (NOW + 366 days), and at the calendar's ends: no overflow.
        ("2028-03-03T10:00", "Choose a date from today to 2028-03-01"),
        ("9999-12-31T20:00", "Choose a date from today to 2028-03-01"),
        ("0001-01-01T00:30", "This time is in the past"),
    ],
)
def test_time_slot_rules(check: Any, catalog: Catalog, slot: Any, message: str) -> None:
    good = "2027-03-06T13:30"  # Saturday, closes 14:00: the last haircut
    raw = haircut_in_london(catalog, time_slots=[good, slot])
    assert check(raw) == (None, {"preferences.time_slots[1]": message})


def test_the_grid_is_the_services_own(check: Any, catalog: Catalog) -> None:
    colour = {"service_id": catalog.colour, "location_id": catalog.london}
    _, errors = check({**colour, "time_slots": ["2027-03-02T09:30", "2027-03-02T09:15"]})
    assert errors == {
        "preferences.time_slots[1]": "Colouring starts every 30 minutes, such as 09:00 or 09:30"
    }
    # 90 minutes from 15:30 ends at 17:00 sharp: fits; from 16:00 it does not.
    _, errors = check({**colour, "time_slots": ["2027-03-02T15:30", "2027-03-02T16:00"]})
    assert list(errors) == ["preferences.time_slots[1]"]


def test_slots_are_read_in_the_locations_own_time_zone(check: Any, catalog: Catalog) -> None:
    now = datetime(2027, 3, 2, 13, 30, tzinfo=UTC)
    new_york = {"service_id": catalog.haircut, "location_id": catalog.new_york}
    # 09:00 in New York is 14:00 UTC: still to come. 13:00 in London has passed.
    assert check({**new_york, "time_slots": ["2027-03-02T09:00"]}, now)[1] == {}
    _, errors = check(haircut_in_london(catalog, time_slots=["2027-03-02T13:00"]), now)
    assert errors == {"preferences.time_slots[0]": "This time is in the past"}
    # New York opens at 09:00 local, i.e. 14:00 UTC in winter: 08:45 local is refused.
    _, errors = check({**new_york, "time_slots": ["2027-03-02T08:45"]}, now)
    assert "not open" in errors["preferences.time_slots[0]"]


def test_daylight_saving_moves_opening_hours_in_utc(check: Any, catalog: Catalog) -> None:
    # London opens 09:00 local: 09:00 UTC before 28 March 2027, 08:00 UTC after.
    before = datetime(2027, 3, 26, 8, 30, tzinfo=UTC)  # Friday, 08:30 GMT
    after = datetime(2027, 3, 29, 8, 30, tzinfo=UTC)  # Monday, 09:30 BST
    assert check(haircut_in_london(catalog, time_slots=["2027-03-26T09:00"]), before)[1] == {}
    _, errors = check(haircut_in_london(catalog, time_slots=["2027-03-29T09:00"]), after)
    assert errors == {"preferences.time_slots[0]": "This time is in the past"}
    assert check(haircut_in_london(catalog, time_slots=["2027-03-29T09:45"]), after)[1] == {}


def test_a_time_skipped_by_the_clocks_going_forward_is_refused(
    check: Any, catalog: Catalog
) -> None:
    night = {"service_id": catalog.haircut, "location_id": catalog.night}
    slots = ["2027-03-28T00:30", "2027-03-28T01:30", "2027-03-28T02:00"]
    assert check({**night, "time_slots": slots}) == (
        None,
        {
            "preferences.time_slots[1]": (
                "This time does not exist there: the clocks go forward at that moment"
            )
        },
    )
    # New York skips 02:00-03:00 on 14 March 2027 (its own date, not London's).
    new_york = {"service_id": catalog.haircut, "location_id": catalog.new_york}
    assert check({**new_york, "time_slots": ["2027-03-15T09:00"]})[1] == {}


def test_a_repeated_fall_back_time_means_its_first_occurrence(check: Any, catalog: Catalog) -> None:
    night = {"service_id": catalog.haircut, "location_id": catalog.night}
    slot = {**night, "time_slots": ["2027-10-31T01:30"]}
    # The first 01:30 (BST) is 00:30 UTC; the second (GMT) would be 01:30 UTC.
    assert check(slot, datetime(2027, 10, 31, 0, 15, tzinfo=UTC)) == (
        {**night, "agent_id": None, "time_slots": ["2027-10-31T01:30"]},
        {},
    )
    _, errors = check(slot, datetime(2027, 10, 31, 0, 45, tzinfo=UTC))
    assert errors == {"preferences.time_slots[0]": "This time is in the past"}


def test_every_failing_slot_is_reported_by_index(check: Any, catalog: Catalog) -> None:
    raw = haircut_in_london(
        catalog, time_slots=["2027-03-02T09:00", "bad", "2027-03-02T09:00", "2027-03-02T07:00"]
    )
    _, errors = check(raw)
    assert set(errors) == {"preferences.time_slots[1]", "preferences.time_slots[3]"}


# --- through the API, on SQLite and PostgreSQL (real clock: slots a month or more ahead) ------


def next_weekday(weekday: int, *, after_days: int = 30) -> date:
    day = datetime.now(UTC).date() + timedelta(days=after_days)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


BASIC = {"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com"}


def test_preferences_are_stored_normalised_and_returned(api: ApiClient, catalog: Catalog) -> None:
    tuesday = next_weekday(1).isoformat()
    preferences = {
        "service_id": catalog.haircut,
        "location_id": catalog.london,
        "time_slots": [f"{tuesday}T10:00", f"{tuesday}T10:00", f"{tuesday}T11:15"],
    }
    response = api.post("/customers", {**BASIC, "preferences": preferences})
    assert response.status_code == 201, response.get_json()
    expected = {
        "service_id": catalog.haircut,
        "location_id": catalog.london,
        "agent_id": None,
        "time_slots": [f"{tuesday}T10:00", f"{tuesday}T11:15"],
    }
    assert response.get_json()["data"]["preferences"] == expected
    with api.app.app_context():
        assert db.session.execute(select(Customer.preferences)).scalar_one() == expected


def test_a_partial_preference_is_stored_and_a_wrong_one_named(
    api: ApiClient, catalog: Catalog
) -> None:
    response = api.post("/customers", {**BASIC, "preferences": {"service_id": 999_999}})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"] == {
        "preferences.service_id": "There is no service with this id"
    }
    response = api.post("/customers", {**BASIC, "preferences": {"service_id": catalog.haircut}})
    assert response.status_code == 201, response.get_json()
    expected = {
        "service_id": catalog.haircut,
        "location_id": None,
        "agent_id": None,
        "time_slots": [],
    }
    assert response.get_json()["data"]["preferences"] == expected
    with api.app.app_context():
        assert db.session.execute(select(Customer.preferences)).scalar_one() == expected


def test_preference_errors_are_a_422_naming_each_problem(api: ApiClient, catalog: Catalog) -> None:
    sunday = next_weekday(6).isoformat()
    monday = next_weekday(0).isoformat()
    preferences = {
        "service_id": catalog.haircut,
        "location_id": catalog.london,
        "agent_id": catalog.dave,
        "time_slots": [f"{monday}T10:00", f"{sunday}T10:00"],
    }
    response = api.post("/customers", {**BASIC, "preferences": preferences})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"] == {
        "preferences.agent_id": "This agent does not offer this service at this location"
    }
    preferences["agent_id"] = catalog.bob
    response = api.post("/customers/validate", {**BASIC, "preferences": preferences})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"] == {"preferences.time_slots[1]": NOT_OPEN}
