"""CORS for browser widgets: a key's allowed origins (SPEC section 3)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from latepoint_forms.api.keys import (
    ApiKeyError,
    create_api_key,
    normalise_origin,
    revoke_api_key,
)
from latepoint_forms.extensions import db
from latepoint_forms.models import Customer
from latepoint_forms.unit_of_work import unit_of_work

from .test_api import BASIC, assert_error

WIDGET = "https://shop.example.com"
OTHER = "https://evil.example.net"


@pytest.fixture
def make_widget_key(app: Flask) -> Callable[..., str]:
    def make(origins: list[str], permissions: tuple[str, ...] = ("customers:create",)) -> str:
        with app.app_context(), unit_of_work():
            _, plaintext = create_api_key("widget", list(permissions), allowed_origins=origins)
        return plaintext

    return make


def preflight(client: Any, origin: str, path: str = "/api/v1/customers") -> Any:
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-api-key, idempotency-key",
        },
    )


def customers(app: Flask) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(Customer)).scalar_one()


def test_preflight_from_a_listed_origin_is_allowed(client: Any, make_widget_key: Any) -> None:
    make_widget_key([WIDGET])

    response = preflight(client, WIDGET)

    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == WIDGET
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    allowed = response.headers["Access-Control-Allow-Headers"]
    assert {"Content-Type", "X-API-Key", "Idempotency-Key"} <= set(allowed.split(", "))
    assert response.headers["Access-Control-Max-Age"] == "600"
    assert "Origin" in response.headers["Vary"]


def test_preflight_allows_the_widgets_language(client: Any, make_widget_key: Any) -> None:
    """The widget sends its data-lang as Accept-Language; a value the browser does not
    safelist (such as "de_DE") makes it ask in the preflight, and the answer must allow it."""
    make_widget_key([WIDGET])

    response = client.options(
        "/api/v1/form",
        headers={
            "Origin": WIDGET,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "accept-language, x-api-key",
        },
    )

    assert response.status_code == 204
    allowed = {
        name.lower() for name in response.headers["Access-Control-Allow-Headers"].split(", ")
    }
    assert {"accept-language", "x-api-key"} <= allowed


def test_preflight_from_an_unlisted_origin_gets_no_cors_headers(
    client: Any, make_widget_key: Any
) -> None:
    make_widget_key([WIDGET])

    response = preflight(client, OTHER)

    assert response.status_code == 204
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Headers" not in response.headers


def test_revoked_keys_allow_no_origin(app: Flask, client: Any, make_widget_key: Any) -> None:
    key = make_widget_key([WIDGET])
    with app.app_context(), unit_of_work():
        revoke_api_key(key)

    assert "Access-Control-Allow-Origin" not in preflight(client, WIDGET).headers


def test_request_from_a_listed_origin_can_read_the_response(
    client: Any, make_widget_key: Any
) -> None:
    key = make_widget_key([WIDGET, "http://localhost:8080"])

    response = client.post(
        "/api/v1/customers", json=BASIC, headers={"X-API-Key": key, "Origin": WIDGET}
    )

    assert response.status_code == 201
    assert response.headers["Access-Control-Allow-Origin"] == WIDGET
    exposed = response.headers["Access-Control-Expose-Headers"]
    assert {"Location", "Idempotent-Replayed", "Retry-After", "X-Request-ID"} <= set(
        exposed.split(", ")
    )
    assert "Origin" in response.headers["Vary"]


def test_errors_are_readable_from_a_listed_origin(client: Any, make_widget_key: Any) -> None:
    key = make_widget_key([WIDGET])

    response = client.post(
        "/api/v1/customers",
        json={"first_name": "J0hn", "last_name": "Doe"},
        headers={"X-API-Key": key, "Origin": WIDGET},
    )

    assert_error(response, 422, "validation_failed")
    assert response.headers["Access-Control-Allow-Origin"] == WIDGET


@pytest.mark.parametrize("app_config", [{"RATE_LIMIT_LIVE": "1/minute"}])
def test_a_429_is_readable_from_a_listed_origin(client: Any, make_widget_key: Any) -> None:
    key = make_widget_key([WIDGET], permissions=("customers:read",))
    headers = {"X-API-Key": key, "Origin": WIDGET}
    assert client.get("/api/v1/status", headers=headers).status_code == 200

    response = client.get("/api/v1/status", headers=headers)

    assert_error(response, 429, "rate_limit_exceeded")
    assert response.headers["Access-Control-Allow-Origin"] == WIDGET


@pytest.mark.parametrize("origins", [[WIDGET], []])
def test_key_used_from_an_unlisted_origin_is_refused(
    app: Flask, client: Any, make_widget_key: Any, origins: list[str]
) -> None:
    key = make_widget_key(origins)

    response = client.post(
        "/api/v1/customers", json=BASIC, headers={"X-API-Key": key, "Origin": OTHER}
    )

    error = assert_error(response, 403, "insufficient_permissions")
    assert OTHER in error["message"]
    assert "Access-Control-Allow-Origin" not in response.headers
    assert customers(app) == 0


def test_server_side_and_same_origin_requests_are_untouched(
    client: Any, make_widget_key: Any
) -> None:
    key = make_widget_key([])  # a server key: no browser origins at all

    server = client.post("/api/v1/customers", json=BASIC, headers={"X-API-Key": key})
    same_origin = client.post(
        "/api/v1/customers/validate",
        json={**BASIC, "email": "other@example.com"},
        headers={"X-API-Key": key, "Origin": "http://localhost"},
    )

    assert server.status_code == 201
    assert same_origin.status_code == 200
    assert "Access-Control-Allow-Origin" not in server.headers
    assert "Access-Control-Allow-Origin" not in same_origin.headers


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("https://shop.example.com", "https://shop.example.com"),
        ("HTTPS://Shop.Example.COM:443/", "https://shop.example.com"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("http://[::1]:3000", "http://[::1]:3000"),
    ],
)
def test_origins_are_stored_as_browsers_send_them(given: str, stored: str) -> None:
    assert normalise_origin(given) == stored


@pytest.mark.parametrize(
    "given",
    [
        "*",
        "shop.example.com",
        "ftp://shop.example.com",
        "https://shop.example.com/path",
        "https://user@shop.example.com",
        "https://shop.example.com:99999",
        "null",
    ],
)
def test_malformed_origins_are_refused(given: str) -> None:
    with pytest.raises(ApiKeyError):
        normalise_origin(given)


def test_cli_stores_normalised_origins(app: Flask, runner: Any) -> None:
    result = runner.invoke(
        args=[
            "api-keys",
            "create",
            "--name",
            "widget",
            "--permissions",
            "customers:create",
            "--origins",
            "HTTPS://Shop.Example.com/, http://localhost:8080",
        ]
    )
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]

    response = app.test_client().post(
        "/api/v1/customers", json=BASIC, headers={"X-API-Key": key, "Origin": WIDGET}
    )
    assert response.headers["Access-Control-Allow-Origin"] == WIDGET

    refused = runner.invoke(
        args=[
            "api-keys",
            "create",
            "--name",
            "w",
            "--permissions",
            "customers:create",
            "--origins",
            "shop.example.com",
        ]
    )
    assert refused.exit_code != 0
    assert "not an origin" in refused.output
