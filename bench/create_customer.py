"""Cost of one ``POST /customers`` through the whole app, against a bare insert.

Numerator: the request through WSGI (Flask's test client), API-key auth, JSON parsing, every
rule, the service and its commit. Denominator: a SQLAlchemy Core insert of the same, already
validated row in its own transaction, on the same database, in the same run. The two are
measured in alternating rounds, so machine noise hits both alike; ratios are what we compare.

    python -m bench.create_customer            # SQLite, plus PostgreSQL if TEST_DATABASE_URL
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from flask import Flask
from flask_migrate import upgrade

from latepoint_forms import create_app
from latepoint_forms.api.keys import create_api_key
from latepoint_forms.config import database_url
from latepoint_forms.customers.service import new_customer_code
from latepoint_forms.extensions import db
from latepoint_forms.models import Customer
from latepoint_forms.unit_of_work import unit_of_work
from tests.scratch_db import scratch_postgres_database

ROUNDS = 7
PER_ROUND = 150
TARGETS = {"sqlite": 3.0, "postgresql": 1.5}

BODY = {
    "first_name": "Zoë",
    "last_name": "O'Brien",
    "phone": "+44 20 7946 0958",
    "date_of_birth": "1990-05-15",
    "address": "10 Downing Street",
    "city": "London",
    "zipcode": "SW1A 2AA",
    "country": "GB",
    "notes": "Prefers mornings.",
}


def validated_row(email: str) -> dict[str, object]:
    """The row the service would store for BODY: what the baseline inserts."""
    now = datetime.now(UTC)
    return {
        "uuid": str(uuid.uuid4()),
        "customer_code": new_customer_code(),
        "first_name": "Zoë",
        "last_name": "O'Brien",
        "email": email,
        "phone": "+442079460958",
        "status": "active",
        "date_of_birth": datetime(1990, 5, 15).date(),
        "address": "10 Downing Street",
        "city": "London",
        "zipcode": "SW1A 2AA",
        "country": "GB",
        "notes": "Prefers mornings.",
        "custom_fields": {},
        "is_guest": False,
        "source": "api",
        "created_at": now,
        "updated_at": now,
    }


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.sqlite3"
        return
    admin_url = database_url(os.environ["TEST_DATABASE_URL"])
    assert admin_url is not None
    with scratch_postgres_database(admin_url, "bench") as url:
        yield url


def timed(operation: Callable[[int], None], start: int, count: int) -> float:
    begin = time.perf_counter()
    for i in range(start, start + count):
        operation(i)
    return (time.perf_counter() - begin) / count


def measure(kind: str, url: str) -> tuple[float, float]:
    # The limiter stays in the path (in memory); its budget is raised so it never refuses.
    config = {"SQLALCHEMY_DATABASE_URI": url, "ENV_NAME": "testing"}
    app: Flask = create_app({**config, "RATE_LIMIT_LIVE": "1000000/minute"})
    with app.app_context(), unit_of_work():
        upgrade()
        _, key = create_api_key("bench", ["customers:create"])
        engine = db.engine
    customers = Customer.__table__
    client = app.test_client()
    headers = {"X-API-Key": key}

    def through_app(i: int) -> None:
        response = client.post(
            "/api/v1/customers", json={**BODY, "email": f"app{i}@example.com"}, headers=headers
        )
        if response.status_code != 201:
            raise RuntimeError(response.get_data(as_text=True))

    def bare_insert(i: int) -> None:
        with engine.begin() as conn:
            conn.execute(customers.insert().values(validated_row(f"core{i}@example.com")))

    timed(through_app, 0, 20)  # warm-up: imports, metadata caches, connection pool
    timed(bare_insert, 0, 20)
    app_times, core_times = [], []
    for r in range(ROUNDS):
        start = 100 + r * PER_ROUND
        core_times.append(timed(bare_insert, start, PER_ROUND))
        app_times.append(timed(through_app, start, PER_ROUND))
    with app.app_context():
        db.engine.dispose()
    return statistics.median(app_times), statistics.median(core_times)


def main() -> int:
    kinds = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])
    print(f"POST /customers vs a Core insert; {ROUNDS} rounds x {PER_ROUND}, medians")
    failed = False
    for kind in kinds:
        with database(kind) as url:
            app_s, core_s = measure(kind, url)
        ratio = app_s / core_s
        target = TARGETS[kind]
        verdict = "ok" if ratio <= target else "OVER TARGET"
        failed |= ratio > target
        print(
            f"{kind:<10} app {app_s * 1e3:7.3f} ms  core insert {core_s * 1e3:7.3f} ms  "
            f"ratio {ratio:5.2f}x  (target <= {target}x: {verdict})"
        )
    if "postgresql" not in kinds:
        print("postgresql skipped: set TEST_DATABASE_URL to measure it")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
