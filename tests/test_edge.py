"""Serving at the edge, in process (SPEC section 7): bodies (size and time), Host headers,
forwarded headers, bulk budgets, several workers without Redis, probes and metrics.

The same behaviour against a real gunicorn: test_edge_servers.py.
"""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from latepoint_forms import create_app, operations
from latepoint_forms.config import load_config
from latepoint_forms.extensions import db
from latepoint_forms.models import Customer
from latepoint_forms.request_body import BodyReader
from latepoint_forms.serving import (
    prepare_metrics_dir,
    refuse_unshared_rate_limits,
    remove_made_metrics_dirs,
)

from .conftest import ApiClient, base_config
from .servers import free_port
from .test_api import assert_error

ANN = {"first_name": "Ann", "last_name": "Lee"}
MiB = 1024 * 1024


def customer_count(app: Flask) -> int:
    with app.app_context():
        count = db.session.execute(select(func.count()).select_from(Customer)).scalar_one()
        db.session.remove()
    return int(count)


def post_chunked(client: FlaskClient, path: str, body: bytes, key: str) -> Any:
    """A body sent as HTTP/1.1 chunks: no Content-Length, the server says where it ends."""
    return client.post(
        path,
        input_stream=io.BytesIO(body),
        headers={
            "Transfer-Encoding": "chunked",
            "Content-Type": "application/json",
            "X-API-Key": key,
        },
        environ_overrides={"wsgi.input_terminated": True},
    )


# --- Item 8: a chunked body over MAX_CONTENT_LENGTH ------------------------------------------


def test_chunked_body_over_the_limit_is_413_not_cut(client: FlaskClient, api_key: str) -> None:
    # Valid JSON, then 2 MiB of spaces: cut at 1 MiB it would still parse (and create).
    body = b'{"first_name": "Ann", "last_name": "Lee"}' + b" " * (2 * MiB)

    response = post_chunked(client, "/api/v1/customers", body, api_key)

    assert_error(response, 413, "payload_too_large")
    assert response.headers["Connection"] == "close"
    assert customer_count(client.application) == 0


def test_larger_chunked_body_is_413_not_400(client: FlaskClient, api_key: str) -> None:
    body = b'{"first_name": "' + b"A" * (3 * MiB) + b'", "last_name": "Lee"}'

    assert_error(post_chunked(client, "/api/v1/customers", body, api_key), 413, "payload_too_large")


def test_chunked_body_within_the_limit_is_read_whole(client: FlaskClient, api_key: str) -> None:
    body = b'{"first_name": "Ann", "last_name": "Lee"}' + b" " * (MiB // 2)

    response = post_chunked(client, "/api/v1/customers", body, api_key)

    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["data"]["first_name"] == "Ann"


# --- Item 4: a body that does not arrive in time ---------------------------------------------


class ManualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class TricklingInput(io.BytesIO):
    """A request body arriving one byte per read, each read taking one second of ``clock``."""

    def __init__(self, data: bytes, clock: ManualClock) -> None:
        super().__init__(data)
        self.clock, self.reads = clock, 0

    def read(self, size: int | None = -1) -> bytes:
        self.clock.now += 1.0
        self.reads += 1
        return super().read(1)


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"REQUEST_BODY_TIMEOUT": 3, "RATE_LIMIT_LIVE": "10/minute;1000/hour"}


def test_a_body_slower_than_the_deadline_is_408(client: FlaskClient, api_key: str) -> None:
    reader = client.application.wsgi_app
    assert isinstance(reader, BodyReader)
    clock = ManualClock()
    reader.clock = clock
    body = b'{"first_name": "Ann", "last_name": "Lee"}'
    stream = TricklingInput(body, clock)

    response = client.post(
        "/api/v1/customers",
        input_stream=stream,
        content_length=len(body),
        headers={"Content-Type": "application/json", "X-API-Key": api_key},
    )

    error = assert_error(response, 408, "request_timeout")
    assert "did not arrive in time" in error["message"]
    assert response.headers["Connection"] == "close"
    assert stream.reads == 3  # stopped at the deadline, not at the end of the body
    assert customer_count(client.application) == 0


