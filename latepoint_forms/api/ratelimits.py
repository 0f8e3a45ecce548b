"""Rate limits for the JSON API: one budget per API key, by its mode (SPEC section 3).

A request that carries an active API key spends that key's budget (keyed by the SHA-256 the
database stores). Every other request spends the anonymous budget of its client address:
no key, a malformed, unknown or revoked key. CORS preflights spend a separate, larger budget
of their address (``RATE_LIMIT_PREFLIGHT``). So a client cannot buy
itself fresh budgets by inventing a key per request, and its failed attempts never touch a
real key's budget. The limits are checked in the API blueprint's first ``before_request``,
before the view authenticates, so the key is looked up there; authentication and the CORS
check reuse that look-up (api/keys.py keeps it for the request), so a request still reads
its key once.

The API's check talks to the ``limits`` library directly (``check_api_limits``), with the
store and the strategy Flask-Limiter made from the configuration: every API request pays
for its own few counters, not for Flask-Limiter resolving, per request, which of its
decorated, default and shared limits might apply (a tenth of a create's time, measured in
bench/RESULTS.md). Flask-Limiter keeps the web forms' limits (web/limits.py) and is told to
leave the API's requests alone. The answer is what Flask-Limiter gave: the smallest window
first, stopping at the first breach; ``X-RateLimit-Limit/-Remaining/-Reset`` of the breached
limit, or else of the smallest window; ``Retry-After`` on a 429.

The counters live in Redis when ``REDIS_URL`` is set (the factory points
``RATELIMIT_STORAGE_URI`` at it), so every gunicorn worker and host spends one budget; in
memory otherwise. Both URL prefixes of the API count against the same budget (one scope).

The fixed-window strategy is used: a window starts at a key's first request, so the budget
is exact within a window, and at most twice the limit can pass across a window boundary.

A bulk create spends one unit per item (``api_rate_cost``): the limiter prices the request
in ``before_request``, after the key is looked up, by counting the body's items. Like every
refused request, a refused bulk still counts what it asked for in the window. Two
exceptions: a bulk with more items than the key's smallest window allows could never pass,
so it is a 422 naming ``customers`` before anything is counted (``refuse_oversized_bulk``);
and a retry answered from its stored Idempotency-Key response costs one unit, as the
items were paid for when they ran.

A refused request is a 429 ``rate_limit_exceeded`` envelope (errors.py) with ``Retry-After``
and ``X-RateLimit-Limit/-Remaining/-Reset``.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, Flask, Response, current_app, request
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from ..errors import TooManyRequests
from ..extensions import db, limiter
from . import limit_store
from .keys import ActiveKey, hash_key, presented_key

API_SCOPE = "api"
BULK_VIEW = "bulk_create"  # its requests cost one unit per item (api_rate_cost)
LIMIT_SETTINGS = (
    "RATE_LIMIT_LIVE",
    "RATE_LIMIT_TEST",
    "RATE_LIMIT_ANONYMOUS",
    "RATE_LIMIT_PREFLIGHT",
    "RATE_LIMIT_PUBLISHABLE",
    "RATE_LIMIT_WEB",  # the web forms' (web/limits.py), checked here with the others
)

log = logging.getLogger(__name__)


# What a failing limit store raises (a Redis client's errors; limits' own when it wraps them).
STORE_ERRORS = (RedisError, OSError, StorageError)

_LOOKUP_FAILED = "latepoint_forms.ratelimit_key_lookup_failed"  # in the request's environ
_BULK_COST = "latepoint_forms.ratelimit_bulk_cost"  # likewise


def _active_key() -> ActiveKey | None:
    if request.environ.get(_LOOKUP_FAILED):
        return None
    try:
        return presented_key()
    except SQLAlchemyError:
        # The database is away: count the request per address, and do not wait for it again
        # for this request's other limits; authentication answers 503 (errors.py).
        request.environ[_LOOKUP_FAILED] = True
        try:
            db.session.rollback()
        except SQLAlchemyError:
            log.debug("Rollback after a failed API key look-up failed", exc_info=True)
        return None


def _is_preflight() -> bool:
    return request.method == "OPTIONS"


def api_rate_key() -> str:
    """Whose budget a request spends: its active API key's, or else its client address's
    (preflights have a budget of their own per address)."""
    if _is_preflight():
        return f"preflight:{get_remote_address()}"
    if _active_key() is not None:
        return "key:" + hash_key(request.headers.get("X-API-Key", "").strip())
    return f"addr:{get_remote_address()}"


def api_rate_limit() -> str:
    """The limits for this request's key mode, from the config ("60/minute;3600/hour")."""
    if _is_preflight():
        return str(current_app.config["RATE_LIMIT_PREFLIGHT"])
    key = _active_key()
    name = {"live": "RATE_LIMIT_LIVE", "test": "RATE_LIMIT_TEST"}.get(key.mode if key else "")
    return str(current_app.config[name or "RATE_LIMIT_ANONYMOUS"])


