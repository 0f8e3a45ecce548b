"""``POST /customers/bulk``: per-item results, shape errors, idempotent retries; both databases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from latepoint_forms.customers import bulk as bulk_module
from latepoint_forms.extensions import db
from latepoint_forms.models import Customer, IdempotencyRecord

from .catalog_fixtures import add_custom_fields, build_catalog
from .conftest import ApiClient
from .test_api import BASIC, assert_error, customer_count
from .test_openapi import conforms


@pytest.fixture
def app_config() -> dict[str, Any]:
    # A bulk spends one unit per item (test_edge.py); these tests are about batches, not
    # budgets, so the budget outlasts them.
    return {"RATE_LIMIT_LIVE": "100000/minute;1000000/hour"}


def stored_emails(app: Flask) -> list[str | None]:
    with app.app_context():
        return list(db.session.execute(select(Customer.email).order_by(Customer.id)).scalars())


def test_mixed_batch_reports_each_item_in_order(api: ApiClient) -> None:
    items = [
        {"first_name": "Ann", "last_name": "Lee", "email": "Ann@Example.com"},
        {"first_name": "J0hn", "last_name": "", "email": "not-an-email"},
        {"first_name": "Annie", "last_name": "Lee", "email": "ann@example.com"},
        {"first_name": "Walk", "last_name": "In", "is_guest": True},
    ]

    response = api.post("/customers/bulk", {"customers": items})

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "success"
    assert body["message"] == "2 created, 2 failed"
    data = body["data"]
    assert (data["created"], data["failed"]) == (2, 2)
    results = data["results"]
    assert [r["index"] for r in results] == [0, 1, 2, 3]
    assert [r["status"] for r in results] == ["created", "error", "error", "created"]
    assert results[0]["customer"]["email"] == "ann@example.com"
    assert results[0]["customer"]["source"] == "api"
    assert results[1]["error"]["code"] == "validation_failed"
    assert set(results[1]["error"]["details"]) == {"first_name", "last_name", "email"}
    # Within one batch the first item with an email wins; the later one gets email_exists.
    assert results[2]["error"] == {
        "code": "email_exists",
        "message": "A customer with this email address already exists",
        "details": {"email": "This email address is already registered"},
    }
    assert results[3]["customer"]["email"] is None
    assert stored_emails(api.app) == ["ann@example.com", None]
    read = api.get(f"/customers/{results[0]['customer']['id']}").get_json()["data"]
    assert read == results[0]["customer"]


def test_an_email_already_registered_fails_only_its_item(api: ApiClient) -> None:
    assert api.post("/customers", BASIC).status_code == 201

    body = api.post(
        "/customers/bulk", {"customers": [BASIC, {**BASIC, "email": "other@example.com"}]}
    ).get_json()

    assert [r["status"] for r in body["data"]["results"]] == ["error", "created"]
    assert body["data"]["results"][0]["error"]["code"] == "email_exists"
    assert customer_count(api.app) == 2


def test_business_rules_apply_per_item(api: ApiClient) -> None:
    add_custom_fields(api.app)
    items = [
        {**BASIC, "custom_fields": {"membership_level": "platinum"}},
        {"first_name": "Ann", "last_name": "Lee", "custom_fields": {"membership_level": "gold"}},
    ]

    results = api.post("/customers/bulk", {"customers": items}).get_json()["data"]["results"]

    assert results[0]["error"]["details"] == {
        "custom_fields.membership_level": "Must be one of: basic, gold"
    }
    assert results[1]["customer"]["custom_fields"] == {"membership_level": "gold"}


def test_a_full_batch_of_100(api: ApiClient) -> None:
    items = [
        {"first_name": "Ann", "last_name": "Lee", "email": f"a{i}@example.com"} for i in range(100)
    ]

    body = api.post("/customers/bulk", {"customers": items}).get_json()

    assert body["message"] == "100 created, 0 failed"
    assert customer_count(api.app) == 100


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({}, {"customers": "This field is required"}),
        ({"customers": BASIC}, {"customers": "Must be an array of customer objects"}),
        ({"customers": None}, {"customers": "Must be an array of customer objects"}),
        ({"customers": []}, {"customers": "Give at least one customer"}),
        ({"customers": [BASIC] * 101}, {"customers": "At most 100 customers per request"}),
        ({"customers": [BASIC], "dry_run": True}, {"dry_run": "Unknown field"}),
    ],
)
def test_a_body_of_the_wrong_shape_creates_nothing(
    api: ApiClient, body: dict[str, Any], details: dict[str, str]
) -> None:
    error = assert_error(api.post("/customers/bulk", body), 422, "validation_failed")

    assert error["details"] == details
    assert customer_count(api.app) == 0


def test_a_body_that_is_not_an_object(api: ApiClient) -> None:
    assert_error(api.post("/customers/bulk", [BASIC]), 400, "invalid_json")


WRONG_TYPES = [
    None,
    5,
    "Ann Lee",
    True,
    [BASIC],
    {"first_name": 5, "last_name": ["Lee"], "email": {"a": 1}},
    {"first_name": "Ann", "last_name": "Lee", "is_guest": "yes", "wordpress_user_id": "12"},
    {"first_name": "Ann", "last_name": "Lee", "wordpress_user_id": 1.5},
    {"first_name": "Ann", "last_name": "Lee", "wordpress_user_id": 2**70},
    {"first_name": "Ann", "last_name": "Lee", "custom_fields": ["gold"]},
    {"first_name": "Ann", "last_name": "Lee", "custom_fields": {"membership_level": ["gold"]}},
    {"first_name": "Ann", "last_name": "Lee", "custom_fields": {"visits": {"n": 1}}},
    {"first_name": "Ann", "last_name": "Lee", "custom_fields": {"newsletter": "maybe"}},
    {"first_name": "Ann", "last_name": "Lee", "custom_fields": {"anniversary": 20200101}},
    {"first_name": "Ann", "last_name": "Lee", "preferences": "mornings"},
    {"first_name": "Ann", "last_name": "Lee", "preferences": {"service_id": "1"}},
    {"first_name": "Ann", "last_name": "Lee", "preferences": {"service_id": 1, "location_id": []}},
    {
        "first_name": "Ann",
        "last_name": "Lee",
        "preferences": {"service_id": 1, "location_id": 1, "time_slots": "09:00"},
    },
    {
        "first_name": "Ann",
        "last_name": "Lee",
        "preferences": {"service_id": 1, "location_id": 1, "time_slots": [9, None, {}]},
    },
    {"first_name": "Ann\x00", "last_name": "Lee", "notes": "\x07"},
]


def test_wrong_types_at_every_level_are_item_errors_not_500(api: ApiClient) -> None:
    build_catalog(api.app)
    add_custom_fields(api.app)
    good = {"first_name": "Valid", "last_name": "Person"}

    response = api.post("/customers/bulk", {"customers": [*WRONG_TYPES, good]})

    assert response.status_code == 200, response.get_data(as_text=True)
    results = response.get_json()["data"]["results"]
    assert [r["status"] for r in results] == ["error"] * len(WRONG_TYPES) + ["created"]
    for result in results[:-1]:
        assert result["error"]["code"] == "validation_failed"
        assert result["error"]["details"], result
    assert results[0]["error"]["details"] == {
        "customer": "Must be an object with the customer's fields"
    }
    assert customer_count(api.app) == 1


def test_permission_and_key_are_required(api: ApiClient, make_api_key: Any) -> None:
    reader = ApiClient(api.client, make_api_key(permissions=("customers:read",)))

    assert_error(
        reader.post("/customers/bulk", {"customers": [BASIC]}), 403, "insufficient_permissions"
    )
    assert_error(ApiClient(api.client, None).post("/customers/bulk", {}), 401, "unauthorized")
    assert customer_count(api.app) == 0


def test_served_under_the_wordpress_path(api: ApiClient) -> None:
    wp = ApiClient(api.client, api.key, prefix="/wp-json/latepoint-api/v1")

    assert wp.post("/customers/bulk", {"customers": [BASIC]}).get_json()["data"]["created"] == 1


# --- Idempotency-Key ------------------------------------------------------------------------

BATCH = [
    {"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com"},
    {"first_name": "Walk", "last_name": "In"},
    {"first_name": "J0hn", "last_name": "Doe"},
    {"first_name": "Bo", "last_name": "Kim", "email": "bo@example.com"},
    {"first_name": "Walk", "last_name": "In"},
]


def test_a_retry_replays_the_response_and_creates_nothing(api: ApiClient) -> None:
    first = api.post("/customers/bulk", {"customers": BATCH}, {"Idempotency-Key": "bulk-1"})
    again = api.post("/customers/bulk", {"customers": BATCH}, {"Idempotency-Key": "bulk-1"})
    other = api.post("/customers/bulk", {"customers": BATCH[:1]}, {"Idempotency-Key": "bulk-1"})

    assert first.status_code == again.status_code == 200
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.get_json()["message"] == "4 created, 1 failed"
    assert customer_count(api.app) == 4
    assert_error(other, 422, "idempotency_key_reused")


def test_a_shape_error_is_replayed_too(api: ApiClient) -> None:
    first = api.post("/customers/bulk", {"customers": []}, {"Idempotency-Key": "bulk-2"})
    again = api.post("/customers/bulk", {"customers": []}, {"Idempotency-Key": "bulk-2"})

    assert first.status_code == again.status_code == 422
    assert again.headers["Idempotent-Replayed"] == "true"


def test_a_retry_after_a_crash_part_way_creates_each_item_once(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker dies after the fourth item committed (items 0, 1 and 3 created): no
    response was stored, so the retry runs the batch again and must not copy any item."""
    real_create = bulk_module.create_customer
    calls = []

    def create_then_crash(*args: Any, **kwargs: Any) -> Customer:
        if len(calls) == 3:  # three items committed: the worker dies on the next one
            raise RuntimeError("worker killed")
        customer = real_create(*args, **kwargs)
        calls.append(customer.id)
        return customer

    monkeypatch.setattr(bulk_module, "create_customer", create_then_crash)
    crashed = api.post("/customers/bulk", {"customers": BATCH}, {"Idempotency-Key": "bulk-3"})
    monkeypatch.setattr(bulk_module, "create_customer", real_create)
    assert crashed.status_code == 500
    assert customer_count(api.app) == 3

    retry = api.post("/customers/bulk", {"customers": BATCH}, {"Idempotency-Key": "bulk-3"})
    replay = api.post("/customers/bulk", {"customers": BATCH}, {"Idempotency-Key": "bulk-3"})

    body = retry.get_json()
    assert retry.status_code == 200
    assert "Idempotent-Replayed" not in retry.headers
    assert body["message"] == "4 created, 1 failed"
    results = body["data"]["results"]
    assert [r["status"] for r in results] == ["created", "created", "error", "created", "created"]
    # Items created by the crashed attempt come back as that same customer.
    assert [results[i]["customer"]["id"] for i in (0, 1, 3)] == calls
    assert stored_emails(api.app) == ["ann@example.com", None, "bo@example.com", None]
    assert replay.get_json() == body
    assert replay.headers["Idempotent-Replayed"] == "true"


