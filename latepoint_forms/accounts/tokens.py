"""One-time links to a customer's address (SPEC section 9).

``issue_token`` makes a link's token (returned once, for the message; only its SHA-256 is
stored). ``find_token`` reads a link without using it: the page a link opens (GET) changes
nothing, because mail scanners follow links; its button POSTs, and ``use_token`` spends it.
``use_token`` is one conditional UPDATE (unused, unexpired, this purpose), so of two requests
racing with one link exactly one succeeds, on SQLite and PostgreSQL alike.

``void_tokens`` spends a customer's unused links of some purposes (a password change voids
reset and sign-in links). Issuing a new link of a purpose voids the older ones of it, so only
the latest message works — unless the caller says otherwise (``void_older=False``: each
booking's "confirm your changes" link stands on its own, so a stranger booking with the
address cannot void the owner's).

Transactions: this layer adds, updates and flushes; the caller's unit of work commits.
Time is passed in (``now``), never read here.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import select, update

from ..extensions import db
from ..models import TOKEN_PURPOSES, CustomerToken

CONFIRM_EMAIL: Final = "confirm_email"
PASSWORD_RESET: Final = "password_reset"  # noqa: S105 (a purpose, not a secret)
SIGN_IN: Final = "sign_in"
CONFIRM_CHANGES: Final = "confirm_changes"
CHANGE_EMAIL: Final = "change_email"

LIFETIMES: dict[str, timedelta] = {
    CONFIRM_EMAIL: timedelta(days=7),
    PASSWORD_RESET: timedelta(hours=1),
    SIGN_IN: timedelta(minutes=15),
    CONFIRM_CHANGES: timedelta(days=7),
    CHANGE_EMAIL: timedelta(days=1),
}
assert set(LIFETIMES) == set(TOKEN_PURPOSES)

TOKEN_BYTES = 32
# A token longer than this is not one of ours: it is refused before it is hashed.
TOKEN_MAX_LENGTH = 64


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def issue_token(
    customer_id: int,
    purpose: str,
    now: datetime,
    *,
    payload: dict[str, Any] | None = None,
    void_older: bool = True,
) -> str:
    """A new link of ``purpose`` for the customer; the older unused ones of it stop working
    (unless ``void_older`` is False)."""
    if purpose not in LIFETIMES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    if void_older:
        void_tokens(customer_id, [purpose], now)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    db.session.add(
        CustomerToken(
            token_hash=token_hash(token),
            customer_id=customer_id,
            purpose=purpose,
            payload=payload,
            created_at=now,
            expires_at=now + LIFETIMES[purpose],
        )
    )
    db.session.flush()
    return token


def _well_formed(token: object) -> bool:
    return isinstance(token, str) and 0 < len(token) <= TOKEN_MAX_LENGTH


def find_token(token: str, purpose: str, now: datetime) -> CustomerToken | None:
    """The link's row if it can still be used (unused, unexpired, of this purpose), else None.
    Reads only: for the page a link opens."""
    if not _well_formed(token):
        return None
    row = db.session.execute(
        select(CustomerToken).where(
            CustomerToken.token_hash == token_hash(token),
            CustomerToken.purpose == purpose,
            CustomerToken.used_at.is_(None),
            CustomerToken.expires_at > now,
        )
    ).scalar_one_or_none()
    return row


def use_token(token: str, purpose: str, now: datetime) -> CustomerToken | None:
    """Spend the link: its row when this call used it, None when it is unknown, of another
    purpose, expired or already used (by this request's rival too: one conditional UPDATE)."""
    if not _well_formed(token):
        return None
    digest = token_hash(token)
    spent = db.session.execute(
        update(CustomerToken)
        .where(
            CustomerToken.token_hash == digest,
            CustomerToken.purpose == purpose,
            CustomerToken.used_at.is_(None),
            CustomerToken.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        return None
    row = db.session.execute(
        select(CustomerToken).where(CustomerToken.token_hash == digest)
    ).scalar_one()
    db.session.refresh(row)
    return row


def void_tokens(customer_id: int, purposes: Iterable[str], now: datetime) -> None:
    """The customer's unused links of ``purposes`` stop working."""
    db.session.execute(
        update(CustomerToken)
        .where(
            CustomerToken.customer_id == customer_id,
            CustomerToken.purpose.in_(list(purposes)),
            CustomerToken.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
