"""CORS for browser widgets: an API key lists the origins it may be used from (SPEC section 3).

- A preflight (``OPTIONS`` with ``Access-Control-Request-Method``) carries no key, so it is
  allowed when *some* active key lists the origin; the browser then sends the real request
  with its key. Answering one reads every active key's origins, so preflights spend their
  client address's anonymous rate-limit budget (api/ratelimits.py).
- A cross-origin request with a key gets ``Access-Control-Allow-Origin`` only when *that*
  key lists the origin. When it does not, the request is refused with 403 before the view
  runs: a key meant for another site (or for servers only) cannot be used from a page that
  got hold of it, not even to write blind.
- Requests without ``Origin`` (servers, scripts) and same-origin requests are untouched.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g, request
from sqlalchemy.exc import SQLAlchemyError

from ..errors import InsufficientPermissions, OriginNotAllowed
from ..problems import N_, PLAIN, Problem
from .keys import (
    ApiKeyError,
    allowed_origins_of,
    is_publishable,
    normalise_origin,
    origin_allowed_by_any_key,
)

ALLOWED_METHODS = "GET, POST, OPTIONS"
ALLOWED_HEADERS = "Content-Type, X-API-Key, Idempotency-Key, X-Request-ID, Accept-Language"
EXPOSED_HEADERS = (
    "Location, Idempotent-Replayed, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, "
    "X-RateLimit-Reset, X-Request-ID"
)
PREFLIGHT_MAX_AGE = "600"  # seconds a browser may reuse a preflight answer


def _cross_origin() -> str | None:
    """The request's normalised Origin when it differs from our own, else None."""
    raw = request.headers.get("Origin")
    if not raw or raw == "null":
        return None
    try:
        origin = normalise_origin(raw)
    except ApiKeyError:
        return raw  # malformed: never listed by a key, so never allowed
    own = request.host_url.rstrip("/")
    return None if origin == own else origin


def _allow(response: Response, origin: str) -> None:
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS


def _vary(response: Response, *names: str) -> None:
    response.vary.update(names)


def check_origin() -> Response | None:
    """``before_request``: answer preflights; refuse a key used from an origin it does not list."""
    origin = _cross_origin()
    if origin is None:
        return None
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        response = current_app.response_class(status=204)
        _vary(response, "Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers")
        if origin_allowed_by_any_key(origin):
            _allow(response, origin)
            response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
            response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
        return response
    plaintext = request.headers.get("X-API-Key", "").strip()
    origins = allowed_origins_of(plaintext)
    if origins is None:
        return None  # no valid key: the view answers 401, and the browser may not read it
    if origin not in origins:
        if is_publishable(plaintext):
            raise OriginNotAllowed()
        raise InsufficientPermissions(
            Problem(PLAIN, N_("This API key may not be used from %(origin)s"), {"origin": origin})
        )
    g.cors_origin = origin
    return None


def add_cors_headers(response: Response) -> Response:
    """``after_request``: let the page read the response (errors included) of an allowed key."""
    origin = g.get("cors_origin")
    if origin is None and response.status_code == 429:
        # The rate limiter refused the request before check_origin ran; the widget should
        # still be able to read the 429 and its Retry-After.
        origin = _cross_origin()
        try:
            origins = allowed_origins_of(request.headers.get("X-API-Key", "").strip())
        except SQLAlchemyError:
            origins = None
        origin = origin if origin is not None and origin in (origins or ()) else None
    if origin is not None:
        _allow(response, origin)
    if request.headers.get("Origin"):
        _vary(response, "Origin")
    return response


def enable_cors(bp: Blueprint) -> None:
    bp.before_request(check_origin)
    bp.after_request(add_cors_headers)
