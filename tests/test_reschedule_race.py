"""Reschedules racing each other through real gunicorn workers, on PostgreSQL and SQLite.

The manage link's "Move your booking?" step is loaded first by every visitor (its CSRF token
and hidden fields), then all the confirmations are sent at once. Whatever the interleaving:
a time goes to as many bookings as there are free agents, every loser keeps its old time and
claims, a new booking racing the moves for the time is refused like them (or wins it alone),
and one booking confirmed from several tabs moves once.

Slow: each backend starts gunicorn. PostgreSQL runs when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select

from latepoint_forms import create_app
from latepoint_forms.bookings.manage_links import manage_token
from latepoint_forms.bookings.service import book, granules
from latepoint_forms.extensions import db
from latepoint_forms.models import Booking, BookingSlotClaim, Customer
from latepoint_forms.unit_of_work import unit_of_work

from .conftest import base_config, database_for_servers
from .servers import Gunicorn, gunicorn
from .web_support import WebCatalog, build_web_catalog, make_customer

pytestmark = pytest.mark.slow

SECRET = "test-secret-for-the-race"
LONDON = ZoneInfo("Europe/London")
RACERS = 8
TABS = 6
_HIDDEN = re.compile(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"')


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 302 is the answer to look at, not a page to follow


@dataclass
class Visitor:
    """One browser: its own cookies (kept by hand: production cookies are ``Secure`` and the
    test server speaks plain HTTP on loopback)."""

    base: str
    cookies: dict[str, str] = field(default_factory=dict)

    def send(self, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(self.base + path, data=data)  # noqa: S310 (http)
        if self.cookies:
            request.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(request, timeout=60) as response:
                status, body, headers = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, body, headers = error.code, error.read(), error.headers
        for cookie in headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return status, body.decode("utf-8", "replace")

    def confirmation_form(self, path: str) -> dict[str, str]:
        status, html = self.send(path)
        assert status == 200, (status, html[:2000])
        assert "Move your booking?" in html, html[:2000]
        return dict(_HIDDEN.findall(html))


def at_once(count: int, send: Any) -> list[Any]:
    """``count`` calls released together by a barrier, each on its own thread and connection."""
    barrier = threading.Barrier(count)

    def one(index: int) -> Any:
        barrier.wait(timeout=60)
        return send(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    yield from database_for_servers(request, tmp_path_factory, "race")


@pytest.fixture(scope="module")
def setup_app(database_url: str) -> Iterator[Flask]:
    """The app the test writes and reads the database with (gunicorn's secret: its tokens)."""
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
        "FORM_MIN_SECONDS": "0",  # the racers post the details form at once
    }
    with gunicorn(env, workers=4) as running:
        yield running


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), LONDON).astimezone(UTC)


@dataclass(frozen=True)
class Made:
    id: int
    start: datetime
    token: str


def make_bookings(app: Flask, catalog: WebCatalog, starts: list[datetime], tag: str) -> list[Made]:
    made = []
    for index, start in enumerate(starts):
        customer = make_customer(
            app, password=None, email=f"{tag}{index}@example.com", is_guest=True
        )
        with app.app_context():
            with unit_of_work():
                booking = book(
                    customer, catalog.service, catalog.location, catalog.agents[0], start
                )
            made.append(Made(booking.id, start, manage_token(booking)))
    return made


def state(app: Flask, booking_id: int) -> tuple[datetime, int, int, list[datetime]]:
    """Start, agent, sequence and claimed granules, read afresh from the database."""
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert booking is not None
        claims = db.session.execute(
            select(BookingSlotClaim.slot_start)
            .where(BookingSlotClaim.booking_id == booking_id)
            .order_by(BookingSlotClaim.slot_start)
        ).scalars()
        result = (booking.start_at, booking.agent_id, booking.sequence, list(claims))
        db.session.remove()
        return result


def move_path(made: Made, target: datetime, agent: str | None) -> str:
    query = {"date": target.astimezone(LONDON).date().isoformat()}
    query["start"] = target.strftime("%Y-%m-%dT%H:%MZ")
    if agent:
        query["agent"] = agent
    return f"/bookings/{made.token}/reschedule?{urllib.parse.urlencode(query)}"


def half_hour(start: datetime) -> list[datetime]:
    return granules(start, start + timedelta(minutes=30))


