"""Rate limits for the JSON API: one budget per API key, by its mode (SPEC section 3).

Flask-Limiter checks limits in ``before_request``, before the view authenticates, so the
budget is keyed by the SHA-256 of the ``X-API-Key`` header (the hash the database stores)
without a database lookup. Requests without a well-formed key share a per-client-address
budget. The counters live in Redis when ``REDIS_URL`` is set (the factory points
``RATELIMIT_STORAGE_URI`` at it), so every gunicorn worker and host spends one budget; in
memory otherwise. Both URL prefixes of the API count against the same budget (one scope).

The fixed-window strategy is used: a window starts at a key's first request, so the budget
is exact within a window, and at most twice the limit can pass across a window boundary.

A refused request is a 429 ``rate_limit_exceeded`` envelope (errors.py) with ``Retry-After``
and ``X-RateLimit-Limit/-Remaining/-Reset``.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, request
from flask_limiter.util import get_remote_address
from limits import parse_many

from ..extensions import limiter
from .keys import hash_key, key_mode, looks_like_key

API_SCOPE = "api"
LIMIT_SETTINGS = ("RATE_LIMIT_LIVE", "RATE_LIMIT_TEST", "RATE_LIMIT_ANONYMOUS")


def _presented_key() -> str:
    return request.headers.get("X-API-Key", "").strip()


def api_rate_key() -> str:
    """Whose budget a request spends: its API key's hash, or else its client address."""
    plaintext = _presented_key()
    if looks_like_key(plaintext):
        return f"key:{hash_key(plaintext)}"
    return f"addr:{get_remote_address()}"


def api_rate_limit() -> str:
    """The limits for this request's key mode, from the config ("60/minute;3600/hour")."""
    mode = key_mode(_presented_key())
    name = {"live": "RATE_LIMIT_LIVE", "test": "RATE_LIMIT_TEST"}.get(mode or "")
    return str(current_app.config[name or "RATE_LIMIT_ANONYMOUS"])


def _is_preflight() -> bool:
    # A CORS preflight carries no key and is answered without touching any data.
    return request.method == "OPTIONS"


def limit_api(bp: Blueprint) -> None:
    """Put the per-key budget on every route of the API blueprint (both registrations)."""
    limiter.shared_limit(
        api_rate_limit, scope=API_SCOPE, key_func=api_rate_key, exempt_when=_is_preflight
    )(bp)


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
