"""For load balancers, orchestrators and Prometheus: ``/healthz``, ``/readyz``, ``/metrics``.

``/healthz``  the process answers (liveness): no database, nothing else.
``/readyz``   the database is reachable and writable and its schema at the migrations' head
              (readiness): 200, or 503 with what is wrong.
``/metrics``  request counts and latencies in Prometheus' text format, only when
              ``METRICS_ENABLED`` is set (404 otherwise). Under gunicorn every worker writes
              to ``PROMETHEUS_MULTIPROC_DIR`` (gunicorn.conf.py sets it up) and a scrape adds
              them all up.

None of them needs a key or a session, none is rate limited (they are polled every few
seconds from one address) and none sets a cookie. They answer whatever ``Host`` they are
sent (probes and scrapers address an instance by its IP), not only ``TRUSTED_HOSTS``.

Other capabilities publish a gauge read at scrape time with ``register_gauge`` — e.g. the
outbox, once it exists, its ``outbox_depth`` (messages not yet delivered)::

    operations.register_gauge(app, "outbox_depth", "Messages waiting", count_pending)
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from alembic.script import ScriptDirectory
from flask import Blueprint, Flask, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import NotFound

from .extensions import csrf, db, limiter

log = logging.getLogger(__name__)

bp = Blueprint("operations", __name__)
METRICS_KEY = "latepoint_forms.metrics"  # in app.extensions
_STARTED = "latepoint_forms.metrics_started"  # in the request's environ


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    problems = readiness_problems()
    if problems:
        log.warning("Not ready: %s", "; ".join(problems.values()))
        return jsonify(status="unavailable", problems=problems), 503
    return jsonify(status="ready")


@bp.get("/metrics")
def metrics() -> ResponseReturnValue:
    state: Metrics | None = current_app.extensions.get(METRICS_KEY)
    if state is None:
        raise NotFound()  # METRICS_ENABLED is off: nothing is counted, nothing to show
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return Response(generate_latest(state.scrape_registry()), content_type=CONTENT_TYPE_LATEST)


def _migration_heads(app: Flask) -> set[str]:
    heads = app.extensions.get("latepoint_forms.migration_heads")
    if heads is None:
        directory = app.extensions["migrate"].directory
        heads = set(ScriptDirectory(directory).get_heads())
        app.extensions["latepoint_forms.migration_heads"] = heads
    return set(heads)


def readiness_problems() -> dict[str, str]:
    """What keeps this process from serving, by check (``database``, ``migrations``)."""
    try:
        with db.engine.connect() as connection:
            try:
                versions = set(
                    connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
                )
            except SQLAlchemyError:
                connection.rollback()
                return {"migrations": "The database has no migrations applied (flask db upgrade)"}
            try:
                # A write that changes nothing, rolled back: refused by a read-only database
                # (a replica, a full disk, a read-only file) like any real write would be.
                connection.execute(text("UPDATE alembic_version SET version_num = version_num"))
            except SQLAlchemyError as exc:
                connection.rollback()
                log.warning("Readiness: the database refuses writes: %s", getattr(exc, "orig", exc))
                return {"database": "The database refuses writes"}
            connection.rollback()
    except SQLAlchemyError as exc:
        log.warning("Readiness: the database is unreachable: %s", getattr(exc, "orig", exc))
        return {"database": "The database is unreachable"}
    heads = _migration_heads(current_app._get_current_object())  # type: ignore[attr-defined]
    if versions != heads:
        found = ", ".join(sorted(versions)) or "none"
        return {
            "migrations": f"The database is at {found}, the code at {', '.join(sorted(heads))}"
            " (flask db upgrade)"
        }
    return {}


@dataclass
class Gauge:
    name: str
    documentation: str
    read: Callable[[], float]


@dataclass
class Metrics:
    """This app's metric objects, and the gauges read when scraped."""

    clock: Callable[[], float]
    registry: Any
    requests: Any
    latency: Any
    gauges: list[Gauge] = field(default_factory=list)

    def scrape_registry(self) -> Any:
        from prometheus_client import CollectorRegistry, multiprocess

        registry: Any
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # every worker's files, added up
        else:
            registry = self.registry
        if self.gauges:
            registry = _WithGauges(registry, self.gauges)
        return registry