def test_a_retry_while_the_batch_is_in_flight(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The retry arrives while the first request is between its items (sent from inside it):
    the key's claim is in flight, so the retry is told 409 idempotency_conflict and the first
    request finishes alone — on SQLite and PostgreSQL alike."""
    real_create = bulk_module.create_customer
    retries: list[Any] = []

    def create_with_a_retry_in_between(*args: Any, **kwargs: Any) -> Customer:
        if not retries:
            retries.append(None)  # one retry, not one per nested item
            retry_client = ApiClient(api.app.test_client(), api.key)
            retries[0] = retry_client.post(
                "/customers/bulk", {"customers": BATCH}, {"Idempotency-Key": "bulk-6"}
            )
        return real_create(*args, **kwargs)

    monkeypatch.setattr(bulk_module, "create_customer", create_with_a_retry_in_between)
    first = api.post("/customers/bulk", {"customers": BATCH}, {"Idempotency-Key": "bulk-6"})
    monkeypatch.setattr(bulk_module, "create_customer", real_create)
    later = api.post("/customers/bulk", {"customers": BATCH}, {"Idempotency-Key": "bulk-6"})

    assert first.status_code == 200
    assert first.get_json()["message"] == "4 created, 1 failed"
    assert customer_count(api.app) == 4
    assert_error(retries[0], 409, "idempotency_conflict")
    assert "Idempotent-Replayed" not in first.headers
    assert later.headers["Idempotent-Replayed"] == "true"
    assert later.get_json() == first.get_json()


def test_the_same_batch_under_a_new_key_gets_email_exists(api: ApiClient) -> None:
    """Only a retry of the same item under the same Idempotency-Key finds its customer; the
    same body under another key is a new request, and a taken email is that item's error."""
    api.post("/customers/bulk", {"customers": BATCH}, {"Idempotency-Key": "bulk-4"})

    again = api.post("/customers/bulk", {"customers": BATCH}, {"Idempotency-Key": "bulk-5"})

    results = again.get_json()["data"]["results"]
    assert [r["status"] for r in results] == ["error", "created", "error", "error", "created"]
    assert results[0]["error"]["code"] == results[3]["error"]["code"] == "email_exists"
    assert results[0]["error"]["details"] == {"email": "This email address is already registered"}
    assert customer_count(api.app) == 6


def test_a_key_reused_after_it_expired_is_a_new_request(api: ApiClient) -> None:
    """The items' fingerprints expire with the key: after 24 h the same key and body run as
    a new request (as with a new key), not as a report of the old customers as created."""
    first = api.post("/customers/bulk", {"customers": BATCH}, {"Idempotency-Key": "bulk-7"})
    with api.app.app_context():  # a day and an hour later
        for customer in db.session.execute(select(Customer)).scalars():
            customer.created_at -= timedelta(hours=25)
        for record in db.session.execute(select(IdempotencyRecord)).scalars():
            record.expires_at -= timedelta(hours=25)
        db.session.commit()

    again = api.post("/customers/bulk", {"customers": BATCH}, {"Idempotency-Key": "bulk-7"})
    replay = api.post("/customers/bulk", {"customers": BATCH}, {"Idempotency-Key": "bulk-7"})

    assert first.get_json()["message"] == "4 created, 1 failed"
    results = again.get_json()["data"]["results"]
    assert "Idempotent-Replayed" not in again.headers
    assert [r["status"] for r in results] == ["error", "created", "error", "error", "created"]
    assert results[0]["error"]["code"] == results[3]["error"]["code"] == "email_exists"
    old_ids = {r["customer"]["id"] for r in first.get_json()["data"]["results"] if "customer" in r}
    assert {results[1]["customer"]["id"], results[4]["customer"]["id"]}.isdisjoint(old_ids)
    assert customer_count(api.app) == 6
    assert replay.get_json() == again.get_json()
    assert replay.headers["Idempotent-Replayed"] == "true"


def test_the_same_batch_without_a_key_is_a_new_request(api: ApiClient) -> None:
    api.post("/customers/bulk", {"customers": BATCH})
    again = api.post("/customers/bulk", {"customers": BATCH}).get_json()

    # Emails protect themselves; records without one are new customers, as with single creates.
    assert [r["status"] for r in again["data"]["results"]] == [
        "error",
        "created",
        "error",
        "error",
        "created",
    ]
    assert customer_count(api.app) == 6


def test_a_real_answer_matches_the_document(api: ApiClient) -> None:
    document = api.client.get("/api/v1/openapi.json").get_json()

    response = api.post("/customers/bulk", {"customers": [*BATCH, BASIC, 5]})

    assert response.get_json()["message"] == "5 created, 2 failed"
    conforms(document, "/customers/bulk", "post", response)
    conforms(document, "/customers/bulk", "post", api.post("/customers/bulk", {"customers": []}))
