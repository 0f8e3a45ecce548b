"""A read-only database (a standby, a failed-over primary): writes are 503 at every door, reads
still answer, and the API key's last-use note is skipped rather than failing the request.

PostgreSQL: a scratch database of this test's own, made read-only with
``ALTER DATABASE … SET default_transaction_read_only = on`` (never the shared server's
settings). SQLite: the file opened read-only (``mode=ro``). Both are real refusals by the
database, not a simulation.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import func, select

from latepoint_forms import create_app
from latepoint_forms.api.keys import create_api_key
from latepoint_forms.extensions import db
from latepoint_forms.models import ApiKey, Customer, IdempotencyRecord
from latepoint_forms.unit_of_work import unit_of_work

from .conftest import base_config, postgres_admin_url
from .scratch_db import scratch_postgres_database
from .test_faults import NOTHING_LOST, assert_unavailable
from .test_web import REGISTRATION
from .web_support import PASSWORD, csrf_token, input_tag, page

ANN = {"first_name": "Ann", "last_name": "Lee"}


def _prepare(url: str) -> tuple[str, int]:
    """Migrate ``url``, store one customer and one key; the key's plaintext and the
    customer's id."""
    app = create_app(base_config(url))
    with app.app_context():
        upgrade()
        with unit_of_work():
            _, plaintext = create_api_key("read-only", ["customers:create", "customers:read"])
        db.session.remove()
    created = app.test_client().post(
        "/api/v1/customers",
        json={"first_name": "Bo", "last_name": "Ray"},
        headers={"X-API-Key": plaintext},
    )
    assert created.status_code == 201
    with app.app_context():
        db.session.execute(sa.update(ApiKey).values(last_used_at=None))  # as if never used
        db.session.commit()
        db.engine.dispose()
    return plaintext, created.get_json()["data"]["id"]


@pytest.fixture(params=["sqlite", "postgresql"])
def read_only(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Flask, str, int]]:
    """(app on a read-only database, an API key, a stored customer's id)."""
    if request.param == "sqlite":
        path = tmp_path / "standby.sqlite3"
        plaintext, customer_id = _prepare(f"sqlite:///{path}")
        app = create_app(base_config(f"sqlite:///file:{path}?mode=ro&uri=true"))
        yield app, plaintext, customer_id
        with app.app_context():
            db.engine.dispose()
        return
    with scratch_postgres_database(postgres_admin_url(), "readonly") as url:
        plaintext, customer_id = _prepare(url)
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        name = sa.make_url(url).database
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
        admin.dispose()
        app = create_app(base_config(url))  # new connections see the setting
        yield app, plaintext, customer_id
        with app.app_context():
            db.engine.dispose()


def count(app: Flask, model: type) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_reads_answer_although_the_last_use_cannot_be_noted(
    read_only: tuple[Flask, str, int], caplog: pytest.LogCaptureFixture
) -> None:
    app, key, customer_id = read_only
    client = app.test_client()
    headers = {"X-API-Key": key}
    caplog.set_level(logging.INFO, logger="latepoint_forms")

    status = client.get("/api/v1/status", headers=headers)
    listing = client.get("/api/v1/customers", headers=headers)
    one = client.get(f"/wp-json/latepoint-api/v1/customers/{customer_id}", headers=headers)

    assert status.status_code == 200, status.get_data(as_text=True)
    assert listing.status_code == 200, listing.get_data(as_text=True)
    assert [c["id"] for c in listing.get_json()["data"]] == [customer_id]
    assert one.status_code == 200
    assert one.get_json()["data"]["first_name"] == "Bo"
    with app.app_context():
        assert db.session.execute(select(ApiKey.last_used_at)).scalar_one() is None
    assert any("database is read-only" in r.getMessage() for r in caplog.records)


def test_api_writes_are_503_and_nothing_is_kept(
    read_only: tuple[Flask, str, int], caplog: pytest.LogCaptureFixture
) -> None:
    app, key, _ = read_only
    client = app.test_client()
    headers = {"X-API-Key": key}

    assert_unavailable(client.post("/api/v1/customers", json=ANN, headers=headers))
    retry = {**headers, "Idempotency-Key": "on-the-standby"}
    assert_unavailable(client.post("/api/v1/customers", json=ANN, headers=retry))
    bulk = {"customers": [ANN, {"first_name": "Cy", "last_name": "Ode"}]}
    assert_unavailable(client.post("/api/v1/customers/bulk", json=bulk, headers=headers))

    assert count(app, Customer) == 1  # the one stored before
    assert count(app, IdempotencyRecord) == 0
    logged = [r for r in caplog.records if "Database read-only" in r.getMessage()]
    assert len(logged) == 3
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]


def test_registration_form_keeps_what_was_typed(read_only: tuple[Flask, str, int]) -> None:
    app, _, _ = read_only
    client = app.test_client()
    token = csrf_token(client, "/register")

    response = client.post("/register", data={**REGISTRATION, "csrf_token": token})

    assert response.status_code == 503
    html = page(response)
    assert NOTHING_LOST in html
    assert "Traceback" not in html
    assert 'value="Zoë"' in input_tag(html, "first_name")
    assert 'value="Zoe.OBrien@Example.com"' in input_tag(html, "email")
    assert PASSWORD not in html
    assert count(app, Customer) == 1


def test_web_pages_that_only_read_still_answer(read_only: tuple[Flask, str, int]) -> None:
    app, _, _ = read_only
    response = app.test_client().get("/register")
    assert response.status_code == 200
