"""Rate limits for the JSON API: one budget per API key, by its mode (SPEC section 3).

A request that carries an active API key spends that key's budget (keyed by the SHA-256 the
database stores). Every other request spends the anonymous budget of its client address:
no key, a malformed, unknown or revoked key. CORS preflights spend a separate, larger budget
of their address (``RATE_LIMIT_PREFLIGHT``). So a client cannot buy
itself fresh budgets by inventing a key per request, and its failed attempts never touch a
real key's budget. Flask-Limiter checks limits in ``before_request``, before the view
authenticates, so the key is looked up there; authentication and the CORS check reuse that
look-up (api/keys.py keeps it for the request), so a request still reads its key once.

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

import logging
import time

from flask import Blueprint, Flask, Response, current_app, request
from flask_limiter.util import get_remote_address
from limits import parse_many
from sqlalchemy.exc import SQLAlchemyError

from ..errors import TooManyRequests
from ..extensions import db, limiter
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
    except TooManyRequests:
        raise
    except Exception:  # the storage is away: fail open, as the limiter does
        log.warning("Publishable per-address limit not checked", exc_info=True)


def limit_api(bp: Blueprint) -> None:
    """Put the per-key budget on every route of the API blueprint (both registrations).

    Preflights are not exempt: each one reads every active key's origins (api/cors.py). They
    get a budget of their own per address, generous enough for a widget that preflights every
    URL it fetches, and kept apart from the anonymous budget, so someone else's failed
    attempts from the same address (NAT, a proxy) cannot block a widget's preflights.
    """
    limiter.shared_limit(
        api_rate_limit, scope=API_SCOPE, key_func=api_rate_key, cost=api_rate_cost
    )(bp)
    # A publishable key's per-address budget is spent before the limiter's own check (see
    # ``spend_publishable_address_budget``), so a request it refuses costs the key nothing.


def init_app(app: Flask) -> None:
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
    # Before the limiter's own check (registered by limiter.init_app): nothing is counted.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_oversized_bulk)
    app.before_request_funcs.setdefault(None, []).insert(1, spend_publishable_address_budget)
