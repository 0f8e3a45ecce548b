"""``/book``'s time step runs a bounded number of SQL statements, whatever the number of agents,
bookings and days shown, on SQLite and PostgreSQL (issue 8, item 6)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from latepoint_forms.bookings.availability import available_days, available_starts
from latepoint_forms.bookings.service import book, reserve_booking
from latepoint_forms.catalog.loader import load_catalog_file
from latepoint_forms.extensions import db
from latepoint_forms.models import Agent, AgentOffer, Customer, Location, Service
from latepoint_forms.unit_of_work import unit_of_work
from latepoint_forms.web import booking as web_booking
from latepoint_forms.web.booking import DAYS_SHOWN
from latepoint_forms.web.booking_steps import START_FORMAT

from .catalog_fixtures import NOW, Catalog, build_catalog
from .web_support import WebCatalog, build_web_catalog, counted_statements, make_customer, page

# Every statement the time step may run: the catalog choices (services, locations, agents),
# the references, the agents offering the service there and their bookings across every day
# shown. None of them is per agent or per day.
TIME_STEP_QUERY_BOUND = 8
EXTRA_AGENTS = 28
DEMO = Path(__file__).resolve().parents[1] / "latepoint_forms" / "catalog" / "demo.toml"


def time_step_statements(app: Flask, client: FlaskClient, query: str) -> int:
    with counted_statements(app) as statements:
        response = client.get("/book?" + query)
    assert response.status_code == 200
    assert "Pick a day and time" in page(response), query
    return len(statements)


def grow(app: Flask, catalog: WebCatalog, days_ahead: Iterable[int] = range(1, DAYS_SHOWN)) -> None:
    """More agents for the same service and place, every one of them booked on each of the days
    (at 10:00 London time, so that start is taken for everybody)."""
    with app.app_context(), unit_of_work():
        for n in range(EXTRA_AGENTS):
            agent = Agent(key=f"agent-{n}", name=f"Agent {n:02d}")
            db.session.add(agent)
            db.session.flush()
            offer = AgentOffer(
                agent_id=agent.id, service_id=catalog.service, location_id=catalog.location
            )
            db.session.add(offer)
    # One customer per agent: fair use lets nobody hold two bookings at one time.
    customer_ids = [
        make_customer(app, password=None, email=f"grow{n}@example.com")
        for n in range(EXTRA_AGENTS + len(catalog.agents))
    ]
    with app.app_context(), unit_of_work():
        for ahead in days_ahead:
            for customer_id in customer_ids:
                customer = db.session.get(Customer, customer_id)
                assert customer is not None
                start = catalog.start(ahead, hour=10)
                reserve_booking(customer, catalog.service, catalog.location, None, start)


def time_step_queries(catalog: WebCatalog) -> dict[str, str]:
    """The time step asked four ways: no day yet, a day shown, a day beyond them, one agent."""
    today = datetime.now(ZoneInfo(catalog.timezone)).date()
    where = f"service={catalog.service}&location={catalog.location}"
    return {
        "first free day": f"{where}&agent=any",
        "a day shown": f"{where}&agent=any&date={today + timedelta(days=3)}",
        "a day further": f"{where}&agent=any&date={today + timedelta(days=200)}",
        "one agent": f"{where}&agent={catalog.agents[0]}",
    }


def test_the_time_step_stays_within_its_query_bound(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = build_web_catalog(app)
    queries = time_step_queries(catalog)
    few = {name: time_step_statements(app, client, q) for name, q in queries.items()}

    grow(app, catalog)
    many = {name: time_step_statements(app, client, q) for name, q in queries.items()}
    monkeypatch.setattr(web_booking, "DAYS_SHOWN", 4 * DAYS_SHOWN)
    more_days = {name: time_step_statements(app, client, q) for name, q in queries.items()}

    assert all(count <= TIME_STEP_QUERY_BOUND for count in few.values()), few
    assert many == few  # nothing per agent or per booking
    assert more_days == few  # nor per day


def test_the_demo_catalog_time_step_stays_within_its_query_bound(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context(), unit_of_work():
        load_catalog_file(DEMO)
        service = db.session.execute(select(Service.id).where(Service.key == "haircut")).scalar()
        location = db.session.execute(
            select(Location.id).where(Location.key == "london-soho")
        ).scalar()
    where = f"service={service}&location={location}&agent=any"

    count = time_step_statements(app, client, where)
    assert count <= TIME_STEP_QUERY_BOUND


def test_a_time_every_agent_has_booked_is_not_offered(app: Flask, client: FlaskClient) -> None:
    catalog = build_web_catalog(app)
    grow(app, catalog, days_ahead=[2])
    taken = catalog.start(days_ahead=2, hour=10)
    day = taken.astimezone(ZoneInfo(catalog.timezone)).date()
    query = f"service={catalog.service}&location={catalog.location}&agent=any&date={day}"

    html = page(client.get("/book?" + query))

    assert f"start={taken:{START_FORMAT}}" not in html
    assert f"start={taken + timedelta(minutes=30):{START_FORMAT}}" in html


# --- many days at once, as each day alone ------------------------------------------------------


@pytest.fixture
def ctx(app: Flask, app_context: None) -> Catalog:
    return build_catalog(app)


def at(day: date, hhmm: str, zone: str = "Europe/London") -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime.combine(day, time(hour, minute), ZoneInfo(zone)).astimezone(UTC)


# Five weeks across London's and New York's spring-forward changes, and the fall-back day.
DAYS = [date(2027, 3, 2) + timedelta(days=n) for n in range(34)] + [date(2027, 10, 31)]


def test_many_days_at_once_are_each_day_alone(app: Flask, ctx: Catalog) -> None:
    customer = make_customer(app, password=None)
    with unit_of_work():
        book(customer, ctx.colour, ctx.london, ctx.alice, at(date(2027, 3, 2), "10:00"), now=NOW)
        book(customer, ctx.haircut, ctx.london, ctx.bob, at(date(2027, 3, 26), "09:00"), now=NOW)
        book(customer, ctx.haircut, ctx.london, ctx.bob, at(date(2027, 3, 29), "09:00"), now=NOW)
        book(customer, ctx.haircut, ctx.night, ctx.alice, at(date(2027, 3, 28), "02:00"), now=NOW)
        book(customer, ctx.haircut, ctx.night, ctx.alice, at(date(2027, 10, 31), "01:30"), now=NOW)
        new_york = at(date(2027, 3, 15), "09:00", "America/New_York")
        book(customer, ctx.colour, ctx.new_york, None, new_york, now=NOW)

    for service, location, agent in [
        (ctx.haircut, ctx.london, None),
        (ctx.haircut, ctx.london, ctx.bob),
        (ctx.colour, ctx.london, None),
        (ctx.haircut, ctx.night, None),
        (ctx.haircut, ctx.new_york, None),
        (ctx.colour, ctx.new_york, ctx.dave),
    ]:
        together = available_days(service, location, DAYS, agent_id=agent, now=NOW)
        alone = {day: available_starts(service, location, day, agent, now=NOW) for day in DAYS}
        assert together == alone, (service, location, agent)
    # The bookings did take their times, on the right days.
    night = available_days(ctx.haircut, ctx.night, DAYS, now=NOW)
    assert at(date(2027, 3, 28), "02:00") not in {slot.start for slot in night[date(2027, 3, 28)]}
    assert at(date(2027, 3, 27), "02:00") in {slot.start for slot in night[date(2027, 3, 27)]}


def test_many_days_cost_the_queries_of_one(app: Flask, ctx: Catalog) -> None:
    customer = make_customer(app, password=None)
    with unit_of_work():
        book(customer, ctx.haircut, ctx.london, ctx.bob, at(date(2027, 3, 3), "09:00"), now=NOW)

    counts = []
    for days in (DAYS[:1], DAYS[:14], DAYS):
        # Each count starts from an empty identity map: what the booking (and its messages)
        # left loaded must not make the first count look cheaper than the others.
        db.session.expire_all()
        with counted_statements(app) as statements:
            available_days(ctx.haircut, ctx.london, days, now=NOW)
        counts.append(len(statements))

    # The service and location by id, the offer check, the agents and their bookings.
    assert counts[0] == counts[1] == counts[2] <= 5, counts
