"""Against real gunicorn workers on PostgreSQL (and Redis): races and shared rate limits.

Slow: each test starts gunicorn. They run whenever TEST_DATABASE_URL is set (CI sets it).
"""

from __future__ import annotations

import os
import random
import secrets
import string
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select

from latepoint_forms import create_app
from latepoint_forms.api.keys import create_api_key
from latepoint_forms.extensions import db
from latepoint_forms.models import Customer, IdempotencyRecord
from latepoint_forms.unit_of_work import unit_of_work

from .conftest import base_config, empty_all_tables
from .servers import Gunicorn, Reply, gunicorn, http

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

REDIS_URL = os.environ.get("TEST_REDIS_URL")


def make_key(database_url: str, mode: str = "live") -> str:
    app = create_app(base_config(database_url))
    with app.app_context():
        with unit_of_work():
            _, plaintext = create_api_key(
                f"{mode} concurrency", ["customers:create", "customers:read"], mode=mode
            )
        db.engine.dispose()
    return plaintext


@pytest.fixture(scope="module")
def database_url(postgresql_url: str) -> Iterator[str]:
    """The session's PostgreSQL database, emptied again when these tests are done."""
    yield postgresql_url
    app = create_app(base_config(postgresql_url))
    with app.app_context():
        empty_all_tables()
        db.engine.dispose()


def count_where(database_url: str, *conditions: Any, model: type = Customer) -> int:
    app = create_app(base_config(database_url))
    with app.app_context():
        query = select(func.count()).select_from(model).where(*conditions)
        result = db.session.execute(query).scalar_one()
        db.session.remove()
        db.engine.dispose()
    return int(result)


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[Gunicorn]:
    env = {
        "DATABASE_URL": database_url,
        # These tests are about races, not budgets: a budget the storm cannot exhaust.
        "RATE_LIMIT_LIVE": "100000/minute",
    }
    if REDIS_URL:
        env["REDIS_URL"] = REDIS_URL
    with gunicorn(env, workers=4) as running:
        yield running


def storm(count: int, send: Any) -> list[Reply]:
    """``count`` requests released together by a barrier, each on its own connection."""
    barrier = threading.Barrier(count)

    def one(index: int) -> Reply:
        barrier.wait(timeout=30)
        return send(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def random_case(text: str) -> str:
    return "".join(c.upper() if random.random() < 0.5 else c.lower() for c in text)


def test_fifty_concurrent_creates_with_one_email_make_one_customer(
    server: Gunicorn, database_url: str
) -> None:
    key = make_key(database_url)
    email = f"race.{secrets.token_hex(4)}@example.com"

    def send(index: int) -> Reply:
        body = {"first_name": "Race", "last_name": "Runner", "email": random_case(email)}
        return http("POST", f"{server.url}/api/v1/customers", body, {"X-API-Key": key})

    replies = storm(50, send)

    statuses = Counter(reply.status for reply in replies)
    assert statuses == {201: 1, 409: 49}, (statuses, server.log()[-3000:])
    assert all(r.body["error"]["code"] == "email_exists" for r in replies if r.status == 409)
    created = next(r for r in replies if r.status == 201)
    assert created.body["data"]["email"] == email
    assert count_where(database_url, Customer.email == email) == 1


def test_twenty_concurrent_retries_with_one_key_make_one_customer(
    server: Gunicorn, database_url: str
) -> None:
    key = make_key(database_url)
    # No email: nothing but the Idempotency-Key stops twenty customers being created.
    surname = "".join(random.choices(string.ascii_lowercase, k=12)).capitalize()
    body = {"first_name": "Retry", "last_name": surname}
    headers = {"X-API-Key": key, "Idempotency-Key": f"retry-{secrets.token_hex(8)}"}

    replies = storm(20, lambda _: http("POST", f"{server.url}/api/v1/customers", body, headers))

    assert {r.status for r in replies} <= {201, 409}, [(r.status, r.body) for r in replies]
    created = [r for r in replies if r.status == 201]
    assert created
    assert all(r.body == created[0].body for r in created)
    assert all(
        r.body["error"]["code"] == "idempotency_conflict" for r in replies if r.status == 409
    )
    assert count_where(database_url, Customer.last_name == surname) == 1

    again = http("POST", f"{server.url}/api/v1/customers", body, headers)
    assert again.status == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.body == created[0].body
    assert count_where(database_url, Customer.last_name == surname) == 1
    assert count_where(database_url, model=IdempotencyRecord) >= 1


@pytest.mark.skipif(
    not REDIS_URL, reason="Redis tests: set TEST_REDIS_URL (redis://127.0.0.1:6379/15)"
)
def test_rate_limit_is_one_budget_across_workers_sharing_redis(database_url: str) -> None:
    """Two gunicorn servers (one worker each, as on two hosts) spend one budget in Redis."""
    key = make_key(database_url, mode="test")
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL or "",
        "RATE_LIMIT_TEST": "6/minute",
    }
    with gunicorn(env, workers=1) as first, gunicorn(env, workers=1) as second:
        replies = [
            http("GET", f"{server.url}/api/v1/status", headers={"X-API-Key": key})
            for server in (first, second) * 4
        ]

    assert [r.status for r in replies] == [200] * 6 + [429, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in replies[:6]] == [
        "5",
        "4",
        "3",
        "2",
        "1",
        "0",
    ]
    refused = replies[6]
    assert refused.body["error"]["code"] == "rate_limit_exceeded"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["X-RateLimit-Limit"] == "6"
