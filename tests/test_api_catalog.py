"""``GET /catalog`` (SPEC section 10): what can be booked, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from .catalog_fixtures import build_catalog
from .conftest import ApiClient
from .test_api import assert_error
from .test_openapi import conforms


def test_the_catalog_lists_what_can_be_booked(
    app: Flask, client: FlaskClient, make_api_key: Callable[..., str]
) -> None:
    ids = build_catalog(app)
    api = ApiClient(client, make_api_key(("catalog:read",)))
    response = api.get("/catalog")
    assert response.status_code == 200, response.get_json()
    data = response.get_json()["data"]
    # Inactive ones, and what only an inactive one offers, are left out.
    assert [s["key"] for s in data["services"]] == ["colour", "haircut"]
    assert [loc["key"] for loc in data["locations"]] == ["london", "new-york", "night"]
    assert [a["key"] for a in data["agents"]] == ["alice", "bob", "dave"]
    london = data["locations"][0]
    assert london == {
        "id": ids.london,
        "key": "london",
        "name": "London Soho",
        "address": "12 Greek Street, London W1D 4DT",
        "country": "GB",
        "timezone": "Europe/London",
        "phone": "+442079460321",
        "language": None,  # none set: the app's DEFAULT_LANGUAGE
    }
    assert data["services"][1] == {
        "id": ids.haircut,
        "key": "haircut",
        "name": "Haircut",
        "duration_minutes": 30,
        "slot_interval_minutes": 15,
    }
    offers = {(o["agent_id"], o["service_id"], o["location_id"]) for o in data["offers"]}
    assert offers == {
        (ids.alice, ids.haircut, ids.london),
        (ids.alice, ids.colour, ids.london),
        (ids.alice, ids.haircut, ids.night),
        (ids.bob, ids.haircut, ids.london),
        (ids.bob, ids.haircut, ids.new_york),
        (ids.dave, ids.colour, ids.new_york),
    }
    document: dict[str, Any] = api.client.get("/api/v1/openapi.json").get_json()
    conforms(document, "/catalog", "get", response)


def test_an_empty_catalog_is_empty_lists(
    client: FlaskClient, make_api_key: Callable[..., str]
) -> None:
    response = ApiClient(client, make_api_key(("catalog:read",))).get("/catalog")
    assert response.get_json()["data"] == {
        "services": [],
        "locations": [],
        "agents": [],
        "offers": [],
    }


def test_the_catalog_needs_its_permission(app: Flask, api: ApiClient) -> None:
    build_catalog(app)
    assert_error(api.get("/catalog"), 403, "insufficient_permissions")
    assert_error(ApiClient(api.client, None).get("/catalog"), 401, "unauthorized")
