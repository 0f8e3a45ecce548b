"""Fixtures: an app on SQLite and, when TEST_DATABASE_URL is set, again on PostgreSQL.

Each test session migrates a database of its own (a temporary SQLite file; a freshly created
PostgreSQL database, dropped at the end), so parallel runs never share rows. Between tests
every table is emptied.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from latepoint_forms import create_app
from latepoint_forms.api.keys import create_api_key
from latepoint_forms.config import database_url
from latepoint_forms.extensions import db
from latepoint_forms.unit_of_work import unit_of_work

from .scratch_db import scratch_postgres_database

pytest_plugins = ["tests.skip_summary"]

BACKENDS = ["sqlite", "postgresql"]


def base_config(url: str) -> dict[str, Any]:
    return {
        "ENV_NAME": "testing",
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": url,
        "FAST_PASSWORD_HASHING": True,
        "DEFAULT_PHONE_REGION": None,
        "DEFAULT_COUNTRY": None,
        # Tests post forms at once; the abuse tests set a fill time (and a CLOCK) of their own.
        "FORM_MIN_SECONDS": 0,
    }


def _migrate(url: str) -> None:
    app = create_app(base_config(url))
    with app.app_context():
        upgrade()
        db.engine.dispose()


def postgres_admin_url() -> str:
    """The server to make scratch databases on; skip (fail in CI) without TEST_DATABASE_URL."""
    admin_url = database_url(os.environ.get("TEST_DATABASE_URL"))
    if not admin_url:
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL tests: set TEST_DATABASE_URL")
        pytest.skip(
            "PostgreSQL tests: set TEST_DATABASE_URL (postgresql://postgres@127.0.0.1:5432/test)"
        )
    return admin_url


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    """A new, migrated PostgreSQL database for this session (skip without TEST_DATABASE_URL)."""
    with scratch_postgres_database(postgres_admin_url(), "test") as url:
        _migrate(url)
        yield url


@pytest.fixture(params=BACKENDS)
def unmigrated_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty, unmigrated database of its own (a fresh PostgreSQL one, dropped after)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'unmigrated.sqlite3'}"
        return
    with scratch_postgres_database(postgres_admin_url(), "unmigrated") as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    _migrate(url)
    return url


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest) -> str:
    """The URL of a migrated, empty database: each test using it runs on both backends."""
    return request.getfixturevalue(f"{request.param}_url")


def database_for_servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, stem: str
) -> Iterator[str]:
    """A database URL for a module whose real servers (gunicorn) share it: a migrated SQLite
    file of its own, or the session's PostgreSQL database, emptied afterwards. For a fixture
    parametrised over the backends: ``yield from database_for_servers(request, …)``."""
    if request.param == "sqlite":
        url = f"sqlite:///{Path(tmp_path_factory.mktemp(stem)) / f'{stem}.sqlite3'}"
        _migrate(url)
        yield url
        return
    url = request.getfixturevalue("postgresql_url")
    yield url
    app = create_app(base_config(url))
    with app.app_context():
        empty_all_tables()
        db.engine.dispose()


def empty_all_tables() -> None:
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Per-test config overrides (override this fixture, or mutate it before ``app``)."""
    return {}


@pytest.fixture
def app(database: str, app_config: dict[str, Any]) -> Iterator[Flask]:
    """The app, with no context pushed: requests get their own, as in production.

    Tests that look at the database directly use the ``app_context`` fixture.
    """
    app = create_app({**base_config(database), **app_config})
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            empty_all_tables()
            db.engine.dispose()


@pytest.fixture
def app_context(app: Flask) -> Iterator[None]:
    """An app context for direct database access, torn down (session removed) afterwards."""
    with app.app_context():
        yield


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


@pytest.fixture
def make_api_key(app: Flask) -> Callable[..., str]:
    """Create a key and return its plaintext (all permissions unless told otherwise)."""

    def make(
        permissions: tuple[str, ...] = ("customers:create", "customers:read"),
        mode: str = "live",
        name: str = "tests",
    ) -> str:
        with app.app_context(), unit_of_work():
            _, plaintext = create_api_key(name, list(permissions), mode=mode)
        return plaintext

    return make


@pytest.fixture
def api_key(make_api_key: Callable[..., str]) -> str:
    return make_api_key()


class ApiClient:
    """A test client that speaks the JSON API with a key."""

    def __init__(self, client: FlaskClient, key: str | None, prefix: str = "/api/v1") -> None:
        self.client, self.key, self.prefix = client, key, prefix
        self.app: Flask = client.application

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"X-API-Key": self.key} if self.key else {}
        return {**headers, **(extra or {})}

    def post(self, path: str, body: Any, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        return self.client.post(self.prefix + path, json=body, headers=self.headers(headers))

    def get(self, path: str, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        return self.client.get(self.prefix + path, headers=self.headers(headers))


@pytest.fixture
def api(client: FlaskClient, api_key: str) -> ApiClient:
    return ApiClient(client, api_key)
