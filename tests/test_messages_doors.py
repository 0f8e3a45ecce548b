"""Welcome messages through the doors (web registration, API create with send_welcome_email)
and the development mailbox (/dev/mailbox), on SQLite and PostgreSQL."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from latepoint_forms import create_app
from latepoint_forms.bookings.manage_links import booking_id_from_token
from latepoint_forms.bookings.service import reserve_booking
from latepoint_forms.customers.input import CustomerInput, RuleSettings
from latepoint_forms.customers.service import create_customer
from latepoint_forms.extensions import db
from latepoint_forms.models import OutboxMessage
from latepoint_forms.outbox.delivery import deliver_due
from latepoint_forms.unit_of_work import unit_of_work

from .catalog_fixtures import NOW, build_catalog
from .conftest import ApiClient, base_config
from .test_web import REGISTRATION, register
from .web_support import page


@pytest.fixture
def mailbox(tmp_path: Path) -> Path:
    return tmp_path / "mailbox"


@pytest.fixture
def app_config(mailbox: Path) -> dict[str, Any]:
    # No MAIL_SERVER: development's mailbox, in a folder of the test's own.
    return {"DEV_MAILBOX_PATH": str(mailbox), "PUBLIC_URL": "http://127.0.0.1:5000"}


def outbox(app: Flask) -> list[OutboxMessage]:
    with app.app_context():
        return list(db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


# --- welcome ------------------------------------------------------------------------------------


def test_web_registration_queues_the_confirmation_and_the_welcome_follows_it(
    app: Flask, client: FlaskClient
) -> None:
    # The account is pending until its address is confirmed: one message to an address that
    # may not be the registrant's, and "your account is ready" once it is true.
    response = register(client)
    assert response.status_code == 302
    (confirmation,) = outbox(app)
    assert (confirmation.kind, confirmation.recipient, confirmation.state) == (
        "email_confirmation",
        "zoe.obrien@example.com",
        "pending",
    )
    link = re.search(r"http://127\.0\.0\.1:5000(/confirm-email/\S+)", confirmation.body_text)
    assert link is not None
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page(client.get(link[1])))
    assert token is not None
    assert client.post(link[1], data={"csrf_token": token[1]}).status_code == 303

    welcome = outbox(app)[-1]
    assert (welcome.kind, welcome.recipient, welcome.state) == (
        "welcome",
        "zoe.obrien@example.com",
        "pending",
    )
    assert welcome.subject == "Welcome, Zoë: your account is ready"
    assert "http://127.0.0.1:5000/account" in welcome.body_text


def test_a_refused_registration_queues_nothing(app: Flask, client: FlaskClient) -> None:
    assert register(client, first_name="J0hn").status_code == 422
    assert outbox(app) == []


@pytest.mark.parametrize(
    ("body", "sent"),
    [
        ({"send_welcome_email": True}, True),
        ({"send_welcome_email": False}, False),
        ({"send_welcome_email": None}, False),
        ({}, False),
        ({"send_welcome_email": True, "email": None}, False),  # nobody to send it to
    ],
)
def test_api_create_says_truthfully_whether_a_welcome_was_queued(
    app: Flask, api: ApiClient, body: dict[str, Any], sent: bool
) -> None:
    customer = {"first_name": "Zoë", "last_name": "Brown", "email": "zoe@example.com"}
    response = api.post("/customers", {**customer, **body})
    assert response.status_code == 201, response.get_json()
    data = response.get_json()["data"]
    assert data["welcome_email_sent"] is sent
    welcomes = [m for m in outbox(app) if m.kind == "welcome"]
    assert len(welcomes) == (1 if sent else 0)
    if sent:
        assert welcomes[0].customer_id == data["id"]


def test_api_send_welcome_email_must_be_a_boolean(app: Flask, api: ApiClient) -> None:
    response = api.post(
        "/customers", {"first_name": "Zoë", "last_name": "B", "send_welcome_email": "yes"}
    )
    assert response.status_code == 422
    details = response.get_json()["error"]["details"]
    assert details["send_welcome_email"] == "Must be true or false"
    assert "last_name" in details  # reported with the other fields' errors at once
    assert outbox(app) == []


def test_validate_accepts_the_option_and_queues_nothing(app: Flask, api: ApiClient) -> None:
    body = {"first_name": "Zoë", "last_name": "Brown", "send_welcome_email": True}
    response = api.post("/customers/validate", body)
    assert response.status_code == 200, response.get_json()
    assert "welcome_email_sent" not in response.get_json()["data"]
    assert outbox(app) == []


def test_an_idempotent_retry_queues_no_second_welcome(app: Flask, api: ApiClient) -> None:
    body = {
        "first_name": "Zoë",
        "last_name": "Brown",
        "email": "z@example.com",
        "send_welcome_email": True,
    }
    headers = {"Idempotency-Key": "welcome-once"}
    first = api.post("/customers", body, headers=headers)
    again = api.post("/customers", body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["data"]["welcome_email_sent"] is True
    assert [m.kind for m in outbox(app)] == ["welcome"]


# --- the development mailbox --------------------------------------------------------------------


def test_the_dev_mailbox_shows_delivered_messages(
    app: Flask, client: FlaskClient, mailbox: Path
) -> None:
    catalog = build_catalog(app)
    start = datetime(2027, 3, 3, 10, 0, tzinfo=ZoneInfo("Europe/London")).astimezone(UTC)
    with app.app_context():
        with unit_of_work():
            customer = create_customer(
                CustomerInput(first_name="Zoë", last_name="Brown", email="zoe@example.com"),
                source="web_form",
                settings=RuleSettings(),
            )
            booking = reserve_booking(
                customer, catalog.haircut, catalog.london, catalog.alice, start, now=NOW
            )
        code = booking.booking_code
        outcomes = deliver_due(lambda: NOW)
    assert [o.sent for o in outcomes] == [True]
    files = sorted(mailbox.iterdir())
    assert len(files) == 1
    stored = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert stored["To"] == "zoe@example.com"

    listing = client.get("/dev/mailbox")
    assert listing.status_code == 200
    html = listing.get_data(as_text=True)
    assert "Booking confirmed: Haircut on Wednesday 3 March 2027" in html
    link = re.search(r'href="(/dev/mailbox/[^"]+)"', html)
    assert link is not None

    page = client.get(link[1]).get_data(as_text=True)
    assert "zoe@example.com" in page
    # The plain text's links are clickable, and point at PUBLIC_URL.
    assert re.search(r'<a href="http://127\.0\.0\.1:5000/bookings/[^"]+"', page)
    assert f"{code}.ics" in page

    frame = client.get(link[1] + "/html")
    assert frame.status_code == 200
    assert "style-src 'unsafe-inline'" in frame.headers["Content-Security-Policy"]
    assert "script-src" not in frame.headers["Content-Security-Policy"]
    assert "Your booking is confirmed" in frame.get_data(as_text=True)

    ics = client.get(link[1] + "/attachments/0")
    assert ics.status_code == 200
    assert ics.mimetype == "text/calendar"
    event = icalendar.Calendar.from_ical(ics.data).walk("VEVENT")[0]
    assert event["SEQUENCE"] == 0

    assert client.get("/dev/mailbox/../secret_key").status_code == 404
    assert client.get("/dev/mailbox/20270101T000000000000-00000000.eml").status_code == 404
    assert client.get(link[1] + "/attachments/7").status_code == 404


def test_an_empty_dev_mailbox_says_how_to_fill_it(client: FlaskClient) -> None:
    html = client.get("/dev/mailbox").get_data(as_text=True)
    assert "No messages yet" in html


def test_there_is_no_dev_mailbox_in_production(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_KEY", "a-real-secret-from-the-environment")
    monkeypatch.setenv("PUBLIC_URL", "https://book.example.com")
    app = create_app({**base_config(database), "ENV_NAME": "production", "TESTING": False})
    client = app.test_client()
    assert client.get("/dev/mailbox", headers={"Host": "book.example.com"}).status_code == 404
    with app.app_context():
        db.engine.dispose()


def test_production_workers_refuse_to_run_without_a_mail_server(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_KEY", "a-real-secret-from-the-environment")
    monkeypatch.setenv("PUBLIC_URL", "https://book.example.com")
    app = create_app({**base_config(database), "ENV_NAME": "production", "TESTING": False})
    for command in (["outbox", "deliver"], ["outbox", "worker"]):
        result = app.test_cli_runner().invoke(args=command)
        assert result.exit_code != 0
        assert "MAIL_SERVER is not set" in result.output
    with app.app_context():
        db.engine.dispose()


def test_links_come_from_public_url_never_from_the_host_header(
    app: Flask, client: FlaskClient
) -> None:
    app.config["PUBLIC_URL"] = "https://book.example.com"
    token_page = client.get("/register", base_url="http://evil.example")
    assert token_page.status_code == 200
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', token_page.get_data(as_text=True))
    assert token is not None
    data = {**REGISTRATION, "csrf_token": token[1]}
    response = client.post("/register", data=data, base_url="http://evil.example")
    assert response.status_code == 302
    (confirmation,) = outbox(app)
    assert "https://book.example.com/confirm-email/" in confirmation.body_text
    assert "evil.example" not in confirmation.body_text + confirmation.body_html


def test_a_message_s_manage_link_opens_its_booking(app: Flask) -> None:
    catalog = build_catalog(app)
    start = datetime(2027, 3, 3, 10, 0, tzinfo=ZoneInfo("Europe/London")).astimezone(UTC)
    with app.app_context(), unit_of_work():
        customer = create_customer(
            CustomerInput(first_name="Zoë", last_name="Brown", email="zoe@example.com"),
            source="web_form",
            settings=RuleSettings(),
        )
        booking = reserve_booking(
            customer, catalog.haircut, catalog.london, catalog.alice, start, now=NOW
        )
        booking_id = booking.id
    confirmation = next(m for m in outbox(app) if m.kind == "booking_confirmation")
    match = re.search(r"http://127\.0\.0\.1:5000/bookings/(\S+)", confirmation.body_text)
    assert match is not None
    with app.app_context():
        assert booking_id_from_token(match[1], NOW) == booking_id
