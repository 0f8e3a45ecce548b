"""The Create Customer API contract (SPEC section 3), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from latepoint_forms.api.keys import revoke_api_key
from latepoint_forms.extensions import db
from latepoint_forms.models import ApiKey, Customer
from latepoint_forms.unit_of_work import unit_of_work

from .conftest import ApiClient

BASIC = {"first_name": "John", "last_name": "Doe", "email": "john.doe@example.com"}
COMPLETE = {
    "first_name": "  Zoë ",
    "last_name": "O’Brien",
    "email": "Zoe.OBrien+booking@Example.co.uk",
    "phone": "020 7946 0958",
    "status": "pending",
    "date_of_birth": "1990-05-15",
    "gender": "female",
    "address": "10 Downing Street",
    "city": "London",
    "state": "",
    "zipcode": "sw1a2aa",
    "country": "gb",
    "notes": "Prefers mornings.\nAllergic to latex.",
    "is_guest": False,
    "wordpress_user_id": 123,
}


def customer_count(app: Flask) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(Customer)).scalar_one()


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["status"] == "error"
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    if status not in (409, 422):  # only field-level errors carry details
        assert "details" not in body["error"]
    return body["error"]


# --- creating -------------------------------------------------------------------------------


def test_create_basic_customer(api: ApiClient) -> None:
    response = api.post("/customers", BASIC)

    assert response.status_code == 201
    body = response.get_json()
    assert list(body) == ["status", "message", "data"]
    assert body["status"] == "success"
    assert body["message"] == "Customer created successfully"
    data = body["data"]
    assert response.headers["Location"] == f"/api/v1/customers/{data['id']}"
    assert data["first_name"] == "John"
    assert data["email"] == "john.doe@example.com"
    assert data["status"] == "active"
    assert data["is_guest"] is False
    assert data["source"] == "api"
    assert data["customer_code"].startswith("CUS-")
    assert data["created_at"].endswith("Z")
    with api.app.app_context():
        stored = db.session.get(Customer, data["id"])
        assert stored is not None
        assert stored.email == "john.doe@example.com"


def test_create_complete_customer_is_normalised(api: ApiClient) -> None:
    response = api.post("/customers", COMPLETE)

    assert response.status_code == 201, response.get_json()
    data = response.get_json()["data"]
    assert data["first_name"] == "Zoë"
    assert data["last_name"] == "O'Brien"
    assert data["email"] == "zoe.obrien+booking@example.co.uk"
    assert data["phone"] == "+442079460958"
    assert data["status"] == "pending"
    assert data["date_of_birth"] == "1990-05-15"
    assert data["zipcode"] == "SW1A 2AA"
    assert data["country"] == "GB"
    assert data["state"] is None
    assert data["notes"] == "Prefers mornings.\nAllergic to latex."
    assert data["wordpress_user_id"] == 123


def test_create_customer_without_email(api: ApiClient) -> None:
    response = api.post("/customers", {"first_name": "Walk", "last_name": "In", "is_guest": True})

    assert response.status_code == 201
    data = response.get_json()["data"]
    assert data["email"] is None
    assert data["is_guest"] is True


def test_two_customers_without_email_may_coexist(api: ApiClient) -> None:
    for _ in range(2):
        assert api.post("/customers", {"first_name": "Ann", "last_name": "Lee"}).status_code == 201
    assert customer_count(api.app) == 2


def test_wordpress_path_serves_the_same_api(client: Any, api_key: str) -> None:
    wp = ApiClient(client, api_key, prefix="/wp-json/latepoint-api/v1")
    response = wp.post("/customers", BASIC)

    assert response.status_code == 201
    customer_id = response.get_json()["data"]["id"]
    assert response.headers["Location"] == f"/wp-json/latepoint-api/v1/customers/{customer_id}"
    assert wp.get(f"/customers/{customer_id}").get_json()["data"]["email"] == BASIC["email"]


def test_us_customer_with_state_name_and_zip_plus_four(api: ApiClient) -> None:
    body = {**BASIC, "country": "US", "state": "California", "zipcode": "941031234"}
    body["phone"] = "(415) 555-2671"

    data = api.post("/customers", body).get_json()["data"]

    assert (data["state"], data["zipcode"], data["phone"]) == ("CA", "94103-1234", "+14155552671")


# --- duplicates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("john.doe@example.com", "John.Doe@EXAMPLE.com"),
        ("u@xn--bcher-kva.de", "U@Bücher.de"),
    ],
)
def test_duplicate_email_is_409(api: ApiClient, first: str, second: str) -> None:
    assert api.post("/customers", {**BASIC, "email": first}).status_code == 201

    error = assert_error(api.post("/customers", {**BASIC, "email": second}), 409, "email_exists")

    assert set(error["details"]) == {"email"}
    assert customer_count(api.app) == 1


def test_duplicate_wordpress_user_is_refused(api: ApiClient) -> None:
    assert api.post("/customers", {**BASIC, "wordpress_user_id": 7}).status_code == 201
    second = {"first_name": "Jane", "last_name": "Roe", "wordpress_user_id": 7}

    error = assert_error(api.post("/customers", second), 422, "validation_failed")

    assert set(error["details"]) == {"wordpress_user_id"}
    assert customer_count(api.app) == 1


# --- validation -----------------------------------------------------------------------------


def test_every_failing_field_is_reported_at_once(api: ApiClient) -> None:
    body = {
        "first_name": "J0hn",
        "last_name": "D",
        "email": "not-an-email",
        "phone": "12",
        "date_of_birth": "2999-01-01",
        "gender": "robot",
        "zip": "12345",
    }

    error = assert_error(api.post("/customers", body), 422, "validation_failed")

    assert error["message"] == "The provided data is not valid"
    assert set(error["details"]) == {
        "first_name",
        "last_name",
        "email",
        "phone",
        "date_of_birth",
        "gender",
        "zip",
    }
    assert error["details"]["last_name"] == "Last name must be at least 2 characters"
    assert error["details"]["zip"] == "Unknown field"
    assert customer_count(api.app) == 0


def test_missing_required_names(api: ApiClient) -> None:
    error = assert_error(api.post("/customers", {}), 422, "validation_failed")
    assert error["details"] == {
        "first_name": "First name is required",
        "last_name": "Last name is required",
    }


def test_postcode_must_match_country(api: ApiClient) -> None:
    body = {**BASIC, "country": "CA", "zipcode": "SW1A 1AA"}
    error = assert_error(api.post("/customers", body), 422, "validation_failed")
    assert set(error["details"]) == {"zipcode"}


def test_unknown_country_reports_country_only(api: ApiClient) -> None:
    body = {**BASIC, "country": "XX", "zipcode": "12345", "phone": "0123"}
    error = assert_error(api.post("/customers", body), 422, "validation_failed")
    assert set(error["details"]) == {"country"}


def test_unknown_custom_field_is_an_error(api: ApiClient) -> None:
    body = {**BASIC, "custom_fields": {"membership_level": "gold"}}
    error = assert_error(api.post("/customers", body), 422, "validation_failed")
    assert "custom_fields.membership_level" in error["details"]


WRONG_TYPES: list[Any] = [5, 1.5, True, [], {}, ["a"], {"a": 1}, "yes", None, -1, 10**30]
FIELDS = [
    "first_name",
    "last_name",
    "email",
    "phone",
    "status",
    "date_of_birth",
    "gender",
    "address",
    "city",
    "state",
    "zipcode",
    "country",
    "notes",
    "is_guest",
    "wordpress_user_id",
    "custom_fields",
    "preferences",
]


@pytest.mark.parametrize("field", FIELDS)
def test_no_wrong_type_anywhere_gives_a_500(api: ApiClient, field: str) -> None:
    base = {"first_name": "Ann", "last_name": "Lee"}  # no email: every 201 may repeat
    for value in WRONG_TYPES:
        response = api.post("/customers", {**base, field: value})
        assert response.status_code in (201, 422), (field, value, response.get_json())
        if response.status_code == 422:
            assert field in str(response.get_json()["error"]["details"]), (field, value)
    assert api.post("/customers", {**base, field: "x" * 5000}).status_code == 422


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("is_guest", "yes", "Must be true or false"),
        ("wordpress_user_id", "12", "Must be an integer"),
        ("wordpress_user_id", True, "Must be an integer"),
        ("first_name", 5, "Must be a string"),
        ("custom_fields", [], "Must be an object"),
    ],
)
def test_strict_json_types_name_the_field(
    api: ApiClient, field: str, value: Any, message: str
) -> None:
    error = assert_error(api.post("/customers", {**BASIC, field: value}), 422, "validation_failed")
    assert error["details"] == {field: message}


@pytest.mark.parametrize("char", ["\x1f", "\x85", "\t", "\u2028"])
def test_control_characters_at_the_ends_are_refused_not_trimmed(api: ApiClient, char: str) -> None:
    # Python's str.strip() counts these as whitespace; the API must refuse them as the web
    # form does, not quietly drop them.
    body = {**BASIC, "first_name": "Ann" + char, "city": char + "London"}
    error = assert_error(api.post("/customers", body), 422, "validation_failed")
    assert set(error["details"]) == {"first_name", "city"}


def test_blank_optional_fields_are_not_given(api: ApiClient) -> None:
    body = {**BASIC, "phone": "   ", "city": "", "notes": " ", "email": "  "}
    data = api.post("/customers", body).get_json()["data"]
    assert (data["phone"], data["city"], data["notes"], data["email"]) == (None, None, None, None)


def test_control_characters_are_refused(api: ApiClient) -> None:
    body = {**BASIC, "city": "Lon\x00don", "address": "Main St\x1b[31m", "notes": "ok\nfine\x07"}
    error = assert_error(api.post("/customers", body), 422, "validation_failed")
    assert set(error["details"]) == {"city", "address", "notes"}


# --- pre-validation -------------------------------------------------------------------------


def test_validate_returns_normalised_record_and_stores_nothing(api: ApiClient) -> None:
    response = api.post("/customers/validate", COMPLETE)

    assert response.status_code == 200
    data = response.get_json()["data"]
    assert data["zipcode"] == "SW1A 2AA"
    assert data["phone"] == "+442079460958"
    assert "id" not in data
    assert customer_count(api.app) == 0


def test_validate_gives_the_errors_create_would(api: ApiClient) -> None:
    assert api.post("/customers", BASIC).status_code == 201
    dup = {**BASIC, "email": BASIC["email"].upper()}

    assert_error(api.post("/customers/validate", dup), 409, "email_exists")
    bad = {"first_name": "<b>", "last_name": "Doe"}
    validate_error = assert_error(api.post("/customers/validate", bad), 422, "validation_failed")
    create_error = assert_error(api.post("/customers", bad), 422, "validation_failed")
    assert validate_error == create_error


# --- reading --------------------------------------------------------------------------------


def test_read_customer(api: ApiClient) -> None:
    created = api.post("/customers", BASIC).get_json()["data"]

    response = api.get(f"/customers/{created['id']}")

    assert response.status_code == 200
    # The same representation, less what only the create answer says.
    assert created.pop("welcome_email_sent") is False
    assert response.get_json()["data"] == created


@pytest.mark.parametrize("customer_id", ["999999", str(2**70), "0"])
def test_unknown_customer_is_404(api: ApiClient, customer_id: str) -> None:
    assert_error(api.get(f"/customers/{customer_id}"), 404, "not_found")


def test_status_needs_any_valid_key(api: ApiClient, client: Any, make_api_key: Any) -> None:
    read_only = ApiClient(client, make_api_key(permissions=("customers:read",), mode="test"))
    response = read_only.get("/status")
    assert response.status_code == 200
    assert response.get_json()["data"]["key_mode"] == "test"
    assert_error(ApiClient(client, None).get("/status"), 401, "unauthorized")


# --- authentication and permissions ----------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [None, "", "lp_live_" + "x" * 40, "nonsense", "lp_test_" + "é" * 40],
)
def test_missing_or_unknown_key_is_401(client: Any, key: str | None) -> None:
    headers = {} if key is None else {"X-API-Key": key}
    response = client.post("/api/v1/customers", json=BASIC, headers=headers)
    assert_error(response, 401, "unauthorized")
    assert customer_count(client.application) == 0


def test_a_failing_request_still_notes_the_keys_use(api: ApiClient) -> None:
    """A 404 used the key too: its rollback must not take last_used_at with it."""
    assert_error(api.get("/customers/999"), 404, "not_found")
    with api.app.app_context():
        last_used = db.session.execute(select(ApiKey.last_used_at)).scalar_one()
    assert last_used is not None


def test_revoked_key_is_401_at_once(api: ApiClient, api_key: str) -> None:
    assert api.post("/customers", BASIC).status_code == 201
    with api.app.app_context(), unit_of_work():
        revoke_api_key(api_key[:12])

    assert_error(api.get("/status"), 401, "unauthorized")


def test_key_without_permission_is_403(client: Any, make_api_key: Any) -> None:
    read_only = ApiClient(client, make_api_key(permissions=("customers:read",)))
    create_only = ApiClient(client, make_api_key(permissions=("customers:create",)))

    assert_error(read_only.post("/customers", BASIC), 403, "insufficient_permissions")
    assert_error(read_only.post("/customers/validate", BASIC), 403, "insufficient_permissions")
    created = create_only.post("/customers", BASIC).get_json()["data"]
    assert_error(create_only.get(f"/customers/{created['id']}"), 403, "insufficient_permissions")


# --- malformed requests ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b"",
        b"[1, 2]",
        b'"a string"',
        b"null",
        b'{"first_name": NaN}',
        b'{"first_name": "a", "last_name": Infinity}',
        b"\xff\xfe{}",
        b"[" * 100_000 + b"]" * 100_000,
    ],
)
def test_unparseable_or_non_object_body_is_400(client: Any, api_key: str, raw: bytes) -> None:
    response = client.post(
        "/api/v1/customers",
        data=raw,
        headers={"X-API-Key": api_key, "Content-Type": "application/json"},
    )
    assert_error(response, 400, "invalid_json")


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_other_media_types_are_415(client: Any, api_key: str, content_type: str | None) -> None:
    headers = {"X-API-Key": api_key}
    if content_type:
        headers["Content-Type"] = content_type
    response = client.post("/api/v1/customers", data=b'{"first_name": "Ann"}', headers=headers)
    assert_error(response, 415, "unsupported_media_type")


def test_json_with_charset_is_accepted(client: Any, api_key: str) -> None:
    response = client.post(
        "/api/v1/customers",
        data=b'{"first_name": "Ann", "last_name": "Lee"}',
        headers={"X-API-Key": api_key, "Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201


def test_oversized_body_is_413(api: ApiClient) -> None:
    api.app.config["MAX_CONTENT_LENGTH"] = 4096
    body = {**BASIC, "notes": "x" * 5000}
    assert_error(api.post("/customers", body), 413, "payload_too_large")
    assert customer_count(api.app) == 0


def test_unknown_api_route_is_json_404(api: ApiClient) -> None:
    assert_error(api.get("/nothing-here"), 404, "not_found")
    assert_error(api.client.get("/wp-json/latepoint-api/v1/nope"), 404, "not_found")


def test_wrong_method_is_json_405(api: ApiClient) -> None:
    response = api.client.delete("/api/v1/customers", headers=api.headers())
    error = assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]
    assert error["code"] == "method_not_allowed"


def test_unexpected_failure_is_a_bare_500(api: ApiClient, monkeypatch: Any) -> None:
    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internal detail: /srv/db password=hunter2")

    monkeypatch.setattr("latepoint_forms.api.views.create_customer", explode)

    response = api.post("/customers", BASIC)

    error = assert_error(response, 500, "server_error")
    assert "details" not in error
    assert "hunter2" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        (b'{"first_name": "Ann", "first_name": "Bob", "last_name": "Lee"}', "first_name"),
        (b'{"first_name": "Ann", "last_name": "Lee", "custom_fields": {"a": 1, "a": 2}}', "a"),
        (
            b'{"first_name": "Ann", "last_name": "Lee",'
            b' "preferences": {"marketing_emails": true, "marketing_emails": false}}',
            "marketing_emails",
        ),
    ],
)
def test_a_name_given_twice_in_an_object_is_400(
    client: Any, api_key: str, raw: bytes, name: str
) -> None:
    # Which of the two did the client mean? Keeping either silently loses the other.
    response = client.post(
        "/api/v1/customers",
        data=raw,
        headers={"X-API-Key": api_key, "Content-Type": "application/json"},
    )

    error = assert_error(response, 400, "invalid_json")
    assert f"'{name}' more than once" in error["message"]
    assert customer_count(client.application) == 0