class _WithGauges:
    """A registry's metrics plus the registered gauges, read now (for generate_latest)."""

    def __init__(self, registry: Any, gauges: list[Gauge]) -> None:
        self.registry = registry
        self.gauges = gauges

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        yield from self.registry.collect()
        for gauge in self.gauges:
            try:
                value = float(gauge.read())
            except Exception:
                log.exception("Metric %s could not be read", gauge.name)
                continue
            yield GaugeMetricFamily(gauge.name, gauge.documentation, value=value)


def register_gauge(app: Flask, name: str, documentation: str, read: Callable[[], float]) -> None:
    """Publish ``name`` at /metrics, its value read by ``read()`` at each scrape (in an app
    context of the scraping worker). Does nothing unless METRICS_ENABLED."""
    state: Metrics | None = app.extensions.get(METRICS_KEY)
    if state is not None:
        state.gauges.append(Gauge(name, documentation, read))


def _start_metrics(app: Flask, clock: Callable[[], float]) -> None:
    from prometheus_client import CollectorRegistry, Counter, Histogram

    # One registry per app: several apps in one process (the tests) never collide. In
    # multi-process mode the values live in the shared files whatever the registry.
    registry = CollectorRegistry()
    state = Metrics(
        clock=clock,
        registry=registry,
        requests=Counter(
            "http_requests_total",
            "HTTP requests answered, by method, endpoint and status",
            ["method", "endpoint", "status"],
            registry=registry,
        ),
        latency=Histogram(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method and endpoint",
            ["method", "endpoint"],
            registry=registry,
        ),
    )
    app.extensions[METRICS_KEY] = state

    def start_timer() -> None:
        request.environ[_STARTED] = state.clock()

    def count(response: Response) -> Response:
        started = request.environ.get(_STARTED)
        # The endpoint, not the path: ids in paths would make a series per customer.
        endpoint = request.endpoint or "unmatched"
        state.requests.labels(request.method, endpoint, str(response.status_code)).inc()
        if started is not None:
            state.latency.labels(request.method, endpoint).observe(state.clock() - started)
        return response

    # First before_request (so a refused request is timed too), last after_request.
    app.before_request_funcs.setdefault(None, []).insert(0, start_timer)
    app.after_request_funcs.setdefault(None, []).insert(0, count)


# Probes and scrapers address an instance by its own address, not the public host.
ANY_HOST_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def normal_host(value: str) -> str:
    """``Host`` as DNS reads it: case-insensitive, and a fully-qualified trailing dot dropped
    ("BOOK.Example.com." -> "book.example.com"), the port kept."""
    name, port = value, ""
    if ":" in value and not value.endswith("]"):  # "host:port", "[::1]:8000"; not "[::1]"
        name, _, number = value.rpartition(":")
        port = ":" + number
    return name.lower().removesuffix(".") + port


class _ProbesAnyHost:
    """WSGI middleware: probes and scrapes are answered whatever ``Host`` they send, and
    every other ``Host`` is compared with TRUSTED_HOSTS as DNS would (``normal_host``).

    Load balancers, orchestrators and Prometheus reach an instance by its own address (an
    ALB sends the target's IP, a kubelet the pod's, Prometheus the target's host:port),
    which TRUSTED_HOSTS would refuse. These answers hold nothing built from the host, so for
    those paths the host is taken to be the first trusted one; every other request is
    checked as usual.
    """

    def __init__(self, app: Any, host: str) -> None:
        self.app = app
        self.host = host

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") in ANY_HOST_PATHS:
            environ["HTTP_HOST"] = self.host
        elif "HTTP_HOST" in environ:
            environ["HTTP_HOST"] = normal_host(environ["HTTP_HOST"])
        return self.app(environ, start_response)


def init_app(app: Flask, clock: Callable[[], float] = time.perf_counter) -> None:
    csrf.exempt(bp)
    limiter.exempt(bp)
    app.register_blueprint(bp)
    trusted = app.config.get("TRUSTED_HOSTS")
    if trusted:
        app.wsgi_app = _ProbesAnyHost(app.wsgi_app, trusted[0].lstrip("."))  # type: ignore[method-assign]
    if app.config.get("METRICS_ENABLED"):
        _start_metrics(app, clock)
