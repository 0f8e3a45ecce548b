"""API keys: creation, lookup and revocation. Only a SHA-256 hash of a key is stored.

A key carries 240 random bits, so a fast hash is enough: there is nothing to brute-force
that a slow hash would protect, and every API request looks one up.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import or_, select, update

from ..extensions import db
from ..models import ApiKey
from ..models.types import utcnow

MODES = ("live", "test")
PERMISSIONS = ("customers:read", "customers:create")
KEY_RANDOM_LENGTH = 40
PREFIX_LENGTH = 12  # "lp_live_" and four random characters: enough to tell keys apart
# last_used_at is a hint for people, not an audit log: write it at most once a minute.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiKeyError(ValueError):
    """A bad argument to a key operation (unknown permission, mode, ambiguous prefix…)."""


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8", "surrogatepass")).hexdigest()


def generate_key(mode: str) -> str:
    random_part = secrets.token_urlsafe(30)  # 30 bytes -> exactly 40 URL-safe characters
    assert len(random_part) == KEY_RANDOM_LENGTH
    return f"lp_{mode}_{random_part}"


def create_api_key(
    name: str,
    permissions: list[str],
    *,
    mode: str = "live",
    allowed_origins: list[str] | None = None,
) -> tuple[ApiKey, str]:
    """Store a new key and return it with its plaintext, which is never retrievable again."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ApiKeyError("The name must be 1 to 100 characters")
    if mode not in MODES:
        raise ApiKeyError(f"The mode must be one of: {', '.join(MODES)}")
    unknown = sorted(set(permissions) - set(PERMISSIONS))
    if unknown or not permissions:
        raise ApiKeyError(f"Permissions must be among: {', '.join(PERMISSIONS)}")
    plaintext = generate_key(mode)
    key = ApiKey(
        name=name,
        mode=mode,
        prefix=plaintext[:PREFIX_LENGTH],
        key_hash=hash_key(plaintext),
        permissions=sorted(set(permissions)),
        allowed_origins=list(allowed_origins or []),
    )
    db.session.add(key)
    db.session.commit()
    return key, plaintext


def find_active_key(plaintext: str) -> ApiKey | None:
    """The unrevoked key with this plaintext, its last use noted; None for unknown/revoked."""
    if not plaintext.startswith(("lp_live_", "lp_test_")) or len(plaintext) > 64:
        return None
    key = db.session.execute(
        select(ApiKey).where(ApiKey.key_hash == hash_key(plaintext))
    ).scalar_one_or_none()
    if key is None or not key.is_active:
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        # A conditional update, so concurrent requests do not fight over the row.
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
        db.session.commit()
    return key


def list_api_keys() -> list[ApiKey]:
    return list(db.session.execute(select(ApiKey).order_by(ApiKey.id)).scalars())


def revoke_api_key(id_or_prefix: str) -> ApiKey:
    """Revoke by numeric id or by a unique prefix of the key; effective immediately."""
    if id_or_prefix.isdigit():
        key = db.session.get(ApiKey, int(id_or_prefix))
        matches = [key] if key is not None else []
    else:
        if len(id_or_prefix) < PREFIX_LENGTH:
            raise ApiKeyError(f"Give the key's id or at least its first {PREFIX_LENGTH} characters")
        matches = list(
            db.session.execute(
                select(ApiKey).where(ApiKey.prefix == id_or_prefix[:PREFIX_LENGTH])
            ).scalars()
        )
        if len(id_or_prefix) > PREFIX_LENGTH:
            matches = [k for k in matches if k.key_hash == hash_key(id_or_prefix)] or matches
    if not matches:
        raise ApiKeyError(f"No API key matches {id_or_prefix!r}")
    if len(matches) > 1:
        raise ApiKeyError(f"{id_or_prefix!r} matches several keys; use the id")
    key = matches[0]
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        db.session.commit()
    return key
