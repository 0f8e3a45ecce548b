"""The database becomes unreachable mid-run: 503 on the API, the typed values kept on the web.

PostgreSQL is reached through a TCP proxy that the test stops (closing its listener and every
open connection), never by touching the shared server. Needs TEST_DATABASE_URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from latepoint_forms import create_app
from latepoint_forms.api.keys import create_api_key
from latepoint_forms.extensions import db
from latepoint_forms.models import Customer, IdempotencyRecord
from latepoint_forms.unit_of_work import unit_of_work

from .conftest import base_config, empty_all_tables
from .servers import TcpProxy, gunicorn, http, through_proxy, upstream_of
from .test_web import REGISTRATION
from .web_support import PASSWORD, csrf_token, input_tag, page

ANN = {"first_name": "Ann", "last_name": "Lee"}
NOTHING_LOST = "We could not save your details just now. Nothing was lost"


@pytest.mark.parametrize(
    "app_config",
    [{"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 1, "max_overflow": 0, "pool_timeout": 0.2}}],
)
def test_no_free_database_connection_is_a_503(app: Flask, api_key: str) -> None:
    client = app.test_client()
    with app.app_context(), db.engine.connect():  # another request holds the only connection
        response = client.get("/api/v1/status", headers={"X-API-Key": api_key})

    assert_unavailable(response)
    assert client.get("/api/v1/status", headers={"X-API-Key": api_key}).status_code == 200


@pytest.fixture
def proxy(postgresql_url: str) -> Iterator[TcpProxy]:
    with TcpProxy(upstream_of(postgresql_url)) as running:
        yield running


@pytest.fixture
def proxied_app(postgresql_url: str, proxy: TcpProxy) -> Iterator[Flask]:
    app = create_app(base_config(through_proxy(postgresql_url, proxy)))
    yield app
    direct = create_app(base_config(postgresql_url))  # the proxy may be down by now
    with direct.app_context():
        empty_all_tables()
        db.engine.dispose()
    with app.app_context():
        db.engine.dispose()


def make_key(app: Flask) -> str:
    with app.app_context():
        with unit_of_work():
            _, plaintext = create_api_key("faults", ["customers:create", "customers:read"])
        db.session.remove()
        db.engine.dispose()  # close, not leave to the garbage collector
    return plaintext


def count(app: Flask, model: type) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def assert_unavailable(response: Any) -> None:
    assert response.status_code == 503
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["status"] == "error"
    assert body["error"]["code"] == "service_unavailable"
    assert body["error"]["message"]
    text = response.get_data(as_text=True)
    assert "Traceback" not in text
    assert "psycopg" not in text
    assert "127.0.0.1" not in text
    assert response.headers["X-Request-ID"]


@pytest.mark.postgres
def test_api_answers_503_while_the_database_is_away_and_recovers(
    proxied_app: Flask, proxy: TcpProxy, caplog: pytest.LogCaptureFixture
) -> None:
    client = proxied_app.test_client()
    headers = {"X-API-Key": make_key(proxied_app)}
    assert client.get("/api/v1/status", headers=headers).status_code == 200
    assert client.post("/api/v1/customers", json=ANN, headers=headers).status_code == 201

    proxy.stop()  # the database host drops off the network; pooled connections die with it

    assert_unavailable(client.get("/api/v1/status", headers=headers))
    retry = {**headers, "Idempotency-Key": "during-the-outage"}
    assert_unavailable(client.post("/api/v1/customers", json=ANN, headers=retry))
    assert_unavailable(client.get("/wp-json/latepoint-api/v1/customers/1", headers=headers))
    logged = [r for r in caplog.records if "Database unavailable" in r.getMessage()]
    assert logged
    assert all(r.request_id != "-" for r in logged)

    # Back on the same address: the pool replaces its dead connections by itself, and the
    # 503 was not remembered under the Idempotency-Key, so the retry now goes through.
    with TcpProxy(proxy.upstream, listen_port=proxy.port):
        again = client.post("/api/v1/customers", json=ANN, headers=retry)
        assert again.status_code == 201
        assert "Idempotent-Replayed" not in again.headers
        assert count(proxied_app, Customer) == 2
        assert count(proxied_app, IdempotencyRecord) == 1


@pytest.mark.postgres
def test_after_a_restart_the_api_reconnects_without_a_ping(
    proxied_app: Flask, proxy: TcpProxy
) -> None:
    """No ping before each checkout (DATABASE_PRE_PING off). After a restart between two
    requests, the rate limiter's key look-up is the first to meet the dead pooled connection:
    SQLAlchemy invalidates the pool, the limiter counts the request per address, and the key
    is read again on a fresh connection for authentication, so nobody sees the restart."""
    client = proxied_app.test_client()
    headers = {"X-API-Key": make_key(proxied_app)}
    assert client.get("/api/v1/status", headers=headers).status_code == 200

    proxy.stop()  # a restart between two requests: nothing failed while it was down
    with TcpProxy(proxy.upstream, listen_port=proxy.port):
        assert client.get("/api/v1/status", headers=headers).status_code == 200
        assert client.post("/api/v1/customers", json=ANN, headers=headers).status_code == 201


@pytest.mark.postgres
def test_registration_form_keeps_what_was_typed_when_the_database_goes_away(
    proxied_app: Flask, proxy: TcpProxy
) -> None:
    client = proxied_app.test_client()
    token = csrf_token(client, "/register")  # the page came while the database was there

    proxy.stop()
    response = client.post("/register", data={**REGISTRATION, "csrf_token": token})

    assert response.status_code == 503
    html = page(response)
    assert NOTHING_LOST in html
    assert "Traceback" not in html
    assert 'value="Zoë"' in input_tag(html, "first_name")
    assert 'value="Zoe.OBrien@Example.com"' in input_tag(html, "email")
    assert 'value="sw1a2aa"' in input_tag(html, "zipcode")
    assert "Prefers mornings." in html
    assert PASSWORD not in html


@pytest.mark.slow
@pytest.mark.postgres
def test_gunicorn_answers_503_without_detail(postgresql_url: str, proxy: TcpProxy) -> None:
    key = make_key(create_app(base_config(postgresql_url)))
    env = {"DATABASE_URL": through_proxy(postgresql_url, proxy)}
    try:
        with gunicorn(env, workers=2) as server:
            url = f"{server.url}/api/v1/status"
            assert http("GET", url, headers={"X-API-Key": key}).status == 200

            proxy.stop()
            reply = http("GET", url, headers={"X-API-Key": key, "X-Request-ID": "outage-1"})

            assert reply.status == 503
            assert reply.body["error"]["code"] == "service_unavailable"
            assert reply.headers["X-Request-ID"] == "outage-1"
            log = server.log()
        # The log has the cause, tied to the request id the client saw.
        assert "Database unavailable" in log
        assert "outage-1" in log
    finally:
        direct = create_app(base_config(postgresql_url))
        with direct.app_context():
            empty_all_tables()
            db.engine.dispose()