@pytest.mark.parametrize("agent", [None, "any"])
def test_bookings_racing_for_one_new_time_never_lose_their_old_one(
    server: Gunicorn, setup_app: Flask, catalog: WebCatalog, agent: str | None
) -> None:
    """Eight bookings with Amy ask for one new time: with Amy, one wins; with anyone
    available, two do (Amy and Ben). Every other keeps its own time, untouched."""
    day = datetime.now(LONDON).date() + timedelta(days=3 if agent is None else 5)
    olds = [local(day, 8 + index) for index in range(RACERS)]
    target = local(day + timedelta(days=1), 14, 30)
    made = make_bookings(setup_app, catalog, olds, f"race-{agent or 'amy'}-")
    visitors = [Visitor(server.url) for _ in made]
    forms = [
        v.confirmation_form(move_path(m, target, agent))
        for v, m in zip(visitors, made, strict=False)
    ]

    replies = at_once(
        RACERS,
        lambda i: visitors[i].send(f"/bookings/{made[i].token}/reschedule", forms[i]),
    )

    winners_expected = 1 if agent is None else 2
    statuses = Counter(status for status, _ in replies)
    assert statuses == {302: winners_expected, 409: RACERS - winners_expected}, (
        statuses,
        server.log()[-3000:],
    )
    assert all("your booking was not moved" in html for status, html in replies if status == 409)
    states = [state(setup_app, m.id) for m in made]
    moved = [s for s in states if s[0] == target]
    assert len(moved) == winners_expected
    assert {s[1] for s in moved} == set(catalog.agents[:winners_expected])
    assert all(s[2] == 1 and s[3] == half_hour(target) for s in moved)
    for (status, _), booking, now_state in zip(replies, made, states, strict=False):
        if status == 409:  # the loser's old time, exactly as it was
            assert now_state == (booking.start, catalog.agents[0], 0, half_hour(booking.start))


def test_one_booking_confirmed_in_several_tabs_at_once_moves_once(
    server: Gunicorn, setup_app: Flask, catalog: WebCatalog
) -> None:
    day = datetime.now(LONDON).date() + timedelta(days=7)
    [made] = make_bookings(setup_app, catalog, [local(day, 9)], "tabs-")
    targets = [local(day + timedelta(days=1), 9 + index) for index in range(TABS)]
    tabs = [Visitor(server.url) for _ in targets]
    forms = [
        tab.confirmation_form(move_path(made, t, None))
        for tab, t in zip(tabs, targets, strict=False)
    ]

    replies = at_once(TABS, lambda i: tabs[i].send(f"/bookings/{made.token}/reschedule", forms[i]))

    statuses = Counter(status for status, _ in replies)
    assert statuses == {302: 1, 409: TABS - 1}, (statuses, server.log()[-3000:])
    assert all("changed in the meantime" in html for status, html in replies if status == 409)
    [won] = [target for (status, _), target in zip(replies, targets, strict=False) if status == 302]
    # Moved once: one new time, its claims only, the sequence one up.
    assert state(setup_app, made.id) == (won, catalog.agents[0], 1, half_hour(won))


def test_new_bookings_and_moves_racing_for_one_time_give_it_once(
    server: Gunicorn, setup_app: Flask, catalog: WebCatalog
) -> None:
    """Four guests book a time with Amy at the moment four bookings are moved to it: one of
    the eight wins; a losing guest leaves no record, a losing move keeps its old time."""
    day = datetime.now(LONDON).date() + timedelta(days=9)
    olds = [local(day, 8 + index) for index in range(RACERS // 2)]
    target = local(day + timedelta(days=1), 11)
    made = make_bookings(setup_app, catalog, olds, "mixed-")
    movers = [Visitor(server.url) for _ in made]
    move_forms = [
        v.confirmation_form(move_path(m, target, None)) for v, m in zip(movers, made, strict=True)
    ]
    book_path = (
        f"/book?service={catalog.service}&location={catalog.location}&agent={catalog.agents[0]}"
        f"&date={target.astimezone(LONDON).date().isoformat()}"
        f"&start={target.strftime('%Y-%m-%dT%H:%MZ')}"
    )
    guests = [Visitor(server.url) for _ in made]
    guest_forms = []
    for index, guest in enumerate(guests):
        status, html = guest.send(book_path)
        assert status == 200, html[:2000]
        token = dict(_HIDDEN.findall(html))["csrf_token"]
        guest_forms.append(
            {
                "csrf_token": token,
                "first_name": "Racing",
                "last_name": "Guest",
                "email": f"racing.guest{index}@example.com",
            }
        )

    def send(index: int) -> tuple[str, int]:
        half = index // 2
        if index % 2:
            return "move", movers[half].send(
                f"/bookings/{made[half].token}/reschedule", move_forms[half]
            )[0]
        return "book", guests[half].send(book_path, guest_forms[half])[0]

    replies = at_once(RACERS, send)

    assert sorted(status for _, status in replies) == [302] + [409] * (RACERS - 1), (
        replies,
        server.log()[-3000:],
    )
    with setup_app.app_context():
        holders = db.session.execute(
            select(BookingSlotClaim.booking_id).where(
                BookingSlotClaim.slot_start.in_(half_hour(target))
            )
        ).scalars()
        [holder] = set(holders)  # one booking holds the whole half hour
        guests_kept = db.session.execute(
            select(Customer.email).where(Customer.email.like("racing.guest%"))
        ).scalars()
        guest_emails = list(guests_kept)
        db.session.remove()
    winner_kind = next(kind for kind, status in replies if status == 302)
    assert len(guest_emails) == (1 if winner_kind == "book" else 0)  # no stray guests
    for booking in made:
        start, agent, sequence, claims = state(setup_app, booking.id)
        if booking.id == holder:
            assert (start, sequence, claims) == (target, 1, half_hour(target))
        else:
            assert (start, agent, sequence, claims) == (
                booking.start,
                catalog.agents[0],
                0,
                half_hour(booking.start),
            )
