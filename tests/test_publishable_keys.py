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


@pytest.mark.parametrize("field", ["status", "wordpress_user_id", "is_guest", "send_welcome_email"])
def test_it_cannot_set_what_the_business_decides(
    app: Flask, client: FlaskClient, field: str
) -> None:
    value: Any = {
        "status": "active",
        "wordpress_user_id": 7,
        "is_guest": True,
        "send_welcome_email": True,
    }[field]
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


def test_a_secret_key_is_unchanged(app: Flask, client: FlaskClient, make_api_key: Any) -> None:
    catalog = build_catalog(app)
    creator = make_api_key(("customers:create",))
    assert creator.startswith("lp_live_")
    query = f"service_id={catalog.haircut}&location_id={catalog.london}"
    # Availability still needs customers:read for a secret key.
    assert_error(
        client.get(f"/api/v1/availability?{query}", headers={"X-API-Key": creator}),
        403,
        "insufficient_permissions",
    )
    # A secret key used from a page is refused as before (it lists no origin).
    from_page = client.post(
        "/api/v1/customers", json=BASIC, headers={"X-API-Key": creator, "Origin": SHOP}
    )
    assert_error(from_page, 403, "insufficient_permissions")
    assert (
        client.post("/api/v1/customers", json=BASIC, headers={"X-API-Key": creator}).status_code
        == 201
    )


def test_the_latepoint_prefix_is_held_to_the_same_rules(app: Flask, client: FlaskClient) -> None:
    key = make_key(app)
    headers = {"X-API-Key": key, "Origin": SHOP}
    prefix = "/wp-json/latepoint-api/v1"
    assert client.get(f"{prefix}/catalog", headers=headers).status_code == 200
    assert_error(
        client.get(f"{prefix}/customers", headers=headers), 403, "insufficient_permissions"
    )


def test_test_mode_and_revocation(app: Flask, client: FlaskClient) -> None:
    runner = app.test_cli_runner()
    made = runner.invoke(
        args=[
            "api-keys",
            "create",
            "--publishable",
            "--mode",
            "test",
            "--name",
            "t",
            "--origins",
            SHOP,
        ]
    )
    key = made.output.strip().splitlines()[-1]
    assert key.startswith("pk_test_")
    page = Page(client, key)
    assert page.get("/catalog").status_code == 200
    assert runner.invoke(args=["api-keys", "revoke", key[:12]]).exit_code == 0
    assert_error(page.get("/catalog"), 401, "unauthorized")


@pytest.mark.parametrize(
    "app_config",
    [{"RATE_LIMIT_LIVE": "5/minute", "RATE_LIMIT_PUBLISHABLE": "3/minute"}],
)
def test_one_address_past_its_budget_leaves_the_key_to_the_others(
    app: Flask, client: FlaskClient
) -> None:
    """The key's own budget (5) is barely above one address's (3): the requests an address
    is refused must not spend the key's, or one visitor would shut the widget for all."""
    key = make_key(app)
    one, other = Page(client, key, addr="198.51.100.7"), Page(client, key, addr="203.0.113.9")
    answers = [one.get("/catalog") for _ in range(12)]
    assert [a.status_code for a in answers] == [200, 200, 200] + [429] * 9
    assert answers[-1].headers["Retry-After"]
    assert answers[-1].headers["Access-Control-Allow-Origin"] == SHOP  # the page can read it
    assert [other.get("/catalog").status_code for _ in range(2)] == [200, 200]
    # The key's own budget is what is left of its 5: spent by the two addresses' 5 answers.
    assert Page(client, key, addr="192.0.2.1").get("/catalog").status_code == 429
