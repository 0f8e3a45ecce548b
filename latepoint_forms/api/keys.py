"""API keys: creation, lookup and revocation. Only a SHA-256 hash of a key is stored.

A key carries 240 random bits, so a fast hash is enough: there is nothing to brute-force
that a slow hash would protect, and every API request looks one up.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import has_request_context, request
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.exc import DBAPIError

from ..customers.custom_fields import FieldDefinition, definitions_in, with_active_definitions
from ..db_errors import is_read_only
from ..extensions import db
from ..models import ApiKey
from ..models.api_key import API_KEY_MODES
from ..models.types import utcnow
from ..unit_of_work import commit_step, roll_back
from ..webhooks import service as webhook_service

log = logging.getLogger(__name__)

MODES = API_KEY_MODES
PERMISSIONS = ("customers:read", "customers:create", "catalog:read", "bookings:create")
KEY_RANDOM_LENGTH = 40
PREFIX_LENGTH = 12  # "lp_live_" and four random characters: enough to tell keys apart
# last_used_at is a hint for people, not an audit log: write it at most once a minute.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Where a request keeps the keys it looked up (see _active_key).
_LOOKUPS_ENVIRON_KEY = "latepoint_forms.api_key_lookups"


class ApiKeyError(ValueError):
    """A bad argument to a key operation (unknown permission, mode, ambiguous prefix…)."""


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8", "surrogatepass")).hexdigest()


SECRET_KEY_PREFIX = "lp_"  # noqa: S105 (a prefix, not a secret)
PUBLISHABLE_KEY_PREFIX = "pk_"
# What a publishable key (made for a web page's source, SPEC section 10) may do; its routes are
# the API views marked ``require_key(..., publishable=True)``.
PUBLISHABLE_PERMISSIONS = ("catalog:read", "customers:create", "bookings:create")


def is_publishable(plaintext_or_prefix: str) -> bool:
    """A publishable key (``pk_live_…``): the kind is written into the key itself, so the
    hash of the whole key vouches for it."""
    return plaintext_or_prefix.startswith(PUBLISHABLE_KEY_PREFIX)


def generate_key(mode: str, *, publishable: bool = False) -> str:
    random_part = secrets.token_urlsafe(30)  # 30 bytes -> exactly 40 URL-safe characters
    assert len(random_part) == KEY_RANDOM_LENGTH
    kind = PUBLISHABLE_KEY_PREFIX if publishable else SECRET_KEY_PREFIX
    return f"{kind}{mode}_{random_part}"


def create_api_key(
    name: str,
    permissions: list[str],
    *,
    mode: str = "live",
    allowed_origins: list[str] | None = None,
    publishable: bool = False,
) -> tuple[ApiKey, str]:
    """Store a new key and return it with its plaintext, which is never retrievable again.

    A publishable key needs its origins (the sites whose pages may use it) and gets
    ``PUBLISHABLE_PERMISSIONS`` whatever is asked for beyond them (nothing else is accepted)."""
    if publishable:
        if not allowed_origins:
            raise ApiKeyError("A publishable key needs --origins: the sites whose pages use it")
        beyond = sorted(set(permissions) - set(PUBLISHABLE_PERMISSIONS))
        if beyond:
            raise ApiKeyError(
                f"A publishable key cannot have {', '.join(beyond)}: it may only "
                f"{', '.join(PUBLISHABLE_PERMISSIONS)} (and read availability)"
            )
        permissions = list(PUBLISHABLE_PERMISSIONS)
    name = name.strip()
    if not name or len(name) > 100:
        raise ApiKeyError("The name must be 1 to 100 characters")
    if mode not in MODES:
        raise ApiKeyError(f"The mode must be one of: {', '.join(MODES)}")
    unknown = sorted(set(permissions) - set(PERMISSIONS))
    if unknown or not permissions:
        raise ApiKeyError(f"Permissions must be among: {', '.join(PERMISSIONS)}")
    origins = list(dict.fromkeys(normalise_origin(origin) for origin in allowed_origins or []))
    plaintext = generate_key(mode, publishable=publishable)
    key = ApiKey(
        name=name,
        mode=mode,
        prefix=plaintext[:PREFIX_LENGTH],
        key_hash=hash_key(plaintext),
        permissions=sorted(set(permissions)),
        allowed_origins=origins,
    )
    db.session.add(key)
    db.session.flush()
    return key, plaintext


def normalise_origin(value: str) -> str:
    """An origin as browsers send it: ``scheme://host[:port]``, lower case, no default port."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        raise ApiKeyError(f"{value!r} is not an origin such as https://shop.example.com") from None
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise ApiKeyError(f"{value!r} is not an origin such as https://shop.example.com")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"  # IPv6
    default_port = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default_port else "")


