"""Publishable keys (SPEC section 10): made for a web page's source, so they can do little —
the catalog, availability, registering a customer (without status, WordPress user or guest
flag) — only from their allowed origins, and spend a budget per client address besides the
key's own. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from latepoint_forms.api.keys import create_api_key, is_publishable
from latepoint_forms.unit_of_work import unit_of_work

from .catalog_fixtures import build_catalog
from .test_api import assert_error

SHOP = "https://shop.example.com"
BASIC = {"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com"}


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {
        "RATE_LIMIT_LIVE": "100/minute",
        "RATE_LIMIT_TEST": "100/minute",
        "RATE_LIMIT_PUBLISHABLE": "3/minute",
    }


def make_key(app: Flask, origins: tuple[str, ...] = (SHOP,)) -> str:
    with app.app_context(), unit_of_work():
        _, plaintext = create_api_key(
            "shop widget", [], allowed_origins=list(origins), publishable=True
        )
    return plaintext


class Page:
    """Requests as the shop's page makes them: the key, and the browser's Origin."""

    def __init__(
        self, client: FlaskClient, key: str, origin: str | None = SHOP, addr: str = "198.51.100.7"
    ) -> None:
        self.client, self.key, self.origin, self.addr = client, key, origin, addr

    def _headers(self) -> dict[str, str]:
        headers = {"X-API-Key": self.key}
        if self.origin is not None:
            headers["Origin"] = self.origin
        return headers

    def get(self, path: str) -> Any:
        return self.client.get(
            "/api/v1" + path, headers=self._headers(), environ_base={"REMOTE_ADDR": self.addr}
        )

    def post(self, path: str, body: Any) -> Any:
        return self.client.post(
            "/api/v1" + path,
            json=body,
            headers=self._headers(),
            environ_base={"REMOTE_ADDR": self.addr},
        )


def test_the_cli_makes_one_from_its_origins_and_lists_its_kind(app: Flask) -> None:
    runner = app.test_cli_runner()
    made = runner.invoke(
        args=["api-keys", "create", "--publishable", "--name", "shop", "--origins", SHOP]
    )
    assert made.exit_code == 0, made.output
    key = made.output.strip().splitlines()[-1]
    assert key.startswith("pk_live_")
    assert is_publishable(key)
    listing = runner.invoke(args=["api-keys", "list"]).output
    assert "publishable" in listing
    assert f"origins {SHOP}" in listing
    assert "catalog:read,customers:create" in listing
    no_origins = runner.invoke(args=["api-keys", "create", "--publishable", "--name", "x"])
    assert no_origins.exit_code != 0
    assert "needs --origins" in no_origins.output
    too_much = runner.invoke(
        args=[
            "api-keys",
            "create",
            "--publishable",
            "--name",
            "x",
            "--origins",
            SHOP,
            "--permissions",
            "customers:read",
        ]
    )
    assert too_much.exit_code != 0
    assert "cannot have customers:read" in too_much.output


def test_it_reads_the_catalog_and_availability_and_registers(
    app: Flask, client: FlaskClient
) -> None:
    catalog = build_catalog(app)
    page = Page(client, make_key(app))
    assert page.get("/catalog").status_code == 200
    monday = date.today() + timedelta(days=7 - date.today().weekday() + 7)
    free = page.get(
        f"/availability?service_id={catalog.haircut}&location_id={catalog.london}&date={monday}"
    )
    assert free.status_code == 200, free.get_json()
    created = page.post("/customers", BASIC)
    assert created.status_code == 201, created.get_json()
    assert created.headers["Access-Control-Allow-Origin"] == SHOP


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/customers", None),
        ("GET", "/customers/1", None),
        ("POST", "/customers/bulk", {"customers": [BASIC]}),
        ("POST", "/customers/validate", BASIC),
        ("GET", "/status", None),
    ],
)
def test_everything_else_is_refused(
    app: Flask, client: FlaskClient, method: str, path: str, body: Any
) -> None:
    page = Page(client, make_key(app))
    response = page.get(path) if method == "GET" else page.post(path, body)
    assert_error(response, 403, "insufficient_permissions")


@pytest.mark.parametrize("field", ["status", "wordpress_user_id", "is_guest"])
def test_it_cannot_set_what_the_business_decides(
    app: Flask, client: FlaskClient, field: str
) -> None:
    value: Any = {"status": "active", "wordpress_user_id": 7, "is_guest": True}[field]
    response = Page(client, make_key(app)).post("/customers", {**BASIC, field: value})
    body = assert_error(response, 403, "insufficient_permissions")
    assert field in body["message"]


@pytest.mark.parametrize(
    "origin", [None, "https://evil.example", "http://shop.example.com", "null", "not an origin"]
)
def test_only_from_its_origins(app: Flask, client: FlaskClient, origin: str | None) -> None:
    page = Page(client, make_key(app), origin=origin)
    assert_error(page.get("/catalog"), 403, "origin_not_allowed")
    assert_error(page.post("/customers", BASIC), 403, "origin_not_allowed")


def test_a_secret_key_is_unchanged(app: Flask, client: FlaskClient, api_key: str) -> None:
    assert api_key.startswith("lp_live_")
    response = client.get("/api/v1/customers", headers={"X-API-Key": api_key})
    assert response.status_code == 200


def test_each_client_address_has_a_budget_of_its_own(app: Flask, client: FlaskClient) -> None:
    key = make_key(app)
    one, other = Page(client, key, addr="198.51.100.7"), Page(client, key, addr="203.0.113.9")
    assert [one.get("/catalog").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert other.get("/catalog").status_code == 200  # the key itself is not used up
