"""Idempotency-Key on API POSTs (SPEC section 3), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from latepoint_forms.api.idempotency import fingerprint
from latepoint_forms.extensions import db
from latepoint_forms.models import ApiKey, Customer, IdempotencyRecord
from latepoint_forms.models.types import utcnow

from .conftest import ApiClient
from .test_api import BASIC, assert_error

NO_EMAIL = {"first_name": "Walk", "last_name": "In"}  # creatable again and again


def count(app: Flask, model: type) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def key_header(key: str | None = None) -> dict[str, str]:
    return {"Idempotency-Key": key or str(uuid.uuid4())}


def test_retry_replays_the_stored_201_and_creates_nothing(api: ApiClient) -> None:
    headers = key_header()
    first = api.post("/customers", NO_EMAIL, headers)
    second = api.post("/customers", NO_EMAIL, headers)

    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.get_json() == first.get_json()
    assert second.headers["Location"] == first.headers["Location"]
    assert second.mimetype == "application/json"
    assert count(api.app, Customer) == 1
    assert count(api.app, IdempotencyRecord) == 1


def test_same_key_with_another_body_is_422(api: ApiClient) -> None:
    headers = key_header()
    assert api.post("/customers", BASIC, headers).status_code == 201

    other = {**BASIC, "first_name": "Jonathan"}
    assert_error(api.post("/customers", other, headers), 422, "idempotency_key_reused")
    # Another operation with the same key is another request too.
    assert_error(api.post("/customers/validate", BASIC, headers), 422, "idempotency_key_reused")
    assert count(api.app, Customer) == 1


@pytest.mark.parametrize(
    "respelled",
    [
        b'{"last_name":"In","first_name":"Walk"}',  # another key order
        b'{\n  "first_name" : "Walk",\n  "last_name" : "In"\n}\n',  # other spacing
        b'{"first_name":"\\u0057alk","last_name":"In"}',  # an escape for the same text
    ],
)
def test_a_retry_that_respells_the_same_json_replays(
    api: ApiClient, client: Any, api_key: str, respelled: bytes
) -> None:
    headers = key_header()
    first = api.post("/customers", NO_EMAIL, headers)

    retry = client.post(
        "/api/v1/customers",
        data=respelled,
        headers={"X-API-Key": api_key, "Content-Type": "application/json", **headers},
    )

    assert first.status_code == retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.get_json() == first.get_json()
    assert count(api.app, Customer) == 1


def test_a_retry_with_another_value_of_the_same_text_is_still_422(
    api: ApiClient, client: Any, api_key: str
) -> None:
    headers = key_header()
    assert (
        api.post(
            "/customers", {"first_name": "Walk", "last_name": "In", "notes": "1"}, headers
        ).status_code
        == 201
    )
    # Parsed, "1" and 1 differ: another request, whatever the spelling.
    other = client.post(
        "/api/v1/customers",
        data=b'{"notes": 1, "last_name": "In", "first_name": "Walk"}',
        headers={"X-API-Key": api_key, "Content-Type": "application/json", **headers},
    )
    assert_error(other, 422, "idempotency_key_reused")
    assert count(api.app, Customer) == 1


def test_keys_are_scoped_per_api_key(api: ApiClient, client: Any, make_api_key: Any) -> None:
    headers = key_header("order-1234")
    other = ApiClient(client, make_api_key(name="second integration"))

    first = api.post("/customers", NO_EMAIL, headers)
    second = other.post("/customers", NO_EMAIL, headers)

    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second.headers
    assert first.get_json()["data"]["id"] != second.get_json()["data"]["id"]
    assert count(api.app, Customer) == 2


def test_retry_through_the_wordpress_path_replays(api: ApiClient, client: Any) -> None:
    headers = key_header()
    first = api.post("/customers", NO_EMAIL, headers)
    wp = ApiClient(client, api.key, prefix="/wp-json/latepoint-api/v1")

    second = wp.post("/customers", NO_EMAIL, headers)

    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.get_json() == first.get_json()
    assert count(api.app, Customer) == 1


def test_validation_failure_is_stored_and_replayed(api: ApiClient) -> None:
    headers = key_header()
    body = {"first_name": "J0hn", "last_name": "Doe"}
    first = api.post("/customers", body, headers)
    second = api.post("/customers", body, headers)

    assert_error(first, 422, "validation_failed")
    assert_error(second, 422, "validation_failed")
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.get_json() == first.get_json()


def test_duplicate_email_outcome_is_stored_and_replayed(api: ApiClient) -> None:
    assert api.post("/customers", BASIC).status_code == 201
    headers = key_header()

    first = api.post("/customers", BASIC, headers)
    second = api.post("/customers", BASIC, headers)

    assert_error(first, 409, "email_exists")
    assert_error(second, 409, "email_exists")
    assert second.headers["Idempotent-Replayed"] == "true"
    assert count(api.app, Customer) == 1


def test_validate_endpoint_replays_its_200(api: ApiClient) -> None:
    headers = key_header()
    first = api.post("/customers/validate", BASIC, headers)
    second = api.post("/customers/validate", BASIC, headers)

    assert first.status_code == second.status_code == 200
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.get_json() == first.get_json()
    assert count(api.app, Customer) == 0


def test_without_the_header_every_post_is_new(api: ApiClient) -> None:
    assert api.post("/customers", NO_EMAIL).status_code == 201
    assert api.post("/customers", NO_EMAIL).status_code == 201
    assert count(api.app, Customer) == 2
    assert count(api.app, IdempotencyRecord) == 0


@pytest.mark.parametrize("value", ["x" * 256, "with space", "clé", ""])
def test_malformed_key_is_a_validation_error(api: ApiClient, value: str) -> None:
    error = assert_error(
        api.post("/customers", NO_EMAIL, {"Idempotency-Key": value}), 422, "validation_failed"
    )
    assert set(error["details"]) == {"Idempotency-Key"}
    assert count(api.app, Customer) == 0


def test_longest_key_is_accepted(api: ApiClient) -> None:
    headers = key_header("k" * 255)
    assert api.post("/customers", NO_EMAIL, headers).status_code == 201
    assert api.post("/customers", NO_EMAIL, headers).headers["Idempotent-Replayed"] == "true"


def test_refused_authentication_is_not_stored(client: Any) -> None:
    headers = {"X-API-Key": "lp_live_" + "x" * 40, **key_header()}
    response = client.post("/api/v1/customers", json=NO_EMAIL, headers=headers)

    assert_error(response, 401, "unauthorized")
    assert count(client.application, IdempotencyRecord) == 0


def test_malformed_body_is_not_stored(api: ApiClient, api_key: str) -> None:
    headers = {"X-API-Key": api_key, "Content-Type": "application/json", **key_header("k1")}
    bad = api.client.post("/api/v1/customers", data=b"{", headers=headers)
    assert_error(bad, 400, "invalid_json")

    # Nothing was remembered under the key, so the corrected request goes through.
    good = api.client.post("/api/v1/customers", json=NO_EMAIL, headers=headers)
    assert good.status_code == 201
    assert "Idempotent-Replayed" not in good.headers


def _expire_all(app: Flask) -> None:
    with app.app_context():
        db.session.execute(
            update(IdempotencyRecord).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()


def test_expired_key_starts_afresh(api: ApiClient) -> None:
    headers = key_header()
    first = api.post("/customers", NO_EMAIL, headers)
    _expire_all(api.app)

    second = api.post("/customers", NO_EMAIL, headers)

    assert second.status_code == 201
    assert "Idempotent-Replayed" not in second.headers
    assert second.get_json()["data"]["id"] != first.get_json()["data"]["id"]
    assert count(api.app, IdempotencyRecord) == 1


def test_expired_key_with_another_invalid_body_gets_its_own_422(api: ApiClient) -> None:
    """The 422 rolls the request's transaction back: the expired record must not survive
    that and be taken for the answer (422 idempotency_key_reused)."""
    headers = key_header()
    assert api.post("/customers", NO_EMAIL, headers).status_code == 201
    _expire_all(api.app)
    invalid = {"first_name": "J0hn", "last_name": "Doe"}

    fresh = api.post("/customers", invalid, headers)
    retry = api.post("/customers", invalid, headers)

    error = assert_error(fresh, 422, "validation_failed")
    assert "first_name" in error["details"]
    assert "Idempotent-Replayed" not in fresh.headers
    assert_error(retry, 422, "validation_failed")
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert count(api.app, IdempotencyRecord) == 1


def test_expired_key_with_the_same_body_is_answered_anew(api: ApiClient) -> None:
    """After expiry the same body is a new request: its email is taken now (by the first
    one), so 409, not the old 201 replayed."""
    headers = key_header()
    assert api.post("/customers", BASIC, headers).status_code == 201
    _expire_all(api.app)

    fresh = api.post("/customers", BASIC, headers)
    retry = api.post("/customers", BASIC, headers)

    assert_error(fresh, 409, "email_exists")
    assert "Idempotent-Replayed" not in fresh.headers
    assert_error(retry, 409, "email_exists")
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert count(api.app, Customer) == 1
    with api.app.app_context():
        record = db.session.execute(select(IdempotencyRecord)).scalar_one()
        assert record.response_status == 409
        assert record.expires_at > utcnow()


def test_records_are_kept_24_hours(api: ApiClient) -> None:
    api.post("/customers", NO_EMAIL, key_header())
    with api.app.app_context():
        record = db.session.execute(select(IdempotencyRecord)).scalar_one()
        assert record.expires_at - record.created_at == timedelta(hours=24)


def test_new_records_sweep_expired_ones(api: ApiClient) -> None:
    for _ in range(3):
        api.post("/customers", NO_EMAIL, key_header())
    _expire_all(api.app)

    api.post("/customers", NO_EMAIL, key_header())

    assert count(api.app, IdempotencyRecord) == 1


def test_purge_command_deletes_expired_records(api: ApiClient, runner: Any) -> None:
    for _ in range(2):
        api.post("/customers", NO_EMAIL, key_header())
    _expire_all(api.app)
    api.post("/customers", NO_EMAIL)  # without a key: sweeps nothing

    result = runner.invoke(args=["idempotency", "purge"])

    assert result.exit_code == 0, result.output
    assert "Deleted 2 expired idempotency records" in result.output
    assert count(api.app, IdempotencyRecord) == 0


def _claim_in_flight(app: Flask, key: str, claimed_at: Any) -> None:
    """A record as a request in flight leaves it: claimed, no answer yet."""
    with app.app_context():
        api_key_id = db.session.execute(select(ApiKey.id)).scalar_one()
        db.session.add(
            IdempotencyRecord(
                api_key_id=api_key_id,
                key=key,
                fingerprint=fingerprint_of(NO_EMAIL),
                response_status=None,
                created_at=claimed_at,
                expires_at=claimed_at + timedelta(hours=24),
            )
        )
        db.session.commit()


def fingerprint_of(body: dict[str, Any]) -> str:
    """The fingerprint of ``ApiClient.post`` sending ``body``."""
    return fingerprint("POST", "/customers", json.dumps(body).encode())


def test_request_in_flight_elsewhere_gets_409(api: ApiClient) -> None:
    """A claim committed by a request still running makes a retry 409 at once, on SQLite and
    PostgreSQL alike."""
    _claim_in_flight(api.app, "in-flight-1", utcnow())

    response = api.post("/customers", NO_EMAIL, key_header("in-flight-1"))

    assert_error(response, 409, "idempotency_conflict")
    assert count(api.app, Customer) == 0


def test_a_claim_past_its_lease_is_taken_over(api: ApiClient) -> None:
    """The request that claimed the key died (no answer after the lease): a retry runs."""
    lease = api.app.config["IDEMPOTENCY_LEASE_SECONDS"]
    _claim_in_flight(api.app, "abandoned", utcnow() - timedelta(seconds=lease + 1))

    response = api.post("/customers", NO_EMAIL, key_header("abandoned"))
    replay = api.post("/customers", NO_EMAIL, key_header("abandoned"))

    assert response.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json() == response.get_json()
    assert count(api.app, Customer) == 1
    assert count(api.app, IdempotencyRecord) == 1


def race_retries(app: Flask, headers: dict[str, str], racers: int = 8) -> None:
    """``racers`` threads send one request with one key at once; every reply must be the
    same stored 201 or a 409 ``idempotency_conflict``."""
    barrier = threading.Barrier(racers)

    def post(_: int) -> tuple[int, dict[str, Any]]:
        client = app.test_client()
        barrier.wait(timeout=10)
        response = client.post("/api/v1/customers", json=NO_EMAIL, headers=headers)
        return response.status_code, response.get_json()

    with ThreadPoolExecutor(max_workers=racers) as pool:
        replies = list(pool.map(post, range(racers)))

    created = [body for status, body in replies if status == 201]
    conflicts = [body for status, body in replies if status == 409]
    assert len(created) + len(conflicts) == racers, replies
    assert created, replies
    assert all(body == created[0] for body in created)
    assert all(body["error"]["code"] == "idempotency_conflict" for body in conflicts)


def test_concurrent_retries_create_one_customer(app: Flask, api_key: str) -> None:
    """Eight threads race with one key: one customer; every reply is its 201 or a 409."""
    race_retries(app, {"X-API-Key": api_key, **key_header()})
    assert count(app, Customer) == 1
    assert count(app, IdempotencyRecord) == 1


def test_concurrent_retries_of_an_expired_key_create_one_customer(app: Flask, api_key: str) -> None:
    """Eight threads race with an expired key: one new customer, one live record."""
    headers = {"X-API-Key": api_key, **key_header()}
    client = app.test_client()
    assert client.post("/api/v1/customers", json=NO_EMAIL, headers=headers).status_code == 201
    _expire_all(app)

    race_retries(app, headers)

    assert count(app, Customer) == 2
    with app.app_context():
        record = db.session.execute(select(IdempotencyRecord)).scalar_one()
        assert record.expires_at > utcnow()


def test_a_commit_that_fails_gives_the_key_back(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claim was committed before the request ran; if the final commit of the customer
    and its answer fails, the claim is released too, so a retry runs at once (not a 409 for
    the whole lease)."""
    real_commit = db.session.commit
    commits: list[int] = []

    def commit_then_fail_the_second() -> None:
        commits.append(1)
        if len(commits) == 2:  # the claim's step first, then the request's own commit
            raise OperationalError("COMMIT", {}, Exception("connection lost"))
        real_commit()

    monkeypatch.setattr(db.session, "commit", commit_then_fail_the_second)
    failed = api.post("/customers", NO_EMAIL, key_header("commit-fails"))
    monkeypatch.undo()

    assert_error(failed, 503, "service_unavailable")
    assert count(api.app, Customer) == 0
    retry = api.post("/customers", NO_EMAIL, key_header("commit-fails"))
    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry.headers
    assert count(api.app, IdempotencyRecord) == 1
