"""A silent network to PostgreSQL (a partition): a 503 in seconds, never a worker hung until
gunicorn kills it; the web form keeps what was typed. And the statement timeout.

The partition is real: PostgreSQL is reached through a TCP proxy listening in a network
namespace of the test's own, whose link the test takes down (servers.Partition), so packets
are dropped and nothing is closed. The shared server is never touched. A request that does
not answer within a generous multiple of the configured TCP user timeout fails the test
(it would otherwise hang for the kernel's ~15 minutes of retransmissions).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from latepoint_forms import create_app
from latepoint_forms.extensions import db
from latepoint_forms.models import ApiKey

from .conftest import base_config, empty_all_tables
from .servers import (
    Partition,
    TcpProxy,
    gunicorn,
    http,
    partition_unavailable,
    through_proxy,
    upstream_of,
)
from .test_faults import ANN, NOTHING_LOST, assert_unavailable, make_key
from .test_web import REGISTRATION
from .web_support import PASSWORD, csrf_token, input_tag, page

pytestmark = pytest.mark.postgres

TCP_USER_TIMEOUT = 1.0  # seconds, for the tests; README gives the production defaults
FAST_FAULTS = {
    "DATABASE_TCP_USER_TIMEOUT": TCP_USER_TIMEOUT,
    "DATABASE_KEEPALIVES_IDLE": 1,
    "DATABASE_KEEPALIVES_INTERVAL": 1,
    "DATABASE_KEEPALIVES_COUNT": 1,
}
BOUND = 20 * TCP_USER_TIMEOUT  # generous: a hung request never answers at all


def answered(call: Callable[[], Any]) -> Any:
    """``call()``'s result; fails the test if it hangs past ``BOUND`` (left to its thread,
    which the healed network or the process exit ends)."""
    result: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(call())
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(BOUND)
    if thread.is_alive():
        pytest.fail(f"no answer within {BOUND:g} s: the request hangs on the silent network")
    if errors:
        raise errors[0]
    return result[0]


@pytest.fixture
def partition() -> Iterator[Partition]:
    reason = partition_unavailable()
    if reason:
        pytest.skip(reason)
    with Partition() as made:
        yield made


@pytest.fixture
def partitioned_app(postgresql_url: str, partition: Partition) -> Iterator[Flask]:
    with TcpProxy(upstream_of(postgresql_url), partition=partition) as proxy:
        url = through_proxy(postgresql_url, proxy)
        app = create_app({**base_config(url), **FAST_FAULTS})
        yield app
        partition.heal()
        with app.app_context():
            db.engine.dispose()
    direct = create_app(base_config(postgresql_url))
    with direct.app_context():
        empty_all_tables()
        db.engine.dispose()


def test_pooled_connections_carry_keepalives_user_timeout_and_statement_timeout(
    postgresql_url: str,
) -> None:
    app = create_app(base_config(postgresql_url))  # the defaults
    with app.app_context():
        with db.engine.connect() as conn:
            statement_timeout = conn.execute(sa.text("SHOW statement_timeout")).scalar_one()
            params = conn.connection.dbapi_connection.info.get_parameters()  # type: ignore[union-attr]
        db.engine.dispose()

    assert statement_timeout == "15s"
    assert params["keepalives"] == "1"
    assert params["keepalives_idle"] == "10"
    assert params["keepalives_interval"] == "5"
    assert params["keepalives_count"] == "3"
    assert params["tcp_user_timeout"] == "10000"
    assert params["connect_timeout"] == "5"


def test_configured_values_and_no_statement_timeout(postgresql_url: str) -> None:
    app = create_app(
        {**base_config(postgresql_url), **FAST_FAULTS, "DATABASE_STATEMENT_TIMEOUT": 0}
    )
    with app.app_context():
        with db.engine.connect() as conn:
            statement_timeout = conn.execute(sa.text("SHOW statement_timeout")).scalar_one()
            params = conn.connection.dbapi_connection.info.get_parameters()  # type: ignore[union-attr]
        db.engine.dispose()

    assert statement_timeout == "0"  # the server's default: no startup option was sent
    assert "options" not in params
    assert params["tcp_user_timeout"] == "1000"
    assert params["keepalives_idle"] == "1"


def test_api_answers_503_across_a_silent_network_and_recovers(
    partitioned_app: Flask, partition: Partition, caplog: pytest.LogCaptureFixture
) -> None:
    client = partitioned_app.test_client()
    headers = {"X-API-Key": make_key(partitioned_app)}
    assert client.get("/api/v1/status", headers=headers).status_code == 200

    partition.cut()  # a pooled connection is open; from now on nothing gets through

    assert_unavailable(answered(lambda: client.get("/api/v1/status", headers=headers)))
    created = answered(lambda: client.post("/api/v1/customers", json=ANN, headers=headers))
    assert_unavailable(created)
    logged = [r for r in caplog.records if "Database unavailable" in r.getMessage()]
    assert len(logged) >= 2
    assert all(r.levelno == logging.ERROR for r in logged)

    partition.heal()
    again = answered(lambda: client.post("/api/v1/customers", json=ANN, headers=headers))
    assert again.status_code == 201


def test_registration_form_keeps_what_was_typed_across_a_silent_network(
    partitioned_app: Flask, partition: Partition
) -> None:
    client = partitioned_app.test_client()
    token = csrf_token(client, "/register")
    client.get("/register")  # a pooled connection, as in a busy worker

    partition.cut()
    response = answered(
        lambda: client.post("/register", data={**REGISTRATION, "csrf_token": token})
    )

    assert response.status_code == 503
    html = page(response)
    assert NOTHING_LOST in html
    assert 'value="Zoë"' in input_tag(html, "first_name")
    assert 'value="Zoe.OBrien@Example.com"' in input_tag(html, "email")
    assert PASSWORD not in html


def test_a_statement_stuck_behind_a_lock_is_cancelled_with_a_503(postgresql_url: str) -> None:
    app = create_app({**base_config(postgresql_url), "DATABASE_STATEMENT_TIMEOUT": 0.5})
    key = make_key(app)
    holder = sa.create_engine(postgresql_url)
    try:
        with holder.connect() as conn:
            # Another session holds the key's row: its last-use note must wait for the lock.
            conn.execute(sa.select(ApiKey.__table__).with_for_update())
            response = answered(
                lambda: app.test_client().get("/api/v1/status", headers={"X-API-Key": key})
            )
            conn.rollback()
        assert_unavailable(response)
        assert (
            app.test_client().get("/api/v1/status", headers={"X-API-Key": key}).status_code == 200
        )
    finally:
        holder.dispose()
        with app.app_context():
            empty_all_tables()
            db.engine.dispose()


@pytest.mark.slow
def test_gunicorn_answers_503_across_a_silent_network_and_logs_it(
    postgresql_url: str, partition: Partition
) -> None:
    """Production's path: the settings from the environment, a worker that must not hang."""
    key = make_key(create_app(base_config(postgresql_url)))
    env = {name: str(value) for name, value in FAST_FAULTS.items()}
    try:
        with TcpProxy(upstream_of(postgresql_url), partition=partition) as proxy:
            env["DATABASE_URL"] = through_proxy(postgresql_url, proxy)
            with gunicorn(env, workers=1) as server:
                url = f"{server.url}/api/v1/status"
                assert http("GET", url, headers={"X-API-Key": key}).status == 200

                partition.cut()
                reply = http(
                    "GET",
                    url,
                    headers={"X-API-Key": key, "X-Request-ID": "silent-1"},
                    timeout=BOUND,
                )

                assert reply.status == 503
                assert reply.body["error"]["code"] == "service_unavailable"
                assert reply.headers["X-Request-ID"] == "silent-1"
                partition.heal()
                log = server.log()
        assert "Database unavailable" in log
        assert "silent-1" in log
        assert "WORKER TIMEOUT" not in log
    finally:
        direct = create_app(base_config(postgresql_url))
        with direct.app_context():
            empty_all_tables()
            db.engine.dispose()
