"""Helpers for the web-page tests: CSRF tokens from rendered forms, a 24-hour catalog, people."""

from __future__ import annotations

import html as html_text
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from latepoint_forms.customers.input import RuleSettings, parse_customer_input
from latepoint_forms.customers.service import create_customer
from latepoint_forms.extensions import db
from latepoint_forms.models import Agent, AgentOffer, Location, Service
from latepoint_forms.unit_of_work import unit_of_work

PASSWORD = "correct horse battery"
ALL_DAY = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str) -> str:
    """The CSRF token of the form rendered at ``path``, as a browser would read it."""
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    match = _TOKEN.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def page(response: Any) -> str:
    return response.get_data(as_text=True)


def input_tag(html: str, field_id: str) -> str:
    match = re.search(rf'<(?:input|select|textarea)[^>]*\bid="{re.escape(field_id)}"[^>]*>', html)
    assert match, f"no input #{field_id}"
    return match.group(0)


def field_error(html: str, field_id: str) -> str:
    match = re.search(rf'<p class="field-error" id="{re.escape(field_id)}-error">(.*?)</p>', html)
    assert match, f"no error beside #{field_id}"
    text = re.sub(r"<[^>]+>", "", match.group(1)).replace("Error:", "").strip()
    return html_text.unescape(text)  # as a person reads it: "can't", not "can&#39;t"


@dataclass(frozen=True)
class WebCatalog:
    service: int
    location: int
    agents: tuple[int, int]
    timezone: str = "Europe/London"

    def start(
        self, days_ahead: int = 2, hour: int = 10, *, now: datetime | None = None
    ) -> datetime:
        """A future start on the grid, in UTC: ``days_ahead`` of ``now`` (the app's CLOCK,
        when a test sets one: /book reads it; else the real time)."""
        zone = ZoneInfo(self.timezone)
        day = (now or datetime.now(zone)).astimezone(zone).date() + timedelta(days=days_ahead)
        return datetime.combine(day, time(hour), zone).astimezone(UTC)

    def book_path(self, start: datetime) -> str:
        local_day = start.astimezone(ZoneInfo(self.timezone)).date()
        return (
            f"/book?service={self.service}&location={self.location}&agent=any"
            f"&date={local_day.isoformat()}&start={start:%Y-%m-%dT%H:%MZ}"
        )


def build_web_catalog(app: Flask) -> WebCatalog:
    """One service, one location open round the clock, two agents: always a free time."""
    with app.app_context():
        service = Service(key="cut", name="Haircut", duration_minutes=30, slot_interval_minutes=30)
        location = Location(
            key="harbour", name="Harbour Street", timezone="Europe/London", opening_hours=ALL_DAY
        )
        amy, ben = Agent(key="amy", name="Amy Pond"), Agent(key="ben", name="Ben Okafor")
        db.session.add_all([service, location, amy, ben])
        db.session.flush()
        for agent in (amy, ben):
            db.session.add(
                AgentOffer(agent_id=agent.id, service_id=service.id, location_id=location.id)
            )
        db.session.commit()
        return WebCatalog(service.id, location.id, (amy.id, ben.id))


def make_customer(app: Flask, password: str | None = PASSWORD, **fields: Any) -> int:
    raw = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", **fields}
    with app.app_context(), unit_of_work():
        settings = RuleSettings.from_config(app.config)
        data = parse_customer_input(raw, settings)
        return create_customer(data, source="web_form", settings=settings, password=password).id


def sign_in(client: FlaskClient, email: str = "ada@example.com", password: str = PASSWORD) -> Any:
    token = csrf_token(client, "/sign-in")
    return client.post("/sign-in", data={"csrf_token": token, "email": email, "password": password})


@contextmanager
def counted_statements(app: Flask) -> Iterator[list[str]]:
    """The SQL statements sent to the database while the block runs."""
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])  # (conn, cursor, statement, parameters, context, many)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
