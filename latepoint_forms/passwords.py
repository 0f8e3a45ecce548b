"""Password hashing with Argon2id (argon2-cffi's recommended parameters)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

_hashers: dict[bool, PasswordHasher] = {
    False: PasswordHasher(),
    # Only the test suite switches this on (FAST_PASSWORD_HASHING): same algorithm, tiny cost.
    True: PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
}


def _hasher() -> PasswordHasher:
    return _hashers[bool(current_app.config.get("FAST_PASSWORD_HASHING"))]


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
