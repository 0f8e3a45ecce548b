"""Reading a request body whole, within a deadline and the size limit, before the app runs.

A gunicorn sync worker serves one request at a time, and reading the body is part of that:
a client that trickles its body a byte a second holds the worker for as long as it likes
(gunicorn has no setting that bounds it, only ``timeout``, which kills the worker and every
request with it). So the body is read here, at most ``REQUEST_BODY_TIMEOUT`` seconds for all
of it. gunicorn's body reader loops on the socket until it has all it was asked for, so a
check between reads is not enough: under gunicorn (which hands the app the client socket as
``gunicorn.socket``) a watchdog thread shuts the socket's reading side at the deadline,
which ends a read blocked on a trickling or silent client at once. Late: ``408
request_timeout``, and the connection closed.
The reverse proxy in front should buffer bodies anyway (README, "Production"): then no
worker ever waits on a slow client, and this deadline is the backstop.

Sizes: a ``Content-Length`` over ``MAX_CONTENT_LENGTH`` is left to werkzeug (413 without
reading). A chunked body has no length up front, and werkzeug would silently cut it at the
limit; here it is read up to one byte past the limit, and a body over it is a 413
``payload_too_large`` like any other (the rest is drained, bounded by the deadline, so the
client can read the answer instead of a reset connection). A body that fits is handed on
with its ``Content-Length``, so the app never reads from the network itself.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import RequestTimeout

_TIMED_OUT = "latepoint_forms.body_timed_out"  # in the environ, for the app to answer 408
_CHUNK = 64 * 1024
# How much of an oversized chunked body is read and thrown away so the client gets its 413.
_DRAIN_LIMIT = 16 * 1024 * 1024

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class _Late(Exception):
    """The body did not arrive before the deadline."""


class BodyReader:
    """WSGI middleware: the whole body read before the app, bounded in time and size."""

    def __init__(
        self,
        app: WsgiApp,
        *,
        max_length: int | None,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.max_length = max_length
        self.timeout = timeout
        self.clock = clock

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        try:
            declared: int | None = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            declared = None
        if chunked:
            declared = None
        elif declared is None or declared <= 0:
            return self.app(environ, start_response)  # no body
        elif self.max_length is not None and declared > self.max_length:
            return self.app(environ, start_response)  # werkzeug answers 413 without reading

        close = False
        stream = environ["wsgi.input"]
        deadline = self.clock() + self.timeout
        cap = declared if declared is not None else _cap(self.max_length)
        sock = environ.get("gunicorn.socket")
        watch = (
            _WATCHDOG.arm(sock, deadline, self.clock) if isinstance(sock, socket.socket) else None
        )
        late = complete = False
        try:
            body = self._read(stream, deadline, cap)
            complete = (declared is not None and len(body) == declared) or declared is None
            if declared is None and self.max_length is not None and len(body) > self.max_length:
                self._drain(stream, deadline)
                # werkzeug refuses a Content-Length over the limit: the app's 413, as usual.
                environ["CONTENT_LENGTH"] = str(self.max_length + 1)
                body, close = b"", True
            else:
                environ["CONTENT_LENGTH"] = str(len(body))
        except _Late:
            late, complete = True, False
        except OSError:
            # The watchdog shut the socket mid-read (gunicorn reports the end of the data);
            # anything else is the client's connection failing, left to the server as before.
            if watch is None or not _WATCHDOG.fired(watch):
                raise
            late, complete = True, False
        finally:
            if watch is not None:
                late = (_WATCHDOG.disarm(watch) and not complete) or late
        if late:
            environ[_TIMED_OUT] = True
            environ["CONTENT_LENGTH"] = "0"
            body, close = b"", True
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ["wsgi.input"] = io.BytesIO(body)
        if not close:
            return self.app(environ, start_response)

        def start_and_close(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            # The rest of this body may still be on the wire: no other request may follow it.
            headers = [(name, value) for name, value in headers if name.lower() != "connection"]
            return start_response(status, [*headers, ("Connection", "close")], *args)

        return self.app(environ, start_and_close)

    def _read(self, stream: Any, deadline: float, cap: int | None) -> bytes:
        parts: list[bytes] = []
        size = 0
        while cap is None or size < cap:
            self._check(deadline)
            part = stream.read(_CHUNK if cap is None else min(_CHUNK, cap - size))
            if not part:
                break
            parts.append(part)
            size += len(part)
        return b"".join(parts)

    def _drain(self, stream: Any, deadline: float) -> None:
        drained = 0
        try:
            while drained < _DRAIN_LIMIT:
                self._check(deadline)
                part = stream.read(_CHUNK)
                if not part:
                    return
                drained += len(part)
        except (_Late, OSError):
            return  # the 413 goes out all the same; the connection is closed after it

    def _check(self, deadline: float) -> None:
        if self.clock() >= deadline:
            raise _Late()


class _Watchdog:
    """One thread per process that shuts the reading side of sockets whose deadline passed.

    ``shutdown(SHUT_RD)`` wakes a ``recv`` blocked in another thread (gunicorn's reader) with
    the end of the data; the answer can still be written. Made on first use in each worker
    (never in gunicorn's master, which forks the workers and serves nothing).

    Arming costs a request a dictionary entry, not a thread switch: while requests come, the
    thread looks at what is armed every ``TICK`` seconds (a deadline is acted on at most
    that late), and only after ``IDLE_TICKS`` looks with nothing armed does it sleep until
    the next request wakes it.
    """

    TICK = 0.25
    IDLE_TICKS = 20  # five idle seconds, then sleep until armed again

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._armed: dict[int, tuple[float, socket.socket, Callable[[], float]]] = {}
        self._fired: set[int] = set()
        self._tokens = itertools.count()
        self._pid: int | None = None
        self._sleeping = False

    def after_fork(self) -> None:
        """In a forked child: a fresh lock (the parent's thread may have held this one at the
        fork) and no thread yet; the first ``arm`` starts the child's own."""
        self._condition = threading.Condition()
        self._armed.clear()
        self._fired.clear()
        self._pid = None
        self._sleeping = False

    def arm(self, sock: socket.socket, deadline: float, clock: Callable[[], float]) -> int:
        with self._condition:
            if self._pid != os.getpid():  # first use in this process (or after a fork)
                self._pid = os.getpid()
                self._armed.clear()
                self._fired.clear()
                self._sleeping = False
                threading.Thread(target=self._run, name="body-deadline", daemon=True).start()
            token = next(self._tokens)
            self._armed[token] = (deadline, sock, clock)
            if self._sleeping:
                self._condition.notify()
            return token

    def fired(self, token: int) -> bool:
        with self._condition:
            return token in self._fired

    def disarm(self, token: int) -> bool:
        """Stop watching; True when the deadline had passed and the socket was shut."""
        with self._condition:
            self._armed.pop(token, None)
            if token in self._fired:
                self._fired.discard(token)
                return True
            return False

    def _run(self) -> None:
        idle = 0
        with self._condition:
            while True:
                for token, (deadline, sock, clock) in list(self._armed.items()):
                    if clock() >= deadline:
                        del self._armed[token]
                        self._fired.add(token)
                        with contextlib.suppress(OSError):
                            sock.shutdown(socket.SHUT_RD)
                idle = 0 if self._armed else idle + 1
                if idle > self.IDLE_TICKS:
                    self._sleeping = True
                    self._condition.wait()
                    self._sleeping = False
                    idle = 0
                else:
                    self._condition.wait(self.TICK)


_WATCHDOG = _Watchdog()
os.register_at_fork(after_in_child=_WATCHDOG.after_fork)


def _cap(max_length: int | None) -> int | None:
    return None if max_length is None else max_length + 1


def init_app(app: Flask) -> None:
    app.wsgi_app = BodyReader(  # type: ignore[method-assign]
        app.wsgi_app,
        max_length=app.config.get("MAX_CONTENT_LENGTH"),
        timeout=float(app.config["REQUEST_BODY_TIMEOUT"]),
    )

    def refuse_late_body() -> None:
        if request.environ.get(_TIMED_OUT):
            raise RequestTimeout("The request body did not arrive in time")

    # First of all before_request functions: nothing else runs for a request without its body.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_late_body)