def api_rate_cost() -> int:
    """Units a request spends: one, or one per item of a bulk create by an active key (a
    bulk of 100 must not cost what one create does). Only a key's budget is priced by the
    body; a request without an active key spends one unit and its body is never read here."""
    if (
        request.method != "POST"
        or (request.endpoint or "").rpartition(".")[2] != BULK_VIEW
        or _active_key() is None
    ):
        return 1
    cost = request.environ.get(_BULK_COST)
    if cost is None:  # asked once per limit (minute, hour): the body is counted once
        from .customers_bulk import requested_items
        from .idempotency import is_replay

        key = _active_key()
        replay = key is not None and is_replay(key.id)
        cost = request.environ[_BULK_COST] = 1 if replay else requested_items()
    return int(cost)


def _is_priced_bulk() -> bool:
    return (
        request.method == "POST"
        and (request.endpoint or "").rpartition(".")[2] == BULK_VIEW
        and request.blueprint is not None
        and request.blueprint.startswith("api")
    )


def refuse_oversized_bulk() -> None:
    """A bulk larger than the key's smallest window (a live key's 60 a minute) could never
    pass its limit, and each attempt would use the window up: a 422 naming ``customers``,
    before the limiter counts anything."""
    if not _is_priced_bulk() or not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    key = _active_key()
    if key is None:
        return
    from .customers_bulk import requested_items

    window = min(parse_many(api_rate_limit()), key=lambda item: item.amount)
    if requested_items() > window.amount:
        from ..customers.errors import ValidationFailed

        raise ValidationFailed(
            {
                "customers": f"At most {window.amount} customers in one request for this key "
                f"(its rate limit is {window.amount} per {window.GRANULARITY.name})"
            }
        )


def _is_publishable_request() -> bool:
    key = None if _is_preflight() else _active_key()
    return key is not None and key.publishable


def publishable_address_key() -> str:
    """A publishable key's second budget: this key from this client address."""
    key_hash = hash_key(request.headers.get("X-API-Key", "").strip())
    return f"pk-addr:{key_hash}:{get_remote_address()}"


def publishable_address_limit() -> str:
    return str(current_app.config["RATE_LIMIT_PUBLISHABLE"])


PUBLISHABLE_ADDRESS_SCOPE = f"{API_SCOPE}-publishable-address"


def spend_publishable_address_budget() -> None:
    """``before_request``, before the limiter's own check: a publishable key's request spends
    its client address's budget (``RATE_LIMIT_PUBLISHABLE``) first, and a refusal is a 429
    that has not touched the key's budget — one visitor of the page cannot use up the key
    that every visitor shares. Counted in the limiter's storage (Redis when configured);
    when that storage is away the limit fails open, as the limiter's own does."""
    if (
        not current_app.config.get("RATELIMIT_ENABLED", True)
        or not (request.blueprint or "").startswith("api")
        or not _is_publishable_request()
        or limit_store.skip_limits()  # the store is known to be away: fail open at once
    ):
        return
    key = publishable_address_key()
    strategy = limiter.limiter
    try:
        for item in parse_many(publishable_address_limit()):
            if not strategy.hit(item, PUBLISHABLE_ADDRESS_SCOPE, key):
                reset, _ = strategy.get_window_stats(item, PUBLISHABLE_ADDRESS_SCOPE, key)
                refused = TooManyRequests()
                refused.headers["Retry-After"] = str(max(int(reset - time.time()), 1))
                raise refused
    except STORE_ERRORS as error:  # the storage is away: fail open, as the limiter does
        limit_store.store_failed(error)


@functools.lru_cache(maxsize=64)
def _parsed(limits: str) -> tuple[RateLimitItem, ...]:
    """A limit string's items, smallest window first (parsed once per string)."""
    return tuple(sorted(parse_many(limits)))


_SPENT = "latepoint_forms.api_limit_spent"  # in the environ: what the headers report


@dataclass(frozen=True)
class _Spent:
    item: RateLimitItem
    key: str
    reset_at: int  # the epoch second the window ends (X-RateLimit-Reset)
    remaining: int


def check_api_limits() -> None:
    """The API blueprint's first ``before_request``: spend this request's units of its
    budget (``api_rate_key``, ``api_rate_limit``, ``api_rate_cost``); 429 when a window is
    used up. A store that fails lets the request through (fail open, said once per outage:
    api/limit_store.py) and the requests of the next few seconds skip it."""
    if not current_app.config.get("RATELIMIT_ENABLED", True) or limit_store.skip_limits():
        return
    key = api_rate_key()
    cost = api_rate_cost()
    strategy = limiter.limiter
    try:
        items = _parsed(api_rate_limit())
        breached = None
        for item in items:
            if not strategy.hit(item, key, API_SCOPE, cost=cost):
                breached = item
                break
        reported = breached or items[0]
        reset, remaining = strategy.get_window_stats(reported, key, API_SCOPE)
    except STORE_ERRORS as error:
        limit_store.store_failed(error)
        return
    spent = _Spent(reported, key, int(reset + 1), max(remaining, 0))
    request.environ[_SPENT] = spent
    limit_store.store_answered()
    if breached is not None:
        log.info("ratelimit %s (%s) exceeded", breached, key)
        refused = TooManyRequests()
        refused.headers["Retry-After"] = str(max(int(spent.reset_at - time.time()), 1))
        raise refused


def add_limit_headers(response: Response) -> Response:
    """``after_request``: the budget as ``check_api_limits`` left it."""
    spent: _Spent | None = request.environ.get(_SPENT)
    if spent is not None and current_app.config.get("RATELIMIT_HEADERS_ENABLED", True):
        response.headers["X-RateLimit-Limit"] = str(spent.item.amount)
        response.headers["X-RateLimit-Remaining"] = str(spent.remaining)
        response.headers["X-RateLimit-Reset"] = str(spent.reset_at)
    return response


def _is_api_request() -> bool:
    return (request.blueprint or "").startswith("api")


def limit_api(bp: Blueprint) -> None:
    """Put the per-key budget on every route of the API blueprint (both registrations).

    Preflights are not exempt: each one reads every active key's origins (api/cors.py). They
    get a budget of their own per address, generous enough for a widget that preflights every
    URL it fetches, and kept apart from the anonymous budget, so someone else's failed
    attempts from the same address (NAT, a proxy) cannot block a widget's preflights.
    Registered before the CORS check (api/cors.py answers preflights in its own
    ``before_request``), so a preflight spends its budget first.
    """
    bp.before_request(check_api_limits)
    bp.after_request(add_limit_headers)
    # A publishable key's per-address budget is spent before this check (see
    # ``spend_publishable_address_budget``), so a request it refuses costs the key nothing.


def _leave_the_api_to_its_own_check(app: Flask) -> None:
    """Flask-Limiter's own ``before_request`` (its check) and ``after_request`` (its headers)
    run for the web's requests only: an API request is limited by ``check_api_limits``, and
    Flask-Limiter, even with nothing to check, would resolve its limits for it all the same.
    (Disabled, RATELIMIT_ENABLED=0, Flask-Limiter registers neither.)"""
    before = app.before_request_funcs.setdefault(None, [])
    after = app.after_request_funcs.setdefault(None, [])
    check = limiter._check_request_limit  # the method limiter.init_app registered
    if check in before:

        def web_only_check() -> None:
            if not _is_api_request():
                check()

        before[before.index(check)] = web_only_check
    for index, func in enumerate(after):
        if isinstance(func, functools.partial) and func.args == (limiter,):
            after[index] = _web_only_headers(func)
            break


def _web_only_headers(inject: Callable[[Response], Response]) -> Callable[[Response], Response]:
    def web_only_headers(response: Response) -> Response:
        return response if _is_api_request() else inject(response)

    return web_only_headers


def init_app(app: Flask) -> None:
    """After ``limiter.init_app``: the settings checked, the order of the hooks settled."""
    for name in LIMIT_SETTINGS:
        # A typo in a limit must stop the start, not quietly switch the limit off later.
        try:
            parse_many(str(app.config[name]))
        except ValueError as exc:
            raise RuntimeError(f"{name}: {exc} (use e.g. '60/minute;3600/hour')") from exc

    # Flask-Limiter writes Retry-After on every limited response; it means something only on
    # a 429 (or 503), where clients act on it. This runs after the limiter's own after_request
    # (Flask runs them in reverse order of registration, so it goes first in the list).
    def drop_retry_after_on_success(response: Response) -> Response:
        if response.status_code not in (429, 503):
            response.headers.pop("Retry-After", None)
        return response

    app.after_request_funcs.setdefault(None, []).insert(0, drop_retry_after_on_success)
    _leave_the_api_to_its_own_check(app)
    # Before the limiter's own check (registered by limiter.init_app): nothing is counted.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_oversized_bulk)
    app.before_request_funcs.setdefault(None, []).insert(1, spend_publishable_address_budget)
