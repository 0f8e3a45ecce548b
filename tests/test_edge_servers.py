"""Serving at the edge against a real gunicorn (gunicorn.conf.py, production settings):
slow clients, chunked bodies, several workers without Redis, probes, Host and metrics.

Clients here speak HTTP over raw sockets where the standard library cannot (a body trickled
byte by byte, a chunked body sent while the answer is read). Every wait is bounded: a socket
timeout, or a count of bytes sent.
"""

from __future__ import annotations

import contextlib
import re
import select
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection
from pathlib import Path

import pytest

from latepoint_forms import create_app
from latepoint_forms.api.keys import create_api_key
from latepoint_forms.extensions import db
from latepoint_forms.unit_of_work import unit_of_work

from .conftest import base_config, empty_all_tables
from .servers import Gunicorn, gunicorn, http

pytestmark = pytest.mark.slow
MiB = 1024 * 1024


@pytest.fixture
def database_and_key(sqlite_url: str) -> Iterator[tuple[str, str]]:
    app = create_app(base_config(sqlite_url))
    with app.app_context(), unit_of_work():
        _, key = create_api_key("edge", ["customers:create", "customers:read"], mode="live")
    try:
        yield sqlite_url, key
    finally:
        with app.app_context():
            empty_all_tables()
            db.engine.dispose()


def port_of(server: Gunicorn) -> int:
    return int(server.url.rsplit(":", 1)[1])


def read_status(sock: socket.socket) -> tuple[int | None, bytes]:
    """The status of the answer on ``sock`` and all of it (the server closes after it)."""
    data = b""
    with contextlib.suppress(OSError):
        while part := sock.recv(65536):
            data += part
    match = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    return (int(match.group(1)) if match else None), data


def trickling_create(port: int, key: str, declared: int = 1000, count: int = 200) -> int | None:
    """POST a body one byte at a time (a pause of up to 50 ms each, ended early by an
    answer), at most ``count`` bytes of the ``declared`` length; then read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(
            (
                "POST /api/v1/customers HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                f"X-API-Key: {key}\r\nContent-Length: {declared}\r\n\r\n"
            ).encode()
        )
        for _ in range(count):
            if select.select([sock], [], [], 0.05)[0]:
                break  # the server has answered (or closed)
            try:
                sock.sendall(b" ")
            except OSError:
                break
        status, _ = read_status(sock)
    return status


def test_slow_clients_get_408_and_the_workers_keep_serving(
    database_and_key: tuple[str, str],
) -> None:
    url, key = database_and_key
    env = {"DATABASE_URL": url, "REQUEST_BODY_TIMEOUT": "1"}
    with gunicorn(env, workers=2) as server:
        port = port_of(server)
        # Four slow clients against two workers: each is cut off at the deadline, in turn.
        with ThreadPoolExecutor(4) as pool:
            statuses = list(pool.map(lambda _: trickling_create(port, key), range(4)))
        silent = trickling_create(port, key, count=0)  # headers, then nothing at all

        after = http("GET", f"{server.url}/api/v1/status", headers={"X-API-Key": key})
        log = server.log()

    assert statuses == [408, 408, 408, 408]
    assert silent == 408
    assert after.status == 200
    assert "WORKER TIMEOUT" not in log


def send_chunked(port: int, key: str, chunks: Iterator[bytes]) -> tuple[int | None, bytes]:
    """POST ``chunks`` as a chunked body from a thread while the answer is read here."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)

    def send() -> None:
        with contextlib.suppress(OSError):  # the server may close once it has answered
            sock.sendall(
                (
                    "POST /api/v1/customers HTTP/1.1\r\n"
                    f"Host: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                    f"X-API-Key: {key}\r\nTransfer-Encoding: chunked\r\n\r\n"
                ).encode()
            )
            for chunk in chunks:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            sock.sendall(b"0\r\n\r\n")

    sender = threading.Thread(target=send)
    sender.start()
    try:
        return read_status(sock)
    finally:
        sender.join(timeout=20)
        sock.close()


def oversized() -> Iterator[bytes]:
    yield b'{"first_name": "Ann", "last_name": "Lee"}'
    for _ in range(32):  # 2 MiB of spaces
        yield b" " * (64 * 1024)


def test_gunicorn_answers_a_chunked_body_over_the_limit_413(
    database_and_key: tuple[str, str],
) -> None:
    url, key = database_and_key
    with gunicorn({"DATABASE_URL": url}, workers=1) as server:
        port = port_of(server)
        status, answer = send_chunked(port, key, oversized())

        # Within the limit, chunked is read whole and served.
        connection = HTTPConnection("127.0.0.1", port, timeout=20)
        small = iter([b'{"first_name": "Ann", ', b'"last_name": "Lee"}'])
        connection.request(
            "POST",
            "/api/v1/customers",
            body=small,
            headers={"Content-Type": "application/json", "X-API-Key": key},
            encode_chunked=True,
        )
        created = connection.getresponse()
        created_status = created.status
        created.read()
        connection.close()

    assert status == 413, answer[:300]
    assert b'"code":"payload_too_large"' in answer
    assert created_status == 201


def test_several_workers_without_redis_refuse_to_start(sqlite_url: str) -> None:
    env = {"DATABASE_URL": sqlite_url, "RATELIMIT_PER_PROCESS": ""}
    with pytest.raises(RuntimeError) as refused, gunicorn(env, workers=3):
        pass  # never reached: gunicorn exits before serving
    assert "Refusing to start 3 workers without REDIS_URL" in str(refused.value)
    assert "RATELIMIT_PER_PROCESS=1" in str(refused.value)


def test_probes_hosts_and_metrics_across_workers(sqlite_url: str, tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": sqlite_url,
        "METRICS_ENABLED": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
    }
    with gunicorn(env, workers=2) as server:
        for _ in range(30):
            assert http("GET", f"{server.url}/healthz").status == 200
        # Probes and scrapes address an instance by its own address; all else is our host.
        ready = http("GET", f"{server.url}/readyz", headers={"Host": "10.1.2.3:8000"})
        other = http("GET", f"{server.url}/api/v1/status", headers={"Host": "evil.example"})
        scrapes = [
            http("GET", f"{server.url}/metrics", headers={"Host": "10.1.2.3:8000"}).body
            for _ in range(4)
        ]

    assert ready.status == 200
    assert ready.body == {"status": "ready"}
    assert other.status == 400
    assert other.body["error"]["code"] == "untrusted_host"
    line = 'http_requests_total{endpoint="operations.healthz",method="GET",status="200"} 30.0'
    # Whichever worker answers the scrape, it reports every worker's requests.
    for text in scrapes:
        assert line in text