def looks_like_key(plaintext: str) -> bool:
    """Shaped like a key we issue (cheap, no database): anything else is not looked up."""
    return (
        plaintext.startswith(("lp_live_", "lp_test_", "pk_live_", "pk_test_"))
        and len(plaintext) <= 64
    )


def allowed_origins_of(plaintext: str) -> list[str] | None:
    """The allowed origins of the active key with this plaintext; None if there is no such key.

    A read only: CORS checks run it before the view authenticates.
    """
    key = _active_key(plaintext)
    return list(key.allowed_origins) if key is not None else None


def origin_allowed_by_any_key(origin: str) -> bool:
    """Whether some active key lists this origin (a CORS preflight carries no key)."""
    rows = db.session.execute(select(ApiKey.allowed_origins).where(ApiKey.revoked_at.is_(None)))
    return any(origin in (origins or []) for (origins,) in rows)


@dataclass(frozen=True)
class ActiveKey:
    """What a request needs to know of its (unrevoked) key: a plain record, not a DB row."""

    id: int
    name: str
    mode: str
    permissions: tuple[str, ...]
    allowed_origins: tuple[str, ...]
    last_used_at: datetime | None
    publishable: bool = False

    def allows(self, permission: str) -> bool:
        return permission in self.permissions


def presented_key() -> ActiveKey | None:
    """The active key in this request's ``X-API-Key`` header, if any (no write)."""
    return _active_key(request.headers.get("X-API-Key", "").strip())


def _active_key(plaintext: str) -> ActiveKey | None:
    if not looks_like_key(plaintext):
        return None
    found = _look_up(plaintext)
    return replace(found, publishable=True) if found and is_publishable(plaintext) else found


def _look_up(plaintext: str) -> ActiveKey | None:
    key_hash = hash_key(plaintext)
    if not has_request_context():
        return _load_active_key(key_hash)
    # The rate limiter, the CORS check and authentication all need the request's key before
    # the view runs: one look-up serves them. Kept in the WSGI environ, which lives exactly
    # as long as the request (``g`` outlives it when a caller holds an app context).
    lookups = request.environ.setdefault(_LOOKUPS_ENVIRON_KEY, {})
    if key_hash not in lookups:
        if _view_needs_definitions():
            lookups[key_hash] = _load_active_key_and_definitions(key_hash)
        else:
            lookups[key_hash] = _load_active_key(key_hash)
    return lookups[key_hash]


# Views that read the custom-field definitions (``definitions_with_key``): their key look-up
# brings the definitions in the same statement, one round trip instead of two. Both are read
# per request, as before, so a revoked key or a changed definition counts at once.
_DEFINITIONS_VIEWS: set[str] = set()
_DEFINITIONS_ENVIRON_KEY = "latepoint_forms.custom_field_definitions"


def read_definitions_with_key(view_name: str) -> None:
    """Have the key look-up of the API view ``view_name`` (its endpoint without the
    blueprint) read the active custom-field definitions too."""
    _DEFINITIONS_VIEWS.add(view_name)


def _view_needs_definitions() -> bool:
    blueprint, _, view = (request.endpoint or "").rpartition(".")
    return view in _DEFINITIONS_VIEWS and blueprint.startswith("api")


def definitions_with_key() -> list[FieldDefinition] | None:
    """The active definitions read with this request's key (``read_definitions_with_key``),
    or None when they were not (then read them as usual)."""
    definitions: list[FieldDefinition] | None = request.environ.get(_DEFINITIONS_ENVIRON_KEY)
    return definitions


# Runs on every API request: a Core statement of the table's columns, built once. Neither
# building a select per call nor the ORM (identity map, change tracking) buys anything for a
# read-only record, and together they cost more than the query itself.
_KEYS = ApiKey.__table__
_ACTIVE_KEY_QUERY = select(
    _KEYS.c.id,
    _KEYS.c.name,
    _KEYS.c.mode,
    _KEYS.c.permissions,
    _KEYS.c.allowed_origins,
    _KEYS.c.last_used_at,
    # Whether any webhook endpoint is active, in the same round trip: without one, the
    # request's changes queue no events and skip reading the endpoints (webhooks/service.py).
    webhook_service.ANY_ACTIVE_ENDPOINT.label("webhook_endpoints_active"),
).where(_KEYS.c.key_hash == bindparam("key_hash"), _KEYS.c.revoked_at.is_(None))


