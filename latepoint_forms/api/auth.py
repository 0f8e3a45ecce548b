"""``X-API-Key`` authentication and per-resource permissions."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request

from ..errors import InsufficientPermissions, OriginNotAllowed, Unauthorized
from ..problems import N_, PLAIN, Problem
from .keys import ActiveKey, ApiKeyError, active_key, normalise_origin, note_key_used

F = TypeVar("F", bound=Callable[..., Any])


_KEY = "api_key"  # in ``g``; read through ``current_key``


def authenticate() -> ActiveKey:
    """The request's active key (its use noted), or ``Unauthorized``."""
    plaintext = request.headers.get("X-API-Key", "").strip()
    key = active_key(plaintext) if plaintext else None
    if key is None:
        raise Unauthorized(N_("A valid API key is required in the X-API-Key header"))
    note_key_used(key)
    setattr(g, _KEY, key)
    return key


def current_key() -> ActiveKey:
    """The key ``authenticate`` accepted for this request (views inside ``require_key``)."""
    key: ActiveKey | None = g.get(_KEY)
    if key is None:
        raise RuntimeError("current_key() outside an authenticated request")
    return key


def _check_publishable(key: ActiveKey, view_allows: bool) -> None:
    """A publishable key (SPEC section 10) only on the views made for it, and only from the
    pages of its allowed origins: its ``Origin`` must be one of them (a browser sends it on
    every cross-origin call and scripts cannot change it)."""
    if not view_allows:
        raise InsufficientPermissions(
            N_(
                "A publishable key can only read the catalog, availability and the customer "
                "form, register a customer and make a booking"
            )
        )
    raw = request.headers.get("Origin", "")
    try:
        origin = normalise_origin(raw) if raw else None
    except ApiKeyError:
        origin = None
    if origin is None or origin not in key.allowed_origins:
        raise OriginNotAllowed()


def require_key(permission: str | None = None, *, publishable: bool = False) -> Callable[[F], F]:
    """Authenticate the request; with ``permission``, also require that permission.

    ``publishable``: publishable keys may call this view too (from their origins); for them
    the view itself is the permission (e.g. availability, which a secret key reads with
    ``customers:read``, a permission a publishable key never has)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            key = authenticate()
            if key.publishable:
                _check_publishable(key, publishable)
            elif permission is not None and not key.allows(permission):
                raise InsufficientPermissions(
                    Problem(
                        PLAIN,
                        N_("This API key does not have the %(permission)s permission"),
                        {"permission": permission},
                    )
                )
            return view(*args, **kwargs)

        # Read by the API reference (docs/API.md): what a key needs to call this view.
        wrapped.api_permission = permission or "any valid key"  # type: ignore[attr-defined]
        wrapped.api_publishable = publishable  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator
