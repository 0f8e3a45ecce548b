"""The rate limiter's shared store (Redis) going away: limits fail open, fast, said once.

Short socket timeouts
    Redis answers in well under a millisecond on a healthy network, so the limiter's client
    waits ``REDIS_SOCKET_TIMEOUT`` seconds (connect and each reply), not redis-py's 5 s:
    across a partition, the first request finds out in a fraction of a second.

Fail open, fast
    ``RATELIMIT_SWALLOW_ERRORS`` lets a request through when the store fails. Then, for
    ``RATELIMIT_STORE_RETRY_SECONDS``, requests skip the limits altogether (a Flask-Limiter
    request filter), so they do not each wait for the store again; the next request after
    that tries the store once more, and either the outage goes on (another pause) or it is
    over.

Without Redis
    The default store (one per process, ``MEMORY_URI``) is limits' memory store, less the
    thread: the stock one starts a ``threading.Timer`` to sweep expired counters whenever
    the last one has ended, i.e. about every other request of a busy worker. Here expired
    counters are dropped when read (as the stock store also does) and swept at most once a
    second by the request that finds the sweep due, so memory stays bounded without a
    thread per request.

The API's limits are checked by api/ratelimits.py itself (``check_api_limits``), which
reports to the same outage record (``store_failed``, ``store_answered``); the web forms'
limits are Flask-Limiter's, below.

Said once per outage
    Flask-Limiter logs every swallowed error with its traceback. Those records are replaced
    by one error when an outage begins and one warning when the store answers again (per
    worker process: each has its own connection to the store, and its own view of it).
    Flask-Limiter reports a store failure only through its logger (``flask-limiter``), so
    that is where the outage is noticed: leave that logger at ERROR or below (the default);
    silenced, the pause never begins and every request waits for the timeout again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, has_app_context
from limits.storage import MemoryStorage
from redis.exceptions import RedisError

from ..extensions import limiter

log = logging.getLogger(__name__)

EXTENSION_KEY = "latepoint_forms.limit_store"
MEMORY_SCHEME = "latepoint+memory"
MEMORY_URI = f"{MEMORY_SCHEME}://"
LIMITER_LOGGER = "flask-limiter"


class StoreOutage:
    """One app's view of its limit store: up, or down since a failure (and when to retry)."""

    def __init__(self, retry_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.retry_seconds = retry_seconds
        self.clock = clock
        self.down_since: float | None = None
        self._retry_at = 0.0
        self._lock = threading.Lock()

    def skip_limits(self) -> bool:
        """While the store is known to be down and not yet due for another try."""
        with self._lock:
            return self.down_since is not None and self.clock() < self._retry_at

    def failed(self, error: BaseException) -> None:
        now = self.clock()
        with self._lock:
            began = self.down_since is None
            if began:
                self.down_since = now
            self._retry_at = now + self.retry_seconds
        if began:
            log.error(
                "Rate limit store unreachable (%s: %s): serving without limits; trying it "
                "again every %g s",
                type(error).__name__,
                error,
                self.retry_seconds,
            )

    def answered(self) -> None:
        with self._lock:
            since, self.down_since = self.down_since, None
        if since is not None:
            log.warning(
                "Rate limit store reachable again after %.0f s: limits apply again",
                self.clock() - since,
            )


class SweptMemoryStorage(MemoryStorage):
    """limits' memory store, its expired counters swept inline (at most once every
    ``SWEEP_SECONDS``) instead of by a new timer thread every few requests."""

    STORAGE_SCHEME = [MEMORY_SCHEME]  # noqa: RUF012  (as limits declares it)
    SWEEP_SECONDS = 1.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **_: str) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **_)
        self._next_sweep = 0.0
        self._sweep_lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_sweep_lock", None)  # a lock does not pickle
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._sweep_lock = threading.Lock()

    def _sweep(self, now: float) -> None:
        if not self._sweep_lock.acquire(blocking=False):
            return  # another thread is sweeping
        try:
            self._next_sweep = now + self.SWEEP_SECONDS
            for key in [key for key, at in list(self.expirations.items()) if at <= now]:
                with self.locks[key]:
                    if self.expirations.get(key, now + 1) <= now:
                        self.storage.pop(key, None)
                        self.expirations.pop(key, None)
                self.locks.pop(key, None)
        finally:
            self._sweep_lock.release()

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """As ``MemoryStorage.incr``, without scheduling a timer."""
        now = time.time()
        if now >= self._next_sweep:
            self._sweep(now)
        self.get(key)
        with self.locks[key]:
            self.storage[key] += amount
            if self.storage[key] == amount:
                self.expirations[key] = time.time() + expiry
        return self.storage.get(key, 0)


def _outage() -> StoreOutage | None:
    if not has_app_context():
        return None
    outage: StoreOutage | None = current_app.extensions.get(EXTENSION_KEY)
    return outage


class _OnePerOutage(logging.Filter):
    """Turns the limiter's per-request tracebacks about its store into ``StoreOutage``'s
    one line per outage; anything else it logs passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        outage = _outage()
        if outage is None or not isinstance(error, RedisError | OSError):
            return True
        outage.failed(error)
        return False


def skip_limits() -> bool:
    """Whether this request goes unlimited: the store is down and not yet due for a retry."""
    outage = _outage()
    return outage is not None and outage.skip_limits()


def store_failed(error: BaseException) -> None:
    """The API's own check (api/ratelimits.py) found the store failing: fail open, said once."""
    outage = _outage()
    if outage is None:
        log.error(
            "Rate limit store failed (%s: %s): request served without limits",
            type(error).__name__,
            error,
        )
        return
    outage.failed(error)


def store_answered() -> None:
    """The API's own check was answered by the store: an outage, if there was one, is over."""
    outage = _outage()
    # Not while the pause after a failure lasts: a check that began before the failure may
    # still come back answered.
    if outage is not None and outage.down_since is not None and not outage.skip_limits():
        outage.answered()


# Once per process: the limiter and its logger are module globals, shared by every app.
limiter.request_filter(skip_limits)
logging.getLogger(LIMITER_LOGGER).addFilter(_OnePerOutage())


def storage_options(config: dict[str, Any] | Any) -> dict[str, Any]:
    """Flask-Limiter's options for a Redis store: short connect and reply timeouts."""
    timeout = float(config["REDIS_SOCKET_TIMEOUT"])
    return {"socket_connect_timeout": timeout, "socket_timeout": timeout}


def init_app(app: Flask) -> None:
    """Before ``limiter.init_app``: the store's timeouts; after a request: its recovery."""
    uri = str(app.config.get("RATELIMIT_STORAGE_URI") or "")
    if not uri.startswith(("redis://", "rediss://", "redis+unix://")):
        return
    options = {**storage_options(app.config), **app.config.get("RATELIMIT_STORAGE_OPTIONS", {})}
    app.config["RATELIMIT_STORAGE_OPTIONS"] = options
    outage = StoreOutage(float(app.config["RATELIMIT_STORE_RETRY_SECONDS"]))
    app.extensions[EXTENSION_KEY] = outage

    def note_store_answered(response: Response) -> Response:
        # Limits were evaluated against the store, headers and all, with no failure since
        # the one that began the outage: it answers again. Registered first in the list, so
        # it runs after the limiter's own after_request (Flask runs them in reverse order).
        if outage.down_since is not None and limiter.current_limits and not outage.skip_limits():
            outage.answered()
        return response

    app.after_request_funcs.setdefault(None, []).insert(0, note_store_answered)