_ACTIVE_KEY_AND_DEFINITIONS_QUERY = with_active_definitions(_ACTIVE_KEY_QUERY)


def _load_active_key(key_hash: str) -> ActiveKey | None:
    row = db.session.execute(_ACTIVE_KEY_QUERY, {"key_hash": key_hash}).first()
    if row is None:
        return None
    webhook_service.note_endpoints_active(bool(row.webhook_endpoints_active))
    return _key_of(row)


def _load_active_key_and_definitions(key_hash: str) -> ActiveKey | None:
    # Before the view, on the session's connection: nothing is pending to flush, and a Core
    # statement needs nothing else of the ORM's execution path.
    connection = db.session.connection()
    rows = connection.execute(_ACTIVE_KEY_AND_DEFINITIONS_QUERY, {"key_hash": key_hash}).all()
    if not rows:
        return None
    request.environ[_DEFINITIONS_ENVIRON_KEY] = definitions_in(rows)
    webhook_service.note_endpoints_active(bool(rows[0].webhook_endpoints_active))
    return _key_of(rows[0])


def _key_of(row: Any) -> ActiveKey:
    return ActiveKey(
        id=row.id,
        name=row.name,
        mode=row.mode,
        permissions=tuple(row.permissions or ()),
        allowed_origins=tuple(row.allowed_origins or ()),
        last_used_at=row.last_used_at,
    )


def active_key(plaintext: str) -> ActiveKey | None:
    """The unrevoked key with this plaintext (looked up once per request); None otherwise."""
    return _active_key(plaintext)


def note_key_used(key: ActiveKey) -> None:
    """Record the key's use, at most once per ``LAST_USED_RESOLUTION``, in a step of its own:
    a request that fails (a 404, a 422) used the key all the same, and its rollback must not
    take the note with it. Nothing else is in the session yet when a request authenticates.

    On a read-only database (a standby, a failed-over primary) the note is skipped, not the
    request: it is bookkeeping, and a read must still be served; a write the request goes on
    to make is refused with a 503 of its own."""
    now = utcnow()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_RESOLUTION:
        return
    # A conditional update, so concurrent requests do not fight over the row.
    try:
        db.session.execute(
            update(ApiKey)
            .where(ApiKey.id == key.id)
            .where(
                or_(
                    ApiKey.last_used_at.is_(None),
                    ApiKey.last_used_at < now - LAST_USED_RESOLUTION,
                )
            )
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        commit_step()
    except DBAPIError as exc:
        if not is_read_only(exc):
            raise
        roll_back()
        log.info("API key %s: last use not recorded, the database is read-only", key.id)


def list_api_keys() -> list[ApiKey]:
    return list(db.session.execute(select(ApiKey).order_by(ApiKey.id)).scalars())


def revoke_api_key(id_or_prefix: str) -> ApiKey:
    """Revoke by numeric id, by the stored prefix (its first ``PREFIX_LENGTH`` characters,
    when unique) or by the whole key; effective immediately.

    Only the prefix and a hash are stored, so anything longer than the prefix can only be
    confirmed as the whole key: a longer prefix (or a mistyped key) cannot be told from
    another key sharing its first characters, and is refused rather than guessed at.
    """
    if id_or_prefix.isdigit():
        key = db.session.get(ApiKey, int(id_or_prefix))
        matches = [key] if key is not None else []
    elif len(id_or_prefix) == PREFIX_LENGTH:
        matches = list(
            db.session.execute(select(ApiKey).where(ApiKey.prefix == id_or_prefix)).scalars()
        )
    elif len(id_or_prefix) > PREFIX_LENGTH:
        matches = list(
            db.session.execute(
                select(ApiKey).where(ApiKey.key_hash == hash_key(id_or_prefix))
            ).scalars()
        )
        if not matches:
            raise ApiKeyError(
                f"That is not a whole API key. Give the key's id, its first {PREFIX_LENGTH} "
                "characters (as `flask api-keys list` shows them) or the whole key"
            )
    else:
        raise ApiKeyError(
            f"Give the key's id, its first {PREFIX_LENGTH} characters or the whole key"
        )
    if not matches:
        raise ApiKeyError(f"No API key matches {id_or_prefix!r}")
    if len(matches) > 1:
        raise ApiKeyError(f"{id_or_prefix!r} matches several keys; use the id")
    key = matches[0]
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        db.session.flush()
    return key
