"""The limiter's Redis store behind a network that goes silent: limits fail open, fast, and the
outage is logged once, not per request (SPEC section 7; api/limit_store.py).

The real Redis of TEST_REDIS_URL is reached through a TCP proxy that stops forwarding bytes
without closing anything (a partition); the shared server is never touched. "Fast" is
asserted by behaviour: during an outage requests do not go to the store again (the proxy
sees no new connection) until the retry pause has passed on an injected clock.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from latepoint_forms import create_app
from latepoint_forms.api.limit_store import EXTENSION_KEY, StoreOutage
from latepoint_forms.extensions import db

from .conftest import base_config, empty_all_tables
from .servers import TcpProxy
from .test_faults import make_key

REDIS_URL = os.environ.get("TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL is not set")

UNREACHABLE = "Rate limit store unreachable"
REACHABLE = "Rate limit store reachable again"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def redis_proxy() -> Iterator[TcpProxy]:
    url = sa.make_url(REDIS_URL or "")  # only its host and port are used
    with TcpProxy((url.host or "127.0.0.1", url.port or 6379)) as running:
        yield running


@pytest.fixture
def limited_app(database: str, redis_proxy: TcpProxy) -> Iterator[Flask]:
    db_number = (REDIS_URL or "").rsplit("/", 1)[-1] or "0"
    app = create_app(
        {
            **base_config(database),
            "REDIS_URL": f"redis://127.0.0.1:{redis_proxy.port}/{db_number}",
            "RATE_LIMIT_LIVE": "5/minute",
            "REDIS_SOCKET_TIMEOUT": 0.2,
            "RATELIMIT_STORE_RETRY_SECONDS": 30,
        }
    )
    yield app
    with app.app_context():
        db.session.remove()
        empty_all_tables()
        db.engine.dispose()


def outage_lines(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if text in r.getMessage()]


def test_store_options_are_short_timeouts(limited_app: Flask) -> None:
    options = limited_app.config["RATELIMIT_STORAGE_OPTIONS"]
    assert options == {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}


def test_a_silent_store_fails_open_fast_and_is_logged_once_per_outage(
    limited_app: Flask, redis_proxy: TcpProxy, caplog: pytest.LogCaptureFixture
) -> None:
    outage: StoreOutage = limited_app.extensions[EXTENSION_KEY]
    clock = outage.clock = Clock()
    client = limited_app.test_client()
    headers = {"X-API-Key": make_key(limited_app)}

    def get() -> Any:
        return client.get("/api/v1/status", headers=headers)

    first = get()
    assert first.status_code == 200
    assert first.headers["X-RateLimit-Remaining"] == "4"  # counted in Redis

    redis_proxy.go_silent()
    statuses = [get().status_code for _ in range(8)]

    assert statuses == [200] * 8  # fail open: served without limits (5/minute otherwise)
    assert len(outage_lines(caplog, UNREACHABLE)) == 1
    assert not [r for r in caplog.records if "Swallowing" in r.getMessage()]
    # Fast: after the first failure no request went to the store again (no new connection).
    tried = redis_proxy.accepted
    assert [get().status_code for _ in range(5)] == [200] * 5
    assert redis_proxy.accepted == tried

    clock.now += 31  # the pause is over: one request tries the store, still silent
    assert get().status_code == 200
    assert redis_proxy.accepted == tried + 1
    assert [get().status_code for _ in range(3)] == [200] * 3
    assert redis_proxy.accepted == tried + 1
    assert len(outage_lines(caplog, UNREACHABLE)) == 1  # the same outage: not said again

    redis_proxy.speak()
    clock.now += 31
    back = get()
    assert back.status_code == 200
    assert "X-RateLimit-Remaining" in back.headers  # limits apply again
    assert len(outage_lines(caplog, REACHABLE)) == 1
    statuses = [get().status_code for _ in range(6)]
    assert 429 in statuses

    redis_proxy.go_silent()  # a second outage is a second line
    assert get().status_code == 200
    assert len(outage_lines(caplog, UNREACHABLE)) == 2
