"""Fair use (SPEC section 9) under concurrency, through real gunicorn workers, on SQLite and
PostgreSQL: one customer's bookings sent at once, each from its own signed-in browser.

- Overlaps: the same time with both agents, twice each, at once: one booking is made.
- The day: six times of one day at once: exactly ``MAX_BOOKINGS_PER_DAY`` (3) are made.

Whatever the interleaving, the database decides (the customer's claims under a unique index,
the customer's lock before counting), not only the service's check.

Slow: each backend starts gunicorn. PostgreSQL runs when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import urllib.parse
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select

from latepoint_forms import create_app
from latepoint_forms.bookings.service import granules
from latepoint_forms.extensions import db
from latepoint_forms.models import Booking, CustomerSlotClaim

from .conftest import base_config, database_for_servers
from .servers import Gunicorn, gunicorn
from .test_reschedule_race import _HIDDEN, Visitor, at_once
from .web_support import PASSWORD, WebCatalog, build_web_catalog, make_customer

pytestmark = pytest.mark.slow

SECRET = "test-secret-for-fair-use"
LONDON = ZoneInfo("Europe/London")
OVERLAP = "You already have a booking at this time"
DAY_FULL = "You can book at most 3 visits on one day"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    yield from database_for_servers(request, tmp_path_factory, "fair")


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
    env = {"DATABASE_URL": database_url, "SECRET_KEY": SECRET, "RATELIMIT_ENABLED": "0"}
    with gunicorn(env, workers=4) as running:
        yield running


def local(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), LONDON).astimezone(UTC)


def book_path(catalog: WebCatalog, start: datetime, agent: int | str) -> str:
    query = {
        "service": catalog.service,
        "location": catalog.location,
        "agent": agent,
        "date": start.astimezone(LONDON).date().isoformat(),
        "start": start.strftime("%Y-%m-%dT%H:%MZ"),
    }
    return f"/book?{urllib.parse.urlencode(query)}"


def signed_in(server: Gunicorn, email: str) -> Visitor:
    visitor = Visitor(server.url)
    status, html = visitor.send("/sign-in")
    assert status == 200, html[:2000]
    token = dict(_HIDDEN.findall(html))["csrf_token"]
    status, html = visitor.send(
        "/sign-in", {"csrf_token": token, "email": email, "password": PASSWORD}
    )
    assert status in (302, 303), (status, html[:2000])
    return visitor


def booking_forms(
    server: Gunicorn, email: str, paths: list[str]
) -> list[tuple[Visitor, dict[str, str]]]:
    """One signed-in browser per path, each on the "You are booking as" step."""
    prepared = []
    for path in paths:
        visitor = signed_in(server, email)
        status, html = visitor.send(path)
        assert status == 200, (status, html[:2000])
        assert "You are booking as" in html, html[:2000]
        prepared.append((visitor, {"csrf_token": dict(_HIDDEN.findall(html))["csrf_token"]}))
    return prepared


def confirmed_starts(app: Flask, customer: int) -> list[datetime]:
    with app.app_context():
        starts = list(
            db.session.execute(
                select(Booking.start_at)
                .where(Booking.customer_id == customer, Booking.status == "confirmed")
                .order_by(Booking.start_at)
            ).scalars()
        )
        db.session.remove()
        return starts


def test_overlapping_bookings_of_one_customer_sent_at_once_make_one(
    server: Gunicorn, setup_app: Flask, catalog: WebCatalog
) -> None:
    email = "overlap@example.com"
    customer = make_customer(setup_app, email=email)
    start = local(datetime.now(LONDON).date() + timedelta(days=3), 10)
    agents = [catalog.agents[0], catalog.agents[1]] * 2  # both agents free, each asked twice
    paths = [book_path(catalog, start, agent) for agent in agents]
    prepared = booking_forms(server, email, paths)

    replies = at_once(len(paths), lambda i: prepared[i][0].send(paths[i], prepared[i][1]))

    statuses = Counter(status for status, _ in replies)
    assert statuses == {302: 1, 409: len(paths) - 1}, (statuses, server.log()[-3000:])
    assert confirmed_starts(setup_app, customer) == [start]
    # At least the other agent's request was refused as an overlap, not as a taken time.
    assert any(OVERLAP in html for status, html in replies if status == 409)
    with setup_app.app_context():
        held = db.session.execute(
            select(CustomerSlotClaim.slot_start)
            .where(CustomerSlotClaim.customer_id == customer)
            .order_by(CustomerSlotClaim.slot_start)
        ).scalars()
        assert list(held) == granules(start, start + timedelta(minutes=30))
        db.session.remove()


def test_more_bookings_of_one_day_sent_at_once_than_the_limit_make_the_limit(
    server: Gunicorn, setup_app: Flask, catalog: WebCatalog
) -> None:
    email = "daily@example.com"
    customer = make_customer(setup_app, email=email)
    day = datetime.now(LONDON).date() + timedelta(days=5)
    starts = [local(day, hour) for hour in range(8, 14)]  # six separate half hours
    paths = [book_path(catalog, start, "any") for start in starts]
    prepared = booking_forms(server, email, paths)

    replies = at_once(len(paths), lambda i: prepared[i][0].send(paths[i], prepared[i][1]))

    statuses = Counter(status for status, _ in replies)
    assert statuses == {302: 3, 409: 3}, (statuses, server.log()[-3000:])
    assert all(DAY_FULL in html for status, html in replies if status == 409)
    made = confirmed_starts(setup_app, customer)
    assert len(made) == 3
    assert made == [
        start for (status, _), start in zip(replies, starts, strict=True) if status == 302
    ]
