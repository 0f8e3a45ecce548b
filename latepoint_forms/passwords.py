"""Password hashing with Argon2id (argon2-cffi's recommended parameters)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHERS: dict[bool, PasswordHasher] = {
    False: PasswordHasher(),
    # Only the test suite asks for this (FAST_PASSWORD_HASHING): same algorithm, tiny cost.
    True: PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
}


def hash_password(password: str, *, fast: bool = False) -> str:
    return _HASHERS[fast].hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check against a stored hash (its own parameters, whatever cost made it)."""
    if not password_hash:
        return False
    try:
        return _HASHERS[False].verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
