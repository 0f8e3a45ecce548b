"""The manage link's pages (``/bookings/<token>``) and the account's cancel step, on SQLite and
PostgreSQL, CSRF on, with the app's clock set (``CLOCK``): GET never changes anything, each
change is a confirmed POST, and changes close ``CANCEL_CUTOFF_HOURS`` before the start."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeSerializer
from sqlalchemy import delete, select

from latepoint_forms.bookings.manage_links import MANAGE_LINK_SALT, manage_token
from latepoint_forms.bookings.service import book, granules
from latepoint_forms.extensions import db
from latepoint_forms.models import AgentOffer, Booking, BookingSlotClaim, Location, Service
from latepoint_forms.unit_of_work import unit_of_work
from latepoint_forms.web.display import zone_name

from .web_support import (
    WebCatalog,
    build_web_catalog,
    counted_statements,
    csrf_token,
    make_customer,
    page,
    sign_in,
)

NOW = datetime(2027, 3, 1, 20, 0, tzinfo=UTC)  # Monday evening in London (GMT)
START = datetime(2027, 3, 3, 10, 0, tzinfo=UTC)  # Wednesday 10:00 in London
NEW_START = datetime(2027, 3, 4, 14, 30, tzinfo=UTC)  # Thursday 14:30
WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE)", re.IGNORECASE)


class Clock:
    """The app's ``CLOCK``: what the pages take for now; a test moves it."""

    def __init__(self) -> None:
        self.at = NOW

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app_config(clock: Clock) -> dict[str, Any]:
    return {"CLOCK": clock}


@pytest.fixture
def catalog(app: Flask) -> WebCatalog:
    catalog = build_web_catalog(app)
    with app.app_context(), unit_of_work():
        location = db.session.get(Location, catalog.location)
        assert location is not None
        location.address = "12 Harbour Street, Bristol BS1 4RN"
        location.country = "GB"
        location.phone = "+441179460000"
    return catalog


@dataclass(frozen=True)
class Booked:
    id: int
    code: str
    token: str
    customer_id: int

    @property
    def path(self) -> str:
        return f"/bookings/{self.token}"


def make_booking(
    app: Flask, catalog: WebCatalog, start: datetime = START, email: str = "grace@example.com"
) -> Booked:
    customer_id = make_customer(
        app, password=None, first_name="Grace", last_name="Hopper", email=email, is_guest=True
    )
    with app.app_context():
        with unit_of_work():
            booking = book(
                customer_id, catalog.service, catalog.location, catalog.agents[0], start, now=NOW
            )
        return Booked(booking.id, booking.booking_code, manage_token(booking), customer_id)


@pytest.fixture
def booked(app: Flask, catalog: WebCatalog) -> Booked:
    return make_booking(app, catalog)


def stored(app: Flask, booking_id: int) -> tuple[str, datetime, int, int, list[datetime]]:
    """Status, start, agent, sequence and claimed granules, as the database has them."""
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert booking is not None
        claims = db.session.execute(
            select(BookingSlotClaim.slot_start)
            .where(BookingSlotClaim.booking_id == booking_id)
            .order_by(BookingSlotClaim.slot_start)
        ).scalars()
        return booking.status, booking.start_at, booking.agent_id, booking.sequence, list(claims)


def start_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%MZ")


def confirm_move_path(booked: Booked, start: datetime, agent: str | None = None) -> str:
    query = f"date={start.date().isoformat()}&start={start_text(start)}"
    return f"{booked.path}/reschedule?{query}" + (f"&agent={agent}" if agent else "")