def test_a_body_within_the_deadline_is_served(client: FlaskClient, api_key: str) -> None:
    reader = client.application.wsgi_app
    assert isinstance(reader, BodyReader)
    clock = ManualClock()
    reader.clock = clock
    reader.timeout = 1000
    body = b'{"first_name": "Ann", "last_name": "Lee"}'

    response = client.post(
        "/api/v1/customers",
        input_stream=TricklingInput(body, clock),
        content_length=len(body),
        headers={"Content-Type": "application/json", "X-API-Key": api_key},
    )

    assert response.status_code == 201, response.get_data(as_text=True)


# --- Item 6: one unit of the budget per bulk item; several workers need Redis ----------------


def bulk(count: int, start: int = 0) -> dict[str, Any]:
    return {
        "customers": [
            {"first_name": "Ann", "last_name": f"Lee{chr(97 + i)}"}
            for i in range(start, start + count)
        ]
    }


def test_a_bulk_spends_one_unit_per_item(api: ApiClient) -> None:
    first = api.post("/customers/bulk", bulk(4))
    assert first.status_code == 200
    assert first.get_json()["data"]["created"] == 4
    assert first.headers["X-RateLimit-Remaining"] == "6"  # 10/minute, 4 spent

    over = api.post("/customers/bulk", bulk(7, start=4))  # 7 > the 6 left

    assert_error(over, 429, "rate_limit_exceeded")
    assert int(over.headers["Retry-After"]) > 0
    assert customer_count(api.app) == 4  # nothing of the refused bulk was written


def test_a_bulk_larger_than_the_window_is_a_422_that_costs_nothing(api: ApiClient) -> None:
    # 11 items on a 10/minute key could never pass: said as such, not as a 429 to retry.
    refused = api.post("/customers/bulk", bulk(11))

    assert_error(refused, 422, "validation_failed")
    message = refused.get_json()["error"]["details"]["customers"]
    assert message.startswith("At most 10 customers in one request for this key")
    assert customer_count(api.app) == 0
    # Nothing was counted: the whole window is still there for a bulk that fits.
    fits = api.post("/customers/bulk", bulk(10))
    assert fits.status_code == 200
    assert fits.headers["X-RateLimit-Remaining"] == "0"


def test_a_replayed_bulk_costs_one_unit(api: ApiClient) -> None:
    headers = {"Idempotency-Key": "bulk-replay-1"}
    first = api.post("/customers/bulk", bulk(6), headers=headers)
    assert first.headers["X-RateLimit-Remaining"] == "4"

    # The same body re-serialised (another spacing): the stored answer, for one unit.
    raw = json.dumps(bulk(6), indent=2)
    replay = api.client.post(
        "/api/v1/customers/bulk",
        data=raw,
        headers=api.headers({**headers, "Content-Type": "application/json"}),
    )

    assert replay.status_code == 200
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.headers["X-RateLimit-Remaining"] == "3"
    assert customer_count(api.app) == 6


def test_a_malformed_bulk_costs_one_unit(api: ApiClient) -> None:
    response = api.post("/customers/bulk", {"customers": "nope"})
    assert_error(response, 422, "validation_failed")
    assert response.headers["X-RateLimit-Remaining"] == "9"


def test_a_bulk_without_a_key_is_not_priced_by_its_body(client: FlaskClient) -> None:
    anonymous = ApiClient(client, None)
    response = anonymous.post("/customers/bulk", bulk(10))
    assert_error(response, 401, "unauthorized")
    limit = int(response.headers["X-RateLimit-Limit"])
    assert response.headers["X-RateLimit-Remaining"] == str(limit - 1)  # one unit, not ten


