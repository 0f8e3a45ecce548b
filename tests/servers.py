"""Real servers for tests: gunicorn on a free port, and a TCP proxy that can cut PostgreSQL off.

Both stop by themselves: use them as context managers (fixture teardown), never bare.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import shutil
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
    forwarded connection, so whatever uses the proxy finds its server unreachable.

    ``go_silent()`` is the other kind of outage, a silent peer: nothing is closed, but no byte
    is forwarded any more either way (what arrives is dropped), and new connections are
    accepted and then never answered, so a client waits until its own read timeouts give up
    (Redis's socket timeout). The proxy's kernel still acknowledges every byte, so TCP-level
    timeouts (keepalives, TCP user timeout) never fire: for those, listen in a ``Partition``.
    ``speak()`` forwards again (on connections made from then on: the ones that lost bytes
    are of no use to anybody)."""

    upstream: tuple[str, int]
    listen_port: int = 0  # 0: any free port; give a stopped proxy's port to bring it back
    # Listen inside a network that can be cut off for real (see Partition), not on loopback.
    partition: Partition | None = None
    listener: socket.socket = field(init=False)
    port: int = field(init=False)
    _sockets: set[socket.socket] = field(default_factory=set, init=False)
    _threads: list[threading.Thread] = field(default_factory=list, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _stopped: bool = field(default=False, init=False)
    _silent: threading.Event = field(default_factory=threading.Event, init=False)
    accepted: int = field(default=0, init=False)  # connections accepted so far

    def __post_init__(self) -> None:
        if self.partition is not None:
            self.listener = self.partition.listen(self.listen_port)
        else:
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
            self.accepted += 1
            if self._silent.is_set():
                with self._lock:
                    self._sockets.add(client)
                self._start(self._drop, client)
                continue
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

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        silenced = False
        try:
            while data := source.recv(65536):
                silenced = silenced or self._silent.is_set()
                if not silenced:
                    target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    @staticmethod
    def _drop(client: socket.socket) -> None:
        """Read and drop whatever a client sends while the network is silent."""
        with contextlib.suppress(OSError):
            while client.recv(65536):
                pass

    def go_silent(self) -> None:
        """Forward nothing from now on, close nothing: a partition (see the class)."""
        self._silent.set()

    def speak(self) -> None:
        """Forward again, on connections made from now on."""
        self._silent.clear()

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
    host = proxy.partition.address if proxy.partition is not None else "127.0.0.1"
    return sa.make_url(url).set(host=host, port=proxy.port).render_as_string(False)


_CLONE_NEWNET = 0x40000000


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, _CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns failed")


def partition_unavailable() -> str | None:
    """Why a ``Partition`` cannot be made here (None: it can)."""
    if sys.platform != "linux":
        return "network namespaces are Linux only"
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return "a network namespace needs root and iproute2 (ip)"
    return None


@dataclass
class Partition:
    """A network of its own that a test can cut off as a real partition does: packets are
    dropped, nothing is closed or refused, and both ends hear nothing until their own TCP
    timeouts give up. (A proxy that merely stops forwarding cannot do that: the kernel still
    acknowledges every byte sent to it, so TCP timeouts never fire.)

    A network namespace joined to this one by a veth pair, on a random 10.x.y.z/30: a
    ``TcpProxy(partition=...)`` listens inside it (forwarding from here to the real server),
    ``cut()`` takes the far end's link down, ``heal()`` brings it back. Needs root; the
    namespace and its link are removed on exit. Nothing else on the machine is touched.
    """

    name: str = field(init=False)
    address: str = field(init=False)  # the far end: where clients connect
    _near: str = field(init=False)
    _far: str = field(init=False)

    def __post_init__(self) -> None:
        tag = secrets.token_hex(3)
        self.name, self._near, self._far = f"lpf-{tag}", f"lpfa{tag}", f"lpfb{tag}"
        a, b, c = secrets.token_bytes(3)
        prefix, last = f"10.{200 + a % 50}.{b}", c // 4 * 4  # a /30 of its own
        near_ip, self.address = f"{prefix}.{last + 1}", f"{prefix}.{last + 2}"
        self._ip("netns", "add", self.name)
        try:
            veth = ("type", "veth", "peer", "name", self._far, "netns", self.name)
            self._ip("link", "add", self._near, *veth)
            self._ip("addr", "add", f"{near_ip}/30", "dev", self._near)
            self._ip("link", "set", self._near, "up")
            self._ip("-n", self.name, "addr", "add", f"{self.address}/30", "dev", self._far)
            self._ip("-n", self.name, "link", "set", self._far, "up")
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _ip(*args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True)

    def listen(self, port: int = 0) -> socket.socket:
        """A listening socket inside the namespace (only this thread enters it, briefly)."""
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
        try:
            _setns(target)
            try:
                return socket.create_server((self.address, port))
            finally:
                _setns(home)
        finally:
            os.close(target)
            os.close(home)

    def cut(self) -> None:
        self._ip("-n", self.name, "link", "set", self._far, "down")

    def heal(self) -> None:
        self._ip("-n", self.name, "link", "set", self._far, "up")

    def close(self) -> None:
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
        subprocess.run(["ip", "link", "del", self._near], capture_output=True)

    def __enter__(self) -> Partition:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def upstream_of(url: str) -> tuple[str, int]:
    parsed = sa.make_url(url)
    return parsed.host or "127.0.0.1", parsed.port or 5432
