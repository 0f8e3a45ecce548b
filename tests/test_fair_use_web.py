"""Fair use (SPEC section 9) at the web doors: /book and the manage link's reschedule (which
/account links to) refuse with the service's message, and nothing changes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from latepoint_forms.bookings.service import book
from latepoint_forms.extensions import db
from latepoint_forms.models import Booking
from latepoint_forms.unit_of_work import unit_of_work

from .test_manage import NEW_START, NOW, Booked, Clock, make_booking, move_form, stored
from .web_support import WebCatalog, build_web_catalog, csrf_token, make_customer, page, sign_in

OVERLAP = "You already have a booking at this time"
DAY_FULL = "You can book at most 3 visits on one day"


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"CLOCK": Clock()}


@pytest.fixture
def catalog(app: Flask) -> WebCatalog:
    return build_web_catalog(app)


def book_for(
    app: Flask,
    catalog: WebCatalog,
    customer: int,
    start: datetime,
    agent: int,
    now: datetime | None = NOW,
) -> None:
    """A booking made at another door, at the app's ``CLOCK`` (as /book takes it)."""
    with app.app_context(), unit_of_work():
        book(customer, catalog.service, catalog.location, agent, start, now=now)


def starts_of(app: Flask, customer: int) -> list[datetime]:
    with app.app_context():
        return list(
            db.session.execute(
                select(Booking.start_at)
                .where(Booking.customer_id == customer, Booking.status == "confirmed")
                .order_by(Booking.start_at)
            ).scalars()
        )


def test_book_refuses_a_second_agent_at_the_same_time_for_one_customer(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    owner = make_customer(app)
    start = catalog.start(now=NOW)
    book_for(app, catalog, owner, start, catalog.agents[0])
    sign_in(client)
    path = catalog.book_path(start)  # "any agent": Ben is free at that time

    response = client.post(path, data={"csrf_token": csrf_token(client, path)})

    assert response.status_code == 409
    html = page(response)
    assert OVERLAP in html
    assert "Choose another time" in html
    assert "Confirm booking" not in html
    assert starts_of(app, owner) == [start]


def test_book_refuses_a_fourth_visit_on_one_day(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    owner = make_customer(app)
    for hour in (9, 11, 13):
        book_for(app, catalog, owner, catalog.start(hour=hour, now=NOW), catalog.agents[0])
    sign_in(client)
    path = catalog.book_path(catalog.start(hour=15, now=NOW))

    response = client.post(path, data={"csrf_token": csrf_token(client, path)})

    assert response.status_code == 409
    assert DAY_FULL in page(response)
    assert len(starts_of(app, owner)) == 3


def test_a_move_onto_another_own_booking_is_refused_and_keeps_the_old_time(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    booked: Booked = make_booking(app, catalog)
    book_for(app, catalog, booked.customer_id, NEW_START, catalog.agents[0])
    fields = move_form(client, booked, NEW_START, "any")  # Ben is free then; Grace is not
    before = stored(app, booked.id)

    response = client.post(f"{booked.path}/reschedule", data=fields)

    assert response.status_code == 409
    assert OVERLAP in page(response)
    assert stored(app, booked.id) == before


def test_a_move_into_a_full_day_is_refused(
    app: Flask, client: FlaskClient, catalog: WebCatalog
) -> None:
    booked: Booked = make_booking(app, catalog)
    for hours in (-4, -2, 2):
        book_for(
            app, catalog, booked.customer_id, NEW_START + timedelta(hours=hours), catalog.agents[0]
        )
    fields = move_form(client, booked, NEW_START)
    before = stored(app, booked.id)

    response = client.post(f"{booked.path}/reschedule", data=fields)

    assert response.status_code == 409
    assert DAY_FULL in page(response)
    assert stored(app, booked.id) == before
