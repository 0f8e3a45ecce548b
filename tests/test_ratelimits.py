"""Rate limits per API key (SPEC section 3), in process; across workers: test_concurrency.py."""

from __future__ import annotations

import os
import secrets
from typing import Any

import pytest
import redis
from flask import Flask
from sqlalchemy import func, select

from latepoint_forms import create_app
from latepoint_forms.api.keys import create_api_key, hash_key, revoke_api_key
from latepoint_forms.extensions import db, limiter
from latepoint_forms.models import Customer
from latepoint_forms.unit_of_work import unit_of_work

from .conftest import ApiClient, base_config
from .test_api import assert_error

LIMITS = {
    "RATE_LIMIT_LIVE": "3/minute;100/hour",
    "RATE_LIMIT_TEST": "5/minute;100/hour",
    "RATE_LIMIT_ANONYMOUS": "2/minute",
    "RATE_LIMIT_PREFLIGHT": "3/minute",
}


@pytest.fixture
def app_config() -> dict[str, Any]:
    return dict(LIMITS)


def test_live_key_gets_its_budget_then_429(api: ApiClient) -> None:
    for remaining in (2, 1, 0):
        response = api.get("/status")
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Limit"] == "3"
        assert response.headers["X-RateLimit-Remaining"] == str(remaining)
        assert int(response.headers["X-RateLimit-Reset"]) > 0
        assert "Retry-After" not in response.headers

    refused = api.get("/status")

    error = assert_error(refused, 429, "rate_limit_exceeded")
    assert "try again" in error["message"]
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["X-RateLimit-Limit"] == "3"
    assert refused.headers["X-RateLimit-Remaining"] == "0"


def test_refused_create_writes_nothing(api: ApiClient) -> None:
    body = {"first_name": "Ann", "last_name": "Lee"}
    assert [api.post("/customers", body).status_code for _ in range(4)] == [201, 201, 201, 429]
    with api.app.app_context():
        assert db.session.execute(select(func.count()).select_from(Customer)).scalar_one() == 3


def test_both_api_paths_share_one_budget(api: ApiClient, client: Any) -> None:
    wp = ApiClient(client, api.key, prefix="/wp-json/latepoint-api/v1")
    assert api.get("/status").status_code == 200
    assert wp.get("/status").status_code == 200
    assert api.get("/status").status_code == 200

    assert_error(wp.get("/status"), 429, "rate_limit_exceeded")


def test_each_key_has_its_own_budget(api: ApiClient, client: Any, make_api_key: Any) -> None:
    for _ in range(3):
        api.get("/status")
    assert api.get("/status").status_code == 429

    other = ApiClient(client, make_api_key(name="other"))
    assert other.get("/status").status_code == 200


def test_test_mode_keys_get_the_test_limit(client: Any, make_api_key: Any) -> None:
    test_key = ApiClient(client, make_api_key(mode="test"))
    statuses = [test_key.get("/status").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]


def test_requests_without_a_key_are_limited_per_address(client: Any) -> None:
    anonymous = ApiClient(client, None)
    assert_error(anonymous.get("/status"), 401, "unauthorized")
    assert_error(anonymous.get("/status"), 401, "unauthorized")
    assert_error(anonymous.get("/status"), 429, "rate_limit_exceeded")

    elsewhere = client.get("/api/v1/status", environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert_error(elsewhere, 401, "unauthorized")


def invented_key(mode: str = "live") -> str:
    return f"lp_{mode}_{secrets.token_urlsafe(30)}"  # shaped like a real one, known to none


def test_invented_keys_spend_the_address_budget(client: Any) -> None:
    """A fresh made-up key per request does not buy a fresh budget: every failed
    authentication spends its address's anonymous budget (2/minute here)."""
    statuses = [
        client.get("/api/v1/status", headers={"X-API-Key": invented_key(mode)}).status_code
        for mode in ["live", "test"] * 25
    ]

    assert statuses == [401, 401] + [429] * 48
    refused = client.get("/api/v1/status", headers={"X-API-Key": invented_key()})
    assert_error(refused, 429, "rate_limit_exceeded")
    assert refused.headers["X-RateLimit-Limit"] == "2"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    elsewhere = {"X-API-Key": invented_key()}
    other_address = client.get(
        "/api/v1/status", headers=elsewhere, environ_base={"REMOTE_ADDR": "198.51.100.7"}
    )
    assert_error(other_address, 401, "unauthorized")


def test_requests_without_a_key_and_with_a_wrong_one_share_one_budget(client: Any) -> None:
    assert client.get("/api/v1/status").status_code == 401
    assert client.get("/api/v1/status", headers={"X-API-Key": invented_key()}).status_code == 401

    assert client.get("/api/v1/status").status_code == 429


def test_a_revoked_key_spends_the_address_budget(app: Flask, client: Any) -> None:
    with app.app_context(), unit_of_work():
        key, plaintext = create_api_key("gone", ["customers:read"])
        revoke_api_key(str(key.id))
    headers = {"X-API-Key": plaintext}

    statuses = [client.get("/api/v1/status", headers=headers).status_code for _ in range(4)]

    assert statuses == [401, 401, 429, 429]


def test_others_failed_attempts_leave_a_real_key_its_own_budget(api: ApiClient) -> None:
    """From the same address, after its anonymous budget is spent on made-up keys, a real
    key still gets exactly its own budget (3/minute here), no more and no less."""
    for _ in range(5):
        api.client.get("/api/v1/status", headers={"X-API-Key": invented_key()})
    assert api.client.get("/api/v1/status").status_code == 429  # the address is spent

    responses = [api.get("/status") for _ in range(4)]

    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in responses[:3]] == ["2", "1", "0"]
    assert all(r.headers["X-RateLimit-Limit"] == "3" for r in responses)


