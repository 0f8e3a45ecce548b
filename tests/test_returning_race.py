"""Returning customers at /book under concurrency, through real gunicorn workers, on SQLite and
PostgreSQL (SPEC section 9: "two concurrent bookings with one returning email make two
bookings on one customer, never a second customer row").

- A known address: several anonymous bookings of it (different times) sent at once: every one
  is made, all on the one customer.
- A new address: the same, before any customer holds it: the first insert wins, every other
  request's insert is refused by the unique index (``EmailExists``) and its booking attaches
  to the winner's customer, in its own unit of work.

Slow: each backend starts gunicorn. PostgreSQL runs when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from latepoint_forms import create_app
from latepoint_forms.extensions import db
from latepoint_forms.models import Booking, Customer

from .conftest import base_config, database_for_servers
from .servers import Gunicorn, gunicorn
from .test_fair_use_race import LONDON, book_path, local
from .test_reschedule_race import _HIDDEN, Visitor, at_once
from .web_support import WebCatalog, build_web_catalog, make_customer

pytestmark = pytest.mark.slow

SECRET = "test-secret-for-returning"
RACERS = 4


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    yield from database_for_servers(request, tmp_path_factory, "returning")


@pytest.fixture(scope="module")
def setup_app(database_url: str) -> Iterator[Flask]:
    app = create_app({**base_config(database_url), "SECRET_KEY": SECRET})
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def catalog(setup_app: Flask) -> WebCatalog:
    return build_web_catalog(setup_app)


@pytest.fixture(scope="module")
def server(database_url: str, catalog: WebCatalog) -> Iterator[Gunicorn]:
    env = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET,
        "RATELIMIT_ENABLED": "0",
        "FORM_MIN_SECONDS": "0",  # the forms are sent at once, by a test
        # More than the racers: every booking of the day may be made (a fourth over the
        # default 3 would be refused, quietly: an answer like the others' and no booking).
        "MAX_BOOKINGS_PER_DAY": "10",
    }
    with gunicorn(env, workers=4) as running:
        yield running


def guest_forms(server: Gunicorn, paths: list[str]) -> list[tuple[Visitor, dict[str, str]]]:
    """One fresh browser per path, each on the details step with its form's hidden fields."""
    prepared = []
    for path in paths:
        visitor = Visitor(server.url)
        status, html = visitor.send(path)
        assert status == 200, (status, html[:2000])
        assert 'id="email"' in html, html[:2000]
        prepared.append((visitor, dict(_HIDDEN.findall(html))))
    return prepared


def separate_times(day: date) -> list[datetime]:
    return [local(day, hour) for hour in range(9, 9 + RACERS)]


def book_at_once(
    server: Gunicorn, catalog: WebCatalog, starts: list[datetime], email: str
) -> Counter[int]:
    paths = [book_path(catalog, start, "any") for start in starts]
    prepared = guest_forms(server, paths)
    typed = {"first_name": "Grace", "last_name": "Hopper", "email": email}

    replies = at_once(
        len(paths),
        lambda i: prepared[i][0].send(paths[i], {**prepared[i][1], **typed}),
    )
    return Counter(status for status, _ in replies)


def customers_and_bookings(app: Flask, email: str) -> tuple[list[int], list[tuple[int, datetime]]]:
    with app.app_context():
        holders = list(
            db.session.execute(select(Customer.id).where(Customer.email == email)).scalars()
        )
        bookings = [
            (row.customer_id, row.start_at)
            for row in db.session.execute(
                select(Booking.customer_id, Booking.start_at)
                .join(Customer, Customer.id == Booking.customer_id)
                .where(Customer.email == email, Booking.status == "confirmed")
                .order_by(Booking.start_at)
            )
        ]
        db.session.remove()
        return holders, bookings


def test_bookings_of_one_returning_address_sent_at_once_all_join_its_customer(
    server: Gunicorn, setup_app: Flask, catalog: WebCatalog
) -> None:
    email = "returning@example.com"
    owner = make_customer(setup_app, password=None, is_guest=True, email=email)
    starts = separate_times(datetime.now(LONDON).date() + timedelta(days=2))

    statuses = book_at_once(server, catalog, starts, email)

    assert statuses == {302: RACERS}, (statuses, server.log()[-3000:])
    holders, bookings = customers_and_bookings(setup_app, email)
    assert holders == [owner]
    assert bookings == [(owner, start) for start in starts]


def test_bookings_of_one_new_address_sent_at_once_make_one_customer(
    server: Gunicorn, setup_app: Flask, catalog: WebCatalog
) -> None:
    email = "brand-new@example.com"
    starts = separate_times(datetime.now(LONDON).date() + timedelta(days=3))

    statuses = book_at_once(server, catalog, starts, email)

    assert statuses == {302: RACERS}, (statuses, server.log()[-3000:])
    holders, bookings = customers_and_bookings(setup_app, email)
    assert len(holders) == 1
    assert bookings == [(holders[0], start) for start in starts]