def move_form(
    client: FlaskClient, booked: Booked, start: datetime, agent: str | None = None
) -> dict[str, str]:
    """The hidden fields of the "Move your booking?" step, as the browser would send them."""
    html = page(client.get(confirm_move_path(booked, start, agent)))
    assert "Move your booking?" in html, html
    fields = dict(re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', html))
    return fields


# --- what the link shows -------------------------------------------------------------------


def test_the_link_shows_the_booking_where_and_when_with_the_zone(
    client: FlaskClient, booked: Booked
) -> None:
    response = client.get(booked.path)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = page(response)
    assert booked.code in html
    assert "Haircut" in html
    assert "Wednesday 3 March 2027, 10:00–10:30" in html
    assert "Europe/London (GMT)" in html
    assert "Harbour Street" in html
    assert "12 Harbour Street, Bristol BS1 4RN" in html
    assert 'href="tel:+441179460000"' in html
    assert "+44 117 946 0000" in html
    assert "Amy Pond" in html
    assert "Grace Hopper" in html
    assert f'href="{booked.path}/reschedule"' in html
    assert f'href="{booked.path}/cancel"' in html
    assert f'href="{booked.path}/calendar.ics"' in html
    assert "until Wednesday 3 March 2027, 08:00 (2 hours before the start)" in html


def test_opening_every_page_of_the_link_writes_nothing(
    app: Flask, client: FlaskClient, booked: Booked
) -> None:
    """Mail scanners follow links: every GET, the confirmation steps included, only reads."""
    before = stored(app, booked.id)
    paths = [
        booked.path,
        f"{booked.path}/cancel",
        f"{booked.path}/reschedule",
        f"{booked.path}/reschedule?agent=any",
        confirm_move_path(booked, NEW_START),
        confirm_move_path(booked, NEW_START, "any"),
        f"{booked.path}/calendar.ics",
    ]
    with counted_statements(app) as statements:
        statuses = [client.get(path).status_code for path in paths]

    assert statuses == [200] * len(paths)
    assert [s for s in statements if WRITES.match(s)] == []
    assert stored(app, booked.id) == before


def test_an_altered_or_expired_link_finds_nothing(
    app: Flask, client: FlaskClient, clock: Clock, booked: Booked
) -> None:
    altered = booked.token[:-2] + ("AA" if not booked.token.endswith("AA") else "BB")
    for path in (f"/bookings/{altered}", "/bookings/1", f"/bookings/{altered}/cancel"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "This booking link is not valid" in page(response)

    with app.app_context():  # signed with the app's own key: only the id is out of range
        signer = URLSafeSerializer(app.config["SECRET_KEY"], salt=MANAGE_LINK_SALT)
        huge = signer.dumps([10**30, int((START + timedelta(days=60)).timestamp())])
    assert client.get(f"/bookings/{huge}").status_code == 404

    clock.at = START + timedelta(minutes=30) + timedelta(days=29)
    assert client.get(booked.path).status_code == 200  # past, still readable
    clock.at = START + timedelta(minutes=30) + timedelta(days=30)
    assert client.get(booked.path).status_code == 404


def test_the_calendar_file_is_the_booking(client: FlaskClient, booked: Booked) -> None:
    response = client.get(f"{booked.path}/calendar.ics")

    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{booked.code}.ics"'
    text = page(response).replace("\r\n ", "")
    assert "METHOD:PUBLISH" in text
    assert f"UID:{booked.code.lower()}@" in text
    assert "DTSTART;TZID=Europe/London:20270303T100000" in text
    assert "12 Harbour Street" in text


# --- cancel --------------------------------------------------------------------------------


def test_cancelling_asks_first_then_needs_the_forms_token(
    app: Flask, client: FlaskClient, booked: Booked
) -> None:
    step = page(client.get(f"{booked.path}/cancel"))
    assert "Cancel this booking?" in step
    assert "Yes, cancel the booking" in step
    assert f'href="{booked.path}"' in step  # "No, keep it"

    refused = client.post(f"{booked.path}/cancel", data={})
    assert refused.status_code == 400
    assert stored(app, booked.id)[0] == "confirmed"

    token = csrf_token(client, f"{booked.path}/cancel")
    done = client.post(f"{booked.path}/cancel", data={"csrf_token": token})

    assert done.status_code == 302
    assert done.headers["Location"] == booked.path
    assert stored(app, booked.id)[0] == "cancelled"
    assert stored(app, booked.id)[4] == []  # the time is free again
    shown = page(client.get(booked.path))
    assert f"Booking {booked.code} is cancelled." in shown
    assert "This booking is cancelled." in shown
    assert "/reschedule" not in shown
    assert f"{booked.path}/cancel" not in shown


# --- reschedule ------------------------------------------------------------------------------


def test_reschedule_lists_free_times_then_asks_to_confirm(
    app: Flask, client: FlaskClient, catalog: WebCatalog, booked: Booked
) -> None:
    times = page(client.get(f"{booked.path}/reschedule?date=2027-03-03"))
    assert "Choose a new time" in times
    assert "Amy Pond" in times
    assert "Anyone available" in times
    # Its own time is not offered as a new one; the others of the day are.
    assert f"start={start_text(START)}" not in times
    assert f"start={start_text(START + timedelta(minutes=30))}" in times
    assert "Europe/London (GMT)" in times

    confirm = page(client.get(confirm_move_path(booked, NEW_START)))
    assert "Move your booking?" in confirm
    assert "Wednesday 3 March 2027, 10:00 with Amy Pond" in confirm
    assert "Thursday 4 March 2027, 14:30–15:00" in confirm
    assert "Yes, move my booking" in confirm


def test_a_confirmed_move_swaps_the_time_and_counts_the_sequence(
    app: Flask, client: FlaskClient, catalog: WebCatalog, booked: Booked
) -> None:
    fields = move_form(client, booked, NEW_START)
    assert fields["start"] == start_text(NEW_START)
    assert fields["sequence"] == "0"

    response = client.post(f"{booked.path}/reschedule", data=fields)

    assert response.status_code == 302
    assert stored(app, booked.id) == (
        "confirmed",
        NEW_START,
        catalog.agents[0],
        1,
        granules(NEW_START, NEW_START + timedelta(minutes=30)),
    )
    shown = page(client.get(response.headers["Location"]))
    assert "Your booking is moved to Thursday 4 March 2027, 14:30." in shown
    assert "Thursday 4 March 2027, 14:30–15:00" in shown
    # The same confirmation sent again is stale: the booking is not moved twice.
    again = client.post(f"{booked.path}/reschedule", data=fields)
    assert again.status_code == 409
    assert "changed in the meantime" in page(again)
    assert stored(app, booked.id)[3] == 1


def test_moving_to_anyone_available_takes_the_free_agent(
    app: Flask, client: FlaskClient, catalog: WebCatalog, booked: Booked
) -> None:
    make_booking(app, catalog, NEW_START, email="other@example.com")  # Amy is busy then
    times = page(client.get(f"{booked.path}/reschedule?date=2027-03-04"))
    assert f"start={start_text(NEW_START)}" not in times  # not with Amy
    fields = move_form(client, booked, NEW_START, "any")
    assert fields["agent"] == "any"

    assert client.post(f"{booked.path}/reschedule", data=fields).status_code == 302
    assert stored(app, booked.id)[1:4] == (NEW_START, catalog.agents[1], 1)


def test_a_time_taken_after_the_confirmation_keeps_the_old_one(
    app: Flask, client: FlaskClient, catalog: WebCatalog, booked: Booked
) -> None:
    fields = move_form(client, booked, NEW_START)
    before = stored(app, booked.id)
    make_booking(app, catalog, NEW_START, email="quick@example.com")  # someone was faster

    response = client.post(f"{booked.path}/reschedule", data=fields)

    assert response.status_code == 409
    html = page(response)
    assert "someone has just booked that time, so your booking was not moved" in html
    assert "it is still on Wednesday 3 March 2027, 10:00" in html
    assert "Choose a new time" in html  # the other times, straight away
    assert stored(app, booked.id) == before


@pytest.mark.parametrize(
    "changes",
    [
        {"start": "tomorrow"},
        {"start": "2027-03-04T14:35Z"},  # off the grid
        {"start": "0001-01-01T00:00Z"},
        {"start": "9999-12-31T23:30Z"},
        {"start": "2027-03-01T10:00Z"},  # in the past
        {"agent": "nobody"},
        {"sequence": "-1"},
    ],
)
def test_a_tampered_move_is_refused_and_changes_nothing(
    app: Flask, client: FlaskClient, booked: Booked, changes: dict[str, str]
) -> None:
    fields = {**move_form(client, booked, NEW_START), **changes}
    before = stored(app, booked.id)

    response = client.post(f"{booked.path}/reschedule", data=fields)

    assert response.status_code == 422
    assert stored(app, booked.id) == before


def test_without_the_forms_token_nothing_moves(
    app: Flask, client: FlaskClient, booked: Booked
) -> None:
    fields = move_form(client, booked, NEW_START)
    del fields["csrf_token"]
    response = client.post(f"{booked.path}/reschedule", data=fields)
    assert response.status_code == 400
    assert stored(app, booked.id)[3] == 0


# --- the cut-off ---------------------------------------------------------------------------


def test_changes_close_two_hours_before_the_start_and_the_page_says_so(
    app: Flask, client: FlaskClient, clock: Clock, catalog: WebCatalog, booked: Booked
) -> None:
    move_fields = move_form(client, booked, NEW_START)
    cancel_token = csrf_token(client, f"{booked.path}/cancel")
    clock.at = START - timedelta(hours=2)

    html = page(client.get(booked.path))
    assert "Online changes closed 2 hours before the start" in html
    assert "+44 117 946 0000" in html  # whom to call instead
    assert f"{booked.path}/cancel" not in html
    assert f"{booked.path}/reschedule" not in html
    assert "Cancel this booking?" not in page(client.get(f"{booked.path}/cancel"))

    cancelled = client.post(f"{booked.path}/cancel", data={"csrf_token": cancel_token})
    moved = client.post(f"{booked.path}/reschedule", data=move_fields)
    assert (cancelled.status_code, moved.status_code) == (409, 409)
    assert "Online changes close 2 hours before the start" in page(cancelled)
    assert stored(app, booked.id)[:4] == ("confirmed", START, catalog.agents[0], 0)

    clock.at = START - timedelta(hours=2, minutes=1)
    assert f"{booked.path}/cancel" in page(client.get(booked.path))


@pytest.mark.parametrize("app_config", [{"CANCEL_CUTOFF_HOURS": 48, "CLOCK": Clock()}])
def test_the_cutoff_is_a_setting(client: FlaskClient, booked: Booked) -> None:
    # NOW is 38 hours before the start: inside a 48-hour cut-off.
    html = page(client.get(booked.path))
    assert "Online changes closed 48 hours before the start" in html


# --- the account -----------------------------------------------------------------------------


def test_the_account_cancels_with_a_confirmation_step_and_offers_reschedule(
    app: Flask, client: FlaskClient, clock: Clock, catalog: WebCatalog
) -> None:
    customer_id = make_customer(app)
    with app.app_context(), unit_of_work():
        booking = book(
            customer_id, catalog.service, catalog.location, catalog.agents[0], START, now=NOW
        )
        booking_id, code = booking.id, booking.booking_code
    sign_in(client)

    account = page(client.get("/account"))
    assert "12 Harbour Street, Bristol BS1 4RN" in account
    assert "+44 117 946 0000" in account
    assert "Europe/London (GMT)" in account
    reschedule = re.search(r'href="(/bookings/[^"]+/reschedule)"', account)
    assert reschedule is not None
    assert "Choose a new time" in page(client.get(reschedule.group(1)))
    step_path = f"/account/bookings/{booking_id}/cancel"
    assert f'href="{step_path}"' in account

    step = page(client.get(step_path))
    assert "Cancel this booking?" in step
    assert stored(app, booking_id)[0] == "confirmed"  # asking changed nothing
    token = csrf_token(client, step_path)
    done = client.post(step_path, data={"csrf_token": token})
    assert done.status_code == 302
    assert f"Booking {code} is cancelled." in page(client.get("/account"))
    assert stored(app, booking_id)[0] == "cancelled"


def test_the_account_respects_the_cutoff_and_hides_other_peoples_bookings(
    app: Flask, client: FlaskClient, clock: Clock, catalog: WebCatalog, booked: Booked
) -> None:
    customer_id = make_customer(app)
    with app.app_context(), unit_of_work():
        own = book(
            customer_id, catalog.service, catalog.location, catalog.agents[1], START, now=NOW
        )
        own_id = own.id
    sign_in(client)
    assert client.get(f"/account/bookings/{booked.id}/cancel").status_code == 404

    token = csrf_token(client, f"/account/bookings/{own_id}/cancel")
    clock.at = START - timedelta(hours=1)
    account = page(client.get("/account"))
    assert "Online changes closed 2 hours before the start." in account
    assert f"/account/bookings/{own_id}/cancel" not in account
    refused = client.post(f"/account/bookings/{own_id}/cancel", data={"csrf_token": token})
    assert refused.status_code == 302
    assert "Online changes close 2 hours before the start" in page(client.get("/account"))
    assert stored(app, own_id)[0] == "confirmed"


# --- when the catalog changed since the booking ------------------------------------------


def test_an_agent_who_stopped_offering_it_leaves_anyone_available(
    app: Flask, client: FlaskClient, catalog: WebCatalog, booked: Booked
) -> None:
    with app.app_context(), unit_of_work():
        db.session.execute(delete(AgentOffer).where(AgentOffer.agent_id == catalog.agents[0]))
    html = page(client.get(f"{booked.path}/reschedule?date=2027-03-04"))
    assert "Anyone available" in html
    assert "As booked" not in html
    fields = move_form(client, booked, NEW_START, "any")

    assert client.post(f"{booked.path}/reschedule", data=fields).status_code == 302
    assert stored(app, booked.id)[1:3] == (NEW_START, catalog.agents[1])


def test_a_retired_service_cannot_be_moved_but_can_be_cancelled(
    app: Flask, client: FlaskClient, catalog: WebCatalog, booked: Booked
) -> None:
    fields = move_form(client, booked, NEW_START)
    with app.app_context(), unit_of_work():
        service = db.session.get(Service, catalog.service)
        assert service is not None
        service.active = False

    html = page(client.get(f"{booked.path}/reschedule"))
    assert "can no longer be moved online" in html
    refused = client.post(f"{booked.path}/reschedule", data=fields)
    assert refused.status_code == 422
    assert stored(app, booked.id)[1] == START

    token = csrf_token(client, f"{booked.path}/cancel")
    assert client.post(f"{booked.path}/cancel", data={"csrf_token": token}).status_code == 302
    assert stored(app, booked.id)[0] == "cancelled"


def test_a_past_visit_is_shown_without_changes(
    client: FlaskClient, clock: Clock, booked: Booked
) -> None:
    clock.at = START + timedelta(days=3)
    html = page(client.get(booked.path))
    assert "This visit has started or taken place." in html
    assert "/reschedule" not in html
    assert "/cancel" not in html
    assert "calendar.ics" not in html


@pytest.mark.parametrize(
    ("moment", "zone", "named"),
    [
        (START, "Europe/London", "Europe/London (GMT)"),
        (datetime(2027, 7, 1, 9, tzinfo=UTC), "Europe/London", "Europe/London (BST)"),
        (START, "America/New_York", "America/New York (EST)"),
        (START, "Asia/Dubai", "Asia/Dubai"),  # "+04" says nothing the name does not
    ],
)
def test_a_time_names_its_zone(moment: datetime, zone: str, named: str) -> None:
    assert zone_name(moment, zone) == named
