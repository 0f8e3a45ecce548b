"""Real servers for tests: gunicorn on a free port, and a TCP proxy that can cut PostgreSQL off.

Both stop by themselves: use them as context managers (fixture teardown), never bare.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 30.0  # seconds for gunicorn to answer its first request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any


def http(
    method: str,
    url: str,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> Reply:
    """One HTTP request with the standard library; any status is a Reply, never an exception."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 (http only)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status, raw, reply_headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, raw, reply_headers = error.code, error.read(), error.headers
    text = raw.decode("utf-8", "replace")
    try:
        parsed: Any = json.loads(text)
    except ValueError:
        parsed = text
    return Reply(status, dict(reply_headers.items()), parsed)


@dataclass
class Gunicorn:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def gunicorn(env: Mapping[str, str], workers: int = 2) -> Iterator[Gunicorn]:
    """``gunicorn -c gunicorn.conf.py app:app`` on 127.0.0.1 and a free port, until exit."""
    executable = Path(sys.executable).parent / "gunicorn"
    port = free_port()
    environment = {
        **os.environ,
        "LATEPOINT_ENV": "production",
        "SECRET_KEY": "test-secret-for-gunicorn",
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": str(workers),
        "REDIS_URL": "",  # in-memory limits unless the test asks for Redis
        **env,
    }
    with tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log", delete=False) as log:
        log_path = Path(log.name)
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [str(executable), "-c", "gunicorn.conf.py", "app:app"],
            cwd=ROOT,
            env=environment,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = Gunicorn(f"http://127.0.0.1:{port}", process, log_path)
    try:
        _wait_until_ready(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log_path.unlink(missing_ok=True)


def _wait_until_ready(server: Gunicorn) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited early:\n{server.log()}")
        try:
            http("GET", server.url + "/api/v1/status", timeout=5)
            return  # any HTTP answer (401 without a key) means a worker is serving
        except OSError:
            threading.Event().wait(0.1)  # not listening yet: poll again (bounded by deadline)
    raise RuntimeError(f"gunicorn did not answer within {READY_TIMEOUT}s:\n{server.log()}")


@dataclass
class TcpProxy:
    """Forwards 127.0.0.1:<port> to ``upstream``; ``stop()`` closes the listener and every
    forwarded connection, so whatever uses the proxy finds its server unreachable."""

    upstream: tuple[str, int]
    listen_port: int = 0  # 0: any free port; give a stopped proxy's port to bring it back
    listener: socket.socket = field(init=False)
    port: int = field(init=False)
    _sockets: set[socket.socket] = field(default_factory=set, init=False)
    _threads: list[threading.Thread] = field(default_factory=list, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _stopped: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.listen_port))
        self.port = int(self.listener.getsockname()[1])  # kept after stop(), to come back on
        self._start(self._accept_loop)

    def _start(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # the listener was shut down
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._stopped:
                    client.close()
                    upstream.close()
                    return
                self._sockets.update((client, upstream))
            self._start(self._pump, client, upstream)
            self._start(self._pump, upstream, client)

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            sockets = list(self._sockets)
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.listener.close()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in self._threads:
            thread.join(timeout=10)

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._stopped:
            self.stop()


def through_proxy(url: str, proxy: TcpProxy) -> str:
    """The database URL ``url`` rewritten to connect through ``proxy``."""
    return sa.make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(False)


def upstream_of(url: str) -> tuple[str, int]:
    parsed = sa.make_url(url)
    return parsed.host or "127.0.0.1", parsed.port or 5432