@pytest.mark.parametrize(
    ("workers", "env"),
    [
        (1, {}),
        (5, {"REDIS_URL": "redis://cache.internal:6379/0"}),
        (5, {"RATELIMIT_PER_PROCESS": "1"}),
        (5, {"RATELIMIT_ENABLED": "off"}),
    ],
)
def test_workers_start_when_budgets_are_shared_or_meant(workers: int, env: dict[str, str]) -> None:
    refuse_unshared_rate_limits(workers, env)  # returns: the start goes on


@pytest.mark.parametrize("env", [{}, {"REDIS_URL": " "}, {"RATELIMIT_PER_PROCESS": "0"}])
def test_several_workers_without_redis_refuse_to_start(env: dict[str, str]) -> None:
    with pytest.raises(SystemExit, match="Refusing to start 5 workers without REDIS_URL"):
        refuse_unshared_rate_limits(5, env)


def test_a_typo_in_ratelimit_per_process_stops_the_start() -> None:
    with pytest.raises(SystemExit, match="RATELIMIT_PER_PROCESS"):
        refuse_unshared_rate_limits(5, {"RATELIMIT_PER_PROCESS": "sure"})


# --- Item 9: Host headers ---------------------------------------------------------------------


@pytest.fixture
def production_app(database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    monkeypatch.setenv("SECRET_KEY", "a-real-secret-from-the-environment")
    monkeypatch.setenv("PUBLIC_URL", "https://book.example.com")
    monkeypatch.delenv("TRUSTED_HOSTS", raising=False)
    app = create_app({**base_config(database), "ENV_NAME": "production", "TESTING": False})
    yield app
    with app.app_context():
        db.engine.dispose()


def test_an_untrusted_host_is_400_and_never_a_redirect_to_it(production_app: Flask) -> None:
    client = production_app.test_client()

    response = client.post("/api/v1//customers", headers={"Host": "evil.example"})

    error = assert_error(response, 400, "untrusted_host")
    assert "Location" not in response.headers
    assert "host" in error["message"]


@pytest.mark.parametrize("host", ["BOOK.EXAMPLE.COM", "book.example.com.", "Book.Example.com:443"])
def test_the_public_host_is_matched_as_dns_reads_it(production_app: Flask, host: str) -> None:
    response = production_app.test_client().get("/book", headers={"Host": host})
    assert response.status_code == 200


def test_an_untrusted_host_on_a_page_is_400(production_app: Flask) -> None:
    response = production_app.test_client().get("/", headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert "evil.example" not in response.get_data(as_text=True)


def test_the_public_host_is_served_and_redirected_to_itself(production_app: Flask) -> None:
    client = production_app.test_client()

    response = client.post("/api/v1//customers", headers={"Host": "book.example.com"})

    assert response.status_code == 308
    location = urlsplit(response.headers["Location"])
    assert (location.hostname, location.path) == ("book.example.com", "/api/v1/customers")
    assert client.get("/api/v1/status", headers={"Host": "book.example.com"}).status_code == 401


def test_trusted_hosts_defaults_to_the_public_url_host() -> None:
    env = {
        "LATEPOINT_ENV": "production",
        "SECRET_KEY": "s",
        "PUBLIC_URL": "https://book.example.com/",
    }
    assert load_config(env)["TRUSTED_HOSTS"] == ["book.example.com"]
    listed = load_config({**env, "TRUSTED_HOSTS": "book.example.com, .example.org"})
    assert listed["TRUSTED_HOSTS"] == ["book.example.com", ".example.org"]


def test_production_requires_public_url() -> None:
    with pytest.raises(RuntimeError, match="PUBLIC_URL must be set"):
        load_config({"LATEPOINT_ENV": "production", "SECRET_KEY": "s"})
    with pytest.raises(RuntimeError, match=r"PUBLIC_URL must be an absolute http\(s\) URL"):
        load_config({"LATEPOINT_ENV": "production", "SECRET_KEY": "s", "PUBLIC_URL": "book"})


def test_development_answers_localhost_and_loopback(client: FlaskClient) -> None:
    assert load_config({})["PUBLIC_URL"] == "http://127.0.0.1:5000"
    assert load_config({})["TRUSTED_HOSTS"] is None
    for host in ("localhost", "127.0.0.1:5000", "localhost:5000"):
        assert client.get("/api/v1/status", headers={"Host": host}).status_code == 401


# --- Item 5: forwarded headers nobody trusts --------------------------------------------------


def forwarded_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "TRUSTED_PROXY_HOPS" in r.getMessage()]


def test_untrusted_forwarded_headers_are_warned_about_once(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="latepoint_forms.security")
    client.get("/api/v1/status")
    assert forwarded_warnings(caplog) == []

    for _ in range(3):
        client.get("/api/v1/status", headers={"X-Forwarded-For": "203.0.113.7"})

    (warning,) = forwarded_warnings(caplog)
    assert warning.levelno == logging.WARNING
    assert "X-Forwarded-For" in warning.getMessage()
    assert "TRUSTED_PROXY_HOPS=0" in warning.getMessage()


def test_trusted_forwarding_is_not_warned_about(
    database: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="latepoint_forms.security")
    app = create_app({**base_config(database), "TRUSTED_PROXY_HOPS": 1})
    client = app.test_client()

    client.get("/api/v1/status", headers={"X-Forwarded-For": "203.0.113.7"})
    assert forwarded_warnings(caplog) == []

    # RFC 7239 Forwarded is never read, so it is never trusted.
    client.get("/api/v1/status", headers={"Forwarded": "for=203.0.113.7"})
    (warning,) = forwarded_warnings(caplog)
    assert "Forwarded" in warning.getMessage()
    with app.app_context():
        db.engine.dispose()


# --- Item 15: probes and metrics --------------------------------------------------------------


def test_healthz_answers_without_key_session_or_limit(client: FlaskClient) -> None:
    for _ in range(40):  # more than any budget in these tests
        response = client.get("/healthz")
        assert response.status_code == 200
        assert response.get_json() == {"status": "ok"}
        assert "Set-Cookie" not in response.headers
        assert "X-RateLimit-Limit" not in response.headers


def test_readyz_is_200_on_a_migrated_writable_database(client: FlaskClient) -> None:
    for _ in range(40):
        response = client.get("/readyz")
        assert response.status_code == 200, response.get_data(as_text=True)
        assert "Set-Cookie" not in response.headers
    assert response.get_json() == {"status": "ready"}


def readiness_of(url: str) -> Any:
    app = create_app(base_config(url))
    try:
        return app.test_client().get("/readyz")
    finally:
        with app.app_context():
            db.engine.dispose()


def test_readyz_is_503_without_migrations(unmigrated_url: str) -> None:
    response = readiness_of(unmigrated_url)
    assert response.status_code == 503
    assert "flask db upgrade" in response.get_json()["problems"]["migrations"]


def test_readyz_is_503_when_migrations_are_behind(unmigrated_url: str) -> None:
    engine = sa.create_engine(
        sa.make_url(unmigrated_url.replace("postgresql://", "postgresql+psycopg://"))
    )
    with engine.begin() as connection:
        connection.execute(
            sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        )
        connection.execute(sa.text("INSERT INTO alembic_version VALUES ('0000_older')"))
    engine.dispose()

    response = readiness_of(unmigrated_url)

    assert response.status_code == 503
    assert "0000_older" in response.get_json()["problems"]["migrations"]


def read_only(url: str) -> str:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"sqlite:///file:{parsed.database}?mode=ro&uri=true"
    return parsed.update_query_dict(
        {"options": "-c default_transaction_read_only=on"}
    ).render_as_string(False)


def test_readyz_is_503_on_a_read_only_database(database: str) -> None:
    response = readiness_of(read_only(database))
    assert response.status_code == 503
    assert response.get_json()["problems"] == {"database": "The database refuses writes"}


def test_readyz_is_503_when_the_database_is_unreachable() -> None:
    response = readiness_of(f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere")
    assert response.status_code == 503
    assert response.get_json()["problems"] == {"database": "The database is unreachable"}


def test_metrics_are_off_unless_enabled(client: FlaskClient) -> None:
    assert client.get("/metrics").status_code == 404


@pytest.fixture
def metrics_app(database: str) -> Iterator[Flask]:
    app = create_app({**base_config(database), "METRICS_ENABLED": True})
    yield app
    with app.app_context():
        db.engine.dispose()


def test_metrics_count_requests_and_latencies(metrics_app: Flask) -> None:
    state = metrics_app.extensions[operations.METRICS_KEY]
    clock = ManualClock()

    def ticking() -> float:
        clock.now += 0.125  # each reading a quarter second after the one before, in pairs
        return clock.now

    state.clock = ticking
    client = metrics_app.test_client()
    for _ in range(3):
        client.get("/api/v1/status")
    client.get("/no/such/page")

    text = client.get("/metrics").get_data(as_text=True)

    assert 'http_requests_total{endpoint="api.status",method="GET",status="401"} 3.0' in text
    assert 'http_requests_total{endpoint="unmatched",method="GET",status="404"} 1.0' in text
    assert 'http_request_duration_seconds_count{endpoint="api.status",method="GET"} 3.0' in text
    assert 'http_request_duration_seconds_sum{endpoint="api.status",method="GET"} 0.375' in text


def test_registered_gauges_are_read_at_scrape_time(metrics_app: Flask) -> None:
    depth = [2]
    operations.register_gauge(metrics_app, "waiting_things", "Things waiting", lambda: depth[0])
    client = metrics_app.test_client()
    assert "waiting_things 2.0" in client.get("/metrics").get_data(as_text=True)
    depth[0] = 5
    assert "waiting_things 5.0" in client.get("/metrics").get_data(as_text=True)


def test_metrics_dir_is_made_and_emptied(tmp_path: Any) -> None:
    env: dict[str, str] = {"METRICS_ENABLED": "1"}
    made = prepare_metrics_dir(env)
    assert made is not None
    assert env["PROMETHEUS_MULTIPROC_DIR"] == made
    assert os.path.isdir(made)
    remove_made_metrics_dirs()  # gunicorn's on_exit: the made directory goes
    assert not os.path.exists(made)

    (tmp_path / "counter_123.db").write_bytes(b"old")
    (tmp_path / "keep.txt").write_text("not ours")
    assert prepare_metrics_dir({"METRICS_ENABLED": "1", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
    remove_made_metrics_dirs()
    assert tmp_path.is_dir()  # a directory it was given is never removed
    assert prepare_metrics_dir({}) is None


def test_outbox_depth_is_published_at_metrics(metrics_app: Flask) -> None:
    from datetime import timedelta

    from latepoint_forms.models.types import utcnow
    from latepoint_forms.outbox.service import queue_message
    from latepoint_forms.unit_of_work import unit_of_work

    client = metrics_app.test_client()
    assert "outbox_depth 0.0" in client.get("/metrics").get_data(as_text=True)
    with metrics_app.app_context(), unit_of_work():
        for kind, due in (("welcome", None), ("reminder", utcnow() + timedelta(days=3))):
            queue_message(
                kind=kind,
                recipient="ann@example.com",
                subject="Hello",
                body_text="Hello",
                body_html="<p>Hello</p>",
                due_at=due,
            )

    # The welcome is due now; the reminder, due in three days, is not waiting yet.
    assert "outbox_depth 1.0" in client.get("/metrics").get_data(as_text=True)