def test_preflights_have_their_own_budget_per_address(app: Flask, client: Any) -> None:
    """Each preflight reads every key's origins, so they are limited; but apart from the
    anonymous budget: others' failed attempts from one address (NAT, a proxy) must not
    block a widget's preflights."""
    origin = "https://shop.example.com"
    with app.app_context(), unit_of_work():
        create_api_key("widget", ["customers:create"], allowed_origins=[origin])

    def preflight(address: str) -> Any:
        return client.options(
            "/api/v1/customers",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
            environ_base={"REMOTE_ADDR": address},
        )

    def invented_key(address: str) -> int:
        headers = {"X-API-Key": "lp_live_" + secrets.token_urlsafe(30)}
        return client.get(
            "/api/v1/status", headers=headers, environ_base={"REMOTE_ADDR": address}
        ).status_code

    # Someone at the widget's address spends the whole anonymous budget ...
    assert [invented_key("203.0.113.1") for _ in range(3)] == [401, 401, 429]
    # ... and the widget's preflights still pass, within their own budget.
    replies = [preflight("203.0.113.1") for _ in range(4)]
    assert [r.status_code for r in replies[:3]] == [204, 204, 204]
    assert replies[0].headers["Access-Control-Allow-Origin"] == origin
    assert_error(replies[3], 429, "rate_limit_exceeded")
    assert preflight("203.0.113.2").status_code == 204


@pytest.mark.parametrize("app_config", [{**LIMITS, "TRUSTED_PROXY_HOPS": 1}])
def test_behind_a_proxy_the_forwarded_client_is_counted(client: Any) -> None:
    def from_client(address: str) -> int:
        return client.get("/api/v1/status", headers={"X-Forwarded-For": address}).status_code

    assert [from_client("203.0.113.1") for _ in range(3)] == [401, 401, 429]
    assert from_client("203.0.113.2") == 401


def test_web_pages_get_a_friendly_html_429(app: Flask) -> None:
    @limiter.limit("1/minute")
    def limited_page() -> str:
        return "ok"

    app.add_url_rule("/limited-page-for-test", view_func=limited_page)
    client = app.test_client()
    assert client.get("/limited-page-for-test").status_code == 200

    response = client.get("/limited-page-for-test")

    assert response.status_code == 429
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Too many requests. Please wait a moment and try again." in page
    assert "per 1 minute" not in page


REDIS_URL = os.environ.get("TEST_REDIS_URL")


@pytest.mark.skipif(
    not REDIS_URL, reason="Redis tests: set TEST_REDIS_URL (redis://127.0.0.1:6379/15)"
)
@pytest.mark.parametrize(
    "app_config", [{**LIMITS, "RATE_LIMIT_LIVE": "2/minute", "REDIS_URL": REDIS_URL}]
)
def test_counts_are_kept_in_redis_when_configured(api: ApiClient) -> None:
    assert [api.get("/status").status_code for _ in range(3)] == [200, 200, 429]

    store = redis.Redis.from_url(REDIS_URL or "")
    try:
        keys = [k.decode() for k in store.scan_iter(match=f"*{hash_key(api.key or '')}*")]
    finally:
        store.close()
    assert keys, "the per-key counter should live in Redis"


@pytest.mark.parametrize("app_config", [{**LIMITS, "REDIS_URL": "redis://127.0.0.1:1/0"}])
def test_an_unreachable_limit_store_does_not_take_the_api_down(
    api: ApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    statuses = [api.get("/status").status_code for _ in range(4)]

    assert statuses == [200] * 4  # served without limits while the store is away...
    assert any("rate limit" in r.getMessage().lower() for r in caplog.records)  # ...and said


def test_a_malformed_limit_stops_the_start(database: str) -> None:
    with pytest.raises(RuntimeError, match="RATE_LIMIT_LIVE"):
        create_app({**base_config(database), "RATE_LIMIT_LIVE": "sixty a minute"})


def test_flask_limiter_s_own_hooks_are_left_to_the_web(app: Flask) -> None:
    """The API is limited by api/ratelimits.py's own check; Flask-Limiter's check and
    headers are wrapped to run for the web's requests only (a Flask-Limiter that changed
    how it registers them would leave them unwrapped: this says so)."""
    before = app.before_request_funcs[None]
    after = app.after_request_funcs[None]
    assert limiter._check_request_limit not in before
    assert any(getattr(f, "__name__", "") == "web_only_check" for f in before)
    assert any(getattr(f, "__name__", "") == "web_only_headers" for f in after)


def test_the_app_starts_with_rate_limits_off(database: str) -> None:
    app = create_app({**base_config(database), "RATELIMIT_ENABLED": False})
    try:
        key_free = app.test_client().get("/api/v1/status")
        assert key_free.status_code == 401
        assert "X-RateLimit-Limit" not in key_free.headers
    finally:
        with app.app_context():
            db.engine.dispose()
