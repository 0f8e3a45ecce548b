"""``POST /api/v1/bookings`` (SPEC section 10), on SQLite and PostgreSQL.

A booking with its customer, new or returning, through the service behind /book: the 201
shape, one validation pass (the customer's fields as ``customer.<field>``, ``start`` when it
is not an offered time), 409 ``slot_taken``, a returning customer left unchanged with the
confirm-changes link mailed, fair use as a 422 naming ``start`` (and the address's owner told
when a publishable key asked), publishable keys, the permission, Idempotency-Key, and the
outbox and webhook rows committed with the booking or not at all. Last, the acceptance race:
100 concurrent bookings of 10 free times through real gunicorn workers make exactly 10.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from latepoint_forms import create_app
from latepoint_forms.api.keys import create_api_key
from latepoint_forms.customers.input import RuleSettings, parse_customer_input
from latepoint_forms.customers.service import create_customer
from latepoint_forms.extensions import db
from latepoint_forms.models import (
    Agent,
    AgentOffer,
    Booking,
    Customer,
    CustomFieldDefinition,
    IdempotencyRecord,
    Location,
    OutboxMessage,
    Service,
    WebhookDelivery,
)
from latepoint_forms.unit_of_work import unit_of_work
from latepoint_forms.webhooks.service import WebhookSettings, add_endpoint

from .catalog_fixtures import NOW, Catalog, build_catalog
from .conftest import ApiClient, base_config, database_for_servers
from .servers import Reply, gunicorn, http
from .test_api import assert_error
from .test_openapi import conforms

SHOP = "https://shop.example.com"
BOOKER = ("bookings:create",)
WEDNESDAY = "2027-03-03"  # two days after the catalog's NOW (a Monday night in London)
START = f"{WEDNESDAY}T10:15"
LATER = f"{WEDNESDAY}T14:15"
GRACE = {"first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com"}
CHANGES_LINK = re.compile(r"/account/changes/[A-Za-z0-9_\-]+")


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {
        "CLOCK": lambda: NOW,
        "WEBHOOKS_ALLOW_PRIVATE": True,
        "RATE_LIMIT_LIVE": "1000/minute",
        "RATE_LIMIT_PUBLISHABLE": "1000/minute",
    }


@pytest.fixture
def catalog(app: Flask) -> Catalog:
    return build_catalog(app)


@pytest.fixture
def booker(client: FlaskClient, make_api_key: Callable[..., str]) -> ApiClient:
    return ApiClient(client, make_api_key(BOOKER))


def body(catalog: Catalog, start: str = START, **overrides: Any) -> dict[str, Any]:
    return {
        "service_id": catalog.haircut,
        "location_id": catalog.london,
        "agent_id": catalog.alice,
        "start": start,
        "customer": dict(GRACE),
        **overrides,
    }


def count(app: Flask, model: Any, *conditions: Any) -> int:
    with app.app_context():
        query = select(func.count()).select_from(model).where(*conditions)
        return int(db.session.execute(query).scalar_one())


def rows(app: Flask, model: Any, *conditions: Any) -> list[Any]:
    with app.app_context():
        found = list(db.session.execute(select(model).where(*conditions)).scalars())
        db.session.expunge_all()
        return found


def messages(app: Flask, kind: str) -> list[OutboxMessage]:
    return rows(app, OutboxMessage, OutboxMessage.kind == kind)


def add_webhook(app: Flask) -> None:
    with app.app_context(), unit_of_work():
        settings = WebhookSettings.from_config(app.config)
        add_endpoint("http://127.0.0.1:9/hooks", ["customer.created", "booking.created"], settings)


def stored_customer(app: Flask, **fields: Any) -> int:
    raw = {**GRACE, "phone": "+44 20 7946 0958", **fields}
    with app.app_context(), unit_of_work():
        settings = RuleSettings.from_config(app.config)
        data = parse_customer_input(raw, settings)
        return create_customer(data, source="web_form", settings=settings).id


def book_directly(app: Flask, customer_id: int, catalog: Catalog, start: str, agent: int) -> None:
    """A booking made through the API by a trusted integration (a secret key)."""
    client = ApiClient(app.test_client(), None)
    with app.app_context(), unit_of_work():
        _, client.key = create_api_key(f"direct {start}", list(BOOKER))
    with app.app_context():
        email = db.session.get(Customer, customer_id).email  # type: ignore[union-attr]
    response = client.post(
        "/bookings", body(catalog, start, agent_id=agent, customer={**GRACE, "email": email})
    )
    assert response.status_code == 201, response.get_json()


# --- made ------------------------------------------------------------------------------------


def test_a_booking_with_a_new_customer(app: Flask, catalog: Catalog, booker: ApiClient) -> None:
    add_webhook(app)
    response = booker.post("/bookings", body(catalog, agent_id=None))

    assert response.status_code == 201, response.get_json()
    envelope = response.get_json()
    assert envelope["status"] == "success"
    assert envelope["message"]
    data = envelope["data"]
    booking, customer = data["booking"], data["customer"]
    assert re.fullmatch(r"BK-[2-9A-Z]{4}-[2-9A-Z]{4}", booking["code"])
    assert booking["status"] == "confirmed"
    # Local time at the location with its offset (London is on GMT in early March).
    assert booking["start"] == "2027-03-03T10:15:00+00:00"
    assert booking["end"] == "2027-03-03T10:45:00+00:00"
    assert booking["timezone"] == "Europe/London"
    assert booking["service"] == {"id": catalog.haircut, "key": "haircut", "name": "Haircut"}
    assert booking["location"]["id"] == catalog.london
    assert booking["agent"]["id"] in (catalog.alice, catalog.bob)  # any free agent
    assert set(customer) == {"id", "customer_code"}
    [created] = rows(app, Customer)
    assert (created.id, created.customer_code) == (customer["id"], customer["customer_code"])
    assert (created.email, created.source, created.is_guest) == (GRACE["email"], "api", True)
    [stored] = rows(app, Booking)
    assert (stored.booking_code, stored.customer_id) == (booking["code"], created.id)
    [confirmation] = messages(app, "booking_confirmation")
    assert confirmation.booking_id == stored.id
    assert confirmation.recipient == GRACE["email"]
    assert booking["code"] in confirmation.body_text
    events = Counter(d.event_type for d in rows(app, WebhookDelivery))
    assert events == {"customer.created": 1, "booking.created": 1}
    document = booker.client.get("/api/v1/openapi.json").get_json()
    conforms(document, "/bookings", "post", response)


def test_the_wordpress_path_books_too(app: Flask, catalog: Catalog, booker: ApiClient) -> None:
    alias = ApiClient(booker.client, booker.key, prefix="/wp-json/latepoint-api/v1")
    assert alias.post("/bookings", body(catalog)).status_code == 201


def test_a_national_phone_is_read_in_the_locations_country(
    app: Flask, catalog: Catalog, booker: ApiClient
) -> None:
    customer = {**GRACE, "phone": "07911 123456"}  # as people in London write it
    response = booker.post("/bookings", body(catalog, customer=customer))

    assert response.status_code == 201, response.get_json()
    [created] = rows(app, Customer)
    assert created.phone == "+447911123456"


def test_a_secret_key_may_keep_the_customer_from_being_a_guest(
    app: Flask, catalog: Catalog, booker: ApiClient
) -> None:
    response = booker.post("/bookings", body(catalog, customer={**GRACE, "is_guest": False}))

    assert response.status_code == 201, response.get_json()
    assert [c.is_guest for c in rows(app, Customer)] == [False]


# --- returning customers ---------------------------------------------------------------------


def test_a_returning_customer_is_booked_unchanged_and_mailed_the_changes_link(
    app: Flask, catalog: Catalog, booker: ApiClient
) -> None:
    known = stored_customer(app, first_name="Gracie")
    add_webhook(app)
    typed = {**GRACE, "email": "Grace@Example.com", "phone": "+44 20 7946 0000"}

    response = booker.post("/bookings", body(catalog, customer=typed))

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["data"]["customer"]["id"] == known
    [customer] = rows(app, Customer)
    assert (customer.first_name, customer.phone) == ("Gracie", "+442079460958")  # unchanged
    assert [b.customer_id for b in rows(app, Booking)] == [known]
    [confirmation] = messages(app, "booking_confirmation")
    assert confirmation.recipient == "grace@example.com"
    assert "Confirm your changes" in confirmation.body_text
    assert "First name: Grace" in confirmation.body_text
    assert CHANGES_LINK.search(confirmation.body_text)
    # No customer was created, so no customer.created event; the booking's event went out.
    assert [d.event_type for d in rows(app, WebhookDelivery)] == ["booking.created"]


def test_a_returning_customer_typing_the_same_details_gets_no_changes_link(
    app: Flask, catalog: Catalog, booker: ApiClient
) -> None:
    stored_customer(app)
    typed = {**GRACE, "phone": "020 7946 0958"}  # the stored number, written nationally

    response = booker.post("/bookings", body(catalog, customer=typed))

    assert response.status_code == 201, response.get_json()
    [confirmation] = messages(app, "booking_confirmation")
    assert not CHANGES_LINK.search(confirmation.body_text)


# --- refused ---------------------------------------------------------------------------------


def test_a_time_booked_already_is_409_slot_taken_and_keeps_nothing(
    app: Flask, catalog: Catalog, booker: ApiClient
) -> None:
    add_webhook(app)
    assert booker.post("/bookings", body(catalog)).status_code == 201
    before = (count(app, OutboxMessage), count(app, WebhookDelivery))
    other = {**GRACE, "email": "ada@example.com", "first_name": "Ada"}

    taken = booker.post("/bookings", body(catalog, customer=other))

    assert_error(taken, 409, "slot_taken")
    assert count(app, Customer) == 1  # the second customer went with the refused booking
    assert count(app, Booking) == 1
    assert (count(app, OutboxMessage), count(app, WebhookDelivery)) == before
    # Any agent: Bob is free at that time; once he is booked too, the time is gone.
    assert booker.post("/bookings", body(catalog, agent_id=None, customer=other)).status_code == 201
    third = {**GRACE, "email": "kay@example.com", "first_name": "Kay"}
    assert_error(
        booker.post("/bookings", body(catalog, agent_id=None, customer=third)), 409, "slot_taken"
    )


@pytest.mark.parametrize(
    ("start", "message"),
    [
        ("2027-03-01T10:00", "This time is in the past"),
        ("2027-03-03T10:10", "starts every 15 minutes"),
        ("2027-03-07T10:00", "not open"),  # a Sunday: London is closed
        ("2027-03-03T16:45", "not open for the whole 30 minutes"),  # ends after closing
        ("2029-03-03T10:15", "Choose a date from today to"),  # past the booking horizon
        ("2027-03-28T01:30", "does not exist there"),  # London springs forward at 01:00
        ("2027-03-03 10:15", "YYYY-MM-DDTHH:MM"),
        ("2027-02-30T10:00", "not a real date"),
        ("tomorrow", "YYYY-MM-DDTHH:MM"),
        (1_000, "Must be a string"),
        (None, "required"),
    ],
)
def test_a_start_that_is_not_an_offered_time_is_422_naming_start(
    app: Flask, catalog: Catalog, booker: ApiClient, start: Any, message: str
) -> None:
    response = booker.post("/bookings", body(catalog, start))

    error = assert_error(response, 422, "validation_failed")
    assert set(error["details"]) == {"start"}
    assert message in error["details"]["start"]
    assert count(app, Customer) == 0


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"service_id": 999_999}, "service_id", "There is no service"),
        ({"service_id": "1"}, "service_id", "Must be an integer"),
        ({"location_id": 0}, "location_id", "positive integer"),
        ({"agent_id": True}, "agent_id", "Must be an integer"),
    ],
)
def test_unknown_or_malformed_references_are_422(
    app: Flask,
    catalog: Catalog,
    booker: ApiClient,
    overrides: dict[str, Any],
    field: str,
    message: str,
) -> None:
    error = assert_error(
        booker.post("/bookings", body(catalog, **overrides)), 422, "validation_failed"
    )
    assert field in error["details"]
    assert message in error["details"][field]


def test_inactive_and_mismatched_references_are_422(
    app: Flask, catalog: Catalog, booker: ApiClient
) -> None:
    retired = booker.post("/bookings", body(catalog, service_id=catalog.retired_service))
    closed = booker.post("/bookings", body(catalog, location_id=catalog.closed_location))
    elsewhere = booker.post("/bookings", body(catalog, agent_id=catalog.dave))  # New York only
    gone = booker.post("/bookings", body(catalog, agent_id=catalog.carol))  # inactive

    assert assert_error(retired, 422, "validation_failed")["details"] == {
        "service_id": "This service is not available"
    }
    assert "location_id" in assert_error(closed, 422, "validation_failed")["details"]
    assert "agent_id" in assert_error(elsewhere, 422, "validation_failed")["details"]
    assert "agent_id" in assert_error(gone, 422, "validation_failed")["details"]


def test_a_wrong_agent_does_not_make_a_national_phone_wrong(
    app: Flask, catalog: Catalog, booker: ApiClient
) -> None:
    customer = {**GRACE, "phone": "07911 123456"}  # national, read in London's country
    response = booker.post("/bookings", body(catalog, agent_id=catalog.dave, customer=customer))

    assert set(assert_error(response, 422, "validation_failed")["details"]) == {"agent_id"}


def test_the_booking_s_own_fields_carry_codes(
    app: Flask, catalog: Catalog, booker: ApiClient
) -> None:
    sent = {**body(catalog), "service_id": "1", "location_id": 0, "start": 5, "customer": []}
    del sent["agent_id"]
    error = assert_error(booker.post("/bookings", sent), 422, "validation_failed")

    assert {item["field"]: item["code"] for item in error["errors"]} == {
        "service_id": "not_an_integer",
        "location_id": "not_positive",
        "start": "not_a_string",
        "customer": "not_an_object",
    }


def test_a_retry_after_slot_taken_is_answered_the_same(
    app: Flask, catalog: Catalog, booker: ApiClient
) -> None:
    other = stored_customer(app, email="other@example.com")
    book_directly(app, other, catalog, START, catalog.alice)
    sent = body(catalog, agent_id=catalog.alice)
    headers = {"Idempotency-Key": "retry-1"}

    first = booker.post("/bookings", sent, headers=headers)
    with app.app_context(), unit_of_work():
        for booking in db.session.execute(select(Booking)).scalars():
            booking.status = "cancelled"  # the time is free again
    again = booker.post("/bookings", sent, headers=headers)

    assert_error(first, 409, "slot_taken")
    assert again.status_code == 409
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count(app, Booking) == 1


def test_every_failing_part_is_reported_at_once(
    app: Flask, catalog: Catalog, booker: ApiClient
) -> None:
    customer = {
        "first_name": "J0hn",
        "last_name": "",
        "email": "not an email",
        "phone": "12",
        "gender": "robot",
        "zip": "SW1A 1AA",
    }
    sent = {**body(catalog, "2027-03-03T10:10", customer=customer), "notes": "hi"}

    error = assert_error(booker.post("/bookings", sent), 422, "validation_failed")

    assert set(error["details"]) == {
        "customer.first_name",
        "customer.last_name",
        "customer.email",
        "customer.phone",
        "customer.gender",
        "customer.zip",
        "notes",
        "start",
    }
    assert error["details"]["customer.zip"] == "Unknown field"
    assert error["details"]["notes"] == "Unknown field"
    assert "Last name is required" in error["details"]["customer.last_name"]
    assert list(error["details"]) == sorted(error["details"])
    assert count(app, Customer) == 0


def test_the_customer_needs_an_email_and_its_custom_fields(
    app: Flask, catalog: Catalog, booker: ApiClient
) -> None:
    with app.app_context():
        db.session.add(
            CustomFieldDefinition(
                key="referral", label="How did you hear of us", type="text", required=True
            )
        )
        db.session.commit()
    no_email = {k: v for k, v in GRACE.items() if k != "email"}

    missing = booker.post("/bookings", body(catalog, customer=no_email))
    without_field = booker.post("/bookings", body(catalog))
    not_an_object = booker.post("/bookings", body(catalog, customer=["Grace"]))

    assert assert_error(missing, 422, "validation_failed")["details"] == {
        "customer.email": "Email is required"
    }
    details = assert_error(without_field, 422, "validation_failed")["details"]
    assert set(details) == {"customer.custom_fields.referral"}
    assert assert_error(not_an_object, 422, "validation_failed")["details"] == {
        "customer": "Must be an object"
    }
    with_field = {**GRACE, "custom_fields": {"referral": "A friend"}}
    assert booker.post("/bookings", body(catalog, customer=with_field)).status_code == 201


# --- fair use --------------------------------------------------------------------------------


def test_an_overlapping_booking_of_a_returning_customer_is_422_naming_start(
    app: Flask, catalog: Catalog, booker: ApiClient
) -> None:
    known = stored_customer(app)
    book_directly(app, known, catalog, START, catalog.alice)

    refused = booker.post("/bookings", body(catalog, agent_id=catalog.bob))

    error = assert_error(refused, 422, "validation_failed")
    assert error["details"] == {"start": "You already have a booking at this time"}
    assert count(app, Booking) == 1
    # A secret key's caller is told; nobody else is mailed.
    assert messages(app, "booking_not_made") == []


def test_a_full_day_is_422_naming_start(app: Flask, catalog: Catalog, booker: ApiClient) -> None:
    app.config["MAX_BOOKINGS_PER_DAY"] = 1
    known = stored_customer(app)
    book_directly(app, known, catalog, f"{WEDNESDAY}T09:00", catalog.alice)

    refused = booker.post("/bookings", body(catalog))

    error = assert_error(refused, 422, "validation_failed")
    assert error["details"] == {"start": "You can book at most 1 visit on one day"}
    assert count(app, Booking) == 1


# --- publishable keys ------------------------------------------------------------------------


def publishable_key(app: Flask) -> str:
    with app.app_context(), unit_of_work():
        _, plaintext = create_api_key("widget", [], allowed_origins=[SHOP], publishable=True)
    return plaintext


def from_page(client: FlaskClient, key: str, sent: Any, origin: str | None = SHOP) -> Any:
    headers = {"X-API-Key": key, **({"Origin": origin} if origin else {})}
    return client.post("/api/v1/bookings", json=sent, headers=headers)


def test_a_publishable_key_books_from_its_origin(
    app: Flask, client: FlaskClient, catalog: Catalog
) -> None:
    response = from_page(client, publishable_key(app), body(catalog))

    assert response.status_code == 201, response.get_json()
    assert response.headers["Access-Control-Allow-Origin"] == SHOP
    assert count(app, Booking) == 1
    # The booking only: the customer's id and code would say whether the address was known.
    assert set(response.get_json()["data"]) == {"booking"}


def test_to_a_publishable_key_a_known_and_a_new_address_read_alike(
    app: Flask, client: FlaskClient, catalog: Catalog
) -> None:
    stored_customer(app)
    key = publishable_key(app)
    known = from_page(client, key, body(catalog)).get_json()["data"]
    new = from_page(
        client, key, body(catalog, start=LATER, customer={**GRACE, "email": "new@example.com"})
    ).get_json()["data"]

    assert set(known) == set(new) == {"booking"}
    assert set(known["booking"]) == set(new["booking"])


@pytest.mark.parametrize(
    ("field", "value"),
    [("status", "active"), ("is_guest", False), ("wordpress_user_id", 7)],
)
def test_a_publishable_key_cannot_set_what_the_business_decides(
    app: Flask, client: FlaskClient, catalog: Catalog, field: str, value: Any
) -> None:
    sent = body(catalog, customer={**GRACE, field: value})

    error = assert_error(
        from_page(client, publishable_key(app), sent), 403, "insufficient_permissions"
    )

    assert f"customer.{field}" in error["message"]
    assert count(app, Customer) == 0


@pytest.mark.parametrize("origin", [None, "https://elsewhere.example"])
def test_a_publishable_key_from_no_or_another_origin_is_refused(
    app: Flask, client: FlaskClient, catalog: Catalog, origin: str | None
) -> None:
    response = from_page(client, publishable_key(app), body(catalog), origin=origin)

    assert_error(response, 403, "origin_not_allowed")
    assert count(app, Booking) == 0


def test_a_fair_use_refusal_for_a_publishable_key_also_tells_the_owner(
    app: Flask, client: FlaskClient, catalog: Catalog
) -> None:
    known = stored_customer(app)
    book_directly(app, known, catalog, START, catalog.alice)
    key = publishable_key(app)
    sent = body(catalog, agent_id=catalog.bob)  # someone at a page, typing Grace's address

    refused = client.post(
        "/api/v1/bookings",
        json=sent,
        headers={"X-API-Key": key, "Origin": SHOP, "Idempotency-Key": "page-1"},
    )
    replayed = client.post(
        "/api/v1/bookings",
        json=sent,
        headers={"X-API-Key": key, "Origin": SHOP, "Idempotency-Key": "page-1"},
    )

    # The page's visitor learns only that the time cannot be had, as when it is taken: not
    # that the address is on file, nor that its owner has a booking then.
    error = assert_error(refused, 409, "slot_taken")
    assert "details" not in error
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.get_json() == refused.get_json()
    [not_made] = messages(app, "booking_not_made")  # committed, although the answer refused
    assert not_made.recipient == GRACE["email"]
    assert "you already have a booking at that time" in not_made.body_text
    assert count(app, Booking) == 1
    assert count(app, Customer) == 1


# --- keys, idempotency -----------------------------------------------------------------------


def test_a_secret_key_without_the_permission_is_403(
    app: Flask, client: FlaskClient, catalog: Catalog, make_api_key: Callable[..., str]
) -> None:
    api = ApiClient(client, make_api_key(("customers:create", "customers:read")))

    error = assert_error(api.post("/bookings", body(catalog)), 403, "insufficient_permissions")

    assert "bookings:create" in error["message"]
    assert count(app, Customer) == 0


def test_the_cli_gives_the_permission_when_asked(app: Flask) -> None:
    made = app.test_cli_runner().invoke(
        args=["api-keys", "create", "--name", "booker", "--permissions", "bookings:create"]
    )

    assert made.exit_code == 0, made.output
    assert "bookings:create" in made.output


def test_an_idempotent_replay_creates_nothing(
    app: Flask, catalog: Catalog, booker: ApiClient
) -> None:
    add_webhook(app)
    headers = {"Idempotency-Key": "booking-42"}
    first = booker.post("/bookings", body(catalog), headers)
    again = booker.post("/bookings", body(catalog), headers)
    other = booker.post("/bookings", body(catalog, f"{WEDNESDAY}T11:00"), headers)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert_error(other, 422, "idempotency_key_reused")
    assert (count(app, Customer), count(app, Booking)) == (1, 1)
    assert len(messages(app, "booking_confirmation")) == 1
    assert count(app, WebhookDelivery) == 2
    assert count(app, IdempotencyRecord) == 1


def test_a_failed_request_commits_no_message_and_no_event(
    app: Flask, catalog: Catalog, booker: ApiClient
) -> None:
    add_webhook(app)
    invalid = booker.post("/bookings", body(catalog, "2027-03-03T10:10"))
    assert_error(invalid, 422, "validation_failed")
    assert booker.post("/bookings", body(catalog)).status_code == 201
    made = (count(app, OutboxMessage), count(app, WebhookDelivery))
    assert made[1] == 2  # customer.created and booking.created, with the booking
    assert made[0] >= 1

    taken = booker.post("/bookings", body(catalog, customer={**GRACE, "email": "x@example.com"}))

    assert_error(taken, 409, "slot_taken")
    assert (count(app, OutboxMessage), count(app, WebhookDelivery)) == made
    assert count(app, Customer) == 1


@pytest.mark.parametrize("app_config", [{"CLOCK": lambda: NOW, "RATE_LIMIT_LIVE": "2/minute"}])
def test_bookings_spend_the_keys_rate_limit_budget(
    app: Flask, catalog: Catalog, booker: ApiClient
) -> None:
    first = booker.post("/bookings", body(catalog))
    second = booker.post("/bookings", body(catalog, f"{WEDNESDAY}T11:00"))
    third = booker.post("/bookings", body(catalog, f"{WEDNESDAY}T12:00"))

    assert (first.status_code, second.status_code) == (201, 201)
    assert_error(third, 429, "rate_limit_exceeded")
    assert third.headers["Retry-After"]
    assert count(app, Booking) == 2


# --- the race: real gunicorn workers ---------------------------------------------------------

RACERS = 100
FREE_TIMES = 10
POOL = 24
LONDON = ZoneInfo("Europe/London")


@pytest.fixture(params=["sqlite", "postgresql"])
def served_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    yield from database_for_servers(request, tmp_path_factory, "bookings_race")


def one_agent_catalog(url: str) -> tuple[int, int, int, str]:
    """One service at one location open round the clock, one agent: a time books once.
    Returns the ids, and a key that may book."""
    app = create_app(base_config(url))
    with app.app_context():
        service = Service(key="cut", name="Haircut", duration_minutes=30, slot_interval_minutes=30)
        location = Location(
            key="harbour",
            name="Harbour Street",
            timezone="Europe/London",
            country="GB",
            opening_hours={
                d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
            },
        )
        agent = Agent(key="amy", name="Amy Pond")
        db.session.add_all([service, location, agent])
        db.session.flush()
        db.session.add(
            AgentOffer(agent_id=agent.id, service_id=service.id, location_id=location.id)
        )
        _, key = create_api_key("race", list(BOOKER))
        db.session.commit()
        ids = (service.id, location.id, agent.id)
        db.session.remove()
        db.engine.dispose()
    return (*ids, key)


def tally(url: str) -> tuple[int, int, list[datetime]]:
    app = create_app(base_config(url))
    with app.app_context():
        customers = db.session.execute(select(func.count()).select_from(Customer)).scalar_one()
        starts = list(
            db.session.execute(select(Booking.start_at).order_by(Booking.start_at)).scalars()
        )
        messages_made = db.session.execute(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == "booking_confirmation")
        ).scalar_one()
        db.session.remove()
        db.engine.dispose()
    return int(customers), int(messages_made), starts


@pytest.mark.slow
def test_a_hundred_concurrent_bookings_of_ten_free_times_make_exactly_ten(
    served_database: str,
) -> None:
    service, location, agent, key = one_agent_catalog(served_database)
    day: date = datetime.now(LONDON).date() + timedelta(days=3)
    times = [
        datetime.combine(day, time(9 + n)).strftime("%Y-%m-%dT%H:%M") for n in range(FREE_TIMES)
    ]
    env = {"DATABASE_URL": served_database, "RATELIMIT_ENABLED": "0"}
    with gunicorn(env, workers=4) as server:
        ready = threading.Event()

        def send(index: int) -> Reply:
            ready.wait(timeout=60)
            sent = {
                "service_id": service,
                "location_id": location,
                # Half name the agent, half take any free one: the same single agent.
                "agent_id": agent if index % 2 else None,
                "start": times[index % FREE_TIMES],
                "customer": {
                    "first_name": "Racer",
                    "last_name": "Number",
                    "email": f"racer{index}@example.com",
                },
            }
            return http(
                "POST", server.url + "/api/v1/bookings", sent, {"X-API-Key": key}, timeout=120
            )

        with ThreadPoolExecutor(max_workers=POOL) as pool:
            futures = [pool.submit(send, index) for index in range(RACERS)]
            ready.set()
            replies = [future.result() for future in futures]

    statuses = Counter(reply.status for reply in replies)
    assert statuses == {201: FREE_TIMES, 409: RACERS - FREE_TIMES}, [
        (r.status, r.body) for r in replies if r.status not in (201, 409)
    ]
    assert all(r.body["error"]["code"] == "slot_taken" for r in replies if r.status == 409)
    customers, confirmations, starts = tally(served_database)
    assert customers == FREE_TIMES  # a refused booking keeps no customer
    assert confirmations == FREE_TIMES
    local_starts = [s.astimezone(LONDON).strftime("%Y-%m-%dT%H:%M") for s in starts]
    assert local_starts == times  # each free time booked exactly once


def test_a_taken_wordpress_user_is_named_as_the_body_names_it(
    app: Flask, catalog: Catalog, booker: ApiClient
) -> None:
    stored_customer(app, email="linked@example.com", wordpress_user_id=7)
    customer = {**GRACE, "wordpress_user_id": 7}

    error = assert_error(
        booker.post("/bookings", body(catalog, customer=customer)), 422, "validation_failed"
    )

    assert set(error["details"]) == {"customer.wordpress_user_id"}
    assert count(app, Booking) == 0
