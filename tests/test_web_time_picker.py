"""/book's time picker as served (issue 13, item 5): a week at a time, closed days "Closed", a
day with hours but nothing free "Fully booked", times grouped morning / afternoon / evening,
a "Skip to the times" link, and the 409 page keeping the lost time in view among the free
times around it. Server-rendered: no JavaScript needed for any of it.

The app's ``CLOCK`` is Wednesday 2 December 2026, 08:10 in London; the location opens
09:00–19:00 Monday to Saturday and is closed on Sunday.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from latepoint_forms.bookings.service import reserve_booking
from latepoint_forms.extensions import db
from latepoint_forms.models import Agent, AgentOffer, Customer, Location, Service
from latepoint_forms.unit_of_work import unit_of_work

from .web_support import csrf_token, make_customer, page

NOW = datetime(2026, 12, 2, 8, 10, tzinfo=UTC)  # London is on GMT in December
WEEKDAY_HOURS = [["09:00", "19:00"]]
HOURS: dict[str, list[list[str]]] = {
    **dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat"), WEEKDAY_HOURS),
    "sun": [],
}
START = "%Y-%m-%dT%H:%MZ"


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"CLOCK": lambda: NOW}


def build(app: Flask) -> dict[str, int]:
    """A haircut and an all-day treatment at one place, with one agent."""
    with app.app_context(), unit_of_work():
        haircut = Service(key="cut", name="Haircut", duration_minutes=30, slot_interval_minutes=30)
        long_day = Service(
            key="day", name="Spa day", duration_minutes=600, slot_interval_minutes=60
        )
        quay = Location(key="quay", name="The Quay", timezone="Europe/London", opening_hours=HOURS)
        amy = Agent(key="amy", name="Amy Pond")
        db.session.add_all([haircut, long_day, quay, amy])
        db.session.flush()
        for service in (haircut, long_day):
            db.session.add(AgentOffer(agent_id=amy.id, service_id=service.id, location_id=quay.id))
        return {"haircut": haircut.id, "day": long_day.id, "quay": quay.id, "amy": amy.id}


def book_for(app: Flask, email: str, service: int, ids: dict[str, int], start: datetime) -> None:
    customer_id = make_customer(app, password=None, email=email)
    with app.app_context(), unit_of_work():
        customer = db.session.get(Customer, customer_id)
        assert customer is not None
        reserve_booking(customer, service, ids["quay"], ids["amy"], start, now=NOW)


def time_step(client: FlaskClient, ids: dict[str, int], **query: str) -> str:
    base = f"/book?service={ids['haircut']}&location={ids['quay']}&agent={ids['amy']}"
    response = client.get(base + "".join(f"&{k}={v}" for k, v in query.items()))
    assert response.status_code == 200
    return page(response)


def days_of(html: str) -> list[tuple[str, str]]:
    """(day number, state) of each day of the week shown."""
    week = re.search(r'<ul class="week">(.*?)</ul>', html, re.S)
    assert week, html
    days = []
    for item in re.findall(r"<li>(.*?)</li>", week.group(1), re.S):
        number = re.search(r'class="day-number">(\d+)<', item)
        assert number
        status = re.search(r'class="day-status">([^<]+)<', item)
        days.append((number.group(1), status.group(1) if status else "open"))
    return days


def test_a_week_of_days_each_saying_whether_it_is_open_closed_or_fully_booked(
    app: Flask, client: FlaskClient
) -> None:
    ids = build(app)
    # Thursday 3 December: the agent is busy all day, so no haircut fits.
    book_for(app, "spa@example.com", ids["day"], ids, datetime(2026, 12, 3, 9, tzinfo=UTC))

    html = time_step(client, ids)

    assert days_of(html) == [
        ("2", "open"),
        ("3", "Fully booked"),
        ("4", "open"),
        ("5", "open"),
        ("6", "Closed"),  # Sunday
        ("7", "open"),
        ("8", "open"),
    ]
    assert ">Full<" not in html
    # The first week: nothing earlier to go to; the next one starts on Wednesday 9 December.
    assert 'rel="prev"' not in html
    assert re.search(r'rel="next" href="[^"]*week=2026-12-09"', html)


def test_the_next_week_shows_its_first_free_day_and_leads_back(
    app: Flask, client: FlaskClient
) -> None:
    ids = build(app)

    html = time_step(client, ids, week="2026-12-09")

    assert [number for number, _ in days_of(html)] == ["9", "10", "11", "12", "13", "14", "15"]
    assert re.search(r'class="day is-selected"[^>]*aria-current="date"', html)
    assert 'id="date" name="date" value="2026-12-09"' in html
    assert re.search(r'rel="prev" href="[^"]*week=2026-12-02"', html)
    assert ("13", "Closed") in days_of(html)


def test_a_day_far_ahead_is_shown_in_its_own_week(app: Flask, client: FlaskClient) -> None:
    ids = build(app)
    day = date(2026, 12, 2) + timedelta(days=100)  # Friday 12 March 2027: week 14 from today

    html = time_step(client, ids, date=day.isoformat())

    numbers = [int(number) for number, _ in days_of(html)]
    first = date(2026, 12, 2) + timedelta(days=98)
    assert numbers == [(first + timedelta(days=n)).day for n in range(7)]
    assert 'value="2027-03-12"' in html


def test_times_come_in_morning_afternoon_and_evening_lists(app: Flask, client: FlaskClient) -> None:
    ids = build(app)

    html = time_step(client, ids, date="2026-12-04")

    headings = re.findall(r'<h3 class="time-group" id="times-(\w+)">(\w+)</h3>', html)
    assert headings == [("morning", "Morning"), ("afternoon", "Afternoon"), ("evening", "Evening")]
    lists = dict(
        re.findall(r'<ul class="times" aria-labelledby="times-(\w+)">(.*?)</ul>', html, re.S)
    )
    times = {
        key: re.findall(r'class="time"[^>]*>(\d\d:\d\d)<', body) for key, body in lists.items()
    }
    assert times["morning"] == ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
    assert times["afternoon"][0] == "12:00"
    assert times["afternoon"][-1] == "16:30"
    assert times["evening"] == ["17:00", "17:30", "18:00", "18:30"]
    # The keyboard's short way there, from the top of the page.
    assert '<a class="skip-link" href="#times">Skip to the times</a>' in html
    assert 'id="times" tabindex="-1"' in html


def test_today_after_its_last_time_is_closed(app: Flask, client: FlaskClient) -> None:
    ids = build(app)
    app.config["CLOCK"] = lambda: NOW.replace(hour=18, minute=45)  # the last start was 18:30

    html = time_step(client, ids)

    assert days_of(html)[0] == ("2", "Closed")
    assert 'value="2026-12-03"' in html  # the first day with free times is shown


def test_the_409_page_keeps_the_lost_time_in_view_among_the_times_around_it(
    app: Flask, client: FlaskClient
) -> None:
    ids = build(app)
    lost = datetime(2026, 12, 4, 11, tzinfo=UTC)
    base = f"/book?service={ids['haircut']}&location={ids['quay']}&agent={ids['amy']}"
    path = f"{base}&date=2026-12-04&start={lost:{START}}"
    details = page(client.get(path))
    assert "Your details" in details
    token = csrf_token(client, path)
    first_served = re.search(r'name="form_started"[^>]*value="([^"]+)"', details)
    assert first_served
    book_for(app, "quicker@example.com", ids["haircut"], ids, lost)

    response = client.post(
        path,
        data={
            "first_name": "Grace",
            "last_name": "Hopper",
            "email": "grace@example.com",
            "phone": "+44 7911 123456",
            "csrf_token": token,
            "form_started": first_served.group(1),
        },
    )

    assert response.status_code == 409
    html = page(response)
    assert "Friday 4 December 2026, 11:00 is not available" in html
    assert '<span class="visually-hidden">Taken: </span><s>11:00</s>' in html
    nearby = re.findall(
        r'<button type="submit" class="time"[^>]*formaction="([^"]+)">(\d\d:\d\d)<', html
    )
    assert [label for _, label in nearby] == ["09:30", "10:00", "10:30", "11:30", "12:00", "12:30"]
    assert all(f"start=2026-12-04T{label}Z" in url.replace("%3A", ":") for url, label in nearby)
    # What was typed is kept, and Enter in a field books none of them.
    assert 'value="Grace"' in html
    assert re.search(r'<button type="submit" form="details-form" disabled hidden', html)
    assert html.index("disabled hidden") < html.index('class="time" form="details-form"')

    # Pressing one books it, with the details typed (and the form's own hidden fields).
    url = nearby[3][0].replace("&amp;", "&")
    started = re.search(r'name="form_started"[^>]*value="([^"]+)"', html)
    assert started
    booked = client.post(
        url,
        data={
            "first_name": "Grace",
            "last_name": "Hopper",
            "email": "grace@example.com",
            "phone": "+44 7911 123456",
            "csrf_token": token,
            "form_started": started.group(1),
        },
    )
    assert booked.status_code == 302
    assert booked.headers["Location"].endswith("/book/confirmation")
