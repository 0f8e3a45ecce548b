"""A real HTTP receiver for the webhook tests: a threaded server on loopback, started and
stopped by the test. It keeps every request (headers and raw body) and answers with the
statuses it is told to, in turn (then 200); ``silent`` makes it accept and never answer."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answers: list[int] = []
        self.silent = threading.Event()
        self.trickle = threading.Event()  # answer a header line every 0.3 s, for 10 s
        self.release = threading.Event()
        self.lock = threading.Condition()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/latepoint?source=tests"

    def ids(self) -> list[str]:
        with self.lock:
            return [r.headers["webhook-id"] for r in self.received]

    def wait_for(self, count: int, timeout: float = 60) -> bool:
        """Until ``count`` requests have arrived (False if they did not within ``timeout``)."""
        with self.lock:
            return self.lock.wait_for(lambda: len(self.received) >= count, timeout)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            if receiver.silent.is_set():
                receiver.release.wait(30)
                return
            with receiver.lock:
                receiver.received.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                receiver.lock.notify_all()
                status = receiver.answers.pop(0) if receiver.answers else 200
            if receiver.trickle.is_set():
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                for n in range(33):
                    if receiver.release.wait(0.3):
                        return
                    self.wfile.write(f"x-slow-{n}: 1\r\n".encode())
                    self.wfile.flush()
                return
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("location", f"http://127.0.0.1:{receiver.port}/elsewhere")
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_args: Any) -> None:
            pass

    return Handler


@contextlib.contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()
        thread.join(10)
