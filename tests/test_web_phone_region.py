"""Phone numbers as people type them (SPEC section 9): on /book a national number is read in
the chosen location's country, and the input shows a local example."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from latepoint_forms.extensions import db
from latepoint_forms.models import AgentOffer, Booking, Customer, Location

from .web_support import (
    ALL_DAY,
    WebCatalog,
    build_web_catalog,
    csrf_token,
    field_error,
    input_tag,
    page,
)

GUEST = {"first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com"}


@pytest.fixture
def places(app: Flask) -> tuple[WebCatalog, WebCatalog]:
    """The web catalog's place made a London one (GB), and a New York one (US) beside it."""
    london = build_web_catalog(app)
    with app.app_context():
        harbour = db.session.get(Location, london.location)
        assert harbour is not None
        harbour.country = "GB"
        midtown = Location(
            key="midtown",
            name="New York Midtown",
            timezone="America/New_York",
            opening_hours=ALL_DAY,
            country="US",
        )
        db.session.add(midtown)
        db.session.flush()
        for agent_id in london.agents:
            db.session.add(
                AgentOffer(agent_id=agent_id, service_id=london.service, location_id=midtown.id)
            )
        db.session.commit()
        new_york = WebCatalog(
            london.service, midtown.id, london.agents, timezone="America/New_York"
        )
    return london, new_york


def _book(client: FlaskClient, place: WebCatalog, **details: Any) -> Any:
    path = place.book_path(place.start())
    data = {**GUEST, **details, "csrf_token": csrf_token(client, path)}
    return client.post(path, data=data)


def _stored_phones(app: Flask) -> list[str | None]:
    with app.app_context():
        return list(db.session.scalars(select(Customer.phone).order_by(Customer.id)))


@pytest.mark.parametrize(
    ("where", "typed", "stored"),
    [("london", "07911 123456", "+447911123456"), ("new_york", "(415) 555-2671", "+14155552671")],
)
def test_a_local_number_is_valid_at_a_location_of_its_country(
    app: Flask,
    client: FlaskClient,
    places: tuple[WebCatalog, WebCatalog],
    where: str,
    typed: str,
    stored: str,
) -> None:
    place = places[0] if where == "london" else places[1]
    response = _book(client, place, phone=typed)
    assert response.status_code == 302, page(response)
    assert _stored_phones(app) == [stored]
    with app.app_context():
        booking = db.session.scalars(select(Booking)).one()
        assert booking.location_id == place.location


def test_a_number_of_another_country_needs_its_country_code(
    app: Flask, client: FlaskClient, places: tuple[WebCatalog, WebCatalog]
) -> None:
    _, new_york = places
    refused = _book(client, new_york, phone="07911 123456")
    assert refused.status_code == 422
    assert field_error(page(refused), "phone")
    assert _stored_phones(app) == []

    accepted = _book(client, new_york, phone="+44 7911 123456")
    assert accepted.status_code == 302
    assert _stored_phones(app) == ["+447911123456"]


def test_the_phone_input_shows_a_local_example(
    client: FlaskClient, places: tuple[WebCatalog, WebCatalog]
) -> None:
    london, new_york = places
    london_html = page(client.get(london.book_path(london.start())))
    assert 'placeholder="07400 123456"' in input_tag(london_html, "phone")
    new_york_html = page(client.get(new_york.book_path(new_york.start())))
    assert 'placeholder="(201) 555-0123"' in input_tag(new_york_html, "phone")


def test_a_location_without_a_country_reads_in_the_default_region(
    app: Flask, client: FlaskClient
) -> None:
    place = build_web_catalog(app)  # its location has no country; no DEFAULT_PHONE_REGION
    refused = _book(client, place, phone="07911 123456")
    assert refused.status_code == 422
    assert 'placeholder="' not in input_tag(
        page(client.get(place.book_path(place.start()))), "phone"
    )


@pytest.mark.parametrize("app_config", [{"DEFAULT_COUNTRY": "US"}])
def test_registration_shows_the_example_of_the_country_it_starts_with(
    client: FlaskClient,
) -> None:
    html = page(client.get("/register"))
    assert 'placeholder="(201) 555-0123"' in input_tag(html, "phone")
    assert 'value="US" selected' in html or 'selected value="US"' in html
